"""Helpers shared by the labelling tests: suggestions stored as the model thread stores them, and
a synthetic rally with planted mistakes for the review queue."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tracknet.label.doubt import Track
from tracknet.label.suggest import Suggestions


def fill(suggestions: Suggestions, items: dict[int, tuple[bool, float, float, float]]) -> None:
    """Predictions as the model thread stores them (no tracker)."""
    for frame, (vis, x, y, score) in sorted(items.items()):
        pred = SimpleNamespace(index=frame, ok=True, visible=vis, x=x, y=y, score=score)
        suggestions._add(pred, tracker=None)
    suggestions.state = "done"


SIZE = (1280, 720)
N = 60


def rally(seed: int) -> tuple[Track, dict[str, set[int]], set[int]]:
    """A 1280x720 flight at 30 fps (frames 0-41; no ball after), suggested with 1 px of noise
    and scores around 0.95, with mistakes planted (by kind) and right but unsure frames."""
    rng = np.random.default_rng(seed)
    t = np.arange(N, dtype=np.float64)
    truth = np.stack([200 + 18 * t, 600 - 30 * t + 0.9 * t * t], axis=1)
    ball = t < 42
    xy = truth + rng.normal(0, 1.0, (N, 2))
    visible = ball.copy()
    score = np.where(ball, np.clip(rng.normal(0.95, 0.02, N), 0, 0.995), rng.uniform(0, 0.2, N))
    unsure = {5: 0.56, 18: 0.58, 36: 0.6}  # right, with scores near the threshold
    for frame, value in unsure.items():
        score[frame] = value
    score[57] = 0.4  # no ball, rightly, though something peaked
    mistakes = {"outlier": {11}, "pair": {25, 26}, "phantom": {50}, "phantoms": {53, 54}}
    xy[11] += (24, 32)  # 40 px off, at 0.99
    xy[[25, 26]] += (-40, 0)  # two in a row, 40 px off: they make a "flight" of their own
    score[[11, 25, 26]] = 0.99
    visible[[50, 53, 54]] = True  # a ball where there is none, confidently
    xy[50], xy[53], xy[54] = (900, 300), (400, 200), (401, 200)
    score[[50, 53, 54]] = 0.99
    mistakes["missed"] = {30, 31, 32}  # no ball suggested inside the flight
    visible[[30, 31, 32]] = False
    score[[30, 31, 32]] = (0.3, 0.2, 0.35)
    track = Track(
        have=np.ones(N, bool),
        visible=visible,
        xy=xy,
        score=score,
        rival=np.zeros(N),
        threshold=0.5,
        frame_size=SIZE,
        fps=30.0,
    )
    return track, mistakes, {*unsure, 57}
