"""The details CSV of ``tracknet predict --details``: ``<stem>_details.csv``.

One row per frame of the video, original-frame pixels:

- ``Frame,Visibility,X,Y``: as the ball CSV (after tracking and smoothing; ``X,Y`` 0 where not
  visible), positions with two decimals;
- ``Score``: the chosen candidate's score (the codec's best blob's where nothing was chosen);
- ``Interpolated``: 1 where smoothing filled the position in;
- ``Decoded``: 0 where the frame could not be decoded;
- ``RawVisibility,RawX,RawY``: the codec's best blob before tracking;
- ``Candidates``: ``x:y:score`` of every candidate blob, ``;``-separated (empty: none).

Written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from tracknet.infer.tracker import Track
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


def _format_candidates(cands: np.ndarray) -> str:
    """``x:y:score;...`` of the real candidates (score > 0) of one frame."""
    return ";".join(f"{x:.1f}:{y:.1f}:{s:.3f}" for x, y, s in cands if s > 0)


def write_details_csv(path: str | Path, track: Track) -> None:
    """Write ``track`` as the details CSV at ``path`` (atomically)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(DETAILS_HEADER)
    for i in range(len(track.frame)):
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
                _format_candidates(track.candidates[i]),
            ]
        )
    atomic_write_text(path, buf.getvalue())
