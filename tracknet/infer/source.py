"""A source through the model and the tracker: frames in, the video's :class:`Track` out.

:func:`open_source` opens a video, image folder or list of images for a predictor (JPEGs decoded
at the reduced scale training decodes them at), :func:`clip_background` makes the clip's
background for a model that takes one, and :func:`track_source` streams every frame through the
predictor (:mod:`tracknet.infer.predictor`) and the online tracker
(:class:`~tracknet.track.builder.TrackBuilder`) into the video's
:class:`~tracknet.track.result.Track`: what ``tracknet predict`` writes, and what ``tracknet
eval``, the demo, the benchmarks and the labelling tool's suggestions score or show. Memory does
not grow with the video's length: frames stream through the predictor (which holds
``batch_size + T`` of them) and each prediction is tracked at once and reduced to about a hundred
bytes.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tracknet.data.background import background_indices
from tracknet.data.codec import HeatmapCodec
from tracknet.errors import DataError
from tracknet.infer.predictor import Predictor, background_frame
from tracknet.io.frames import FrameSource, read_ahead
from tracknet.track.builder import TrackBuilder
from tracknet.track.result import Track

log = logging.getLogger("tracknet.predict")

PREFETCH_FRAMES = 512
"""How many frames (at model-input size, about 0.4 MB each at 512x288) :func:`prefetch_clip`
decodes ahead of the model; the stream then stays that far ahead."""

_Key = tuple[Path, tuple[int, int], tuple[int, int], str]  # file, frame size, input size, resize


@dataclass
class _Prefetch:
    background: Future[list[torch.Tensor]] | None
    frames: Iterator[tuple[int, torch.Tensor | None]] | None


_prefetched: dict[_Key, _Prefetch] = {}
_prefetched_lock = threading.Lock()


def _prefetch_key(path: Path, frame_size: tuple[int, int], codec: HeatmapCodec) -> _Key:
    w, h = frame_size
    return (path.resolve(), (int(w), int(h)), codec.input_size, codec.resize)


def prefetch_clip(
    path: str | Path, codec: HeatmapCodec, background: bool, frames: int = PREFETCH_FRAMES
) -> bool:
    """Start making a video's background (:func:`clip_background`) and decoding its first
    ``frames`` frames at model-input size, each in a thread.

    ``tracknet predict`` calls it before it loads the model: importing the model's libraries
    and building it take a few seconds of Python on one core, which leaves the other to the
    decoder's C code and the resizing. The next :func:`track_source` of the same file, frame
    size and ``codec`` geometry takes what was made: the same background and the same model
    inputs it would make itself (:func:`~tracknet.infer.predictor.background_frame`; the
    frames are read ahead ``frames`` deep from then on). Video files only (an image folder's
    frames are decoded at a size that depends on the model); frames only where the picture
    fills the model input (no letterbox padding). A prefetch nobody took is dropped by the
    next. Returns whether anything started.
    """
    if not Path(path).is_file():
        return False
    try:
        source = FrameSource(path)
    except DataError:
        return False  # the prediction itself reports it
    future: Future[list[torch.Tensor]] | None = None
    if background:
        future = Future()
        threading.Thread(
            target=_make_background,
            args=(source, codec, future),
            name="tracknet-background",
            daemon=True,
        ).start()
    stream = None
    if frames > 0 and codec.scaled_size(source.size)[0] == codec.input_size:

        def resized() -> Iterator[tuple[int, torch.Tensor | None]]:
            for i, frame in FrameSource(source.path):  # its own decoder (the background seeks)
                yield i, None if frame is None else background_frame(codec, frame, source.size)

        stream = read_ahead(resized(), depth=frames)
        with contextlib.suppress(StopIteration):  # start its thread now (a generator waits)
            stream = itertools.chain([next(stream)], stream)
    if future is None and stream is None:
        return False
    with _prefetched_lock:  # one at a time
        _prefetched.clear()
        _prefetched[_prefetch_key(source.path, source.size, codec)] = _Prefetch(future, stream)
    return True


def _make_background(
    source: FrameSource, codec: HeatmapCodec, future: Future[list[torch.Tensor]]
) -> None:
    try:
        indices = background_indices(source.count)
        future.set_result(
            [background_frame(codec, f, source.size) for f in source.frames_at(indices)]
        )
    except BaseException as exc:  # handed over to whoever takes the frames
        future.set_exception(exc)


def _take_prefetched(
    predictor: Predictor, source: FrameSource, frame_size: tuple[int, int]
) -> _Prefetch | None:
    """What :func:`prefetch_clip` started for ``source`` at this geometry (taken once), or None."""
    if not isinstance(source, FrameSource) or source.images is not None:
        return None  # (a benchmark's frames in memory; an image folder)
    key = _prefetch_key(source.path, frame_size, predictor.codec)
    with _prefetched_lock:
        found = _prefetched.pop(key, None)
        for stale in [k for k in _prefetched if k[0] == key[0]]:  # this file at another geometry
            del _prefetched[stale]
    return found


def _prefetched_background(prefetch: _Prefetch | None, source: FrameSource) -> list | None:
    if prefetch is None or prefetch.background is None:
        return None
    try:
        return prefetch.background.result()
    except Exception as exc:  # made again by the caller, where errors are handled
        log.debug("%s: the prefetched background failed (%s); making it again", source.path, exc)
        return None


def open_source(predictor: Predictor, path: str | Path | list[Path]) -> FrameSource:
    """The frames of a video, image folder or list of images, for ``predictor``: JPEGs decoded at
    the reduced scale training decodes them at (:attr:`FrameSource.min_size`: the frame's size
    in the model input), which is also several times cheaper."""
    source = FrameSource(path)
    source.min_size = predictor.codec.scaled_size(source.size)[0]
    return source


def clip_background(
    predictor: Predictor,
    source: FrameSource,
    frame_size: tuple[int, int] | None = None,
    prefetch: _Prefetch | None = None,
) -> torch.Tensor | None:
    """The background of ``source`` for a model with ``model.detail.background`` (the median of
    frames spread over it, :meth:`Predictor.make_background`); None for other models, or with a
    warning when no frame can be read for it (the model then uses the median of each window).
    ``frame_size``: ``(W, H)`` of the original frames; default ``source.size``."""
    if not predictor.uses_background:
        return None
    size = frame_size or source.size
    resized = _prefetched_background(prefetch, source)
    if resized is not None:
        background = predictor.background_of(resized)
    else:
        frames = source.frames_at(background_indices(source.count))
        background = predictor.make_background(frames, size)
    if background is None:
        log.warning(
            "%s: no frames to make the background from; the model falls back to the median of "
            "each window",
            source.path,
        )
    return background


def track_source(
    predictor: Predictor,
    source: FrameSource,
    on_frame: Callable[[int], None] | None = None,
    frame_size: tuple[int, int] | None = None,
    events: bool = False,
) -> Track:
    """Predict and track every frame of ``source`` (decoded ahead in a background thread).

    Args:
        predictor: the model, codec and settings (``predictor.cfg``: tracking, smoothing).
        source: the frames.
        on_frame: called with the number of frames read so far (for progress bars).
        frame_size: ``(W, H)`` of the original frames when known better than from the source's
            first frame (a dataset clip's usual size); default ``source.size``.
        events: run the trajectory stage even when ``predict.trajectory.enabled`` is false (for
            its events; the positions then stay as tracked).
    """
    builder = TrackBuilder(predictor.cfg)
    size = frame_size or source.size
    prefetch = _take_prefetched(predictor, source, size)
    background = clip_background(predictor, source, size, prefetch)
    stream: Iterable[tuple[int, np.ndarray | torch.Tensor | None]]
    if prefetch is not None and prefetch.frames is not None:
        stream = prefetch.frames  # the model inputs of the frames, decoded ahead
    else:
        stream = read_ahead(source, depth=2 * predictor.batch_size + predictor.frames)
    for pred in predictor.run(stream, size, on_frame=on_frame, background=background):
        builder.add(pred)
    return builder.finish(fps=source.fps, frame_height=size[1], events=events)
