"""Video and image I/O on PyAV and Pillow: probe, stream, random access, atomic writing.

Conventions:
    * Frames are RGB ``uint8`` numpy arrays of shape ``(H, W, 3)``; sizes passed as arguments are
      ``(W, H)``.
    * Frame indices are 0-based. While decoding, a frame's index is
      ``round((pts - stream.start_time) * time_base * fps)``, so a frame that is missing from the
      stream (dropped, or lost to a corrupt packet) leaves a gap in the indices instead of shifting
      every later frame by one. A frame without a timestamp gets ``previous index + 1``, an
      index equal to the previous one (duplicate timestamps) is bumped to ``previous index + 1``,
      and a frame whose index has already passed (decoder output out of order after a damaged
      packet) is dropped.
    * Nothing here holds more than a few decoded frames: memory does not grow with video length.

Errors a user can fix (a missing, empty, truncated or undecodable file) raise
:class:`tracknet.errors.DataError` naming the file and what to do about it.

Long because it is the one module that talks to PyAV: probing, streaming, random access and
atomic writing share its container handling, frame-index clock and error wording, which are
stated once here rather than in several files.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image

from tracknet.errors import DataError
from tracknet.utils import atomic_path, log

_REENCODE_HINT = "re-encode it, e.g. `ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4`"


# --------------------------------------------------------------------------- probing
@dataclass(frozen=True)
class VideoInfo:
    """What a video container says about its first video stream.

    Attributes:
        path: the video file.
        width, height: frame size in pixels.
        fps: frames per second (the stream's average rate, else its guessed rate).
        frame_count: number of frames. Taken from the container when it records one
            (``frame_count_source == "container"``, e.g. MP4/MOV sample tables); otherwise
            counted by demuxing every packet of the stream without decoding
            (``frame_count_source == "packets"``; exact for video codecs, which put one frame
            in each packet).
        duration: seconds (``frame_count / fps`` when the container does not record it).
        frame_count_source: ``"container"`` or ``"packets"``, see ``frame_count``.
    """

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    frame_count_source: str = "container"


def _open_input(path: str | Path) -> tuple[av.container.InputContainer, av.video.VideoStream]:
    """Open ``path`` for reading and return it with its first video stream."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: video file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the video file is empty (0 bytes); copy or export it again")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path}: cannot be opened as a video ({exc}). The file may be truncated (an MP4 "
            f"whose copy stopped early has no index) or in an unknown format; {_REENCODE_HINT}"
        ) from exc
    if not container.streams.video:
        container.close()
        raise DataError(f"{path}: holds no video stream")
    return container, container.streams.video[0]


def _stream_fps(stream: av.video.VideoStream, path: Path) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or float(rate) <= 0:
        raise DataError(f"{path}: the video does not state its frame rate; {_REENCODE_HINT}")
    return float(rate)


def _count_packets(container: av.container.InputContainer, stream: av.video.VideoStream) -> int:
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size:  # the demuxer ends with an empty flush packet
                count += 1
    except av.FFmpegError:
        pass  # a truncated tail: count what could be read
    return count


def probe_video(path: str | Path) -> VideoInfo:
    """Read size, frame rate, frame count and duration of the first video stream.

    Args:
        path: a video file PyAV (FFmpeg) can read.

    Returns:
        The :class:`VideoInfo`; see there for where ``frame_count`` comes from.

    Raises:
        DataError: the file is missing, empty, truncated or holds no video.
    """
    path = Path(path)
    container, stream = _open_input(path)
    with container:
        fps = _stream_fps(stream, path)
        frame_count, source = int(stream.frames or 0), "container"
        if frame_count <= 0:
            frame_count, source = _count_packets(container, stream), "packets"
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = frame_count / fps
        return VideoInfo(
            path=path,
            width=int(stream.codec_context.width),
            height=int(stream.codec_context.height),
            fps=fps,
            frame_count=frame_count,
            duration=duration,
            frame_count_source=source,
        )


