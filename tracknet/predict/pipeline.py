"""``tracknet predict`` for one input, as a library: a video (or image folder) in, CSV (+ overlay
MP4) out. Only wiring: the source goes through the model and the tracker
(:func:`tracknet.infer.source.track_source`) into its :class:`~tracknet.track.result.Track`, which
:func:`predict_source` writes: the ball CSV and the events and court files
(:mod:`tracknet.predict.outputs`), the details CSV (:mod:`tracknet.predict.details`) and the
overlay (:mod:`tracknet.predict.overlay`). Outputs, in ``out_dir``:

- ``<stem>_ball.csv``: ``Frame,Visibility,X,Y``, one row per frame of the video, original-frame
  pixels, ``0,0,0`` where no ball was found. Without ``smooth`` only real detections are reported
  (minus, with ``predict.trajectory.enabled``, the outliers the stage rejects); with it, short gaps
  are filled by interpolation (and isolated outliers removed). With ``predict.trajectory.fill``
  (``--fill``) a fifth column ``Filled`` flags the positions filled in from the fitted flight.
- ``<stem>_events.csv`` (``events=True``): hits and bounces, ``Frame,Event,X,Y,Score``;
  ``<stem>_court.csv`` (``court``): bounces on the ground and km/h between them
  (:mod:`~tracknet.predict.outputs`).
- ``<stem>_details.csv`` (``details=True``): also the score, whether a point was interpolated,
  the raw detection before tracking and the candidate blobs.
- ``<stem>_overlay.mp4`` (``overlay=True``): H.264, same size and fps, the ball ringed with a
  fading trail; drawn in a second pass over the video, so memory stays flat.

Every file is written to a temporary name and renamed when complete, so a failure (or Ctrl-C)
leaves no half-written output and an older file of the same name untouched.

Memory does not grow with the video's length (:mod:`tracknet.infer.source`), and the overlay
re-reads the video in a second pass. A frame that cannot be decoded gets a visibility-0 row;
their number is reported in one warning.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from tracknet.constants import DETAILS_CSV_SUFFIX, OVERLAY_SUFFIX, ball_csv_name
from tracknet.errors import DataError
from tracknet.infer.predictor import Predictor
from tracknet.infer.source import open_source, track_source
from tracknet.predict.details import write_details_csv
from tracknet.predict.outputs import (
    TrajectoryFiles,
    check_event_track,
    write_track_csv,
    write_trajectory_outputs,
)
from tracknet.predict.overlay import write_overlay
from tracknet.track.court import Court

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
