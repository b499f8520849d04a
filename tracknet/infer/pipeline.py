"""``tracknet predict`` for one input, as a library: a video (or image folder) in, CSV (+ overlay
MP4) out. Only wiring: the parts are the frame source (:mod:`tracknet.io.frames`), the predictor
(:mod:`~tracknet.infer.predictor`), the tracker (:mod:`~tracknet.track.tracker`), the details CSV
(:mod:`~tracknet.infer.details`) and the overlay (:mod:`~tracknet.infer.overlay`).

:func:`track_source` turns a source into its :class:`~tracknet.track.result.Track` (what
``tracknet predict``, ``tracknet eval`` and the demo all score or write); :func:`predict_source`
writes it. Outputs, in ``out_dir``:

- ``<stem>_ball.csv``: ``Frame,Visibility,X,Y``, one row per frame of the video, original-frame
  pixels, ``0,0,0`` where no ball was found. Without ``smooth`` only real detections are reported
  (minus, with ``predict.trajectory.enabled``, the outliers the stage rejects); with it, short gaps
  are filled by interpolation (and isolated outliers removed). With ``predict.trajectory.fill``
  (``--fill``) a fifth column ``Filled`` flags the positions filled in from the fitted flight.
- ``<stem>_events.csv`` (``events=True``): hits and bounces, ``Frame,Event,X,Y,Score``;
  ``<stem>_court.csv`` (``court``): bounces on the ground and km/h between them
  (:mod:`~tracknet.infer.trajectory_outputs`).
- ``<stem>_details.csv`` (``details=True``): also the score, whether a point was interpolated,
  the raw detection before tracking and the candidate blobs.
- ``<stem>_overlay.mp4`` (``overlay=True``): H.264, same size and fps, the ball ringed with a
  fading trail; drawn in a second pass over the video, so memory stays flat.

Every file is written to a temporary name and renamed when complete, so a failure (or Ctrl-C)
leaves no half-written output and an older file of the same name untouched.

Memory does not grow with the video's length: frames stream through the predictor (which holds
``batch_size + T`` of them), each prediction is tracked online at once and reduced to about a
hundred bytes (:class:`~tracknet.track.builder.TrackBuilder`), and the overlay re-reads the video
in a second pass. A frame that cannot be decoded gets a visibility-0 row; their number is reported
in one warning.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from tracknet.constants import DETAILS_CSV_SUFFIX, OVERLAY_SUFFIX, ball_csv_name
from tracknet.data.background import background_indices
from tracknet.errors import DataError
from tracknet.infer.details import write_details_csv
from tracknet.infer.overlay import write_overlay
from tracknet.infer.predictor import Predictor
from tracknet.infer.trajectory_outputs import (
    TrajectoryFiles,
    check_event_track,
    write_track_csv,
    write_trajectory_outputs,
)
from tracknet.io.frames import FrameSource, read_ahead
from tracknet.track.builder import TrackBuilder
from tracknet.track.court import Court
from tracknet.track.result import Track

log = logging.getLogger("tracknet.predict")


@dataclass
class PredictResult:
    """What :func:`predict_source` wrote, and how it went."""

    source: Path
    csv: Path
    overlay: Path | None
    details: Path | None
    frames: int
    undecodable: int
    detected: int
    seconds: float
    trajectory: TrajectoryFiles | None = None  # events and court files (--events, --court)
    filled: int = 0  # positions the trajectory stage filled in (--fill)

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)


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


def predict_source(
    predictor: Predictor,
    path: str | Path | list[Path],
    out_dir: str | Path,
    overlay: bool = False,
    details: bool = False,
    progress: bool = True,
    name: str | None = None,
    events: bool = False,
    court: Court | None = None,
) -> PredictResult:
    """Predict one video or image folder and write its outputs into ``out_dir``.

    Args:
        predictor: the model, codec and settings (``predictor.cfg``: tracking, smoothing, trail).
        path: a video file, an image folder, or a list of image files in frame order.
        out_dir: the output folder (created).
        overlay: also write ``<name>_overlay.mp4``.
        details: also write ``<name>_details.csv``.
        progress: show a progress bar (frames/s) on stderr.
        name: the stem of the output files; default the video's stem or the folder's name.
        events: also write ``<name>_events.csv`` (and mark the events on the overlay).
        court: also write ``<name>_court.csv`` (bounces on this court, km/h between them).

    Raises:
        DataError: the input cannot be opened, or none of its frames can be decoded.
        UserError: ``events`` or ``court`` for an input of fewer than 2 frames.
    """
    source = open_source(predictor, path)
    stem = name or source.stem
    if events or court is not None:
        check_event_track(source.count, source.path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with tqdm(
        total=source.count or None,
        desc=stem,
        unit="frame",
        disable=not progress,
        dynamic_ncols=True,
        leave=False,
    ) as bar:
        track = track_source(
            predictor,
            source,
            on_frame=lambda n: bar.update(1),
            events=events or court is not None,
        )
    undecodable = int((~track.ok).sum())
    if len(track) == 0 or undecodable == len(track):
        raise DataError(f"{source.path}: no frame could be decoded; is it a valid video?")
    csv_path = out_dir / ball_csv_name(stem)
    filled_column = predictor.cfg.trajectory.fill != "none"  # --fill
    write_track_csv(csv_path, track, filled_column=filled_column)
    files = write_trajectory_outputs(track, out_dir, stem, source.fps, events, court)
    details_path = None
    if details:
        details_path = out_dir / f"{stem}{DETAILS_CSV_SUFFIX}"
        write_details_csv(details_path, track)
    overlay_path = None
    if overlay:
        overlay_path = out_dir / f"{stem}{OVERLAY_SUFFIX}"
        write_overlay(source, track, overlay_path, predictor.cfg.trail, events=events)
    seconds = time.perf_counter() - start
    if undecodable:
        log.warning(
            "%s: %d of %d frames could not be decoded; their rows have visibility 0",
            source.path,
            undecodable,
            len(track),
        )
    return PredictResult(
        source.path,
        csv_path,
        overlay_path,
        details_path,
        len(track),
        undecodable,
        int((track.visible & ~track.filled).sum()),
        seconds,
        files,
        int(track.filled.sum()),
    )
