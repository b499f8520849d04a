"""Frames in: a video file or an image folder as one stream of ``(index, RGB frame or None)``.

:class:`FrameSource` reads the frames of a video, an image folder (natural order: ``2.jpg``
before ``10.jpg``, as the label readers number them) or a list of image files, in order. A frame
that cannot be decoded (a damaged packet, a corrupt or odd-sized image, frames the container
announced but never delivered) comes out as ``None`` in its place, so the timeline is kept and
the caller decides what a missing frame means; :attr:`FrameSource.undecodable` counts them.

:func:`read_ahead` iterates any such stream in a background thread through a bounded queue, so
decoding overlaps whatever consumes the frames.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar, cast

import numpy as np
from PIL import Image

from tracknet.constants import IMAGE_FOLDER_FPS, IMAGE_SUFFIXES
from tracknet.errors import DataError
from tracknet.io.image import open_image
from tracknet.io.labels import natural_key
from tracknet.io.video.probe import probe_video
from tracknet.io.video.reader import VideoReader
from tracknet.io.video.seek import read_frames

T = TypeVar("T")
log = logging.getLogger("tracknet.io")


def _first_image_size(folder: Path, images: list[Path]) -> tuple[int, int]:
    """``(W, H)`` of the first image that opens (a corrupt first frame is only a bad frame)."""
    for p in images:
        try:
            with Image.open(p) as im:
                return im.size
        except (OSError, SyntaxError, ValueError):
            continue
    raise DataError(f"{folder}: none of its {len(images)} images can be read")


def _folder_images(folder: Path) -> list[Path]:
    """The images of ``folder`` in natural order (``2.jpg`` before ``10.jpg``), hidden ones not."""
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        ),
        key=lambda p: natural_key(p.name),  # 2.jpg before 10.jpg, as the labels
    )


class FrameSource:
    """Frames of a video file or an image folder, with undecodable frames as ``None``.

    Attributes:
        path: the video, the image folder (for a list of images: the first one's folder).
        images: the image files in frame order; None for a video.
        size: ``(W, H)`` of the frames (of the first image that opens, for images).
        fps: the video's frame rate; :data:`~tracknet.constants.IMAGE_FOLDER_FPS` for images.
        count: the number of frames the video announces, or of images.
        undecodable: frames of the last iteration that came out as ``None``.
        min_size: ``(W, H)`` or None (default). When set, JPEG images are decoded at the
            smallest scale (1/2, 1/4, 1/8: JPEG's DCT scaling, as training decodes them) that
            stays at least this big, so their arrays may be smaller than :attr:`size`. Video
            frames always come whole (H.264 and the like cannot decode at a reduced size).
    """

    def __init__(self, path: str | Path | list[Path], min_size: tuple[int, int] | None = None):
        """Args: path: a video file, an image folder, or a list of image files in order;
        min_size: see the attribute.

        Raises:
            DataError: no such file or folder, a folder without images, none of its images
                readable, or a video that cannot be opened.
        """
        if isinstance(path, list | tuple):
            self.path = Path(path[0]).parent if path else Path(".")
            listed: list[Path] | None = [Path(p) for p in path]
        else:
            self.path, listed = Path(path), None
        if listed is None and not self.path.exists():
            raise DataError(f"{self.path}: no such video or image folder")
        if listed is not None or self.path.is_dir():
            self.images: list[Path] | None = (
                listed if listed is not None else _folder_images(self.path)
            )

            if not self.images:
                raise DataError(
                    f"{self.path}: the folder holds no images ({sorted(IMAGE_SUFFIXES)})"
                )
            self.size = _first_image_size(self.path, self.images)
            self.fps, self.count = IMAGE_FOLDER_FPS, len(self.images)
        else:
            info = probe_video(self.path)
            self.images = None
            self.size, self.fps, self.count = (info.width, info.height), info.fps, info.frame_count
        self.undecodable = 0
        self.min_size = min_size

    @property
    def stem(self) -> str:
        """The name of the outputs: the video's stem, or the image folder's name."""
        return self.path.stem if self.path.is_file() else self.path.name

    def __iter__(self) -> Iterator[tuple[int, np.ndarray | None]]:
        self.undecodable = 0
        if self.images is not None:
            yield from self._images()
        else:
            yield from self._video()

    def frames_at(self, indices: Iterable[int]) -> Iterator[np.ndarray]:
        """The frames ``indices`` (in order; random access), leaving out those that cannot be
        decoded or have another size: ``uint8 [H, W, 3]`` RGB each (at reduced scale with
        :attr:`min_size`), one at a time."""
        for i in (int(i) for i in indices):
            if not 0 <= i < self.count:
                continue
            with contextlib.suppress(DataError):  # a frame that cannot be had is left out
                if self.images is None:
                    yield read_frames(self.path, [i])[0]
                    continue
                yield open_image(self.images[i], self.min_size, expect_size=self.size)

    def _images(self) -> Iterator[tuple[int, np.ndarray | None]]:
        for i, p in enumerate(self.images or []):
            try:
                frame = open_image(p, self.min_size, expect_size=self.size)
            except DataError as exc:
                log.debug("%s", exc)
                self.undecodable += 1
                frame = None
            yield i, frame

    def _video(self) -> Iterator[tuple[int, np.ndarray | None]]:
        expected = 0
        with VideoReader(self.path, warn=False) as reader:  # the caller counts the bad frames
            for index, frame in reader:
                while expected < index:  # frames the decoder dropped
                    self.undecodable += 1
                    yield expected, None
                    expected += 1
                yield index, frame
                expected = index + 1
        while expected < self.count:  # the container announced more frames than decoded
            self.undecodable += 1
            yield expected, None
            expected += 1


def read_ahead(iterable: Iterable[T], depth: int, poll: float = 0.1) -> Iterator[T]:
    """Iterate ``iterable`` in a background thread through a queue of ``depth`` items.

    Every item, then the end, reaches the consumer however slow either side is: the producer
    waits for room as long as the consumer lives (nothing is handed over with a deadline that
    could drop it). An exception of the producer is raised in the consumer after the items
    before it; a producer thread that vanished without its end marker is an error, never a
    wait for ever. When the consumer stops early, the producer stops at its next item.

    Args:
        iterable: the items (iterated in the background thread).
        depth: how many items may wait in the queue.
        poll: seconds between the checks each side makes of the other (whether the consumer
            has stopped; whether the producer is still alive).

    Raises:
        BaseException: what the producer raised.
        RuntimeError: the producer thread ended without handing over its end.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    done = object()
    error: list[BaseException] = []
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        """Put ``item``, waiting for room while the consumer lives; False once it stopped."""
        while not stop.is_set():
            try:
                q.put(item, timeout=poll)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in iterable:
                if not hand_over(item):
                    return
        except BaseException as exc:  # handed to the consumer
            error.append(exc)
        finally:
            hand_over(done)  # waits for the consumer's room, however long it takes

    thread = threading.Thread(target=produce, name="tracknet-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = q.get(timeout=poll)
            except queue.Empty:
                if thread.is_alive():
                    continue
                try:  # the thread is gone: what it left is all there is
                    item = q.get_nowait()
                except queue.Empty:
                    cause = error[0] if error else None
                    raise RuntimeError(
                        "the read-ahead thread ended without handing over its end"
                    ) from cause
            if item is done:
                break
            yield cast(T, item)
        if error:
            raise error[0]
    finally:
        stop.set()