# --------------------------------------------------------------------------- decoding
class _FrameClock:
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
        return start + int(index / self.fps / self.time_base)


def _decode_indexed(
    container: av.container.InputContainer,
    stream: av.video.VideoStream,
    clock: _FrameClock,
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
        self._container, self._stream = _open_input(self.path)
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
        clock = _FrameClock(self._stream, self.info.fps)
        last = -1
        by_count = self.index_by == "count"
        to_rgb = RgbConverter()
        decoded = _decode_indexed(
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


# --------------------------------------------------------------------------- random access
class _RandomAccessDecoder:
    """An open container that serves sorted frame requests, seeking only when it pays off."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.container, self.stream = _open_input(path)
        self.stream.thread_type = "AUTO"
        self.fps = _stream_fps(self.stream, path)
        self.frame_count = int(self.stream.frames or 0)
        self.clock = _FrameClock(self.stream, self.fps)
        self._to_rgb = RgbConverter()
        self._frames: Iterator[tuple[int, av.VideoFrame]] | None = None
        self._pending: tuple[int, av.VideoFrame] | None = None  # decoded but not yet used
        self.position = -1  # index of the last frame taken from the decoder
        if self.clock.start is None:  # learn where frame 0 starts before any seek
            self._frames = _decode_indexed(self.container, self.stream, self.clock, [])
            self._pending = self._next()
        self.keyframes = self._keyframe_indices()

    def _keyframe_indices(self) -> list[int]:
        """Approximate keyframe indices from the container's index (empty when it has none)."""
        try:
            entries = self.stream.index_entries
            stamps = [e.timestamp for e in entries if e.is_keyframe]
        except (AttributeError, av.FFmpegError):
            return []
        return sorted({self.clock.index(t) or 0 for t in stamps})

    def close(self) -> None:
        self.container.close()

    def _should_seek(self, first: int) -> bool:
        """Seek unless decoding forward from the current position is no more work."""
        if self._frames is None or first <= self.position:
            return self._pending is None or self._pending[0] > first
        if self.keyframes:
            at = bisect.bisect_right(self.keyframes, first)  # keyframes[at - 1] <= first
            return at > 0 and self.keyframes[at - 1] > self.position + 1
        return first - self.position > 2 * self.fps

    def _seek(self, index: int, first: int) -> None:
        self.container.seek(self.clock.timestamp(index), stream=self.stream)
        self._frames = _decode_indexed(
            self.container, self.stream, self.clock, [], skip_nonref_before=first
        )
        self._pending = None
        self.position = -1

    def _next(self) -> tuple[int, av.VideoFrame] | None:
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        item = next(self._frames, None) if self._frames is not None else None
        if item is not None:
            self.position = item[0]
        return item

    def _seek_before(self, first: int) -> None:
        """Seek so that the next decoded frame has an index <= ``first`` (when one exists)."""
        target = first
        while True:
            self._seek(target, first)
            item = self._next()
            if item is None or item[0] <= first or target == 0:
                self._pending = item
                return
            # The keyframe found lies past the target (containers index decode timestamps,
            # which run ahead of presentation order): step further back.
            target = max(target - max(int(self.fps), 8), 0)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        wanted = sorted(set(int(i) for i in indices))
        if wanted[0] < 0:
            raise DataError(f"{self.path}: negative frame index {wanted[0]} requested")
        if self._should_seek(wanted[0]):
            self._seek_before(wanted[0])
        found: dict[int, np.ndarray] = {}
        last_wanted = wanted[-1]
        wanted_set = set(wanted)
        while (item := self._next()) is not None:
            index, frame = item
            if index > last_wanted:
                self._pending = item  # the next request may start here
                break
            if index in wanted_set:
                found[index] = self._to_rgb(frame)
        missing = [i for i in wanted if i not in found]
        if missing:
            self._frames, self._pending = None, None  # the next request seeks afresh
            total = f" of {self.frame_count}" if self.frame_count else ""
            raise DataError(
                f"{self.path}: frame(s) {missing}{total} could not be decoded (past the end, "
                f"or lost to a damaged packet); {_REENCODE_HINT}"
            )
        return np.stack([found[int(i)] for i in indices])


_CACHE_SIZE = 4
_decoders: OrderedDict[tuple[str, int, int], _RandomAccessDecoder] = OrderedDict()
_decoders_lock = threading.Lock()


_inherited: list[_RandomAccessDecoder] = []  # in a forked child: the parent's, never freed


# A forked child (a DataLoader worker) must never free a container it inherited: FFmpeg's
# free joins the decoder's threads, which exist only in the parent, so the child would hang.
def _collect_before_fork() -> None:
    # A PyAV container sits in a reference cycle (each stream points back at it), so a dropped
    # one waits for the cyclic collector; collect it here, in the parent, not in the child.
    gc.collect()


def _set_decoders_aside_after_fork() -> None:
    # The child must not share the parent's file offsets and decoder state: it opens its own.
    _inherited.extend(_decoders.values())
    _decoders.clear()


os.register_at_fork(before=_collect_before_fork, after_in_child=_set_decoders_aside_after_fork)


def _decoder_for(path: Path) -> _RandomAccessDecoder:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: video file not found") from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)  # a rewritten file is reopened
    with _decoders_lock:
        decoder = _decoders.pop(key, None)
        if decoder is None:
            decoder = _RandomAccessDecoder(path)
        _decoders[key] = decoder
        while len(_decoders) > _CACHE_SIZE:
            _, oldest = _decoders.popitem(last=False)
            oldest.close()
        return decoder


def read_frames(path: str | Path, indices: Sequence[int]) -> np.ndarray:
    """Decode the frames ``indices`` of a video (random access, for training loaders).

    The container stays open in a small per-process cache (the last 4 videos), so consecutive
    windows of one video continue decoding forward; otherwise it seeks to the keyframe before the
    first requested frame and decodes forward from there.

    Args:
        path: the video file.
        indices: 0-based frame indices, in any order, repeats allowed.

    Returns:
        ``uint8 [N, H, W, 3]`` RGB frames, in the order of ``indices``.

    Raises:
        DataError: the file cannot be read, or a requested frame does not exist or cannot be
            decoded.
    """
    if len(indices) == 0:
        raise ValueError("read_frames needs at least one frame index")
    decoder = _decoder_for(Path(path))
    with decoder.lock:
        return decoder.read(indices)


def close_cached_videos() -> None:
    """Close the containers :func:`read_frames` keeps open."""
    with _decoders_lock:
        while _decoders:
            _, decoder = _decoders.popitem()
            decoder.close()


def keyframe_indices(path: str | Path) -> list[int]:
    """The frame indices of a video's keyframes, from one scan of its packets (nothing decoded).

    Demuxing reads the file once without decoding (about as fast as the disk reads), so the
    result is exact in any container, also in those without a seek index; an MP4's own index
    counts decode time, a frame or two early when the video has B-frames. Frames are numbered as
    :class:`VideoReader` numbers them. A truncated file gives the keyframes before the damage.

    Raises:
        DataError: the file cannot be opened as a video.
    """
    path = Path(path)
    container, stream = _open_input(path)
    with container:
        clock = _FrameClock(stream, _stream_fps(stream, path))
        stamps: list[int] = []
        first: int | None = None
        try:
            for packet in container.demux(stream):
                if packet.pts is None or not packet.size:
                    continue
                first = packet.pts if first is None else min(first, packet.pts)
                if packet.is_keyframe:
                    stamps.append(packet.pts)
        except av.FFmpegError:
            pass  # a damaged tail: the keyframes before it
        if clock.start is None:
            clock.start = first  # what decoding takes as frame 0: the earliest timestamp
        return sorted({max(0, clock.index(t) or 0) for t in stamps})


class FrameSeeker(_RandomAccessDecoder):
    """Random access to one video for an interactive viewer: frames one at a time, any order.

    Decodes forward while that is less work than seeking, as :func:`read_frames` does; given the
    exact keyframes of :func:`keyframe_indices` (:meth:`set_keyframes`), a seek starts at the
    keyframe at or before the frame asked for (the fewest frames to decode) and a move forward
    inside one keyframe interval never seeks. Not shared between threads: hold :attr:`lock`
    around :meth:`read` when it is.

    Example::

        seeker = FrameSeeker("match.mp4")
        seeker.set_keyframes(keyframe_indices("match.mp4"))
        frame = seeker.read([1234])[0]  # uint8 [H, W, 3] RGB
        seeker.close()
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(Path(path))
        self.exact_keyframes = False

    def set_keyframes(self, keyframes: Sequence[int]) -> None:
        """Use these keyframe indices (from :func:`keyframe_indices`) from now on."""
        self.keyframes = sorted({int(k) for k in keyframes})
        self.exact_keyframes = bool(self.keyframes)

    def cost(self, index: int) -> int:
        """About how many frames :meth:`read` of ``index`` would decode from the current state.

        Decoding forward: the frames up to ``index``; a seek: the frames from the keyframe
        before it (from the start when no keyframe is known).
        """
        if not self._should_seek(index):
            return max(1, index - self.position)
        at = bisect.bisect_right(self.keyframes, index)
        return index - (self.keyframes[at - 1] if at > 0 else 0) + 1

    def _seek_before(self, first: int) -> None:
        if self.exact_keyframes:
            at = bisect.bisect_right(self.keyframes, first)  # keyframes[at - 1] <= first
            if at > 0:
                self._seek(self.keyframes[at - 1], first)
                item = self._next()
                if item is not None and item[0] <= first:
                    self._pending = item
                    return
        super()._seek_before(first)  # no keyframe index, or the file disagrees with it


# --------------------------------------------------------------------------- images
def open_image(
    path: str | Path,
    target_size: tuple[int, int] | None = None,
    expect_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read an image as RGB ``uint8 [H, W, 3]``.

    Args:
        path: an image file Pillow can read.
        target_size: ``(W, H)`` the caller will resize to. For JPEGs the decoder then scales by
            1/2, 1/4 or 1/8 while decoding (much faster) as long as the result stays at least this
            big in both directions; the returned image may therefore be smaller than the file
            but never smaller than ``target_size`` (unless the file itself is).
        expect_size: ``(W, H)`` the file must have (before any reduced-scale decoding).

    Raises:
        DataError: the file is missing, unreadable, truncated or not an image, or not of
            ``expect_size``.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            if expect_size is not None and image.size != tuple(expect_size):
                w, h = image.size
                raise DataError(f"{path}: {w}x{h}, not {expect_size[0]}x{expect_size[1]} as before")
            if target_size is not None and image.format == "JPEG":
                image.draft("RGB", (int(target_size[0]), int(target_size[1])))
            return np.asarray(image.convert("RGB")).copy()
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(
            f"{path}: unreadable or corrupt image ({exc}); extract or copy this frame again"
        ) from exc


# --------------------------------------------------------------------------- writing
_PIX_FMT = {"libx264": "yuv420p", "h264": "yuv420p", "mjpeg": "yuvj420p"}


class VideoWriter:
    """Write RGB frames to a video file, atomically.

    Frames go to a temporary file beside ``path``, which replaces ``path`` only when the writer
    closes without an error; an exception inside the ``with`` block (or :meth:`abort`) removes
    the temporary file, so ``path`` never holds a half-written video.

    Example::

        with VideoWriter("out.mp4", fps=30, size=(1280, 720)) as writer:
            for frame in frames:
                writer.write(frame)

    H.264 with ``yuv420p`` needs even sizes: an odd width or height is padded by repeating the
    last column or row, so pixel coordinates keep their meaning.

    Args:
        path: the output file; its suffix picks the container (``.mp4``, ``.mkv``, ``.avi``).
        fps: frame rate.
        size: ``(W, H)`` of the frames passed to :meth:`write`.
        codec: an FFmpeg encoder name: ``"libx264"`` (default; PyAV's wheels bundle it),
            ``"mjpeg"``, ``"mpeg4"``, ...
        crf: H.264 constant rate factor (lower is better quality, 18-28 typical).
        preset: x264 speed preset (``"ultrafast"`` ... ``"veryslow"``).
        gop: keyframe interval in frames (``None``: the encoder's default). Short intervals make
            random access (:func:`read_frames`) faster at some cost in file size.
        threads: encoder threads (0: FFmpeg decides).
    """

    def __init__(
        self,
        path: str | Path,
        fps: float,
        size: tuple[int, int],
        codec: str = "libx264",
        crf: int = 23,
        preset: str = "veryfast",
        gop: int | None = None,
        threads: int = 0,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = Path(path)
        self.size = (int(size[0]), int(size[1]))
        self.frames_written = 0
        self._pix_fmt = _PIX_FMT.get(codec, "yuv420p")
        self._pad = (self.size[0] % 2, self.size[1] % 2) if "420" in self._pix_fmt else (0, 0)
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        try:
            self._container = av.open(str(tmp), mode="w", format=self._format_name())
            self._stream = self._add_stream(codec, fps, crf, preset, gop, threads)
        except BaseException as exc:
            self._discard(exc)
            raise
        self._open = True

    def _format_name(self) -> str | None:
        return {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}.get(
            self.path.suffix.lower()
        )

    def _add_stream(
        self, codec: str, fps: float, crf: int, preset: str, gop: int | None, threads: int
    ) -> av.video.VideoStream:
        rate = Fraction(fps).limit_denominator(1001)
        self._time_base = 1 / rate  # frame timestamps count frames
        stream = self._container.add_stream(codec, rate=rate)
        stream.width = self.size[0] + self._pad[0]
        stream.height = self.size[1] + self._pad[1]
        stream.pix_fmt = self._pix_fmt
        stream.codec_context.thread_count = threads
        if gop is not None:
            stream.codec_context.gop_size = int(gop)
        if codec in ("libx264", "h264"):
            stream.options = {"crf": str(crf), "preset": preset}
        else:  # codecs without a CRF mode: a generous bit rate
            stream.codec_context.bit_rate = int(stream.width * stream.height * float(rate) * 2)
        return stream

    def write(self, frame: np.ndarray) -> None:
        """Encode one RGB ``uint8 [H, W, 3]`` frame of the size given at construction."""
        if not self._open:
            raise RuntimeError(f"{self.path}: the writer is closed")
        w, h = self.size
        if frame.shape != (h, w, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"expected a uint8 frame of shape {(h, w, 3)}, got {frame.dtype} {frame.shape}"
            )
        if any(self._pad):
            frame = np.pad(frame, ((0, self._pad[1]), (0, self._pad[0]), (0, 0)), mode="edge")
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = self.frames_written
        video_frame.time_base = self._time_base
        self._container.mux(self._stream.encode(video_frame))
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder, close the file and move it onto ``path``."""
        if not self._open:
            return
        self._open = False
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
        except BaseException as exc:
            self._discard(exc)
            raise
        self._atomic.__exit__(None, None, None)

    def abort(self) -> None:
        """Stop writing and delete the temporary file; ``path`` is left as it was."""
        if not self._open:
            return
        self._open = False
        self._discard(RuntimeError("aborted"))

    def _discard(self, exc: BaseException) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            with contextlib.suppress(av.FFmpegError):  # the file is being thrown away anyway
                container.close()
        try:
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
        except BaseException as raised:  # atomic_path re-raises what it was handed
            if raised is not exc:
                raise

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        elif self._open:
            self._open = False
            self._discard(exc)

    def __del__(self) -> None:  # a forgotten writer must not leave its temporary file behind
        if getattr(self, "_open", False):
            with contextlib.suppress(Exception):  # nothing sensible to do during collection
                self.abort()
