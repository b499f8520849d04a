"""Window augmentation keeps labels on the ball and treats every frame of a window alike."""

from __future__ import annotations

import numpy as np
import pytest

from tracknet.config import AugmentConfig
from tracknet.data.transforms import (
    AugmentParams,
    WindowAugment,
    apply_params,
    transform_points,
)

WIDTH, HEIGHT, T = 96, 64, 3
STRONG = AugmentConfig(
    enabled=True, hflip=0.5, scale=[0.8, 1.25], translate=0.15, color_jitter=0.3, blur=0.5
)


def red_dot_window(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey noise frames with a red dot (radius 3) at a different known spot in each frame."""
    frames = np.repeat(rng.integers(70, 150, (T, HEIGHT, WIDTH, 1), dtype=np.uint8), 3, axis=3)
    xy = np.stack([rng.uniform(5, WIDTH - 6, T), rng.uniform(5, HEIGHT - 6, T)], axis=1)
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    for t, (x, y) in enumerate(xy):
        frames[t][(cols - x) ** 2 + (rows - y) ** 2 <= 9] = (230, 20, 20)
    return frames, xy, np.ones(T, dtype=bool)


def is_red(pixel: np.ndarray) -> bool:
    r, g, b = (int(v) for v in pixel)
    return r > g + 60 and r > b + 60


@pytest.mark.parametrize("seed", range(40))
def test_labels_stay_on_the_ball(seed):
    rng = np.random.default_rng(seed)
    frames, xy, visible = red_dot_window(rng)
    out, new_xy, new_visible = WindowAugment(STRONG)(frames, xy, visible, rng)
    assert out.shape == frames.shape and out.dtype == np.uint8
    for t in range(T):
        if new_visible[t]:
            x, y = np.rint(new_xy[t]).astype(int)
            assert is_red(out[t, y, x]), (t, new_xy[t], out[t, y, x])
        else:
            assert tuple(new_xy[t]) == (0.0, 0.0)


def test_flip_mirrors_pixels_and_labels_exactly():
    rng = np.random.default_rng(0)
    frames, xy, visible = red_dot_window(rng)
    out, new_xy, new_visible = apply_params(AugmentParams(flip=True), frames, xy, visible)
    np.testing.assert_array_equal(out, frames[:, :, ::-1])
    np.testing.assert_allclose(new_xy[:, 0], WIDTH - 1 - xy[:, 0])
    np.testing.assert_allclose(new_xy[:, 1], xy[:, 1])
    assert new_visible.all()


def test_pixel_centre_convention():
    xy = np.array([[0.0, 0.0], [WIDTH - 1.0, HEIGHT - 1.0], [(WIDTH - 1) / 2, 25.0]])
    flipped, _ = transform_points(AugmentParams(flip=True), xy, np.ones(3, bool), (WIDTH, HEIGHT))
    np.testing.assert_allclose(flipped[:, 0], [WIDTH - 1, 0, (WIDTH - 1) / 2])
    zoomed, _ = transform_points(
        AugmentParams(scale=2.0), xy[2:], np.ones(1, bool), (WIDTH, HEIGHT)
    )
    np.testing.assert_allclose(
        zoomed[0], [(WIDTH - 1) / 2, (HEIGHT - 1) / 2 + 2 * (25 - (HEIGHT - 1) / 2)]
    )


def test_identity_params_change_nothing():
    frames, xy, visible = red_dot_window(np.random.default_rng(1))
    out, new_xy, new_visible = apply_params(AugmentParams(), frames, xy, visible)
    np.testing.assert_array_equal(out, frames)
    np.testing.assert_allclose(new_xy, xy)
    assert new_visible.all()


def test_integer_shift_moves_pixels_exactly():
    frames, xy, visible = red_dot_window(np.random.default_rng(2))
    out, new_xy, _ = apply_params(AugmentParams(shift=(3.0, -2.0)), frames, xy, visible)
    np.testing.assert_array_equal(out[:, 0 : HEIGHT - 2, 3:], frames[:, 2:, : WIDTH - 3])
    assert (out[:, :, :3] == 0).all()  # brought in from outside: black
    np.testing.assert_allclose(new_xy, xy + [3.0, -2.0])


def test_a_ball_pushed_out_of_the_frame_becomes_invisible():
    xy = np.array([[5.0, 30.0], [50.0, 30.0], [90.0, 30.0]])
    visible = np.array([True, True, False])
    params = AugmentParams(shift=(-10.0, 0.0))
    new_xy, new_visible = transform_points(params, xy, visible, (WIDTH, HEIGHT))
    assert new_visible.tolist() == [False, True, False]
    np.testing.assert_allclose(new_xy, [[0, 0], [40, 30], [0, 0]])


def test_one_draw_for_the_whole_window():
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    frames = np.stack([frame] * T)
    xy = np.tile([[40.0, 20.0]], (T, 1))
    for seed in range(10):
        out, new_xy, _ = WindowAugment(STRONG)(
            frames, xy, np.ones(T, bool), np.random.default_rng(seed)
        )
        for t in range(1, T):
            np.testing.assert_array_equal(out[t], out[0])
            np.testing.assert_array_equal(new_xy[t], new_xy[0])


def test_same_generator_state_same_result():
    frames, xy, visible = red_dot_window(np.random.default_rng(4))
    a = WindowAugment(STRONG)(frames, xy, visible, np.random.default_rng(7))
    b = WindowAugment(STRONG)(frames, xy, visible, np.random.default_rng(7))
    for left, right in zip(a, b, strict=True):
        np.testing.assert_array_equal(left, right)


def test_disabled_returns_the_inputs():
    frames, xy, visible = red_dot_window(np.random.default_rng(5))
    cfg = AugmentConfig(enabled=False)
    out = WindowAugment(cfg)(frames, xy, visible, np.random.default_rng(0))
    assert out[0] is frames and out[1] is xy and out[2] is visible


def test_colour_jitter_keeps_grey_grey_and_moves_brightness():
    frames = np.full((T, HEIGHT, WIDTH, 3), 100, dtype=np.uint8)
    xy, visible = np.zeros((T, 2)), np.zeros(T, bool)
    brighter = AugmentParams(brightness=1.2, saturation=0.5, contrast=0.7)
    out, _, _ = apply_params(brighter, frames, xy, visible)
    assert (out == 120).all()  # a flat grey picture: contrast pivots on its own grey


def test_saturation_zero_gives_grey():
    frames, xy, visible = red_dot_window(np.random.default_rng(6))
    out, _, _ = apply_params(AugmentParams(saturation=0.0), frames, xy, visible)
    assert np.abs(out.astype(int) - out[..., :1]).max() <= 1


def test_blur_softens_an_edge_but_keeps_the_mean():
    frames = np.zeros((1, HEIGHT, WIDTH, 3), dtype=np.uint8)
    frames[:, :, WIDTH // 2 :] = 200
    out, _, _ = apply_params(
        AugmentParams(blur_sigma=1.0), frames, np.zeros((1, 2)), np.ones(1, bool)
    )
    row = out[0, HEIGHT // 2, :, 0].astype(int)
    assert 0 < row[WIDTH // 2 - 1] < 200 and 0 < row[WIDTH // 2] < 200
    assert abs(out.mean() - frames.mean()) < 1


def test_invalid_scale_range_is_rejected():
    with pytest.raises(ValueError, match="scale"):
        WindowAugment(AugmentConfig(scale=[1.2, 0.8]))
