"""Frames of the labelled source as JPEG bytes, fast enough to step through a 1080p video.

* Image folders: a JPEG file is served as it is (no decoding); other images are decoded with
  :func:`tracknet.io.video.open_image` and encoded once.
* Videos: one background thread owns the decoding (:func:`tracknet.io.video.read_frames`, which
  keeps the container open and decodes forward, seeking only to jump). A request for frame
  ``i`` is served first; then the thread decodes the next frames (``i+1 .. i+prefetch``) ahead
  of the user, so stepping forward finds them ready. A small LRU cache of encoded frames serves
  stepping back and repeats. Memory is bounded by the cache size, flat in video length.

Frame numbers are 0-based positions, as the label files number them.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from PIL import Image

from tracknet.errors import DataError
from tracknet.io.video import open_image, read_frames
from tracknet.label.source import LabelSource

JPEG_QUALITY = 90
JPEG_SUFFIXES = {".jpg", ".jpeg"}


def encode_jpeg(frame: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """RGB ``uint8 [H, W, 3]`` -> JPEG bytes."""
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


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

    def contains(self, index: int) -> bool:
        with self._lock:
            return index in self._items

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
        cache_size: encoded frames kept (about 250 KB each at 1080p).
        prefetch: frames decoded ahead of the last request (videos).
        quality: JPEG quality of decoded frames.
    """

    def __init__(
        self,
        source: LabelSource,
        cache_size: int = 48,
        prefetch: int = 8,
        quality: int = JPEG_QUALITY,
    ) -> None:
        self.source = source
        self.quality = quality
        self.prefetch = max(0, min(prefetch, cache_size // 2))
        self.cache = FrameCache(cache_size)
        self._wake = threading.Condition()
        self._urgent: list[tuple[int, Future]] = []
        self._ahead: list[int] = []  # frames to decode ahead, in order
        self._closed = False
        self._thread: threading.Thread | None = None
        if source.video is not None:
            self._thread = threading.Thread(target=self._work, name="label-frames", daemon=True)
            self._thread.start()

    @property
    def frame_count(self) -> int:
        return self.source.frame_count

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
        future, mine = self.cache.get_or_reserve(index)
        with self._wake:
            if mine:
                self._urgent.append((index, future))
            first = index + 1
            self._ahead = [
                i for i in range(first, min(first + self.prefetch, self.frame_count))
            ]  # replaces what was planned: the user has moved
            self._wake.notify()
        try:
            return future.result(timeout=timeout)
        except DataError:
            self.cache.forget(index)  # a later request tries again
            raise

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
    def _next_job(self) -> tuple[int, Future] | None:
        """Wait for work: an urgent request first, else the next frame to decode ahead."""
        with self._wake:
            while True:
                if self._closed:
                    return None
                if self._urgent:
                    return self._urgent.pop(0)
                while self._ahead:
                    index = self._ahead.pop(0)
                    future, mine = self.cache.get_or_reserve(index)
                    if mine:
                        return index, future
                self._wake.wait()

    def _work(self) -> None:
        video = self.source.video
        while (job := self._next_job()) is not None:
            index, future = job
            try:
                frame = read_frames(video, [index])[0]
                future.set_result(encode_jpeg(frame, self.quality))
            except DataError as exc:
                future.set_exception(exc)
            except BaseException as exc:  # handed to the waiting request
                future.set_exception(DataError(f"{video}: frame {index}: {exc}"))

    def close(self) -> None:
        """Stop the decoding thread."""
        with self._wake:
            self._closed = True
            for index, future in self._urgent:
                future.set_exception(DataError(f"frame {index}: the server is closing"))
            self._urgent.clear()
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _read_jpeg(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from exc
