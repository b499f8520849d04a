"""Training samples: the crop sampler and the key -> sample map of KeyedWindows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tracknet.train.samples import KeyedWindows, crop_window

W, H, S = 256, 160, 4  # input size and input/heatmap stride
CROP = (64, 48)


def _item(xy_input, visible) -> dict:
    """A window whose pixels and heatmap cells say where they are.

    Frames: channel 0 holds x, channel 1 holds y; heatmaps hold ``i + 1000 * j``.
    """
    t = len(visible)
    ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    frames = torch.zeros(t, 3, H, W)
    frames[:, 0], frames[:, 1] = xs.float(), ys.float()
    hj, hi = torch.meshgrid(torch.arange(H // S), torch.arange(W // S), indexing="ij")
    heatmaps = (hi + 1000 * hj).float().expand(t, -1, -1).clone()
    return {
        "frames": frames,
        "heatmaps": heatmaps,
        "visible": torch.tensor(visible, dtype=torch.bool),
        "xy_input": torch.tensor(np.asarray(xy_input), dtype=torch.float32),
    }


def _origin(out: dict) -> tuple[int, int]:
    return int(out["frames"][0, 0, 0, 0]), int(out["frames"][0, 1, 0, 0])


def _ball_inside(out: dict) -> bool:
    return bool(out["visible"].any())


def test_crops_lie_inside_the_frame_stride_aligned_with_the_matching_heatmap():
    item = _item([[30.0, 20.0], [250.0, 150.0], [0, 0]], [True, True, False])
    origins = set()
    for seed in range(300):
        out = crop_window(item, CROP, np.random.default_rng(seed), 0.5, S)
        cw, ch = CROP
        assert out["frames"].shape == (3, 3, ch, cw)
        x0, y0 = _origin(out)
        origins.add((x0, y0))
        assert 0 <= x0 <= W - cw and 0 <= y0 <= H - ch
        assert x0 % S == 0 and y0 % S == 0
        # the crop is one rectangle of the frame, the same for every frame of the window
        assert torch.equal(out["frames"], item["frames"][:, :, y0 : y0 + ch, x0 : x0 + cw])
        assert out["heatmaps"].shape == (3, ch // S, cw // S)
        assert float(out["heatmaps"][0, 0, 0]) == x0 // S + 1000 * (y0 // S)
        assert torch.equal(out["xy_input"], item["xy_input"])  # positions are not moved
    assert len(origins) > 50, "crops must be spread over the frame"


def test_a_ball_outside_the_crop_is_no_longer_visible():
    item = _item([[30.0, 20.0], [250.0, 150.0], [128, 80]], [True, True, False])
    for seed in range(200):
        out = crop_window(item, CROP, np.random.default_rng(seed), 0.5, S)
        x0, y0 = _origin(out)
        for t in range(3):
            x, y = item["xy_input"][t].tolist()
            inside = x0 <= x <= x0 + CROP[0] - 1 and y0 <= y <= y0 + CROP[1] - 1
            assert bool(out["visible"][t]) == (bool(item["visible"][t]) and inside)


def test_ball_crops_place_the_ball_between_15_and_85_percent():
    ball = (131.0, 77.0)  # far from the borders: no clipping
    item = _item([ball, [0, 0]], [True, False])
    for seed in range(300):
        out = crop_window(item, CROP, np.random.default_rng(seed), 1.0, S)
        x0, y0 = _origin(out)
        # the offset is drawn in [0.15, 0.85] of the crop, then rounded down to the stride
        assert 0.15 * CROP[0] <= ball[0] - x0 < 0.85 * CROP[0] + S
        assert 0.15 * CROP[1] <= ball[1] - y0 < 0.85 * CROP[1] + S
        assert bool(out["visible"][0]) and not bool(out["visible"][1])


@pytest.mark.parametrize("ball", [(2.0, 3.0), (253.5, 157.5), (128.0, 80.0)])
def test_the_ball_is_in_the_crop_with_the_configured_probability(ball):
    item = _item([ball], [True])
    n = 2000

    def rate(p: float) -> float:
        hits = [
            _ball_inside(crop_window(item, CROP, np.random.default_rng([seed, 1]), p, S))
            for seed in range(n)
        ]
        return float(np.mean(hits))

    uniform = rate(0.0)  # a crop placed at random holds the ball now and then
    assert uniform < 0.5
    assert rate(1.0) == 1.0, "a crop placed over the ball always holds it, even at a border"
    expected = 0.6 + 0.4 * uniform
    assert abs(rate(0.6) - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 0.01


def test_no_visible_ball_gives_a_uniform_crop_and_a_too_large_crop_nothing():
    item = _item([[0, 0]], [False])
    xs = [_origin(crop_window(item, CROP, np.random.default_rng(s), 1.0, S))[0] for s in range(400)]
    assert min(xs) == 0 and W - CROP[0] - 2 * S < max(xs) <= W - CROP[0]
    assert crop_window(item, (W + S, 48), np.random.default_rng(0), 1.0, S) is item
    assert crop_window(item, (64, H + S), np.random.default_rng(0), 1.0, S) is item


class Windows:
    """A stand-in ClipWindowDataset: ``get(index, rng)`` draws like an augmentation does."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.balls = np.random.default_rng(0).uniform([20, 20], [W - 20, H - 20], (n, 2))

    def __len__(self) -> int:
        return self.n

    def get(self, index: int, rng: np.random.Generator) -> dict:
        item = _item([self.balls[index]], [True])
        item["draw"] = float(rng.random())  # an augmentation's draw
        item["index"] = index
        return item


def test_keyed_windows_are_a_function_of_seed_epoch_and_index():
    windows = Windows(10)
    keyed = KeyedWindows(windows, seed=3, crop=CROP, ball_prob=0.8, stride=S)
    assert len(keyed) == 10
    for key in (0, 7, 10, 17, 45):
        epoch, index = divmod(key, 10)
        out = keyed[key]
        assert out["index"] == index
        again = KeyedWindows(Windows(10), seed=3, crop=CROP, ball_prob=0.8, stride=S)[key]
        assert out["draw"] == again["draw"] and torch.equal(out["frames"], again["frames"])
        # the same draws as a generator seeded by (seed, epoch, index), augmentation first
        rng = np.random.default_rng([3, epoch, index])
        expected = crop_window(windows.get(index, rng), CROP, rng, 0.8, S)
        assert out["draw"] == expected["draw"] and torch.equal(out["frames"], expected["frames"])
    # another epoch or seed: other draws for the same window
    assert keyed[2]["draw"] != keyed[12]["draw"]
    other_seed = KeyedWindows(windows, seed=4, crop=CROP, ball_prob=0.8, stride=S)
    assert keyed[2]["draw"] != other_seed[2]["draw"]


def test_keyed_windows_without_crop_give_whole_windows():
    keyed = KeyedWindows(Windows(4), seed=0)
    out = keyed[5]
    assert out["index"] == 1 and out["frames"].shape == (1, 3, H, W)
