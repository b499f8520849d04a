"""The clip background (model.detail.background): the median frame, in training items, crops and
batches, the same picture for every window of a clip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.data.helpers import CODEC, FlipAugment, write_tennis_clip, write_video_clip
from tracknet.config import load_config
from tracknet.data.background import background_indices, median_background
from tracknet.data.dataset import ClipWindowDataset, make_loader
from tracknet.data.formats import load_clips
from tracknet.train.samples import crop_window


def test_background_indices_spread_over_the_clip():
    assert background_indices(0).tolist() == []
    assert background_indices(5, samples=8).tolist() == [0, 1, 2, 3, 4]
    picked = background_indices(1000, samples=4)
    assert picked.tolist() == [125, 375, 625, 875]  # the centres of four equal parts
    many = background_indices(100_000)
    assert len(many) == 48 and np.all(np.diff(many) > 0) and many[-1] < 100_000


def test_median_background_removes_what_moves():
    rng = np.random.default_rng(0)
    court = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    frames = np.repeat(court[None], 7, axis=0)
    for t in range(7):  # a white ball at a new place in every frame
        frames[t, 5:8, 3 * t : 3 * t + 3] = 255
    bg = median_background(frames)
    assert bg.dtype == np.uint8 and bg.shape == court.shape
    assert np.array_equal(bg, court)
    # an even count takes the lower middle value: always one of the frames' values
    assert median_background(np.array([[[[10]]], [[[20]]]], np.uint8)).item() == 10
    with pytest.raises(ValueError, match="N >= 1"):
        median_background(np.zeros((0, 2, 2, 3), np.uint8))


@pytest.fixture
def clips(tmp_path):
    write_tennis_clip(tmp_path / "game1" / "Clip1", n=6)
    write_tennis_clip(tmp_path / "game2" / "Clip1", n=5, seed=1)
    return load_clips(tmp_path)


def _resized_median(clip) -> np.ndarray:
    plain = ClipWindowDataset([clip], CODEC, frames_per_clip=clip.num_frames)
    frames = plain[0]["frames"]  # [T, 3, H, W] in [0, 1], every frame of the clip
    pixels = (frames * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return median_background(pixels)


def test_items_carry_the_clips_median_frame(clips):
    ds = ClipWindowDataset(clips, CODEC, frames_per_clip=2, background=True)
    ds.prepare_backgrounds()
    for index in (0, 3, len(ds) - 1):
        item = ds[index]
        clip = ds.clips[int(ds.windows[index][0])]
        bg = item["background"]
        assert bg.shape == (3, 54, 96) and bg.dtype == torch.float32
        expected = torch.from_numpy(_resized_median(clip)).permute(2, 0, 1).float() / 255
        torch.testing.assert_close(bg, expected, rtol=0, atol=1e-6)
        # the ball of a visible frame is in the frame, not in the background
        t = int(np.flatnonzero(item["visible"].numpy())[0])
        x, y = (int(round(v)) for v in item["xy_input"][t].tolist())
        assert (item["frames"][t, :, y, x] - bg[:, y, x]).abs().max() > 0.3
    assert "background" not in ClipWindowDataset(clips, CODEC, frames_per_clip=2)[0]


def test_video_clip_background_through_the_frame_cache(tmp_path):
    write_video_clip(tmp_path / "match.mp4", tmp_path / "match_ball.csv", n=9)
    cfg = load_config(
        overrides=[
            f"data.root={tmp_path}",
            "data.split.train=[match]",
            "model.frames=3",
            "model.input_size=[96,54]",
            "model.heatmap.size=[48,27]",
            "model.detail.enabled=true",
            "model.detail.background=true",
            f"data.cache={tmp_path / 'cache'}",
        ]
    )
    cached = ClipWindowDataset.from_config(cfg, "train")
    assert cached.cache is not None and cached._backgrounds  # made before any worker starts
    cfg.data.cache = "off"
    decoded = ClipWindowDataset.from_config(cfg, "train")
    assert decoded.cache is None
    a, b = cached[2]["background"], decoded[2]["background"]
    assert a.shape == (3, 54, 96)
    torch.testing.assert_close(a, b, rtol=0, atol=1.5 / 255)  # the cache is the decoder's output
    cfg.model.detail.background = False
    assert not ClipWindowDataset.from_config(cfg, "train").background


def test_augmentation_moves_the_background_with_the_frames(clips):
    ds = ClipWindowDataset(clips, CODEC, frames_per_clip=2, augment=FlipAugment(), background=True)
    plain = ClipWindowDataset(clips, CODEC, frames_per_clip=2, background=True)
    item = ds.get(1, np.random.default_rng(0))
    assert item["frames"].shape == (2, 3, 54, 96)  # the background is not one of the frames
    flipped = plain[1]["background"].flip(-1)
    torch.testing.assert_close(item["background"][:, 1:], flipped[:, 1:], rtol=0, atol=1e-6)
    # the labels of the window's frames are untouched by the extra frame
    assert item["visible"].tolist() == plain[1]["visible"].tolist()


def test_crops_and_batches_carry_the_background(clips):
    ds = ClipWindowDataset(clips, CODEC, frames_per_clip=2, background=True)
    item = ds[0]
    cropped = crop_window(item, (32, 16), np.random.default_rng(3), ball_prob=0.0, stride=2)
    bg = cropped["background"]
    assert bg.shape == (3, 16, 32)
    frames = cropped["frames"]  # the same window of the frame: find the crop's offset
    full = item["frames"][0]
    hits = [
        (y, x)
        for y in range(0, 54 - 16 + 1)
        for x in range(0, 96 - 32 + 1)
        if torch.equal(full[:, y : y + 16, x : x + 32], frames[0])
    ]
    assert hits
    y, x = hits[0]
    assert torch.equal(bg, item["background"][:, y : y + 16, x : x + 32])

    batch = next(iter(make_loader(ds, batch_size=3, shuffle=False, num_workers=0)))
    assert batch["background"].shape == (3, 3, 54, 96)
    assert batch["background"].dtype == torch.float32  # sent as uint8, exact
    torch.testing.assert_close(batch["background"][2], ds[2]["background"], rtol=0, atol=0)
