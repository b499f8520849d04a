"""Fixture writers shared by the data tests: a labelled ball track, tiny JPEG clips (Pillow) and
tiny MP4 clips (PyAV) in the dataset layouts, a heatmap codec and a stand-in augmentation."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

from tracknet.data.codec import HeatmapCodec
from tracknet.io.labels import TrackLabels, write_ball_csv, write_tennis_csv

CODEC = HeatmapCodec(input_size=(96, 54), heatmap_size=(48, 27), sigma=1.5)


class FlipAugment:
    """A stand-in WindowAugment: flips horizontally and draws one number from ``rng``."""

    def __call__(self, frames, xy, visible, rng):
        width = frames.shape[2]
        xy = xy.copy()
        xy[:, 0] = width - 1 - xy[:, 0]
        frames = frames[:, :, ::-1].copy()
        frames[:, 0, 0, 0] = rng.integers(0, 256)  # a visible trace of the draw
        return frames, xy, visible


SIZE = (64, 36)  # (W, H) of the fixture frames


# --------------------------------------------------------------------------- fixture writers
def track(n: int, size: tuple[int, int] = SIZE, seed: int = 0) -> TrackLabels:
    """A ball moving across the frame; frame 1 has no ball."""
    rng = np.random.default_rng(seed)
    w, h = size
    x = np.linspace(8, w - 8, n) + rng.uniform(-0.5, 0.5, n)
    y = np.linspace(h - 8, 8, n) + rng.uniform(-0.5, 0.5, n)
    visibility = np.ones(n, dtype=np.int64)
    if n > 1:
        visibility[1] = 0
        x[1] = y[1] = 0.0
    return TrackLabels(np.arange(n), visibility, np.round(x, 3), np.round(y, 3), np.zeros(n, int))


def render(labels: TrackLabels, size: tuple[int, int] = SIZE) -> np.ndarray:
    """``uint8 [N, H, W, 3]``: grey frames with a white 3x3 ball where visible."""
    w, h = size
    frames = np.full((len(labels), h, w, 3), 60, np.uint8)
    for i, (v, x, y) in enumerate(zip(labels.visibility, labels.x, labels.y, strict=True)):
        if v:
            cx, cy = int(round(x)), int(round(y))
            frames[i, max(cy - 1, 0) : cy + 2, max(cx - 1, 0) : cx + 2] = 255
    return frames


def write_images(folder: Path, labels: TrackLabels, size=SIZE, suffix=".jpg") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{i:04d}{suffix}" for i in range(len(labels))]
    for name, frame in zip(names, render(labels, size), strict=True):
        Image.fromarray(frame).save(folder / name, quality=95)
    return names


def write_tennis_clip(folder: Path, n: int = 6, size=SIZE, seed: int = 0) -> TrackLabels:
    labels = track(n, size, seed)
    names = write_images(folder, labels, size)
    write_tennis_csv(folder / "Label.csv", labels, names)
    return labels


def write_mp4(path: Path, frames: np.ndarray, fps: int = 30) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "10", "preset": "ultrafast"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def write_video_clip(video: Path, csv: Path, n: int = 6, size=SIZE, seed: int = 0) -> TrackLabels:
    labels = track(n, size, seed)
    write_mp4(video, render(labels, size))
    csv.parent.mkdir(parents=True, exist_ok=True)
    write_ball_csv(csv, labels)
    return labels


def assert_same_labels(got: TrackLabels, expected: TrackLabels) -> None:
    assert got.frame.tolist() == expected.frame.tolist()
    assert got.visibility.tolist() == expected.visibility.tolist()
    assert np.allclose(got.x, expected.x, atol=1e-3) and np.allclose(got.y, expected.y, atol=1e-3)
