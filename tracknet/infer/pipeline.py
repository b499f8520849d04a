"""``tracknet predict`` as a library: a video (or image folder) in, CSV (+ overlay MP4) out.

Outputs, in ``out_dir``:

- ``<stem>_ball.csv``: ``Frame,Visibility,X,Y``, one row per frame of the video, original-frame
  pixels, ``0,0,0`` where no ball was found. Without ``smooth`` only real detections are reported;
  with it, short gaps are filled by interpolation (and isolated outliers removed).
- ``<stem>_details.csv`` (``details=True``): also the score, whether a point was interpolated,
  the raw detection before tracking and the candidate blobs.
- ``<stem>_overlay.mp4`` (``overlay=True``): H.264, same size and fps, the ball ringed with a
  fading trail; drawn in a second pass over the video, so memory stays flat.

Every file is written to a temporary name and renamed when complete, so a failure (or Ctrl-C)
leaves no half-written output and an older file of the same name untouched.

Memory does not grow with the video's length: frames stream through the predictor (which holds
``batch_size + T`` of them), each prediction is tracked online at once and reduced to about a
hundred bytes (:class:`TrackBuilder`), and the overlay re-reads the video in a second pass. A frame
that cannot be decoded gets a visibility-0 row; their number is reported in one warning.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracknet.config import PredictConfig
from tracknet.errors import DataError
from tracknet.infer.predictor import FramePrediction, Predictor
from tracknet.io.labels import TrackLabels, natural_key, write_ball_csv
from tracknet.utils import atomic_write_text

log = logging.getLogger("tracknet.predict")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
IMAGE_FOLDER_FPS = 30.0  # the frame rate of an image folder's overlay video


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
    candidates: np.ndarray  # [N, K, 3] float32 (x, y, score) of the codec's blobs, score 0 = none

    def __len__(self) -> int:
        return len(self.frame)


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
def _first_image_size(folder: Path, images: list[Path]) -> tuple[int, int]:
    """``(W, H)`` of the first image that opens (a corrupt first frame is only a bad frame)."""
    from PIL import Image

    for p in images:
        try:
            with Image.open(p) as im:
                return im.size
        except (OSError, SyntaxError, ValueError):
            continue
    raise DataError(f"{folder}: none of its {len(images)} images can be read")


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
                else sorted(
                    (
                        p
                        for p in self.path.iterdir()
                        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
                    ),
                    key=lambda p: natural_key(p.name),  # 2.jpg before 10.jpg, as the labels
                )
            )
            if not self.images:
                raise DataError(
                    f"{self.path}: the folder holds no images ({sorted(IMAGE_SUFFIXES)})"
                )
            self.size = _first_image_size(self.path, self.images)
            self.fps, self.count = IMAGE_FOLDER_FPS, len(self.images)
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


# --------------------------------------------------------------------------- tracking
class _Columns:
    """Growable numpy columns: a few bytes per frame, so memory stays flat for any video."""

    def __init__(self, specs: dict[str, tuple[tuple[int, ...], type]], capacity: int = 1024):
        self.n = 0
        self.data = {k: np.zeros((capacity, *shape), dtype) for k, (shape, dtype) in specs.items()}

    def append(self, **values) -> None:
        capacity = len(next(iter(self.data.values())))
        if self.n == capacity:
            for key, arr in self.data.items():
                grown = np.zeros((2 * capacity, *arr.shape[1:]), arr.dtype)
                grown[:capacity] = arr
                self.data[key] = grown
        for key, value in values.items():
            self.data[key][self.n] = value
        self.n += 1

    def view(self, key: str) -> np.ndarray:
        return self.data[key][: self.n]


class TrackBuilder:
    """Collects the predictions of one video and tracks them online, frame by frame.

    Each frame is reduced at once to a few numbers (its raw detection, its top-k candidates and
    the tracker's choice), so the memory held grows by about a hundred bytes per frame, never by
    frames or heatmaps. :meth:`finish` applies the optional offline smoothing.
    """

    def __init__(self, cfg: PredictConfig):
        from tracknet.infer.tracker import OnlineTracker

        self.cfg = cfg
        self.tracker = OnlineTracker(gate_px=cfg.gate_px) if cfg.track else None
        k = max(1, int(cfg.top_k))
        self._cols = _Columns(
            {
                "frame": ((), np.int64),
                "ok": ((), np.bool_),
                "raw_visible": ((), np.bool_),
                "raw_xy": ((2,), np.float64),
                "score": ((), np.float64),
                "visible": ((), np.bool_),
                "xy": ((2,), np.float64),
                "candidates": ((k, 3), np.float32),
            }
        )
        self._k = k

    def __len__(self) -> int:
        return self._cols.n

    def add(self, p: FramePrediction) -> None:
        cand_xy = np.asarray(p.candidates_xy, dtype=np.float64).reshape(-1, 2)
        cand_score = np.asarray(p.candidates_score, dtype=np.float64).reshape(-1)
        if not p.ok:
            cand_score = np.zeros_like(cand_score)
        if self.tracker is not None:
            v, pos, s = self.tracker.update(cand_xy, cand_score)
            visible, xy = bool(v) and p.ok, pos
            score = s if visible else p.score
        else:
            visible, xy, score = bool(p.visible) and p.ok, (p.x, p.y), p.score
        cands = np.zeros((self._k, 3), np.float32)
        m = min(self._k, len(cand_score))
        cands[:m, :2], cands[:m, 2] = cand_xy[:m], cand_score[:m]
        self._cols.append(
            frame=p.index,
            ok=p.ok,
            raw_visible=bool(p.visible) and p.ok,
            raw_xy=(p.x, p.y),
            score=score,
            visible=visible,
            xy=np.nan_to_num(np.asarray(xy, dtype=np.float64)),
            candidates=cands,
        )

    def finish(self) -> Track:
        from tracknet.infer.tracker import smooth_track

        col = self._cols.view
        visible, xy = col("visible").copy(), col("xy").copy()
        interpolated = np.zeros(len(visible), dtype=bool)
        if self.cfg.smooth:
            visible, xy, interpolated = smooth_track(visible, xy, max_gap=self.cfg.max_gap)
        xy = np.where(visible[:, None], np.nan_to_num(xy), 0.0)
        raw_visible = col("raw_visible").copy()
        return Track(
            frame=col("frame").copy(),
            ok=col("ok").copy(),
            raw_visible=raw_visible,
            raw_xy=np.where(raw_visible[:, None], col("raw_xy"), 0.0),
            score=col("score").copy(),
            visible=np.asarray(visible, dtype=bool),
            xy=xy,
            interpolated=np.asarray(interpolated, dtype=bool),
            candidates=col("candidates").copy(),
        )


def build_track(preds: Iterable[FramePrediction], cfg: PredictConfig) -> Track:
    """Track (and, with ``cfg.smooth``, smooth) a stream of raw predictions."""
    builder = TrackBuilder(cfg)
    for p in preds:
        builder.add(p)
    return builder.finish()


def _format_candidates(cands: np.ndarray) -> str:
    """``x:y:score;...`` of the real candidates (score > 0) of one frame."""
    return ";".join(f"{x:.1f}:{y:.1f}:{s:.3f}" for x, y, s in cands if s > 0)


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
                _format_candidates(track.candidates[i]),
            ]
        )
    atomic_write_text(path, buf.getvalue())


def write_overlay(source: FrameSource, track: Track, path: Path, trail: int) -> None:
    from tracknet.infer.overlay import TrailOverlay
    from tracknet.io.video import VideoWriter

    draw = TrailOverlay(trail=trail)
    order = np.argsort(track.frame, kind="stable")  # rows by frame number (already sorted)
    frames = track.frame[order]
    with VideoWriter(path, fps=source.fps, size=source.size) as writer:
        last = None
        for index, frame in source:
            if frame is None:  # keep the timeline: repeat the last picture
                frame = last if last is not None else np.zeros((*source.size[::-1], 3), np.uint8)
            last = frame
            at = int(np.searchsorted(frames, index))
            if at >= len(frames) or frames[at] != index:
                writer.write(frame)
                continue
            i = int(order[at])
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
    path: str | Path | list[Path],
    out_dir: str | Path,
    overlay: bool = False,
    details: bool = False,
    progress: bool = True,
    name: str | None = None,
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

    Raises:
        DataError: the input cannot be opened, or none of its frames can be decoded.
    """
    from tqdm.auto import tqdm

    from tracknet.infer.predictor import _threaded

    source = FrameSource(path)
    stem = name or source.stem
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    cfg = predictor.cfg
    builder = TrackBuilder(cfg)
    with tqdm(
        total=source.count or None,
        desc=stem,
        unit="frame",
        disable=not progress,
        dynamic_ncols=True,
        leave=False,
    ) as bar:
        stream = _threaded(source, depth=2 * predictor.batch_size + predictor.frames)
        for pred in predictor.run(stream, source.size, on_frame=lambda n: bar.update(1)):
            builder.add(pred)
    track = builder.finish()
    undecodable = int((~track.ok).sum())
    if len(track) == 0 or undecodable == len(track):
        raise DataError(f"{source.path}: no frame could be decoded; is it a valid video?")
    csv_path = out_dir / f"{stem}_ball.csv"
    write_ball_csv(
        csv_path,
        TrackLabels(track.frame, track.visible.astype(int), track.xy[:, 0], track.xy[:, 1]),
    )
    details_path = None
    if details:
        details_path = out_dir / f"{stem}_details.csv"
        write_details_csv(details_path, track)
    overlay_path = None
    if overlay:
        overlay_path = out_dir / f"{stem}_overlay.mp4"
        write_overlay(source, track, overlay_path, cfg.trail)
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
        int(track.visible.sum()),
        seconds,
    )
