"""``<stem>_court.csv`` of ``tracknet predict --court``: bounces on the ground plane, km/h.

One row per bounce whose image position maps onto the ground (:mod:`tracknet.track.court`), in
time order:

- ``Frame``, ``X``, ``Y``: the bounce (frame, original-frame pixels);
- ``CourtX``, ``CourtY``: its ground position in metres, ``CourtX`` along the end line from the
  first corner given (``c1``) towards ``c2``, ``CourtY`` along the side line from ``c1``'s end
  line towards the other end;
- ``In``: 1 when that position lies within the court's outer lines;
- ``NextFrame``, ``DistanceM``, ``SpeedKmh``, ``HitsBetween``: the flight to the next bounce (empty
  cells for the last bounce, or when the next one is more than three seconds later): the straight
  ground distance, the average horizontal speed ``distance / time`` in km/h and the hits between
  the two bounces.

LIMITS (one camera): the ground position is known only where the ball touches the ground, so the
speed is an average between two bounces along a straight line: a LOWER bound of the ball's
horizontal speed (a hit between the bounces means a longer path), well below a radar's speed at
the racket. Corners a few pixels off shift far-court positions by decimetres.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tracknet.io.events import Event
from tracknet.track.court import Court, GroundSpeed, bounce_positions, ground_speeds
from tracknet.utils import atomic_write_text

COURT_CSV_SUFFIX = "_court.csv"
COURT_CSV_HEADER = (
    "Frame",
    "X",
    "Y",
    "CourtX",
    "CourtY",
    "In",
    "NextFrame",
    "DistanceM",
    "SpeedKmh",
    "HitsBetween",
)


def court_csv_name(stem: str) -> str:
    """The court CSV's file name for a video or image folder named ``stem``."""
    return f"{stem}{COURT_CSV_SUFFIX}"


def court_rows(court: Court, events: Iterable[Event], fps: float) -> list[list]:
    """The rows of the court CSV (see the module docstring), as python values (None: empty)."""
    events = sorted(events, key=lambda e: e.frame)
    located = bounce_positions(court, events)
    flights: dict[int, GroundSpeed] = {s.start_frame: s for s in ground_speeds(court, events, fps)}
    rows = []
    for event, ground in located:
        inside = bool(court.inside(ground[None])[0])
        flight = flights.get(event.frame)
        rows.append(
            [
                event.frame,
                round(event.x, 2),
                round(event.y, 2),
                round(float(ground[0]), 3),
                round(float(ground[1]), 3),
                int(inside),
                flight.end_frame if flight else None,
                round(flight.distance_m, 3) if flight else None,
                round(flight.speed_kmh, 1) if flight else None,
                flight.hits_between if flight else None,
            ]
        )
    return rows


def write_court_csv(path: str | Path, rows: list[list]) -> Path:
    """Write :func:`court_rows` (atomically); returns ``path``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COURT_CSV_HEADER)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    atomic_write_text(path, buf.getvalue())
    return Path(path)


def court_summary(rows: list[list]) -> str:
    """One line for stdout: bounces, how many inside, speeds between bounces (lower bounds)."""
    inside = sum(r[5] for r in rows)
    speeds = np.array([r[8] for r in rows if r[8] is not None], dtype=np.float64)
    text = f"{len(rows)} bounce(s) on the court plane, {inside} inside the lines"
    if len(speeds):
        text += (
            f"; {len(speeds)} flight(s) between bounces: median {np.median(speeds):.0f} km/h, "
            f"max {speeds.max():.0f} km/h (averages between bounces: lower bounds)"
        )
    return text
