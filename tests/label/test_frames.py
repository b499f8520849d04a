"""JPEG frames of the labelled source: decoded frames match, prefetch fills a bounded cache, the
background pass fills a disk cache that goes when the server does."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tracknet.io.video.seek import read_frames
from tracknet.label.frames import FrameServer
from tracknet.label.jpeg_cache import JpegCache
from tracknet.label.source import open_source


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def test_video_frames_match_the_decoder_and_are_prefetched(video):
    server = FrameServer(open_source(video), cache_size=8, prefetch=4, disk_cache=False)
    try:
        for index in (0, 1, 2, 15, 3):  # forward steps and seeks both ways
            expected = read_frames(video, [index])[0].astype(np.float32)
            assert np.abs(pixels(server.jpeg(index)) - expected).mean() < 3
        deadline = time.monotonic() + 10
        while not all(server.cache.peek(i) is not None for i in (4, 5, 6, 7)):
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


def test_the_background_pass_stores_every_frame_and_leaves_nothing(video, frame_cache_home):
    server = FrameServer(open_source(video), cache_size=4, prefetch=2)
    disk = server.disk
    try:
        assert disk is not None and disk.folder.parent == frame_cache_home
        served = server.jpeg(7)  # decoded on request (or already passed) and kept on disk
        assert disk.wait(timeout=60), disk.stopped
        assert disk.position == 20 and disk.pass_pid() is None
        assert disk._process.wait(timeout=10) == 0  # a clean exit, also at interpreter shutdown
        files = sorted(p.name for p in disk.folder.iterdir())
        assert files == [f"{i:07d}.jpg" for i in range(20)]  # no temporaries left
        assert served == disk.path(7).read_bytes() or served[:2] == b"\xff\xd8"
        for index in range(20):
            assert server.ready(index)
            data = server.jpeg(index)
            assert data == disk.path(index).read_bytes()
            expected = read_frames(video, [index])[0].astype(np.float32)
            assert np.abs(pixels(data) - expected).mean() < 3
        assert len(server.cache) <= 4
    finally:
        server.close()
    assert not disk.folder.exists()


def test_a_held_pass_waits_for_the_server(video):
    cache = JpegCache.create()
    try:
        cache.start_pass(video)
        cache.pause()  # before the pass has read its orders: it holds at the first frame
        time.sleep(1.5)
        assert not cache.done and cache.position < 20
        cache.resume()
        assert cache.wait(timeout=60), cache.stopped
    finally:
        cache.close()


def test_the_pass_stops_when_its_input_ends(video, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    command = [sys.executable, "-m", "tracknet.label.jpeg_cache", str(video), str(folder)]
    # the end of its input is what a killed server leaves behind
    done = subprocess.run(command, input=b"", capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[-1] == "stopped the server is gone"


def test_folders_of_dead_servers_are_swept(frame_cache_home):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = frame_cache_home / f"{int(finished.stdout)}-deadbeef"
    alive = frame_cache_home / f"{os.getpid()}-cafe0000"
    for folder in (dead, alive):
        folder.mkdir(parents=True)
        (folder / "0000000.jpg").write_bytes(b"x")
    cache = JpegCache.create()
    try:
        assert not dead.exists() and alive.exists() and cache.folder.exists()
    finally:
        cache.close()
    assert not cache.folder.exists() and alive.exists()
