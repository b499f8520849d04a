"""Shared by the tracking tests: a video's candidates through :class:`TrackBuilder`."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tracknet.config import PredictConfig
from tracknet.track.builder import FramePrediction, TrackBuilder
from tracknet.track.result import Track


def track_candidates(
    candidates: Iterable[np.ndarray], cfg: PredictConfig, frame_height: float = 720.0
) -> Track:
    """Track per-frame candidates (``[K, 3]``: x, y, score; score 0 = none) with ``cfg``; each
    frame's strongest candidate is its raw detection (visible when its score is above 0)."""
    builder = TrackBuilder(cfg)
    for i, c in enumerate(candidates):
        c = np.asarray(c, dtype=np.float64)
        best = c[np.argmax(c[:, 2])]
        builder.add(
            FramePrediction(i, True, best[2] > 0, best[0], best[1], best[2], c[:, :2], c[:, 2])
        )
    return builder.finish(frame_height=frame_height)
