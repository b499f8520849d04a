"""Probing a video with PyAV: size, frame rate, frame count and duration, and opening its first
video stream (:func:`open_input`, shared by the reader, the seek cache and the keyframe scan).

Conventions (the whole of :mod:`tracknet.io.video`):
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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from tracknet.errors import DataError

REENCODE_HINT = "re-encode it, e.g. `ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4`"


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


def open_input(path: str | Path) -> tuple[av.container.InputContainer, av.video.VideoStream]:
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
            f"whose copy stopped early has no index) or in an unknown format; {REENCODE_HINT}"
        ) from exc
    if not container.streams.video:
        container.close()
        raise DataError(f"{path}: holds no video stream")
    return container, container.streams.video[0]


def stream_fps(stream: av.video.VideoStream, path: Path) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or float(rate) <= 0:
        raise DataError(f"{path}: the video does not state its frame rate; {REENCODE_HINT}")
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
    container, stream = open_input(path)
    with container:
        fps = stream_fps(stream, path)
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
