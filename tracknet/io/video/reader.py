"""Streaming a video's frames in order, in constant memory: :class:`VideoReader`.

:class:`FrameClock` (timestamps to frame indices) and :func:`decode_indexed` (decoding that
skips what cannot be decoded) are shared with random access (:mod:`tracknet.io.video.seek`);
:class:`RgbConverter` turns decoded frames into RGB arrays with one swscale context per stream.
See :mod:`tracknet.io.video.probe` for the conventions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from tracknet.io.video.probe import open_input, probe_video
from tracknet.utils import log


class FrameClock:
    """Turns presentation timestamps into 0-based frame indices (see the module docstring)."""

    def __init__(self, stream: av.video.VideoStream, fps: float) -> None:
        self.fps = fps
        self.time_base = stream.time_base
        self.start = stream.start_time

    def index(self, pts: int | None) -> int | None:
        if pts is None or self.time_base is None:
            return None
        if self.start is None:
            self.start = pts  # the first timestamp seen is frame 0
        return round(float((pts - self.start) * self.time_base) * self.fps)

    def timestamp(self, index: int) -> int:
        """The stream timestamp of frame ``index`` (for seeking)."""
        start = self.start or 0
        assert self.time_base is not None, "a stream without a time base cannot be sought"

        return start + int(index / self.fps / self.time_base)


def decode_indexed(
    container: av.container.InputContainer,
    stream: av.video.VideoStream,
    clock: FrameClock,
    failures: list[int | None],
    skip_nonref_before: int = -1,
    count_frames: bool = False,
) -> Iterator[tuple[int, av.VideoFrame]]:
    """Yield ``(index, frame)`` in presentation order, skipping what cannot be decoded.

    A packet the decoder rejects is skipped and its frame index (``None`` when the packet has no
    timestamp) is appended to ``failures``. A demuxer error ends the stream (a truncated file).
    Frames before ``skip_nonref_before`` that no other frame references are not decoded at all
    (they are not yielded either): a cheap way to catch up after a seek. ``count_frames``
    numbers frames 0, 1, 2, ... as they come instead of by timestamp.
    """
    codec = stream.codec_context
    skipping = skip_nonref_before > 0
    codec.skip_frame = "NONREF" if skipping else "DEFAULT"
    last = -1
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as exc:
            log.warning("%s: stopped reading at a damaged packet (%s)", container.name, exc)
            return
        if skipping:
            packet_index = clock.index(packet.pts)
            skipping = packet_index is not None and packet_index < skip_nonref_before
            codec.skip_frame = "NONREF" if skipping else "DEFAULT"
        try:
            frames = packet.decode()
        except av.FFmpegError:
            failures.append(clock.index(packet.pts))
            continue
        for frame in frames:
            index = None if count_frames else clock.index(frame.pts)
            if index is not None and index < last:
                # Out of order after a damaged packet: its place has passed (and is counted as
                # lost); numbering it last + 1 would shift every later frame by one.
                continue
            if index is None or index == last:  # no or duplicate timestamp
                index = last + 1
            last = index
            yield index, frame


class RgbConverter:
    """Decoded frames -> ``uint8 [H, W, 3]`` RGB arrays, with one swscale context per stream.

    ``frame.to_ndarray(format="rgb24")`` sets up a new swscale context for every frame, and
    (PyAV 14 and later) one with a thread pool of its own by default: two threads started and
    joined per frame, which cost more than the conversion on a machine whose cores the model
    keeps busy. One converter per stream keeps its context (rebuilt only when the frames' size or
    format changes) and converts in the calling thread; the pixels are the same.
    """

    def __init__(self) -> None:
        self._reformatter = VideoReformatter()
        self._threads: dict[str, int] | None = {"threads": 1}  # None: a PyAV without the option

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if self._threads is not None:
            try:
                rgb = self._reformatter.reformat(frame, format="rgb24", **self._threads)
                return rgb.to_ndarray()
            except TypeError:  # PyAV before 14: no ``threads``, and no thread pool to avoid
                self._threads = None
        return self._reformatter.reformat(frame, format="rgb24").to_ndarray()


class VideoReader:
    """Stream the frames of a video, one at a time, in constant memory.

    Example::

        with VideoReader("rally.mp4") as reader:
            for index, frame in reader:  # frame: uint8 [H, W, 3] RGB
                ...
            lost = reader.bad_frame_indices

    Frames that cannot be decoded are skipped rather than ending the iteration. After (or during)
    iteration, :attr:`bad_frame_indices` lists the indices that were never yielded although a later
    frame was (gaps), plus, when the container records its frame count, the indices after the last
    decoded frame (a truncated tail). A caller writing one row per frame should emit a
    visibility-0 row for each of them. :attr:`num_bad_frames` additionally counts rejected packets
    whose position is unknown (no timestamp).

    Args:
        path: the video file.
        threads: FFmpeg decoder threading (``"AUTO"``, ``"FRAME"``, ``"SLICE"`` or ``"NONE"``).
        index_by: ``"pts"`` (default) numbers frames by timestamp, so lost frames leave gaps;
            ``"count"`` numbers decoded frames 0, 1, 2, ... (what frame-counting tools do;
            use it for variable-frame-rate phone videos, where timestamps are irregular).
        warn: log one warning with the number of frames lost (off when the caller reports them).

    Raises:
        DataError: the file is missing, empty, truncated or holds no video.
    """

    def __init__(
        self, path: str | Path, threads: str = "AUTO", index_by: str = "pts", warn: bool = True
    ) -> None:
        if index_by not in ("pts", "count"):
            raise ValueError(f"index_by must be 'pts' or 'count', got {index_by!r}")
        self.path = Path(path)
        self.index_by = index_by
        self.warn = warn  # False: the caller reports num_bad_frames itself
        self.info = probe_video(self.path)
        self._container, self._stream = open_input(self.path)
        self._stream.thread_type = threads
        self.bad_frame_indices: list[int] = []
        self._unplaced_failures = 0
        self._iterated = False

    @property
    def num_bad_frames(self) -> int:
        """Frames lost to decoding errors or gaps (see the class docstring)."""
        return len(self.bad_frame_indices) + self._unplaced_failures

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._iterated:  # a second pass starts again from the first frame
            self._container.seek(0, stream=self._stream)
        self._iterated = True
        self.bad_frame_indices = []
        self._unplaced_failures = 0
        failures: list[int | None] = []
        clock = FrameClock(self._stream, self.info.fps)
        last = -1
        by_count = self.index_by == "count"
        to_rgb = RgbConverter()
        decoded = decode_indexed(
            self._container, self._stream, clock, failures, count_frames=by_count
        )
        for index, frame in decoded:
            self.bad_frame_indices.extend(range(last + 1, index))
            last = index
            yield index, to_rgb(frame)
        if self.info.frame_count_source == "container":
            self.bad_frame_indices.extend(range(last + 1, self.info.frame_count))
        if by_count:  # a lost frame only shows as a shorter stream
            self._unplaced_failures = max(0, len(failures) - len(self.bad_frame_indices))
        else:
            placed = set(self.bad_frame_indices)
            self._unplaced_failures = sum(1 for f in failures if f is None or f not in placed)
        if self.num_bad_frames and self.warn:
            log.warning("%s: %d frame(s) could not be decoded", self.path, self.num_bad_frames)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
