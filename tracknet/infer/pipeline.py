"""``tracknet predict`` as a library: a video (or image folder) in, CSV (+ overlay MP4) out.

Outputs, in ``out_dir``:

- ``<stem>_ball.csv``: ``Frame,Visibility,X,Y``, one row per frame of the video, original-frame
  pixels, ``0,0,0`` where no ball was found. Without ``smooth`` only real detections are reported;
  with it, short gaps are filled by interpolation (and isolated outliers removed).
- ``<stem>_details.csv`` (``details=True``): also the score, whether a point was interpolated,
  the raw detection before tracking and the candidate blobs.
- ``<stem>_overlay.mp4`` (``overlay=True``): H.264, same size and fps, the ball ringed with a
  fading trail; drawn in a second pass over the video, so memory stays flat.

Every file is written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracknet.config import PredictConfig
from tracknet.errors import DataError
from tracknet.infer.predictor import FramePrediction, Predictor
from tracknet.io.labels import TrackLabels, write_ball_csv
from tracknet.utils import atomic_write_text

log = logging.getLogger("tracknet.predict")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


@dataclass
class Track:
    """Per-frame results of one video, original-frame pixels."""

    frame: np.ndarray  # [N] int
    ok: np.ndarray  # [N] bool, frame decoded
    raw_visible: np.ndarray  # [N] bool, codec's best blob
    raw_xy: np.ndarray  # [N, 2]
    score: np.ndarray  # [N]
    visible: np.ndarray  # [N] bool, after tracking (and smoothing)
    xy: np.ndarray  # [N, 2]
    interpolated: np.ndarray  # [N] bool
    candidates: list[str]  # [N] "x:y:score;..." for the details CSV


@dataclass
class PredictResult:
    source: Path
    csv: Path
    overlay: Path | None
    details: Path | None
    frames: int
    undecodable: int
    detected: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)


# --------------------------------------------------------------------------- sources
class FrameSource:
    """Frames of a video file or an image folder, with undecodable frames as ``None``."""

    def __init__(self, path: str | Path | list[Path]):
        """Args: path: a video file, an image folder, or a list of image files in order."""
        if isinstance(path, list | tuple):
            self.path = Path(path[0]).parent if path else Path(".")
            listed: list[Path] | None = [Path(p) for p in path]
        else:
            self.path, listed = Path(path), None
        if listed is None and not self.path.exists():
            raise DataError(f"{self.path}: no such video or image folder")
        if listed is not None or self.path.is_dir():
            self.images = (
                listed
                if listed is not None
                else sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            )
            if not self.images:
                raise DataError(
                    f"{self.path}: the folder holds no images ({sorted(IMAGE_SUFFIXES)})"
                )
            from PIL import Image

            with Image.open(self.images[0]) as im:
                self.size = im.size
            self.fps, self.count = 30.0, len(self.images)
        else:
            from tracknet.io.video import probe_video

            info = probe_video(self.path)
            self.images = None
            self.size, self.fps, self.count = (info.width, info.height), info.fps, info.frame_count
        self.undecodable = 0

    @property
    def stem(self) -> str:
        return self.path.stem if self.path.is_file() else self.path.name

    def __iter__(self) -> Iterator[tuple[int, np.ndarray | None]]:
        self.undecodable = 0
        if self.images is not None:
            from tracknet.io.video import open_image

            for i, p in enumerate(self.images):
                try:
                    frame = open_image(p)
                    if frame.shape[:2] != (self.size[1], self.size[0]):
                        raise DataError(f"{p}: size differs from the first image")
                except DataError as exc:
                    log.debug("%s", exc)
                    self.undecodable += 1
                    frame = None
                yield i, frame
            return
        from tracknet.io.video import VideoReader

        expected = 0
        with VideoReader(self.path) as reader:
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


# --------------------------------------------------------------------------- tracking
def build_track(preds: list[FramePrediction], cfg: PredictConfig) -> Track:
    from tracknet.infer.tracker import OnlineTracker, smooth_track

    n = len(preds)
    raw_visible = np.array([p.visible for p in preds], dtype=bool)
    raw_xy = np.array([[p.x, p.y] for p in preds], dtype=np.float64).reshape(n, 2)
    score = np.array([p.score for p in preds], dtype=np.float64)
    if cfg.track:
        tracker = OnlineTracker(gate_px=cfg.gate_px)
        visible = np.zeros(n, dtype=bool)
        xy = np.zeros((n, 2))
        for i, p in enumerate(preds):
            v, pos, s = tracker.update(p.candidates_xy, p.candidates_score)
            visible[i], xy[i], score[i] = bool(v) and p.ok, pos, s if v else score[i]
    else:
        visible, xy = raw_visible.copy(), raw_xy.copy()
    interpolated = np.zeros(n, dtype=bool)
    if cfg.smooth:
        visible, xy, interpolated = smooth_track(visible, xy, max_gap=cfg.max_gap)
    xy = np.where(visible[:, None], xy, 0.0)
    candidates = [
        ";".join(
            f"{c[0]:.1f}:{c[1]:.1f}:{s:.3f}"
            for c, s in zip(p.candidates_xy, p.candidates_score, strict=True)
            if s > 0
        )
        for p in preds
    ]
    return Track(
        frame=np.array([p.index for p in preds], dtype=np.int64),
        ok=np.array([p.ok for p in preds], dtype=bool),
        raw_visible=raw_visible,
        raw_xy=raw_xy,
        score=score,
        visible=visible,
        xy=xy,
        interpolated=np.asarray(interpolated, dtype=bool),
        candidates=candidates,
    )


def write_details_csv(path: Path, track: Track) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "Frame",
            "Visibility",
            "X",
            "Y",
            "Score",
            "Interpolated",
            "Decoded",
            "RawVisibility",
            "RawX",
            "RawY",
            "Candidates",
        ]
    )
    for i in range(len(track.frame)):
        w.writerow(
            [
                int(track.frame[i]),
                int(track.visible[i]),
                f"{track.xy[i, 0]:.2f}",
                f"{track.xy[i, 1]:.2f}",
                f"{track.score[i]:.4f}",
                int(track.interpolated[i]),
                int(track.ok[i]),
                int(track.raw_visible[i]),
                f"{track.raw_xy[i, 0]:.2f}",
                f"{track.raw_xy[i, 1]:.2f}",
                track.candidates[i],
            ]
        )
    atomic_write_text(path, buf.getvalue())


def write_overlay(source: FrameSource, track: Track, path: Path, trail: int) -> None:
    from tracknet.infer.overlay import TrailOverlay
    from tracknet.io.video import VideoWriter

    draw = TrailOverlay(trail=trail)
    rows = {int(f): i for i, f in enumerate(track.frame)}
    with VideoWriter(path, fps=source.fps, size=source.size) as writer:
        last = None
        for index, frame in source:
            if frame is None:  # keep the timeline: repeat the last picture
                frame = last if last is not None else np.zeros((*source.size[::-1], 3), np.uint8)
            last = frame
            i = rows.get(int(index))
            if i is None:
                writer.write(frame)
                continue
            writer.write(
                draw(
                    frame,
                    bool(track.visible[i]),
                    float(track.xy[i, 0]),
                    float(track.xy[i, 1]),
                    bool(track.interpolated[i]),
                )
            )


# --------------------------------------------------------------------------- entry point
def predict_source(
    predictor: Predictor,
    path: str | Path,
    out_dir: str | Path,
    overlay: bool = False,
    details: bool = False,
    progress: bool = True,
) -> PredictResult:
    """Predict one video or image folder and write its outputs into ``out_dir``."""
    from tqdm.auto import tqdm

    from tracknet.infer.predictor import _threaded

    source = FrameSource(path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    bar = tqdm(
        total=source.count or None,
        desc=source.stem,
        unit="frame",
        disable=not progress,
        dynamic_ncols=True,
    )
    stream = _threaded(source, depth=2 * predictor.batch_size + predictor.frames)
    preds = list(predictor.run(stream, source.size, on_frame=lambda n: bar.update(1)))
    bar.close()
    if not preds:
        raise DataError(f"{source.path}: no frame could be decoded; is it a valid video?")
    cfg = predictor.cfg
    track = build_track(preds, cfg)
    csv_path = out_dir / f"{source.stem}_ball.csv"
    write_ball_csv(
        csv_path,
        TrackLabels(track.frame, track.visible.astype(int), track.xy[:, 0], track.xy[:, 1]),
    )
    details_path = None
    if details:
        details_path = out_dir / f"{source.stem}_details.csv"
        write_details_csv(details_path, track)
    overlay_path = None
    if overlay:
        overlay_path = out_dir / f"{source.stem}_overlay.mp4"
        write_overlay(source, track, overlay_path, cfg.trail)
    seconds = time.perf_counter() - start
    undecodable = int((~track.ok).sum())
    if undecodable:
        log.warning(
            "%s: %d of %d frames could not be decoded; their rows have visibility 0",
            source.path,
            undecodable,
            len(track.frame),
        )
    return PredictResult(
        source.path,
        csv_path,
        overlay_path,
        details_path,
        len(track.frame),
        undecodable,
        int(track.visible.sum()),
        seconds,
    )
