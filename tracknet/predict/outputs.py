"""The files the trajectory stage adds to ``tracknet predict``'s outputs.

- the ball CSV with a fifth column ``Filled`` (``--fill``): ``Frame,Visibility,X,Y,Filled``, 1 on
  the rows whose position was filled in from the flight (their Visibility is 1 too), 0 elsewhere;
  without ``--fill`` the ball CSV stays ``Frame,Visibility,X,Y`` with Visibility 1 only where the
  model saw the ball (:func:`write_track_csv`);
- ``<stem>_events.csv`` (``--events``): ``Frame,Event,X,Y,Score``, hits and bounces of the fitted
  flights (:mod:`tracknet.io.events`);
- ``<stem>_court.csv`` (``--court``): bounces on the ground and km/h between them
  (:mod:`tracknet.predict.court_report`).

:func:`write_trajectory_outputs` writes the last two for one input; :func:`check_event_track`
refuses a track too short to have a flight.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from tracknet.errors import UserError
from tracknet.io.events import events_csv_name, write_events_csv
from tracknet.io.label_columns import BALL_CSV_HEADER
from tracknet.io.labels import ball_csv_row
from tracknet.predict.court_report import court_csv_name, court_rows, court_summary, write_court_csv
from tracknet.track.court import Court
from tracknet.track.result import Track
from tracknet.utils import atomic_write_text

FILLED_COLUMN = "Filled"


def write_track_csv(path: str | Path, track: Track, filled_column: bool = False) -> Path:
    """The ball CSV of ``track``: ``Frame,Visibility,X,Y`` (+ ``Filled`` when asked); atomic."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow((*BALL_CSV_HEADER, FILLED_COLUMN) if filled_column else BALL_CSV_HEADER)
    filled = track.filled
    for i in range(len(track)):
        row = ball_csv_row(track.frame[i], track.visible[i], track.xy[i, 0], track.xy[i, 1])
        writer.writerow([*row, int(filled[i])] if filled_column else row)
    atomic_write_text(path, buf.getvalue())
    return Path(path)


def check_event_track(frames: int | None, source: Path | str) -> None:
    """Raise a :class:`UserError` when ``frames`` (known) is below 2: no flight, no event."""
    if frames is not None and frames < 2:
        raise UserError(
            f"{source}: --events and --court need a video of at least 2 frames (a flight), "
            f"this one has {frames}"
        )


@dataclass
class TrajectoryFiles:
    """What :func:`write_trajectory_outputs` wrote."""

    events: Path | None = None
    court: Path | None = None
    hits: int = 0
    bounces: int = 0
    court_summary: str = ""


def write_trajectory_outputs(
    track: Track,
    out_dir: Path,
    stem: str,
    fps: float,
    events: bool = False,
    court: Court | None = None,
) -> TrajectoryFiles:
    """Write ``<stem>_events.csv`` (``events``) and ``<stem>_court.csv`` (``court``).

    Raises:
        UserError: a track of fewer than 2 frames.
    """
    result = TrajectoryFiles()
    if not events and court is None:
        return result
    check_event_track(len(track), stem)
    found = track.trajectory.events if track.trajectory is not None else []
    result.hits = sum(e.kind == "hit" for e in found)
    result.bounces = len(found) - result.hits
    if events:
        result.events = out_dir / events_csv_name(stem)
        write_events_csv(result.events, found)
    if court is not None:
        rows = court_rows(court, found, fps)
        result.court = write_court_csv(out_dir / court_csv_name(stem), rows)
        result.court_summary = court_summary(rows)
    return result
