"""Scoring a checkpoint on a dataset split, or any tool's CSV against labels: ``tracknet eval``.

A checkpoint is scored through the same streaming predictor and tracker that ``tracknet
predict`` uses (:func:`tracknet.infer.pipeline.track_source`), over every frame of every clip of
the split, so the numbers are those a user gets. Only labelled frames are scored (rows a reader
skipped as malformed are not). The scores themselves are :mod:`tracknet.eval.metrics` (pure
arrays); this module sits above :mod:`tracknet.infer` to get the predictions.

Results are the dict of :func:`tracknet.eval.metrics.evaluate_clips` (``overall``, ``clips``,
``settings``) with the overall scores also at the top level (``tp, tn, fp1, fp2, fn, frames,
accuracy, precision, recall, f1, rmse``), so ``result["f1"]`` is the F1 of the whole set.
:func:`write_report` writes, into an output folder:

- ``metrics.json``: that dict;
- ``metrics.txt``: the fixed-width table (one row per clip, then overall);
- ``clips.csv``: the same table as CSV (one row per clip, then ``overall``);
- ``trajectories/<clip>.png``: predicted against true x and y over time, one per clip.

:func:`run_eval` is the whole ``tracknet eval`` command as one function.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from tracknet.config import Config, load_config
from tracknet.constants import BALL_CSV_SUFFIX, IMAGE_SUFFIXES, VIDEO_SUFFIXES
from tracknet.data.codec import HeatmapCodec
from tracknet.data.dataset import load_split
from tracknet.data.formats import is_visible
from tracknet.data.splits import SPLITS
from tracknet.errors import DataError, UserError
from tracknet.eval.metrics import classify_frames, evaluate_clips, format_table
from tracknet.eval.plots import plot_trajectory
from tracknet.infer.loading import load_run, resolve_checkpoint
from tracknet.infer.pipeline import track_source
from tracknet.infer.predictor import Predictor
from tracknet.io.frames import FrameSource
from tracknet.io.labels import TrackLabels, read_any_labels, read_ball_csv
from tracknet.io.video import probe_video
from tracknet.utils import atomic_write_text

log = logging.getLogger("tracknet.eval")

TABLE_COLUMNS = (
    "frames",
    "tp",
    "tn",
    "fp1",
    "fp2",
    "fn",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "rmse",
)


@dataclass
class ClipTrack:
    """Predictions and truth of the labelled frames of one clip, original-frame pixels."""

    frames: np.ndarray  # [N] frame numbers
    pred_visible: np.ndarray  # [N] bool
    pred_xy: np.ndarray  # [N, 2]
    gt_visible: np.ndarray  # [N] bool
    gt_xy: np.ndarray  # [N, 2]
    frame_size: tuple[int, int] | None  # (W, H)


def _rows_of(frames: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The row of each ``wanted`` frame number in ``frames``; -1 where it is not there."""
    row_of = {int(f): i for i, f in enumerate(frames)}
    return np.array([row_of.get(int(f), -1) for f in wanted], dtype=np.int64)


def _truth(labels: TrackLabels, visible_codes) -> tuple[np.ndarray, np.ndarray]:
    """``(visible [N], xy [N, 2])`` of the labels."""
    xy = np.stack([labels.x, labels.y], axis=1).astype(np.float64)
    return is_visible(labels.visibility, visible_codes), xy


def _score(
    tracks: dict[str, ClipTrack],
    tolerance_px: float,
    tolerance_space: str,
    input_size: tuple[int, int] | None,
    to_input: Callable | None,
) -> dict[str, Any]:
    """:func:`evaluate_clips` of ``tracks``, with the overall scores copied to the top level."""
    try:
        result = evaluate_clips(
            {
                name: (t.pred_visible, t.pred_xy, t.gt_visible, t.gt_xy, t.frame_size)
                for name, t in tracks.items()
            },
            tolerance_px=tolerance_px,
            tolerance_space=tolerance_space,
            input_size=input_size,
            to_input=to_input,
        )
    except ValueError as exc:  # e.g. input-space tolerance without the sizes it needs
        raise UserError(str(exc)) from exc
    return {**result["overall"], **result}


