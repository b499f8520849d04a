"""The ring, the trail and the frame contract of tracknet.predict.overlay."""

import numpy as np
import pytest

from tracknet.predict.overlay import (
    DETECTED_RGB,
    INTERPOLATED_RGB,
    TRAIL_RGB,
    TrailOverlay,
    _ring_radius,
    draw_overlay,
)

H, W = 180, 320


def _frame(value=30):
    return np.full((H, W, 3), value, dtype=np.uint8)


def _ring_pixel(x, y):
    """A pixel on the ring, right of the centre."""
    return int(round(y)), int(round(x + _ring_radius(H, W)))


@pytest.mark.parametrize(("interpolated", "rgb"), [(False, DETECTED_RGB), (True, INTERPOLATED_RGB)])
def test_ring_in_the_marker_colour(interpolated, rgb):
    frame = _frame()
    out = draw_overlay(frame, [], (True, 100.0, 90.0), interpolated=interpolated)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert tuple(out[_ring_pixel(100, 90)]) == rgb
    assert tuple(out[90, 100]) == (30, 30, 30)  # the ball itself stays visible
    assert (frame == 30).all()  # input untouched
    changed = np.any(out != frame, axis=2)
    ys, xs = np.nonzero(changed)
    assert np.hypot(xs - 100, ys - 90).max() < _ring_radius(H, W) + 4  # nothing far away


def test_invisible_or_nan_leaves_the_frame_untouched():
    frame = _frame()
    for current in [(False, 100.0, 90.0), (True, float("nan"), 90.0)]:
        out = draw_overlay(frame, [(np.nan, np.nan)], current)
        assert np.array_equal(out, frame) and out is not frame


def test_trail_fades_and_invisible_frame_keeps_only_the_trail():
    frame = _frame(0)
    trail = [(40.0, 100.0), (80.0, 100.0), (120.0, 100.0), (160.0, 100.0)]
    out = draw_overlay(frame, trail, (False, 0.0, 0.0))
    assert np.any(out != 0)
    old, new = out[100, 50].astype(int), out[100, 150].astype(int)
    assert old.sum() > 0 and (new >= old).all() and new.sum() > old.sum()  # newer: more opaque
    hue = new / new.max()
    assert np.allclose(hue, np.array(TRAIL_RGB) / max(TRAIL_RGB), atol=0.02)

    # older segments are thinner
    def thickness(x):
        return int(np.count_nonzero(out[:, x].any(axis=1)))

    assert thickness(50) < thickness(150)
    ys, xs = np.nonzero(out.any(axis=2))
    assert ys.min() > 90 and ys.max() < 110  # no ring


def test_nan_breaks_the_trail():
    out = draw_overlay(_frame(0), [(40.0, 100.0), (np.nan, np.nan), (160.0, 100.0)], (False, 0, 0))
    assert not out[100, 100].any()  # no segment across the gap
    assert out[100, 160].any()  # the lone newest point is still drawn


def test_ball_at_the_border_is_clipped():
    out = draw_overlay(_frame(), [(0.0, 0.0), (W - 1.0, H - 1.0)], (True, W - 1.0, H - 1.0))
    assert out.shape == (H, W, 3)
    out = draw_overlay(_frame(), [], (True, -500.0, 5000.0))
    assert np.array_equal(out, _frame())


def test_bad_frame():
    with pytest.raises(ValueError, match="uint8"):
        draw_overlay(np.zeros((H, W, 3), np.float32), [], (True, 1.0, 1.0))


def test_trail_overlay_remembers_the_last_positions():
    draw = TrailOverlay(trail=3)
    frame = _frame(0)
    for x in (20.0, 60.0, 100.0, 140.0):
        out = draw(frame, True, x, 50.0)
    assert tuple(out[_ring_pixel(140, 50)]) == DETECTED_RGB
    assert not out[50, 140].any()  # the trail stops at the ring: the ball stays visible
    assert out[50, 80].any() and out[50, 120].any()  # the last three positions are joined
    assert not out[50, 40].any()  # the oldest one fell out of the trail
    out = draw(frame, False, 0.0, 0.0)  # ball lost: the trail stays, no ring
    assert out[50, 120].any() and not out[int(50 + _ring_radius(H, W)), 140].any()
    draw.reset()
    assert not draw(frame, False, 0.0, 0.0).any()
    assert not TrailOverlay(trail=0)(frame, False, 1.0, 1.0).any()
