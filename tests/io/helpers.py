"""Tiny videos whose frames encode their own index, shared by the video tests."""

from __future__ import annotations

import numpy as np

from tracknet.io.video.writer import VideoWriter

WIDTH, HEIGHT, FPS, COUNT = 64, 48, 25, 40
STEP = 6  # red level per frame index


def indexed_frame(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A flat frame whose red level encodes ``index`` (flat colours survive H.264 well)."""
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[..., 0] = index * STEP
    frame[..., 1] = 255 - index * STEP
    frame[..., 2] = 128
    return frame


def frame_index(frame: np.ndarray) -> int:
    return round(float(frame[..., 0].mean()) / STEP)


def write_video(path, count=COUNT, gop=None, codec="libx264"):
    with VideoWriter(path, FPS, (WIDTH, HEIGHT), codec=codec, crf=0, gop=gop) as writer:
        for i in range(count):
            writer.write(indexed_frame(i))
    return path
