"""Rendered frames: deterministic, and the ball drawn where the labels say it is."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tracknet.data.synth import FORMATS, clip_rng, iter_clip, plan_clip, render_clip

SIZE = (320, 180)


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_seed_same_pixels_and_labels(fmt):
    a_frames, a_labels = render_clip(6, SIZE, np.random.default_rng(5), fmt=fmt)
    b_frames, b_labels = render_clip(6, SIZE, np.random.default_rng(5), fmt=fmt)
    assert digest(a_frames) == digest(b_frames)
    for name in ("frame", "visibility", "x", "y", "status"):
        np.testing.assert_array_equal(getattr(a_labels, name), getattr(b_labels, name))
    c_frames, _ = render_clip(6, SIZE, np.random.default_rng(6), fmt=fmt)
    assert digest(c_frames) != digest(a_frames)


def test_visible_unblurred_balls_are_ball_coloured():
    plan = plan_clip(90, SIZE, clip_rng(0, 0), fmt="tennis")
    frames = np.stack(list(iter_clip(plan)))
    sharp = (plan.labels.visibility == 1) & (plan.blur_px < plan.ball_diameter / 2)
    assert sharp.sum() >= 5
    for f in np.flatnonzero(sharp):
        x, y = int(round(plan.labels.x[f])), int(round(plan.labels.y[f]))
        # brightness flicker and sensor noise allowed for
        assert np.abs(frames[f, y, x].astype(float) - plan.ball_colour).max() < 40, f