# --------------------------------------------------------------------------- a checkpoint
def evaluate_checkpoint(
    model,
    cfg: Config,
    split: str = "test",
    out_dir: str | Path | None = None,
    progress=True,
) -> dict[str, Any]:
    """Predict every clip of ``split`` and score it; writes the report to ``out_dir``.

    Args:
        model: the trained model (see :class:`tracknet.infer.predictor.Predictor`).
        cfg: the run's configuration (data root, split, codec, tolerance, predict settings).
        split: ``train``, ``val`` or ``test``.
        out_dir: where :func:`write_report` writes; None writes nothing.
        progress: show a progress bar over the clips.

    Raises:
        UserError: an unknown or empty split, or a dataset that cannot be read.
    """
    if split in SPLITS and not cfg.data.root:  # (an unknown split: load_split says so)
        raise UserError("the run's configuration names no dataset; pass data.root=FOLDER")
    chosen = load_split(cfg, split)
    if not chosen:
        raise DataError(f"the {split} split of {cfg.data.root} holds no clip (see data.split)")
    predictor = Predictor.from_config(model, cfg)
    to_input = predictor.codec.frame_to_input
    tracks: dict[str, ClipTrack] = {}
    for clip in tqdm(chosen, desc=f"eval {split}", disable=not progress, dynamic_ncols=True):
        frame_size = tuple(clip.frame_size)
        track = track_source(predictor, FrameSource(clip.source), frame_size=frame_size)
        rows = _rows_of(track.frame, clip.labels.frame)
        keep = rows >= 0
        rows = rows[keep]
        gt_visible, gt_xy = _truth(clip.labels, cfg.data.visible_codes)
        tracks[clip.name] = ClipTrack(
            frames=clip.labels.frame[keep],
            pred_visible=track.visible[rows],
            pred_xy=track.xy[rows],
            gt_visible=gt_visible[keep],
            gt_xy=gt_xy[keep],
            frame_size=frame_size,
        )
    result = _score(
        tracks,
        cfg.eval.tolerance_px,
        cfg.eval.tolerance_space,
        tuple(cfg.model.input_size),
        to_input,
    )
    result["settings"].update(
        {"split": split, "data_root": str(cfg.data.root), "clips": len(chosen)}
    )
    if out_dir is not None:
        write_report(result, out_dir, tracks, to_input=to_input)
    return result


# --------------------------------------------------------------------------- the report
def clips_csv(result: dict[str, Any]) -> str:
    """The per-clip table as CSV: ``clip, frames, tp, ..., rmse``, then an ``overall`` row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["clip", *TABLE_COLUMNS])
    rows = [*result.get("clips", {}).items(), ("overall", result["overall"])]
    for name, scores in rows:
        cells = []
        for key in TABLE_COLUMNS:
            value = scores.get(key)
            cells.append(
                "" if value is None else f"{value:.6g}" if isinstance(value, float) else value
            )
        writer.writerow([name, *cells])
    return buf.getvalue()


def write_report(
    result: dict[str, Any],
    out_dir: str | Path,
    tracks: dict[str, ClipTrack] | None = None,
    to_input: Callable | None = None,
) -> None:
    """Write ``metrics.json``, ``metrics.txt``, ``clips.csv`` and ``trajectories/<clip>.png``.

    Args:
        result: what :func:`evaluate_checkpoint` or :func:`evaluate_csv` returned.
        out_dir: the folder (created).
        tracks: the per-clip predictions and truth, for the trajectory plots (none without).
        to_input: the frame -> input map the scores used (to mark FP1 on the plots).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(out / "metrics.txt", format_table(result) + "\n")
    atomic_write_text(out / "clips.csv", clips_csv(result))
    if not tracks:
        return
    settings = result.get("settings", {})
    for name, t in tracks.items():
        outcomes = classify_frames(
            t.pred_visible,
            t.pred_xy,
            t.gt_visible,
            t.gt_xy,
            tolerance_px=settings.get("tolerance_px", 4.0),
            tolerance_space=settings.get("tolerance_space", "original"),
            frame_size=t.frame_size,
            input_size=settings.get("input_size"),
            to_input=to_input,
        )
        safe = name.replace("/", "__").replace("\\", "__")
        plot_trajectory(
            t.frames,
            t.pred_visible,
            t.pred_xy,
            t.gt_visible,
            t.gt_xy,
            out / "trajectories" / f"{safe}.png",
            title=name,
            outcomes=outcomes,
        )


