"""Training windows: labels, heatmaps, lazy decoding, augmentation hook, reproducible loaders."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from tests.data.helpers import CODEC, FlipAugment, write_tennis_clip, write_video_clip
from tracknet.config import load_config
from tracknet.data.codec import HeatmapCodec
from tracknet.data.dataset import ClipWindowDataset, load_split, make_loader, window_starts
from tracknet.data.formats import load_clips
from tracknet.errors import DataError, UserError


@pytest.fixture
def tennis_root(tmp_path):
    write_tennis_clip(tmp_path / "game1" / "Clip1", n=6)
    write_tennis_clip(tmp_path / "game2" / "Clip1", n=5, seed=1)
    return tmp_path


def test_window_starts():
    labelled = np.array([1, 1, 1, 0, 1, 1, 1, 1], bool)
    assert window_starts(labelled, 2, 1).tolist() == [0, 1, 4, 5, 6]
    assert window_starts(labelled, 2, 2).tolist() == [0, 4, 6]
    assert window_starts(labelled, 4, 1).tolist() == [4]
    assert window_starts(np.zeros(3, bool), 1, 1).tolist() == []


def test_item_contents(tennis_root):
    clips = load_clips(tennis_root)
    ds = ClipWindowDataset(clips, CODEC, frames_per_clip=3, stride=1)
    assert len(ds) == 4 + 3
    item = ds[0]
    assert item["frames"].shape == (3, 3, 54, 96) and item["frames"].dtype == torch.float32
    assert item["frames"].min() >= 0.0 and item["frames"].max() <= 1.0
    assert item["heatmaps"].shape == (3, 27, 48) and item["heatmaps"].dtype == torch.float32
    assert item["visible"].tolist() == [True, False, True]  # frame 1 has no ball
    labels = clips[0].labels
    expected_xy = np.stack([labels.x[:3], labels.y[:3]], axis=1)
    assert np.allclose(item["xy"].numpy(), expected_xy, atol=1e-4)
    assert np.allclose(
        item["xy_input"].numpy()[[0, 2]],
        CODEC.frame_to_input(expected_xy, (64, 36))[[0, 2]],
        atol=1e-4,
    )
    assert item["xy_input"][1].tolist() == [0.0, 0.0] and not item["heatmaps"][1].any()
    assert item["frame_size"].tolist() == [64, 36] and item["frame_size"].dtype == torch.int64
    assert item["clip"] == "game1/Clip1" and item["index"].tolist() == [0, 1, 2]
    for t in (0, 2):  # the ball is where the label says, in the frame and in the heatmap
        _assert_ball_at(item["frames"][t], item["xy_input"][t].numpy())
        peak = np.unravel_index(item["heatmaps"][t].argmax(), (27, 48))[::-1]
        assert np.allclose(peak, CODEC.input_to_heatmap(item["xy_input"][t].numpy()), atol=0.5)


def _assert_ball_at(frame: torch.Tensor, xy: np.ndarray, tolerance: float = 1.5) -> None:
    """The brightness-weighted centre of the bright pixels is at ``xy`` (input pixels)."""
    bright = (frame.mean(0) > 0.6).numpy().astype(float)
    ys, xs = np.nonzero(bright)
    assert len(xs), "no ball drawn"
    assert abs(xs.mean() - xy[0]) < tolerance and abs(ys.mean() - xy[1]) < tolerance


def test_video_windows(tmp_path):
    write_video_clip(tmp_path / "clipA.mp4", tmp_path / "clipA_ball.csv", n=6)
    ds = ClipWindowDataset(load_clips(tmp_path), CODEC, frames_per_clip=2, stride=None)
    assert ds.windows[:, 1].tolist() == [0, 2, 4]  # back to back
    item = ds[2]
    assert item["index"].tolist() == [4, 5] and item["visible"].all()
    for t in range(2):
        _assert_ball_at(item["frames"][t], item["xy_input"][t].numpy())


def test_windows_avoid_unlabelled_frames(tennis_root):
    csv = tennis_root / "game1" / "Clip1" / "Label.csv"
    lines = csv.read_text().splitlines()
    lines[4] = "0003.jpg,1,999,999,0"  # outside the frame: skipped, frame 3 unlabelled
    csv.write_text("\n".join(lines) + "\n")
    ds = ClipWindowDataset(load_clips(tennis_root), CODEC, frames_per_clip=2)
    for i in range(len(ds)):
        clip, start = ds.windows[i]
        assert not (clip == 0 and start in (2, 3))
    assert ds.windows[ds.windows[:, 0] == 0, 1].tolist() == [0, 1, 4]


def test_frames_are_decoded_lazily(tennis_root, monkeypatch):
    import tracknet.io.image as image

    calls = []
    real = image.open_image
    monkeypatch.setattr(image, "open_image", lambda *a, **k: calls.append(a) or real(*a, **k))
    ds = ClipWindowDataset(load_clips(tennis_root), CODEC, frames_per_clip=2)
    assert calls == []
    ds[0]
    assert len(calls) == 2


def test_augmentation_moves_labels_and_heatmaps_not_the_truth(tennis_root):
    clips = load_clips(tennis_root)
    plain = ClipWindowDataset(clips, CODEC, frames_per_clip=1)[0]
    flipped = ClipWindowDataset(clips, CODEC, frames_per_clip=1, augment=FlipAugment())[0]
    assert torch.equal(flipped["xy"], plain["xy"])  # original-frame truth, un-augmented
    assert flipped["xy_input"][0, 0] == pytest.approx(95 - plain["xy_input"][0, 0].item())
    assert torch.allclose(flipped["heatmaps"], plain["heatmaps"].flip(-1), atol=1e-5)
    assert torch.equal(flipped["frames"][..., 1:, :], plain["frames"].flip(-1)[..., 1:, :])


def test_real_window_augment_runs(tennis_root):
    transforms = pytest.importorskip("tracknet.data.transforms")
    cfg = load_config()
    ds = ClipWindowDataset(
        load_clips(tennis_root),
        CODEC,
        frames_per_clip=2,
        augment=transforms.WindowAugment(cfg.data.augment),
    )
    item = ds.get(0, np.random.default_rng(0))
    assert item["frames"].shape == (2, 3, 54, 96) and item["heatmaps"].shape == (2, 27, 48)
    hidden = ~item["visible"]
    assert not item["heatmaps"][hidden].any() and not item["xy_input"][hidden].any()


def test_loader_batches_match_the_items_and_are_reproducible(tennis_root):
    ds = ClipWindowDataset(load_clips(tennis_root), CODEC, frames_per_clip=2)
    batch = next(iter(make_loader(ds, batch_size=3, shuffle=False, num_workers=0)))
    assert batch["frames"].shape == (3, 2, 3, 54, 96) and batch["frames"].dtype == torch.float32
    assert torch.equal(batch["frames"][1], ds[1]["frames"])  # uint8 transport is exact
    assert batch["clip"] == ["game1/Clip1"] * 3
    assert not ds.uint8_frames  # make_loader does not change the dataset it is given

    augmented = ClipWindowDataset(ds.clips, CODEC, frames_per_clip=2, augment=FlipAugment())

    def run(workers):
        loader = make_loader(augmented, batch_size=2, shuffle=True, num_workers=workers, seed=7)
        return [(b["index"].clone(), b["frames"][:, :, 0, 0, 0].clone()) for b in loader]

    first, again, other = run(2), run(2), run(0)
    assert all(
        torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        for a, b in zip(first, again, strict=True)
    )
    # The order depends on the seed only, not on the number of workers.
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, other, strict=True))


def test_undecodable_frame(tennis_root, caplog):
    clips = load_clips(tennis_root)
    (tennis_root / "game1" / "Clip1" / "0000.jpg").write_bytes(b"broken")
    ds = ClipWindowDataset(clips, CODEC, frames_per_clip=1)
    with caplog.at_level(logging.WARNING, logger="tracknet"):
        item = ds[0]
    assert item["index"].tolist() == [1] and "0000.jpg" in caplog.text
    strict = ClipWindowDataset(clips, CODEC, frames_per_clip=1, strict=True)
    with pytest.raises(DataError, match="0000.jpg"):
        strict[0]


def test_from_config(tennis_root):
    cfg = load_config(
        overrides=[
            f"data.root={tennis_root}",
            "data.split.train=[game1/*]",
            "data.split.val=[game2/*]",
            "model.frames=2",
            "data.stride=1",
            "model.input_size=[96,54]",
            "model.heatmap.size=[48,27]",
        ]
    )
    train = ClipWindowDataset.from_config(cfg, "train")
    assert [c.name for c in train.clips] == ["game1/Clip1"]
    assert train.frames_per_clip == 2 and train.stride == 1 and len(train) == 5
    assert train.codec.input_size == (96, 54)
    val = ClipWindowDataset.from_config(cfg, "val", stride=None)
    assert val.stride == 2 and len(val) == 2
    cfg.data.root = ""
    with pytest.raises(DataError, match="data.root"):
        ClipWindowDataset.from_config(cfg)


def _split_config(root, *extra):
    return load_config(
        overrides=[
            f"data.root={root}",
            "data.split.train=[game1/*]",
            "data.split.val=[game2/*]",
            "data.split.test=[game2/*]",
            "model.input_size=[96,54]",
            "model.heatmap.size=[48,27]",
            *extra,
        ]
    )


def test_load_split_reads_and_splits_the_configured_dataset(tennis_root):
    cfg = _split_config(tennis_root)
    train, val = load_split(cfg, "train"), load_split(cfg, "val")
    assert [c.name for c in train] == ["game1/Clip1"] and [c.name for c in val] == ["game2/Clip1"]
    assert [len(c.labels) for c in train] == [6] and train[0].frame_size == (64, 36)
    with pytest.raises(UserError, match="unknown split 'dev'"):
        load_split(cfg, "dev")
    cfg.data.root = ""
    with pytest.raises(DataError, match="data.root"):
        load_split(cfg, "train")


def test_from_config_takes_the_runs_codec(tennis_root):
    cfg = _split_config(tennis_root, "data.resize=letterbox")
    codec = HeatmapCodec.from_config(cfg)
    train = ClipWindowDataset.from_config(cfg, "train", codec=codec)
    val = ClipWindowDataset.from_config(cfg, "val", stride=None, codec=codec)
    assert train.codec is codec and val.codec is codec
    assert [c.name for c in train.clips] == [c.name for c in load_split(cfg, "train")]
    built = ClipWindowDataset.from_config(cfg, "train")  # no codec given: one from cfg
    assert repr(built.codec) == repr(codec) and built.codec is not codec
