"""Video and image I/O: round trips on tiny videos whose frames encode their own index."""

from __future__ import annotations

import gc
import multiprocessing

import av
import numpy as np
import pytest
from PIL import Image

from tests.io.helpers import (
    COUNT,
    FPS,
    HEIGHT,
    WIDTH,
    frame_index,
    indexed_frame,
    write_video,
)
from tracknet.errors import DataError
from tracknet.io.image import open_image
from tracknet.io.video.probe import probe_video
from tracknet.io.video.reader import RgbConverter, VideoReader
from tracknet.io.video.seek import close_cached_videos, read_frames
from tracknet.io.video.writer import VideoWriter


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    # short keyframe interval: random access has to seek
    return write_video(tmp_path_factory.mktemp("video") / "counter.mp4", gop=5)


@pytest.fixture(autouse=True, scope="module")
def _release_cached_decoders():
    yield
    close_cached_videos()


def test_rgb_converter_gives_the_pixels_of_to_ndarray():
    """One swscale context for a stream: the same RGB as PyAV's per-frame conversion, also when
    the frames change size or format on the way (as a live stream may)."""
    rng = np.random.default_rng(0)
    frames = []
    for w, h in ((64, 48), (64, 48), (80, 36), (64, 48)):
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        frames.append(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p"))
    frames.append(av.VideoFrame.from_ndarray(rgb, format="rgb24"))  # already RGB
    convert = RgbConverter()
    for frame in frames:
        out = convert(frame)
        assert out.shape == (frame.height, frame.width, 3) and out.dtype == np.uint8
        np.testing.assert_array_equal(out, frame.to_ndarray(format="rgb24"))
    np.testing.assert_array_equal(convert(frames[-1]), rgb)


def test_probe_reports_size_rate_and_count(video):
    info = probe_video(video)
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    assert info.fps == pytest.approx(FPS)
    assert info.frame_count == COUNT
    assert info.frame_count_source == "container"
    assert info.duration == pytest.approx(COUNT / FPS, abs=0.1)


def test_reader_yields_every_frame_in_order(video):
    with VideoReader(video) as reader:
        items = [(index, frame) for index, frame in reader]
        assert reader.num_bad_frames == 0
    assert [i for i, _ in items] == list(range(COUNT))
    for index, frame in items:
        assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
        assert frame_index(frame) == index


def test_reader_can_count_frames_instead(tmp_path):
    clean = write_video(tmp_path / "clean.mp4", gop=5)
    with VideoReader(clean, index_by="count") as reader:
        assert [frame_index(f) for _, f in reader] == list(range(COUNT))
    with pytest.raises(ValueError, match="index_by"):
        VideoReader(clean, index_by="time")


def test_reader_can_iterate_twice(video):
    with VideoReader(video) as reader:
        first = [i for i, _ in reader]
        second = [i for i, _ in reader]
    assert first == second == list(range(COUNT))


@pytest.mark.parametrize(
    "indices",
    [[0, 1, 2], [37, 38, 39], [10, 11, 12], [3, 4, 5], [30, 2, 30, 17], [8], [12, 13, 14]],
)
def test_read_frames_returns_exactly_the_requested_frames(video, indices):
    frames = read_frames(video, indices)
    assert frames.shape == (len(indices), HEIGHT, WIDTH, 3)
    assert [frame_index(f) for f in frames] == indices


def test_read_frames_random_windows(video):
    rng = np.random.default_rng(0)
    for start in rng.integers(0, COUNT - 2, 25):
        window = [int(start), int(start) + 1, int(start) + 2]
        assert [frame_index(f) for f in read_frames(video, window)] == window


def test_read_frames_past_the_end_is_a_data_error(video):
    with pytest.raises(DataError, match="counter.mp4"):
        read_frames(video, [COUNT - 1, COUNT])


def test_read_frames_sees_a_rewritten_file(tmp_path):
    path = write_video(tmp_path / "v.mp4", count=6)
    assert frame_index(read_frames(path, [5])[0]) == 5
    with VideoWriter(path, FPS, (WIDTH, HEIGHT), crf=0) as writer:
        for i in range(6):
            writer.write(indexed_frame(20 + i))
    assert frame_index(read_frames(path, [5])[0]) == 25


def test_writer_is_atomic(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(target, FPS, (WIDTH, HEIGHT)) as w:
        w.write(indexed_frame(0))
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_failed_rewrite_keeps_the_old_video(tmp_path):
    target = write_video(tmp_path / "out.mp4", count=3)
    before = target.read_bytes()
    with pytest.raises(RuntimeError), VideoWriter(target, FPS, (WIDTH, HEIGHT)) as writer:
        writer.write(indexed_frame(9))
        raise RuntimeError("interrupted")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_writer_checks_frames(tmp_path):
    with VideoWriter(tmp_path / "x.mp4", FPS, (WIDTH, HEIGHT)) as writer:
        with pytest.raises(ValueError, match="shape"):
            writer.write(np.zeros((HEIGHT, WIDTH + 2, 3), np.uint8))
        writer.write(indexed_frame(1))


def test_writer_pads_odd_sizes_for_h264(tmp_path):
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, FPS, (WIDTH - 1, HEIGHT - 1), crf=0) as writer:
        for i in range(3):
            writer.write(indexed_frame(i, WIDTH - 1, HEIGHT - 1))
    info = probe_video(path)
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    assert frame_index(read_frames(path, [2])[0]) == 2


def test_writer_mjpeg(tmp_path):
    path = write_video(tmp_path / "m.avi", count=5, codec="mjpeg")
    with VideoReader(path) as reader:
        assert [frame_index(f) for _, f in reader] == list(range(5))


@pytest.mark.parametrize("content", [b"", b"this is not a video" * 50])
def test_unreadable_videos_are_data_errors(tmp_path, content):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(DataError, match="broken.mp4"):
        probe_video(path)
    with pytest.raises(DataError, match="broken.mp4"):
        VideoReader(path)
    with pytest.raises(DataError, match="broken.mp4"):
        read_frames(path, [0])


def test_missing_video_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        probe_video(tmp_path / "nope.mp4")


def test_truncated_mp4_is_a_data_error(tmp_path, video):
    path = tmp_path / "cut.mp4"
    path.write_bytes(video.read_bytes()[: video.stat().st_size // 2])  # the index is at the end
    with pytest.raises(DataError, match="truncated"):
        probe_video(path)


@pytest.mark.parametrize("suffix,codec", [(".mp4", "libx264"), (".avi", "mjpeg")])
def test_damaged_frames_are_skipped_and_counted(tmp_path, suffix, codec):
    clean = write_video(tmp_path / f"clean{suffix}", gop=5, codec=codec)
    data = bytearray(clean.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200] = bytes(b ^ 0xFF for b in data[middle : middle + 200])
    damaged = tmp_path / f"damaged{suffix}"
    damaged.write_bytes(bytes(data))
    with VideoReader(damaged) as reader:
        indices = [index for index, _ in reader]
    assert indices == sorted(set(indices))  # increasing, no duplicates
    lost = COUNT - len(indices)
    assert lost > 0 and reader.num_bad_frames >= lost
    assert set(indices).isdisjoint(reader.bad_frame_indices)


def test_truncated_stream_reports_the_missing_tail(tmp_path):
    clean = write_video(tmp_path / "clean.avi", codec="mjpeg")  # AVI keeps its index in front
    truncated = tmp_path / "cut.avi"
    truncated.write_bytes(clean.read_bytes()[: clean.stat().st_size // 2])
    with VideoReader(truncated) as reader:
        indices = [index for index, _ in reader]
    assert 0 < len(indices) < COUNT
    assert sorted(indices + reader.bad_frame_indices) == list(range(COUNT))


# --------------------------------------------------------------------------- images
def test_open_image_round_trip(tmp_path):
    picture = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(picture).save(tmp_path / "a.png")
    loaded = open_image(tmp_path / "a.png")
    assert loaded.dtype == np.uint8 and loaded.flags.writeable
    np.testing.assert_array_equal(loaded, picture)


def test_open_image_converts_to_rgb(tmp_path):
    Image.new("L", (10, 8), 77).save(tmp_path / "grey.png")
    assert open_image(tmp_path / "grey.png").shape == (8, 10, 3)


def test_open_image_draft_keeps_at_least_the_target_size(tmp_path):
    Image.new("RGB", (640, 360), (200, 30, 30)).save(tmp_path / "big.jpg", quality=90)
    small = open_image(tmp_path / "big.jpg", target_size=(150, 80))
    assert small.shape[1] >= 150 and small.shape[0] >= 80
    assert small.shape[:2] == (90, 160)  # JPEG draft decoded at 1/4 scale
    assert abs(int(small[..., 0].mean()) - 200) < 6


@pytest.mark.parametrize("content", [b"", b"\xff\xd8\xff\xe0 not really a jpeg"])
def test_unreadable_images_are_data_errors(tmp_path, content):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(DataError, match="bad.jpg"):
        open_image(path)


def test_truncated_jpeg_is_a_data_error(tmp_path):
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        tmp_path / "full.jpg"
    )
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.jpg"):
        open_image(tmp_path / "cut.jpg")
    with pytest.raises(DataError, match="not found"):
        open_image(tmp_path / "missing.jpg")


def _collect_and_exit() -> None:
    gc.collect()  # frees whatever the child holds of the parent's garbage


@pytest.mark.parametrize("leave", ["cached decoder", "dropped container"])
def test_forked_child_never_frees_the_parents_decoders(video, leave):
    # FFmpeg frees a decoder by joining its threads, which do not exist in a forked child:
    # a DataLoader worker that freed one hung for ever (a CI run timed out on this).
    if leave == "cached decoder":
        read_frames(video, [3, 4])  # an open, threaded decoder stays in the per-process cache
    else:
        gc.disable()  # keep the dropped container as garbage until the fork
        try:
            container = av.open(str(video))
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            next(container.decode(stream))
            del container, stream  # dropped unclosed, in a reference cycle
        finally:
            gc.enable()
    child = multiprocessing.get_context("fork").Process(target=_collect_and_exit)
    child.start()
    child.join(60)
    hung = child.is_alive()
    if hung:
        child.kill()
        child.join()
    assert not hung and child.exitcode == 0
