"""Frame cache: same windows as decoding, keyed rebuilds, damage detection, atomic builds, memory.

What is asserted about "the same windows":

* one clip stored twice, as a LOSSLESS H.264 video (``libx264rgb``, ``qp=0``) and as a folder of
  PNGs: every window of the video equals the window of the image folder, field by field and
  pixel for pixel (frames, heatmaps, labels), read through the frame cache or decoded directly;
* for a lossy H.264 video and for a JPEG folder: the windows read through the cache equal those
  decoded from the files (the path used when ``data.cache=off``), with and without augmentation.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from tests.data.helpers import track, write_tennis_clip, write_video_clip
from tracknet.config import load_config
from tracknet.data import frame_cache
from tracknet.data.codec import HeatmapCodec
from tracknet.data.dataset import ClipWindowDataset, cache_dataset, make_loader
from tracknet.data.formats import load_clips
from tracknet.data.frame_cache import FrameCache, build_caches, cache_dir
from tracknet.data.frame_file import CachedFrames, read_header, write_frame_file
from tracknet.errors import DataError, StorageError
from tracknet.io.labels import write_ball_csv

SIZE = (80, 48)  # (W, H) of the fixture frames
CODEC = HeatmapCodec(input_size=(64, 36), heatmap_size=(32, 18), sigma=1.5)
LETTERBOX = HeatmapCodec(input_size=(64, 48), heatmap_size=(32, 24), sigma=1.5, resize="letterbox")


def textured_frames(n: int, seed: int = 0) -> np.ndarray:
    """``uint8 [n, H, W, 3]``: noise with a white ball where ``track`` puts it."""
    labels = track(n, SIZE, seed)
    frames = np.random.default_rng(seed).integers(0, 200, (n, SIZE[1], SIZE[0], 3), np.uint8)
    for i, (v, x, y) in enumerate(zip(labels.visibility, labels.x, labels.y, strict=True)):
        if v:
            cx, cy = int(round(x)), int(round(y))
            frames[i, cy - 1 : cy + 2, cx - 1 : cx + 2] = 255
    return frames


def write_lossless_video(path: Path, frames: np.ndarray, gop: int = 4) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=30)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "rgb24"
        stream.codec_context.gop_size = gop
        stream.options = {"qp": "0", "preset": "ultrafast"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture
def twin_root(tmp_path):
    """A generic-layout root: the same 10 frames as ``clipv.mp4`` (lossless) and ``clipi/*.png``."""
    n = 10
    frames, labels = textured_frames(n), track(n, SIZE)
    write_lossless_video(tmp_path / "clipv.mp4", frames)
    (tmp_path / "clipi").mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(tmp_path / "clipi" / f"{i:04d}.png")
    for stem in ("clipv", "clipi"):
        write_ball_csv(tmp_path / f"{stem}_ball.csv", labels)
    return tmp_path


class NoiseAugment:
    """A stand-in WindowAugment that draws from ``rng`` and changes pixels and labels."""

    def __call__(self, frames, xy, visible, rng):
        frames = frames.copy()
        frames[:, 0, :, 0] = rng.integers(0, 256, frames.shape[2])
        return frames[:, :, ::-1].copy(), frames.shape[2] - 1 - xy, visible


def assert_same_windows(a: ClipWindowDataset, b: ClipWindowDataset, skip=("clip",)) -> None:
    assert len(a) == len(b) > 0
    for i in range(len(a)):
        rng_a = np.random.default_rng(i) if a.augment else None
        rng_b = np.random.default_rng(i) if b.augment else None
        x, y = a.get(i, rng_a), b.get(i, rng_b)
        for key in x:
            if key in skip:
                continue
            same = torch.equal(x[key], y[key]) if torch.is_tensor(x[key]) else x[key] == y[key]
            assert same, (i, key)


@pytest.mark.parametrize("codec", [CODEC, LETTERBOX], ids=["stretch", "letterbox"])
def test_video_and_image_folder_give_the_same_windows(twin_root, codec):
    clips = load_clips(twin_root)
    assert [(c.name, c.is_video) for c in clips] == [("clipi", False), ("clipv", True)]
    cache = FrameCache(twin_root / ".tracknet_cache", codec, images=True)

    def windows(clip, use_cache):
        return ClipWindowDataset(
            [clip], codec, frames_per_clip=3, cache=cache if use_cache else None
        )

    images, video_clip = clips
    reference = windows(images, False)  # PNGs decoded from the files
    for clip, use_cache in [(images, True), (video_clip, False), (video_clip, True)]:
        assert_same_windows(windows(clip, use_cache), reference)
    assert len(list(cache.directory.glob("*.frames"))) == 2


@pytest.mark.parametrize("augment", [None, NoiseAugment()], ids=["plain", "augmented"])
def test_cached_windows_equal_decoded_windows(tmp_path, augment):
    write_video_clip(tmp_path / "v" / "clipA.mp4", tmp_path / "v" / "clipA_ball.csv", n=9)
    write_tennis_clip(tmp_path / "t" / "game1" / "Clip1", n=7)
    for root in (tmp_path / "v", tmp_path / "t"):  # lossy H.264; JPEGs (draft-mode decoding)
        clips = load_clips(root)
        cache = FrameCache(root / ".tracknet_cache", CODEC, images=True)
        plain = ClipWindowDataset(clips, CODEC, frames_per_clip=3, augment=augment)
        cached = ClipWindowDataset(clips, CODEC, frames_per_clip=3, augment=augment, cache=cache)
        assert_same_windows(cached, plain, skip=())


def test_from_config_caches_videos_by_default_and_not_when_off(tmp_path):
    write_video_clip(tmp_path / "clipA.mp4", tmp_path / "clipA_ball.csv", n=6)
    write_tennis_clip(tmp_path / "sub" / "clipB", n=4)  # an image folder: not cached by default
    (tmp_path / "sub" / "clipB" / "Label.csv").rename(tmp_path / "sub" / "x.csv")
    overrides = [f"data.root={tmp_path}", "data.format=generic", "data.split.ratios=[1,0,0]"]
    overrides += ["model.input_size=[64,36]", "model.heatmap.size=[32,18]"]
    off = ClipWindowDataset.from_config(load_config(overrides=[*overrides, "data.cache=off"]))
    assert off.cache is None and not (tmp_path / ".tracknet_cache").exists()
    on = ClipWindowDataset.from_config(load_config(overrides=overrides))
    files = sorted(p.name for p in (tmp_path / ".tracknet_cache").glob("*.frames"))
    assert files == ["clipA-64x36-stretch.frames"]
    assert_same_windows(on, off, skip=())


def test_cache_dir_settings(tmp_path, monkeypatch):
    assert cache_dir("off", tmp_path) is None and cache_dir("False", tmp_path) is None
    assert cache_dir("auto", tmp_path) == tmp_path / ".tracknet_cache"
    assert not (tmp_path / ".tracknet_cache").exists()  # made only when a clip is built
    assert cache_dir(str(tmp_path / "elsewhere"), tmp_path) == tmp_path / "elsewhere"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(frame_cache.os, "access", lambda *a: False)  # a read-only dataset
    assert cache_dir("auto", tmp_path) == tmp_path / "xdg" / "tracknet" / "frames"


def test_shared_folder_names_carry_the_source_path(tmp_path):
    for root in ("a", "b"):
        write_video_clip(tmp_path / root / "clip.mp4", tmp_path / root / "clip_ball.csv", n=3)
    shared = FrameCache(tmp_path / "shared", CODEC)
    names = {shared.path_for(load_clips(tmp_path / r)[0]).name for r in ("a", "b")}
    assert len(names) == 2
    beside = FrameCache(tmp_path / "a" / ".tracknet_cache", CODEC, shared=False)
    assert beside.path_for(load_clips(tmp_path / "a")[0]).name == "clip-64x36-stretch.frames"


@pytest.fixture
def video_clip(tmp_path):
    write_video_clip(tmp_path / "clipA.mp4", tmp_path / "clipA_ball.csv", n=6)
    return load_clips(tmp_path)[0]


def test_rebuilt_when_the_source_or_the_geometry_changes(tmp_path, video_clip, caplog):
    cache = FrameCache(tmp_path / "c", CODEC)
    entry, built = cache.ensure(video_clip)
    assert built and entry.status == "ok" and cache.ensure(video_clip) == (entry, False)
    header = read_header(entry.path)
    assert header["source"]["size"] == video_clip.source.stat().st_size
    assert header["input_size"] == [64, 36] and header["resize"] == "stretch"
    stat = video_clip.source.stat()
    os.utime(video_clip.source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert cache.check(video_clip).status == "stale"
    with caplog.at_level(logging.INFO, logger="tracknet"):
        assert cache.ensure(video_clip)[1]
    assert "out of date (source changed)" in caplog.text
    other = FrameCache(tmp_path / "c", LETTERBOX)
    assert other.path_for(video_clip) != entry.path and other.check(video_clip).status == "missing"


@pytest.mark.parametrize("damage", ["truncate", "header", "magic", "empty"])
def test_a_damaged_cache_is_detected_and_rebuilt(tmp_path, video_clip, caplog, damage):
    cache = FrameCache(tmp_path / "c", CODEC)
    entry, _ = cache.ensure(video_clip)
    good = entry.path.read_bytes()
    data = bytearray(good)
    if damage == "truncate":
        data = data[:-100]  # a partial copy
    elif damage == "header":
        data[60] ^= 0xFF  # one byte of the JSON header: its checksum no longer matches
    elif damage == "magic":
        data[:8] = b"NOTMINE!"
    else:
        data = b""
    entry.path.write_bytes(bytes(data))
    assert cache.check(video_clip).status == "damaged"
    with caplog.at_level(logging.WARNING, logger="tracknet"):
        assert cache.ensure(video_clip)[1]
    assert "is damaged" in caplog.text and entry.path.read_bytes() == good


def test_a_killed_build_leaves_no_half_cache(tmp_path, video_clip, monkeypatch):
    cache = FrameCache(tmp_path / "c", CODEC)
    real = FrameCache._resized_frames

    def dies_after_two(self, clip):
        for k, item in enumerate(real(self, clip)):
            if k == 2:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(FrameCache, "_resized_frames", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        cache.ensure(video_clip)
    assert [p.name for p in cache.directory.iterdir() if not p.name.endswith(".lock")] == []
    monkeypatch.undo()
    stale = cache.directory / f".{cache.path_for(video_clip).name}.x.tmp.frames"
    stale.write_bytes(b"left by a process killed with SIGKILL")
    assert cache.ensure(video_clip)[1] and not stale.exists()


def test_frames_lost_at_build_time_raise_like_decoding(tmp_path, video_clip, caplog):
    header = {"num_frames": 4, "frame_shape": [36, 64, 3], "data_offset": 4096}
    frames = [(i, np.full((36, 64, 3), i, np.uint8)) for i in (0, 1, 3)]  # frame 2 lost
    valid = write_frame_file(tmp_path / "f.frames", header, frames)
    assert valid.tolist() == [True, True, False, True]
    cached = CachedFrames(tmp_path / "f.frames", header)
    assert cached.read(np.array([0, 1]), video_clip)[:, 0, 0, 0].tolist() == [0, 1]
    assert cached.read(np.array([3, 0]), video_clip)[:, 0, 0, 0].tolist() == [3, 0]
    with pytest.raises(DataError, match=r"clipA.mp4: frame\(s\) \[2\] could not be decoded"):
        cached.read(np.array([1, 2, 3]), video_clip)


def test_memory_is_flat_maps_are_opened_lazily_and_not_pickled(tmp_path):
    for k in range(3):
        write_video_clip(tmp_path / f"clip{k}.mp4", tmp_path / f"clip{k}_ball.csv", n=8, seed=k)
    cfg = load_config(
        overrides=[f"data.root={tmp_path}", "data.split.ratios=[1,0,0]", "model.frames=2"]
        + ["model.input_size=[64,36]", "model.heatmap.size=[32,18]"]
    )
    ds = ClipWindowDataset.from_config(cfg)
    assert ds.cache is not None and not ds.cache._open  # built, but nothing mapped
    small = len(pickle.dumps(ds))
    frames_bytes = sum(c.num_frames for c in ds.clips) * 64 * 36 * 3
    assert small < frames_bytes  # the dataset holds an index, not frames
    ds[0]
    assert isinstance(next(iter(ds.cache._open.values())).frames, np.memmap)
    assert len(pickle.dumps(ds)) == small  # a worker's copy starts with no map open


def test_workers_build_missing_caches_once_under_a_lock(tmp_path):
    for k in range(2):
        write_video_clip(tmp_path / f"clip{k}.mp4", tmp_path / f"clip{k}_ball.csv", n=8, seed=k)
    clips = load_clips(tmp_path)
    cache = FrameCache(tmp_path / "c", CODEC)
    lazy = ClipWindowDataset(clips, CODEC, frames_per_clip=2, cache=cache)  # nothing built yet
    plain = ClipWindowDataset(clips, CODEC, frames_per_clip=2)
    loader = make_loader(lazy, batch_size=4, shuffle=False, num_workers=2)
    got = torch.cat([b["frames"] for b in loader])
    want = torch.stack([plain[i]["frames"] for i in range(len(plain))])
    assert torch.equal(got, want)
    assert all(cache.check(c).status == "ok" for c in clips)


def test_no_room_on_the_disk(tmp_path, video_clip, caplog):
    cache = FrameCache(tmp_path / "c", CODEC)
    with pytest.raises(StorageError, match="frame cache needs"):
        build_caches(cache, [video_clip], keep_free=2**62)
    assert not (tmp_path / "c").exists()
    with pytest.raises(StorageError, match="frame cache needs"):  # more than that share of it
        build_caches(cache, [video_clip], max_share=1e-15)
    assert not (tmp_path / "c").exists()
    report = build_caches(cache, [video_clip])
    assert (report.clips, report.built, report.built_frames) == (1, 1, 6)
    assert report.bytes == cache.bytes_for(video_clip) == report.folder_bytes


def test_cache_dataset_builds_every_split(tmp_path):
    for k in range(3):
        write_video_clip(tmp_path / f"clip{k}.mp4", tmp_path / f"clip{k}_ball.csv", n=4, seed=k)
    cfg = load_config(
        overrides=[f"data.root={tmp_path}", "data.split.ratios=[0.4,0.3,0.3]"]
        + ["model.input_size=[64,36]", "model.heatmap.size=[32,18]"]
    )
    report = cache_dataset(cfg, progress=False)
    assert (report.clips, report.built) == (3, 3)
    assert cache_dataset(cfg, progress=False).built == 0
