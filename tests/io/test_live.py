"""Live sources (:mod:`tracknet.io.live`) on a clip served over HTTP on 127.0.0.1: frame order,
the two drop policies, a stream cut off and reopened, a source that never opens."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.infer.conftest import FRAME_SIZE, line_positions
from tests.live_server import ClipServer, write_ts_clip
from tracknet.errors import DataError
from tracknet.io.live import LiveSource, is_live, live_stem

N = 30


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("live") / "clip.ts"
    return write_ts_clip(path, line_positions(N)).read_bytes()


def test_live_sources_are_told_from_files():
    for text in ("rtsp://cam/live", "RTMP://x/y", "http://127.0.0.1:8080/a.ts", "udp://@:1234"):
        assert is_live(text), text
    assert is_live("-") and is_live("/dev/video0")
    for text in ("match.mp4", "runs/x", "/dev/sda", "file://x.mp4", "predict.top_k=3", "C:/v.mp4"):
        assert not is_live(text), text
    assert live_stem("-") == "stdin" and live_stem("/dev/video2") == "video2"
    assert live_stem("rtsp://10.0.0.5:554/court 1.sdp") == "court_1"
    assert live_stem("udp://@:1234") == "udp_1234"


def test_every_frame_in_order_without_drops(clip_bytes):
    with (
        ClipServer(clip_bytes) as server,
        LiveSource(server.url, drop="none", queue=4, reconnect=0) as source,
    ):
        frames = list(source)
    assert [f.index for f in frames] == list(range(N))
    assert not any(f.dropped for f in frames) and source.dropped == 0
    assert source.size == FRAME_SIZE and frames[0].image.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3)
    assert all(np.isfinite(f.arrived) for f in frames)


def test_a_busy_consumer_gets_the_newest_frames_and_the_drops_keep_their_place(clip_bytes):
    with (
        ClipServer(clip_bytes) as server,
        LiveSource(
            server.url, drop="oldest", queue=1, reconnect=0, transform=lambda im: im[::2, ::2]
        ) as source,
    ):
        got = []
        while chunk := source.take(4):
            got += chunk
            time.sleep(0.05)  # the model is busy
    assert [f.index for f in got] == list(range(N))  # dropped frames keep their place
    dropped = [f for f in got if f.dropped]
    assert 0 < len(dropped) == source.dropped and all(f.image is None for f in dropped)
    kept = [f for f in got if not f.dropped]
    assert kept[-1].index == N - 1  # the newest frame is never the one dropped
    assert kept[0].image.shape == (FRAME_SIZE[1] // 2, FRAME_SIZE[0] // 2, 3)  # transformed


def test_a_lost_stream_is_reopened_and_numbering_goes_on(clip_bytes):
    # first connection cut halfway, the second whole, then the server is gone (404)
    with (
        ClipServer(clip_bytes, plan=[0.5, "all"]) as server,
        LiveSource(server.url, drop="none", queue=8, reconnect=1, reconnect_delay=0.05) as source,
    ):
        frames = list(source)
    assert server.requests == 3
    assert N < len(frames) < 2 * N
    assert [f.index for f in frames] == list(range(len(frames)))
    assert source.reconnects == 2 and len(source.lost) == 3  # cut, ended, then 404
    assert "404" in source.lost[-1]


def test_a_source_that_never_opens_is_a_clear_error(clip_bytes):
    with ClipServer(clip_bytes, plan=[404]) as server:
        source = LiveSource(server.url, reconnect=0, timeout=5)
        with pytest.raises(DataError, match="cannot read a live video stream.*404"):
            source.start()


def test_a_slow_consumer_without_drops_gets_every_frame_and_the_end(clip_bytes):
    """The live counterpart of the read-ahead hang (#23): the reader finishes long before the
    consumer; its end must still arrive, after every frame."""
    got = []
    with (
        ClipServer(clip_bytes) as server,
        LiveSource(server.url, drop="none", queue=2, reconnect=0) as source,
    ):
        time.sleep(1.2)  # the reader has filled the waiting room and is waiting for room
        while chunk := source.take(8, timeout=10.0):
            got += chunk
            time.sleep(0.02)
    assert [f.index for f in got] == list(range(N))


def test_a_reading_thread_that_vanished_ends_the_stream_instead_of_a_wait(clip_bytes):
    with (
        ClipServer(clip_bytes) as server,
        LiveSource(server.url, drop="none", queue=64, reconnect=0) as source,
    ):
        list(source)  # the whole clip; the thread has ended normally
        source._ended = False  # as if it had vanished without saying so
        started = time.monotonic()
        assert source.take(1) == []
        assert time.monotonic() - started < 2.0