# --------------------------------------------------------------------------- any tool's CSV
def label_frame_size(gt_path: str | Path) -> tuple[int, int] | None:
    """``(W, H)`` of the frames a label file describes, when they lie beside it.

    A tennis ``Label.csv`` sits in its image folder; a ball CSV ``X.csv`` or ``X_ball.csv`` may
    have its video ``X.mp4`` (or any video suffix the readers know) beside it. None when nothing
    is found.
    """
    gt = Path(gt_path)
    folder = gt.parent
    stem = gt.stem.removesuffix(Path(BALL_CSV_SUFFIX).stem)  # X_ball.csv -> X
    for suffix in sorted(VIDEO_SUFFIXES):
        video = folder / f"{stem}{suffix}"
        if video.is_file():
            info = probe_video(video)
            return info.width, info.height
    for suffix in sorted(IMAGE_SUFFIXES):
        for image in sorted(folder.glob(f"*{suffix}"))[:3]:
            try:
                with Image.open(image) as im:
                    return im.size
            except OSError:
                continue
    return None


def evaluate_csv(
    pred_csv: str | Path,
    gt_path: str | Path,
    tolerance_px: float = 4.0,
    tolerance_space: str = "original",
    frame_size: tuple[int, int] | None = None,
    input_size: tuple[int, int] | None = None,
    visible_codes=(1, 2),
    to_input: Callable | None = None,
    out_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Score a ``Frame,Visibility,X,Y`` prediction CSV against a label file of any format.

    Frames are matched by number; a labelled frame missing from the predictions counts as
    predicted not visible. Frames predicted but not labelled are not scored.

    Args:
        pred_csv: the predictions (any tool's ball CSV).
        gt_path: a ball CSV or a tennis ``Label.csv`` (frames numbered by file-name order).
        tolerance_px, tolerance_space: see :func:`tracknet.eval.metrics.classify_frames`.
        frame_size: ``(W, H)`` of the original frames, needed by ``"input"``; None: looked for
            beside ``gt_path`` (:func:`label_frame_size`).
        input_size: ``(W, H)`` of the model input grid for ``"input"``.
        visible_codes: label visibility codes that count as a visible ball.
        to_input: a custom frame -> input map (a checkpoint's codec, e.g. letterbox).
        out_dir: also write the report (with one trajectory plot) there.

    Raises:
        UserError: an unreadable file, or ``"input"`` without the sizes it needs.
    """
    pred = read_ball_csv(pred_csv)
    gt = read_any_labels(gt_path)
    if len(gt) == 0:
        raise DataError(f"{gt_path}: holds no usable label row")
    if tolerance_space == "input":
        if input_size is None and to_input is None:
            raise UserError(
                "--tolerance-space input needs the model input size: --input-size WxH "
                "(or --checkpoint RUN_DIR)"
            )
        if frame_size is None:
            frame_size = label_frame_size(gt_path)
        if frame_size is None:
            raise UserError(
                f"--tolerance-space input needs the original frame size: no video or images "
                f"beside {gt_path}; pass --frame-size WxH"
            )
    rows = _rows_of(pred.frame, gt.frame)
    found = rows >= 0
    pv = np.zeros(len(gt), dtype=bool)
    pxy = np.zeros((len(gt), 2))
    pv[found] = pred.visibility[rows[found]] > 0
    pxy[found, 0], pxy[found, 1] = pred.x[rows[found]], pred.y[rows[found]]
    gt_visible, gt_xy = _truth(gt, visible_codes)
    tracks = {
        Path(pred_csv).stem: ClipTrack(
            frames=gt.frame,
            pred_visible=pv,
            pred_xy=pxy,
            gt_visible=gt_visible,
            gt_xy=gt_xy,
            frame_size=tuple(frame_size) if frame_size is not None else None,
        )
    }
    result = _score(tracks, tolerance_px, tolerance_space, input_size, to_input)
    missing = int((~found).sum())
    result["settings"].update(
        {
            "pred": str(pred_csv),
            "gt": str(gt_path),
            "frame_size": list(frame_size) if frame_size is not None else None,
            "missing_prediction_rows": missing,
        }
    )
    if missing:
        log.warning(
            "%s: %d labelled frame(s) have no prediction row; scored as 'no ball'",
            pred_csv,
            missing,
        )
    if out_dir is not None:
        write_report(result, out_dir, tracks, to_input=to_input)
    return result


def _evaluate_csv_of_run(
    pred: str | Path,
    gt: str | Path,
    checkpoint: str | Path | None,
    overrides: list[str],
    tolerance_px: float | None,
    tolerance_space: str | None,
    input_size: tuple[int, int] | None,
    frame_size: tuple[int, int] | None,
    out_dir: str | Path | None,
) -> dict[str, Any]:
    """:func:`evaluate_csv` with the settings given, else ``checkpoint``'s, else the defaults."""
    space, grid, to_input, visible_codes = tolerance_space, None, None, (1, 2)
    if checkpoint:
        _, config = resolve_checkpoint(checkpoint)
        cfg = load_config(config, overrides)
        codec = HeatmapCodec.from_config(cfg)
        tolerance_px = tolerance_px if tolerance_px is not None else cfg.eval.tolerance_px
        space = space or cfg.eval.tolerance_space
        grid, to_input = tuple(cfg.model.input_size), codec.frame_to_input
        visible_codes = tuple(cfg.data.visible_codes)
    elif overrides:
        raise UserError(f"key=value overrides {overrides} need --checkpoint")
    if input_size:  # an explicit grid wins over the checkpoint's (stretch map)
        grid, to_input = input_size, None
    return evaluate_csv(
        pred,
        gt,
        tolerance_px=tolerance_px if tolerance_px is not None else 4.0,
        tolerance_space=space or "original",
        frame_size=frame_size,
        input_size=grid,
        visible_codes=visible_codes,
        to_input=to_input,
        out_dir=out_dir,
    )


# --------------------------------------------------------------------------- the command
def run_eval(
    checkpoint: str | Path | None = None,
    split: str | None = None,
    out_dir: str | Path | None = None,
    pred: str | Path | None = None,
    gt: str | Path | None = None,
    tolerance_px: float | None = None,
    tolerance_space: str | None = None,
    input_size: tuple[int, int] | None = None,
    frame_size: tuple[int, int] | None = None,
    json_path: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """``tracknet eval``: score a run on a split, or ``pred`` against ``gt``; print the table.

    Args:
        checkpoint: the run folder: scored on ``split`` (default ``eval.split``) of its dataset;
            with ``pred``, only its settings are used (tolerance, input grid and map, codes).
        split: ``train``, ``val`` or ``test``.
        out_dir: also write the report (:func:`write_report`) there.
        pred, gt: a prediction CSV of any tool and its labels (both or neither).
        tolerance_px, tolerance_space: override ``eval.*`` (defaults 4 and ``original``).
        input_size: ``(W, H)`` of the model input grid for ``"input"`` (stretch map).
        frame_size: ``(W, H)`` of the original frames of ``pred``.
        json_path: also write the metrics JSON there.
        overrides: ``key=value`` overrides of the run's configuration (need ``checkpoint``).

    Returns:
        The metrics (see the module docstring).
    """
    overrides = list(overrides)
    if bool(pred) != bool(gt):
        raise UserError("--pred and --gt go together")
    if not checkpoint and not pred:
        raise UserError("give --checkpoint RUN_DIR, or --pred FILE --gt FILE")
    if pred:
        result = _evaluate_csv_of_run(
            pred,
            gt,
            checkpoint,
            overrides,
            tolerance_px,
            tolerance_space,
            input_size,
            frame_size,
            out_dir,
        )
    else:
        if tolerance_px is not None:
            overrides.append(f"eval.tolerance_px={tolerance_px}")
        if tolerance_space:
            overrides.append(f"eval.tolerance_space={tolerance_space}")
        model, cfg = load_run(checkpoint, overrides)
        result = evaluate_checkpoint(model, cfg, split or cfg.eval.split, out_dir)
    if json_path:
        atomic_write_text(json_path, json.dumps(result, indent=2) + "\n")
    print(format_table(result))
    return result
