"""Trajectory plots with the trajectory stage's flights, events and filled points."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tracknet.eval.plots import plot_trajectory
from tracknet.io.events import Event


def _pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def test_flights_events_and_fills_are_drawn(tmp_path):
    n = 80
    t = np.arange(n)
    gt = np.stack([100 + 6 * t, 400 - 10 * np.abs(t - 40.0)], axis=1)
    visible = np.ones(n, bool)
    filled = np.zeros(n, bool)
    filled[[20, 21]] = True
    segments = [(t[:41], gt[:41]), (t[40:], gt[40:])]
    pred_events = [Event(40, "bounce", *gt[40]), Event(10, "hit", *gt[10])]
    gt_events = [Event(40, "bounce"), Event(70, "hit")]
    plain = plot_trajectory(t, visible, gt, visible, gt, tmp_path / "plain.png")
    rich = plot_trajectory(
        t, visible, gt, visible, gt, tmp_path / "rich.png", title="clip",
        segments=segments, pred_events=pred_events, gt_events=gt_events, filled=filled,
    )  # fmt: skip
    a, b = _pixels(plain), _pixels(rich)
    assert a.shape == b.shape
    changed = np.abs(a - b).sum(axis=2) > 30
    assert changed.sum() > 500  # curves, markers, event lines and legend entries were added
    green = (b[..., 1] > 120) & (b[..., 0] < 100) & (b[..., 2] < 100)  # the bounce's green
    assert green.sum() > 20


def test_events_without_positions_and_no_flights(tmp_path):
    t = np.arange(10)
    xy = np.zeros((10, 2))
    out = plot_trajectory(
        t, np.zeros(10), xy, np.zeros(10), xy, tmp_path / "p.png",
        pred_events=[Event(3, "hit")], gt_events=[Event(4, "bounce")],
    )  # fmt: skip
    assert out.stat().st_size > 0
