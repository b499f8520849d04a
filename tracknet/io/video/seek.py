"""Random access to a video's frames: :func:`read_frames` (training loaders, through a small
per-process cache of open containers), :func:`keyframe_indices` (one scan of the packets) and
:class:`FrameSeeker` (an interactive viewer: frames one at a time, in any order). Each decodes
forward while that is less work than seeking. See :mod:`tracknet.io.video.probe` for the
conventions.
"""

from __future__ import annotations

import bisect
import gc
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import numpy as np

from tracknet.errors import DataError
from tracknet.io.video.probe import REENCODE_HINT, open_input, stream_fps
from tracknet.io.video.reader import FrameClock, RgbConverter, decode_indexed


class _RandomAccessDecoder:
    """An open container that serves sorted frame requests, seeking only when it pays off."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.container, self.stream = open_input(path)
        self.stream.thread_type = "AUTO"
        self.fps = stream_fps(self.stream, path)
        self.frame_count = int(self.stream.frames or 0)
        self.clock = FrameClock(self.stream, self.fps)
        self._to_rgb = RgbConverter()
        self._frames: Iterator[tuple[int, av.VideoFrame]] | None = None
        self._pending: tuple[int, av.VideoFrame] | None = None  # decoded but not yet used
        self.position = -1  # index of the last frame taken from the decoder
        if self.clock.start is None:  # learn where frame 0 starts before any seek
            self._frames = decode_indexed(self.container, self.stream, self.clock, [])
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
        self._frames = decode_indexed(
            self.container, self.stream, self.clock, [], skip_nonref_before=first
        )
        self._pending = None
        self.position = -1

    def _next(self) -> tuple[int, av.VideoFrame] | None:
        item: tuple[int, av.VideoFrame] | None
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
                f"or lost to a damaged packet); {REENCODE_HINT}"
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
    container, stream = open_input(path)
    with container:
        clock = FrameClock(stream, stream_fps(stream, path))
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
