"""The result of tracking one video: :class:`Track` (per-frame arrays, original-frame pixels)
and :class:`TrackPoint` (one frame of it), what ``tracknet predict`` writes and ``tracknet eval``
scores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, overload

import numpy as np

from tracknet.io.labels import TrackLabels, write_ball_csv
from tracknet.track.trajectory import Trajectory


class TrackPoint(NamedTuple):
    """One frame of a :class:`Track`: original-frame pixels, ``x = y = 0`` where not visible."""

    frame: int
    visible: bool
    x: float
    y: float
    score: float


@dataclass
class Track:
    """Per-frame results of one video, original-frame pixels.

    ``len(track)`` frames; ``track[i]`` is a :class:`TrackPoint`, ``track[a:b]`` (or a boolean /
    index array) a shorter :class:`Track`. :meth:`to_csv` writes the ball CSV of
    ``tracknet predict``; :meth:`to_pandas` gives a DataFrame (pandas is optional).
    """

    frame: np.ndarray  # [N] int
    ok: np.ndarray  # [N] bool, frame decoded
    raw_visible: np.ndarray  # [N] bool, codec's best blob
    raw_xy: np.ndarray  # [N, 2]
    score: np.ndarray  # [N]
    visible: np.ndarray  # [N] bool, after tracking (and smoothing)
    xy: np.ndarray  # [N, 2]
    interpolated: np.ndarray  # [N] bool
    candidates: np.ndarray  # [N, K, 3] float32 (x, y, score) of the codec's blobs, score 0 = none
    # the trajectory stage's result, one row per frame (predict.trajectory); a slice drops it
    trajectory: Trajectory | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def filled(self) -> np.ndarray:
        """``bool [N]`` visible positions the trajectory stage filled in (not detected)."""
        if self.trajectory is None:
            return np.zeros(len(self.frame), dtype=bool)
        filled: np.ndarray = self.trajectory.filled & self.visible
        return filled

    @property
    def frames(self) -> np.ndarray:
        """``int [N]`` frame numbers (the same array as :attr:`frame`)."""
        return self.frame

    @overload
    def __getitem__(self, key: int | np.integer[Any]) -> TrackPoint: ...

    @overload
    def __getitem__(self, key: slice | np.ndarray) -> Track: ...

    def __getitem__(self, key: int | np.integer[Any] | slice | np.ndarray) -> TrackPoint | Track:
        if isinstance(key, int | np.integer):
            i = int(key)
            return TrackPoint(
                int(self.frame[i]),
                bool(self.visible[i]),
                float(self.xy[i, 0]),
                float(self.xy[i, 1]),
                float(self.score[i]),
            )
        arrays = [f.name for f in dataclasses.fields(self) if f.name != "trajectory"]
        return Track(**{name: getattr(self, name)[key] for name in arrays})

    def to_csv(self, path: str | Path) -> Path:
        """Write ``Frame,Visibility,X,Y`` (the ball CSV of ``tracknet predict``); returns ``path``."""
        vis = self.visible.astype(int)
        write_ball_csv(path, TrackLabels(self.frame, vis, self.xy[:, 0], self.xy[:, 1]))
        return Path(path)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``: ``frame, visible, x, y, score, interpolated, decoded``.

        Raises:
            ImportError: pandas is not installed (``pip install 'tracknet[pandas]'``).
        """
        try:
            import pandas as pd  # optional dependency: the pandas extra
        except ImportError as exc:
            raise ImportError(
                "Track.to_pandas needs pandas: pip install 'tracknet[pandas]' (or pandas)"
            ) from exc
        return pd.DataFrame(
            {
                "frame": self.frame,
                "visible": self.visible,
                "x": self.xy[:, 0],
                "y": self.xy[:, 1],
                "score": self.score,
                "interpolated": self.interpolated,
                "decoded": self.ok,
            }
        )
