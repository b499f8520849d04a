"""Frames of the labelled source as JPEG bytes, fast enough to step through a 1080p video.

* Image folders: a JPEG file is served as it is (no decoding); other images are decoded with
  :func:`tracknet.io.image.open_image` and encoded once.
* Videos: a background pass (:mod:`tracknet.label.jpeg_cache`, a separate process at low
  priority, held while this server decodes) decodes the whole video once after start-up (once
  the first frame is out) and writes every frame as a JPEG file; a frame it has passed is a
  file read, wherever it is. Before the pass gets there, one thread of the server owns the
  decoding (:class:`tracknet.io.video.seek.FrameSeeker`, which keeps the container open, decodes
  forward and, with the keyframe index of a packet scan made at start-up, seeks to the nearest
  keyframe before a frame only). A request for frame ``i`` is served first; then the thread
  decodes the next frames (``i+1 .. i+prefetch``) ahead of the user when that needs no seek,
  so stepping forward finds them ready. What it decodes goes to the disk cache too, and a
  small LRU of encoded frames serves stepping back and repeats. Memory is bounded by the LRU,
  flat in video length; the frames themselves are on disk.

Frame numbers are 0-based positions, as the label files number them.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path

from tracknet.errors import DataError
from tracknet.io.image import open_image
from tracknet.io.video.seek import FrameSeeker, keyframe_indices
from tracknet.label.jpeg_cache import JPEG_QUALITY, JpegCache, encode_jpeg
from tracknet.label.source import LabelSource

JPEG_SUFFIXES = {".jpg", ".jpeg"}
PREFETCH_REACH = 30  # frames a prefetch may decode to reach its frame (a seek costs more)
PASS_DELAY = 2.0  # seconds after start-up when the background pass starts, if no frame was asked
__all__ = [
    "JPEG_QUALITY",
    "PASS_DELAY",
    "PREFETCH_REACH",
    "FrameCache",
    "FrameServer",
    "encode_jpeg",
]


class FrameCache:
    """A small LRU of ``frame -> Future[bytes]`` (a pending future is a frame being decoded)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._items: OrderedDict[int, Future] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_reserve(self, index: int) -> tuple[Future, bool]:
        """The future of ``index`` and whether the caller must fill it (it was not there)."""
        with self._lock:
            future = self._items.get(index)
            if future is not None:
                self._items.move_to_end(index)
                return future, False
            future = Future()
            self._items[index] = future
            while len(self._items) > self.capacity:
                oldest = next(iter(self._items))
                if not self._items[oldest].done():  # never drop a frame someone waits for
                    break
                self._items.popitem(last=False)
            return future, True

    def peek(self, index: int) -> Future | None:
        """The future of ``index`` if it is held (without making it the most recent)."""
        with self._lock:
            return self._items.get(index)

    def forget(self, index: int) -> None:
        with self._lock:
            self._items.pop(index, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class FrameServer:
    """JPEG frames of a :class:`LabelSource`.

    Args:
        source: what is labelled.
        cache_size: encoded frames kept in memory (about 250 KB each at 1080p).
        prefetch: frames decoded ahead of the last request (videos).
        quality: JPEG quality of decoded frames.
        disk_cache: run the background pass into a disk cache (videos; see the module
            docstring). Off: every frame not in memory is decoded on request.
    """

    def __init__(
        self,
        source: LabelSource,
        cache_size: int = 48,
        prefetch: int = 8,
        quality: int = JPEG_QUALITY,
        disk_cache: bool = True,
    ) -> None:
        self.source = source
        self.quality = quality
        self.prefetch = max(0, min(prefetch, cache_size // 2))
        self.cache = FrameCache(cache_size)
        self.disk: JpegCache | None = None
        self._keyframes: list[int] | None = None  # from the packet scan, once it is done
        self._wake = threading.Condition()
        self._urgent: list[tuple[int, Future]] = []
        self._ahead: list[int] = []  # frames to decode ahead, in order
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pass_lock = threading.Lock()
        self._pass_state = "waiting"  # waiting, started, closed
        self._pass_timer: threading.Timer | None = None
        if source.video is not None:
            if disk_cache:
                self.disk = JpegCache.create()
            if self.disk is not None:  # after start-up: once a first frame is out, or soon
                self._pass_timer = threading.Timer(PASS_DELAY, self._start_pass)
                self._pass_timer.daemon = True
                self._pass_timer.start()
            scan = threading.Thread(target=self._scan_keyframes, name="label-keys", daemon=True)
            scan.start()
            self._thread = threading.Thread(target=self._work, name="label-frames", daemon=True)
            self._thread.start()

    @property
    def frame_count(self) -> int:
        return self.source.frame_count

    def ready(self, index: int) -> bool:
        """Whether frame ``index`` would be served without decoding (on disk or in memory)."""
        if self.source.video is None or (self.disk is not None and self.disk.has(index)):
            return True
        future = self.cache.peek(index)
        return future is not None and future.done()

    def jpeg(self, index: int, timeout: float = 30.0) -> bytes:
        """The JPEG of frame ``index``.

        Raises:
            IndexError: ``index`` is out of range.
            DataError: the frame cannot be read or decoded.
        """
        if not 0 <= index < self.frame_count:
            raise IndexError(f"frame {index} out of range (0-{self.frame_count - 1})")
        if self.source.video is None:
            return self._image_jpeg(index)
        data = self.disk.read(index) if self.disk is not None else None
        if data is not None:
            self._plan(index, reserve=False)
            return data
        future = self._plan(index, reserve=True)
        assert future is not None  # reserve=True: the future of index
        try:
            return future.result(timeout=timeout)
        except DataError:
            self.cache.forget(index)  # a later request tries again
            raise

    def _plan(self, index: int, reserve: bool) -> Future | None:
        """Plan the frames after ``index`` for the thread and, with ``reserve``, ``index`` first.

        Returns the future of ``index`` (with ``reserve``). Reserving and queueing happen under
        one lock: the thread never finds a frame reserved by a request but not yet queued (it
        would decode the frame after it first, then seek back).
        """
        future = None
        with self._wake:
            if reserve:
                future, mine = self.cache.get_or_reserve(index)
                if mine:
                    self._urgent.append((index, future))
            first = index + 1
            # replaces what was planned: the user has moved
            self._ahead = list(range(first, min(first + self.prefetch, self.frame_count)))
            self._wake.notify()
        return future

    def _image_jpeg(self, index: int) -> bytes:
        path = self.source.images[index]
        future, mine = self.cache.get_or_reserve(index)
        if not mine:
            return future.result()
        try:
            if path.suffix.lower() in JPEG_SUFFIXES:
                data = _read_jpeg(path)
            else:
                data = encode_jpeg(open_image(path), self.quality)
        except DataError as exc:
            future.set_exception(exc)
            self.cache.forget(index)
            raise
        future.set_result(data)
        return data

    # ------------------------------------------------------------------ the decoding thread
    def _start_pass(self) -> None:
        with self._pass_lock:
            if self._pass_state != "waiting" or self.disk is None:
                return
            self._pass_state = "started"
            self.disk.start_pass(self.source.video, self.quality)

    def _scan_keyframes(self) -> None:
        with contextlib.suppress(DataError):  # else the seeker uses the container's index
            self._keyframes = keyframe_indices(self.source.video)

    def _next_job(self, seeker: FrameSeeker | None) -> tuple[int, Future] | None:
        """Wait for work: an urgent request first, else the next frame to decode ahead.

        A frame ahead is decoded only when that is cheap (:data:`PREFETCH_REACH`): a guess must
        not keep the thread busy with a seek when the next request may be elsewhere.
        """
        with self._wake:
            while True:
                if self._closed:
                    return None
                if self._urgent:
                    return self._urgent.pop(0)
                while self._ahead:
                    index = self._ahead.pop(0)
                    if self.disk is not None and self.disk.has(index):
                        continue  # the pass has written it
                    if seeker is None or seeker.cost(index) > PREFETCH_REACH:
                        continue
                    future, mine = self.cache.get_or_reserve(index)
                    if mine:
                        return index, future
                if self.disk is not None:
                    self.disk.resume()  # nothing to decode: the background pass may go on
                self._wake.wait()

    def _decode(self, seeker: FrameSeeker, index: int) -> bytes:
        if self._keyframes and not seeker.exact_keyframes:
            seeker.set_keyframes(self._keyframes)
        data = encode_jpeg(seeker.read([index])[0], self.quality)
        if self.disk is not None:
            self.disk.write(index, data)
        return data

    def _work(self) -> None:
        video = self.source.video
        seeker: FrameSeeker | None = None
        try:
            while (job := self._next_job(seeker)) is not None:
                index, future = job
                try:
                    data = self.disk.read(index) if self.disk is not None else None
                    if data is None:
                        if self.disk is not None:
                            self.disk.pause()  # the decoding here goes first
                        seeker = seeker or FrameSeeker(video)
                        data = self._decode(seeker, index)
                    future.set_result(data)
                    if self._pass_state == "waiting":
                        self._start_pass()
                except DataError as exc:
                    future.set_exception(exc)
                except BaseException as exc:  # handed to the waiting request
                    future.set_exception(DataError(f"{video}: frame {index}: {exc}"))
        finally:
            if seeker is not None:
                seeker.close()

    def close(self) -> None:
        """Stop the decoding thread and the background pass; remove the disk cache."""
        with self._wake:
            self._closed = True
            for index, future in self._urgent:
                future.set_exception(DataError(f"frame {index}: the server is closing"))
            self._urgent.clear()
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._pass_timer is not None:
            self._pass_timer.cancel()
        with self._pass_lock:
            self._pass_state = "closed"
        if self.disk is not None:
            self.disk.close()


def _read_jpeg(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from exc
