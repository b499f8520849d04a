"""The details CSV of ``tracknet predict --details``: ``<stem>_details.csv``.

One row per frame of the video, original-frame pixels:

- ``Frame,Visibility,X,Y``: as the ball CSV (after tracking and smoothing; ``X,Y`` 0 where not
  visible), positions with two decimals;
- ``Score``: the chosen candidate's score (the codec's best blob's where nothing was chosen);
- ``Interpolated``: 1 where smoothing filled the position in;
- ``Decoded``: 0 where the frame could not be decoded;
- ``RawVisibility,RawX,RawY``: the codec's best blob before tracking;
- ``Candidates``: ``x:y:score`` of every candidate blob, ``;``-separated (empty: none);

and, when the trajectory stage ran (``predict.trajectory``, ``--events``):

- ``Source``: ``detected`` (seen by the model), ``fitted`` or ``interpolated`` (filled in from
  the flight by ``--fill``, or ``interpolated`` by ``--smooth``), ``none`` (no ball written: none
  seen, or a detection rejected as an outlier);
- ``Segment``: the flight (segment id, from 0) the frame belongs to, -1 for none;
- ``Outlier``: 1 where the model's detection was rejected as an outlier;
- ``SpeedPxS``: the speed along the fitted flight at that frame, pixels per second (empty
  outside a flight).

Written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from tracknet.track.result import Track
from tracknet.track.trajectory_stage import curve_speed
from tracknet.utils import atomic_write_text

DETAILS_HEADER = (
    "Frame",
    "Visibility",
    "X",
    "Y",
    "Score",
    "Interpolated",
    "Decoded",
    "RawVisibility",
    "RawX",
    "RawY",
    "Candidates",
)
TRAJECTORY_COLUMNS = ("Source", "Segment", "Outlier", "SpeedPxS")


def format_candidates(cands: np.ndarray) -> str:
    """``x:y:score;...`` of the real candidates (score > 0) of one frame."""
    return ";".join(f"{x:.1f}:{y:.1f}:{s:.3f}" for x, y, s in cands if s > 0)


def _sources(track: Track) -> np.ndarray:
    """``str [N]`` provenance of each written row: ``none`` where not visible, the stage's
    ``fitted`` / ``interpolated`` where it filled the position, ``interpolated`` where smoothing
    did, else ``detected``."""
    out = np.where(track.visible, "detected", "none").astype(object)
    out[track.interpolated & track.visible] = "interpolated"
    if track.trajectory is not None:  # else nothing was filled
        filled = track.filled
        out[filled] = track.trajectory.source_names()[filled]

    return out


def write_details_csv(path: str | Path, track: Track) -> None:
    """Write ``track`` as the details CSV at ``path`` (atomically)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    traj = track.trajectory
    w.writerow(DETAILS_HEADER if traj is None else (*DETAILS_HEADER, *TRAJECTORY_COLUMNS))
    if traj is not None:
        source, speed = _sources(track), curve_speed(traj)
    for i in range(len(track.frame)):
        extra = []
        if traj is not None:
            shown = source[i]
            speed_text = f"{speed[i]:.1f}" if np.isfinite(speed[i]) else ""
            extra = [shown, int(traj.segment[i]), int(traj.outlier[i]), speed_text]
        w.writerow(
            [
                int(track.frame[i]),
                int(track.visible[i]),
                f"{track.xy[i, 0]:.2f}",
                f"{track.xy[i, 1]:.2f}",
                f"{track.score[i]:.4f}",
                int(track.interpolated[i]),
                int(track.ok[i]),
                int(track.raw_visible[i]),
                f"{track.raw_xy[i, 0]:.2f}",
                f"{track.raw_xy[i, 1]:.2f}",
                format_candidates(track.candidates[i]),
                *extra,
            ]
        )
    atomic_write_text(path, buf.getvalue())
