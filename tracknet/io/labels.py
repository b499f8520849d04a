"""Ball label files: the ``Frame,Visibility,X,Y`` CSV and the TrackNet tennis ``Label.csv``.

All coordinates are pixels of the ORIGINAL frame. A frame without a visible ball has visibility 0
and ``X = Y = 0`` in the ball CSV (empty cells in the tennis CSV).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracknet.utils import atomic_write_text

BALL_CSV_HEADER = ("Frame", "Visibility", "X", "Y")
TENNIS_CSV_HEADER = ("file name", "visibility", "x-coordinate", "y-coordinate", "status")


@dataclass
class TrackLabels:
    """Per-frame ball labels of one clip or video.

    Attributes:
        frame: ``int [N]`` frame numbers (0-based).
        visibility: ``int [N]`` dataset codes: 0 not in frame, 1 easy, 2 hard, 3 occluded.
        x, y: ``float [N]`` original-frame pixels; 0 where there is no ball.
        status: ``int [N]`` tennis trajectory status (0 flying, 1 hit, 2 bouncing) or ``None``.
    """

    frame: np.ndarray
    visibility: np.ndarray
    x: np.ndarray
    y: np.ndarray
    status: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)


def _fmt(v: float) -> str:
    """Integers without a decimal point, other values with up to 3 decimals."""
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.3f}".rstrip("0").rstrip(".")


def write_ball_csv(path: str | Path, labels: TrackLabels) -> None:
    """Write ``Frame,Visibility,X,Y`` (atomically; ``0,0`` coordinates where not visible)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(BALL_CSV_HEADER)
    for f, v, x, y in zip(labels.frame, labels.visibility, labels.x, labels.y, strict=True):
        vis = int(v)
        w.writerow([int(f), vis, _fmt(x) if vis else 0, _fmt(y) if vis else 0])
    atomic_write_text(path, buf.getvalue())


def write_tennis_csv(path: str | Path, labels: TrackLabels, file_names: Sequence[str]) -> None:
    """Write a TrackNet tennis ``Label.csv`` (empty x/y cells where visibility is 0)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TENNIS_CSV_HEADER)
    status = labels.status if labels.status is not None else np.zeros(len(labels), dtype=int)
    for name, v, x, y, s in zip(
        file_names, labels.visibility, labels.x, labels.y, status, strict=True
    ):
        vis = int(v)
        w.writerow([name, vis, _fmt(x) if vis else "", _fmt(y) if vis else "", int(s)])
    atomic_write_text(path, buf.getvalue())
