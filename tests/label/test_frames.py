"""JPEG frames of the labelled source: decoded frames match, prefetch fills a bounded cache."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from tracknet.io.video import read_frames
from tracknet.label.frames import FrameServer
from tracknet.label.source import open_source


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def test_video_frames_match_the_decoder_and_are_prefetched(video):
    server = FrameServer(open_source(video), cache_size=8, prefetch=4)
    try:
        for index in (0, 1, 2, 15, 3):  # forward steps and seeks both ways
            expected = read_frames(video, [index])[0].astype(np.float32)
            assert np.abs(pixels(server.jpeg(index)) - expected).mean() < 3
        deadline = time.monotonic() + 10
        while not all(server.cache.contains(i) for i in (4, 5, 6, 7)):
            assert time.monotonic() < deadline, "the frames after the last one were not prefetched"
            time.sleep(0.01)
        for index in range(20):
            server.jpeg(index)
        assert len(server.cache) <= 8  # memory does not grow with the video
        with pytest.raises(IndexError):
            server.jpeg(20)
    finally:
        server.close()
    assert not server._thread.is_alive()


def test_image_folders_serve_jpegs_as_they_are_and_encode_the_rest(data, tmp_path):
    folder = data["tennis"] / "game1" / "Clip1"
    server = FrameServer(open_source(folder))
    assert server.jpeg(4) == (folder / "0004.jpg").read_bytes()
    pngs = tmp_path / "pngs"
    pngs.mkdir()
    frame = np.zeros((18, 32, 3), np.uint8)
    frame[5:9, 10:14] = 255
    for i in range(3):
        Image.fromarray(frame).save(pngs / f"{i}.png")
    server = FrameServer(open_source(pngs))
    data_ = server.jpeg(2)
    assert data_[:2] == b"\xff\xd8" and np.abs(pixels(data_) - frame).mean() < 4
