"""Writing RGB frames to a video file, atomically: :class:`VideoWriter` (PyAV)."""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import cast

import av
import numpy as np

from tracknet.utils import atomic_path

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
        stream = cast(av.video.VideoStream, self._container.add_stream(codec, rate=rate))

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
