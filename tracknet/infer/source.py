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

import logging
from collections.abc import Callable
from pathlib import Path

import torch

from tracknet.data.background import background_indices
from tracknet.infer.predictor import Predictor
from tracknet.io.frames import FrameSource, read_ahead
from tracknet.track.builder import TrackBuilder
from tracknet.track.result import Track

log = logging.getLogger("tracknet.predict")


def open_source(predictor: Predictor, path: str | Path | list[Path]) -> FrameSource:
    """The frames of a video, image folder or list of images, for ``predictor``: JPEGs decoded at
    the reduced scale training decodes them at (:attr:`FrameSource.min_size`: the frame's size
    in the model input), which is also several times cheaper."""
    source = FrameSource(path)
    source.min_size = predictor.codec.scaled_size(source.size)[0]
    return source


def clip_background(
    predictor: Predictor, source: FrameSource, frame_size: tuple[int, int] | None = None
) -> torch.Tensor | None:
    """The background of ``source`` for a model with ``model.detail.background`` (the median of
    frames spread over it, :meth:`Predictor.make_background`); None for other models, or with a
    warning when no frame can be read for it (the model then uses the median of each window).
    ``frame_size``: ``(W, H)`` of the original frames; default ``source.size``."""
    if not predictor.uses_background:
        return None
    frames = source.frames_at(background_indices(source.count))
    background = predictor.make_background(frames, frame_size or source.size)
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
    background = clip_background(predictor, source, size)
    stream = read_ahead(source, depth=2 * predictor.batch_size + predictor.frames)
    for pred in predictor.run(stream, size, on_frame=on_frame, background=background):
        builder.add(pred)
    return builder.finish(fps=source.fps, frame_height=size[1], events=events)
