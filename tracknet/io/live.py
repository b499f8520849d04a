"""Live sources: a network stream, a V4L2 camera or standard input, read through PyAV.

:func:`is_live` tells a live source from a file or folder: a URL (``rtsp://``, ``rtmp://``,
``http(s)://``, ``udp://``, ``tcp://``, ``srt://`` ...), a V4L2 device (``/dev/video0``) or ``-``
(an MPEG-TS or raw stream on standard input).

:class:`LiveSource` decodes the stream in a background thread as fast as it arrives and hands the
frames over through a small waiting room. Frames are numbered 0, 1, 2 ... in arrival order (across
reconnections). When the consumer is busy and ``queue`` frames are already waiting:

- ``drop="oldest"``: the oldest waiting frame is dropped, so the consumer always gets the newest
  frames and latency stays bounded; a dropped frame keeps its place in the order as a
  :class:`LiveFrame` with ``dropped=True`` and no image, so the caller can write its row;
- ``drop="none"``: the reading thread waits (nothing is lost; latency grows when the consumer is
  slower than the stream, and a network sender may drop data instead).

A stream that fails or stops (a URL or device; standard input simply ends) is reopened up to
``reconnect`` times (``-1``: forever) after ``reconnect_delay`` seconds; each loss is logged and
counted (:attr:`LiveSource.reconnects`, :attr:`LiveSource.lost`). ``timeout`` bounds opening
and every read of a network stream.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import av
import numpy as np

from tracknet.errors import DataError
from tracknet.io.video.reader import RgbConverter

log = logging.getLogger("tracknet.live")

URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp")
"""URL schemes read as live streams."""

DROP_POLICIES = ("oldest", "none")

_URL = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_DEVICE = re.compile(r"^/dev/video\d+$")


def is_live(text: str) -> bool:
    """Whether ``text`` names a live source: a stream URL, ``/dev/videoN`` or ``-``."""
    text = str(text)
    if text == "-" or _DEVICE.match(text):
        return True
    match = _URL.match(text)
    return match is not None and match.group(1).lower() in URL_SCHEMES


def live_stem(text: str) -> str:
    """A file stem for a live source's outputs: ``stdin``, ``video0``, or the URL's last path
    component (else its scheme and host), made safe for file names."""
    if text == "-":
        return "stdin"
    if _DEVICE.match(text):
        return Path(text).name
    url = urlparse(text)
    stem = Path(url.path).stem or f"{url.scheme}_{url.netloc}"
    return re.sub(r"[^A-Za-z0-9.-]+", "_", stem).strip("._") or url.scheme


@dataclass
class LiveFrame:
    """One frame of a live stream, in arrival order.

    Attributes:
        index: the frame number (0, 1, 2 ... in arrival order).
        image: the frame (RGB ``uint8 [H, W, 3]``, or whatever ``transform`` made of it); None
            for a dropped frame.
        arrived: ``time.monotonic()`` when it was decoded.
        dropped: dropped by the ``oldest`` policy while the consumer was busy.
    """

    index: int
    image: np.ndarray | None
    arrived: float
    dropped: bool = False


class LiveSource:
    """A live stream decoded in a background thread, handed over as :class:`LiveFrame` lists.

    Args:
        spec: a URL, ``/dev/videoN`` or ``-`` (:func:`is_live`).
        drop: ``oldest`` or ``none`` (see the module docstring).
        queue: frames that may wait while the consumer is busy (at least 1).
        reconnect: attempts to reopen a lost stream; 0 none, -1 forever.
        reconnect_delay: seconds before each attempt.
        timeout: seconds a network stream may take to open or to deliver data.
        format: the container format when it cannot be probed (``mpegts``, ``h264`` ...); "" probes.
        options: FFmpeg options of the input (``{"rtsp_transport": "tcp"}``, V4L2's
            ``video_size`` ...).
        transform: applied to each decoded frame in the reading thread (e.g. resizing).

    Use :meth:`start` (or ``with``), then :meth:`take` until it returns ``[]``; :meth:`close`
    stops the thread. :attr:`size` and :attr:`fps` are known once :meth:`start` returns.

    Raises:
        DataError: (from :meth:`start`) the source cannot be opened or delivers no frame.
    """

    def __init__(
        self,
        spec: str,
        drop: str = "oldest",
        queue: int = 1,
        reconnect: int = 3,
        reconnect_delay: float = 1.0,
        timeout: float = 10.0,
        format: str = "",
        options: dict[str, str] | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        if drop not in DROP_POLICIES:
            raise ValueError(f"drop must be one of {DROP_POLICIES}, got {drop!r}")
        self.spec = str(spec)
        self.stem = live_stem(self.spec)
        self.drop = drop
        self.queue = max(1, int(queue))
        self.reconnect = int(reconnect)
        self.reconnect_delay = float(reconnect_delay)
        self.timeout = float(timeout)
        self.format = format or None
        self.options = dict(options or {})
        self.transform = transform
        self.size: tuple[int, int] | None = None  # (W, H) of the first frame
        self.fps: float | None = None
        self.received = 0  # frames decoded
        self.dropped = 0  # of them dropped by the policy
        self.reconnects = 0  # times the stream was reopened
        self.lost: list[str] = []  # why the stream was lost, each time
        self._waiting: deque[LiveFrame] = deque()
        self._kept = 0  # frames in _waiting that were not dropped
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._ended = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ opening
    @property
    def is_network(self) -> bool:
        """A URL (a stream that may come back when lost), not a device or standard input."""
        return _URL.match(self.spec) is not None

    def _open(self) -> av.container.InputContainer:
        if self.spec == "-":
            return av.open(sys.stdin.buffer, mode="r", format=self.format, options=self.options)
        fmt = self.format or ("v4l2" if _DEVICE.match(self.spec) else None)
        timeout = self.timeout if self.is_network else None
        return av.open(self.spec, mode="r", format=fmt, options=self.options, timeout=timeout)

    def start(self) -> LiveSource:
        """Start reading; returns once the first frame is decoded (its size is then known).

        Raises:
            DataError: the source cannot be opened or ends before its first frame.
        """
        self._thread = threading.Thread(target=self._read, name="tracknet-live", daemon=True)
        self._thread.start()
        with self._cond:
            while self.size is None and not self._ended:
                self._cond.wait(0.1)
        if self.size is None:
            self.close()
            why = self.lost[-1] if self.lost else "no frame arrived"
            raise DataError(f"{self.spec}: cannot read a live video stream ({why})")
        return self

    # ------------------------------------------------------------------ the reading thread
    def _read(self) -> None:
        attempts = 0  # failed attempts since frames last flowed
        try:
            while not self._stop.is_set():
                before = self.received
                reason = self._read_once()
                if self._stop.is_set() or reason is None:
                    break
                self.lost.append(reason)
                if self.received > before:
                    attempts = 0
                if self.spec == "-":
                    break  # standard input cannot be reopened
                if self.reconnect >= 0 and attempts >= self.reconnect:
                    log.warning("%s: stream lost (%s); not reconnecting", self.spec, reason)
                    break
                attempts += 1
                self.reconnects += 1
                log.warning(
                    "%s: stream lost after frame %d (%s); reconnecting in %.1f s (attempt %d)",
                    self.spec,
                    self.received - 1,
                    reason,
                    self.reconnect_delay,
                    attempts,
                )
                if self._stop.wait(self.reconnect_delay):
                    break
        except BaseException as exc:  # handed to the consumer
            self._error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _read_once(self) -> str | None:
        """Decode until the stream ends; None: a normal end (standard input) or a stop, else
        why the stream was lost."""
        try:
            container = self._open()
        except (av.FFmpegError, OSError) as exc:
            return f"cannot open: {exc}"
        try:
            if not container.streams.video:
                return "no video stream"
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            if rate and self.fps is None:
                self.fps = float(rate)
            to_rgb = RgbConverter()
            for frame in container.decode(stream):
                if self._stop.is_set():
                    return None
                self._push(to_rgb(frame))
        except (av.FFmpegError, OSError) as exc:
            return str(exc) or type(exc).__name__
        finally:
            container.close()
        if self.spec == "-" or (not self.is_network and self.received):
            return None  # the end of standard input, or of a device that stopped
        return "the stream ended"

    def _push(self, image: np.ndarray) -> None:
        arrived = time.monotonic()
        if self.size is None:
            self.size = (int(image.shape[1]), int(image.shape[0]))
        if self.transform is not None:
            image = self.transform(image)
        with self._cond:
            if self.drop == "none":
                while self._kept >= self.queue and not self._stop.is_set():
                    self._cond.wait(0.1)
            else:
                while self._kept >= self.queue:
                    self._drop_oldest()
            self._waiting.append(LiveFrame(self.received, image, arrived))
            self._kept += 1
            self.received += 1
            self._cond.notify_all()

    def _drop_oldest(self) -> None:
        for frame in self._waiting:
            if not frame.dropped:
                frame.image, frame.dropped = None, True
                self._kept -= 1
                self.dropped += 1
                return

    # ------------------------------------------------------------------ the consumer
    def take(self, max_frames: int, timeout: float | None = None) -> list[LiveFrame]:
        """The frames waiting, in order: up to ``max_frames`` kept frames and the dropped ones
        before them. Waits for at least one; ``[]`` once the stream has ended (or after
        ``timeout`` seconds without a frame).

        Raises:
            BaseException: what stopped the reading thread unexpectedly.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._waiting and not self._ended:
                if self._thread is not None and not self._thread.is_alive():
                    self._ended = True  # gone without its end (it always sets it): not a hang
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return []
                self._cond.wait(0.1 if left is None else min(left, 0.1))
            out: list[LiveFrame] = []
            kept = 0
            while self._waiting and kept < max_frames:
                frame = self._waiting.popleft()
                out.append(frame)
                kept += not frame.dropped
            while self._waiting and self._waiting[0].dropped:
                out.append(self._waiting.popleft())
            self._kept -= kept
            self._cond.notify_all()
        if not out and self._error is not None:
            raise self._error
        return out

    def __iter__(self) -> Iterator[LiveFrame]:
        """Every frame, one at a time (dropped ones included), until the stream ends."""
        while batch := self.take(1):
            yield from batch

    def close(self) -> None:
        """Stop the reading thread (a blocked read ends at the next packet or timeout)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(1.0, self.timeout if self.is_network else 1.0))

    def __enter__(self) -> LiveSource:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
