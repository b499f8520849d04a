"""Scoring a checkpoint on a dataset split, or any tool's CSV against labels: ``tracknet eval``.

A checkpoint is scored through the same streaming predictor and tracker that ``tracknet
predict`` uses (:func:`tracknet.infer.source.track_source`), over every frame of every clip of
the split, so the numbers are those a user gets. Only labelled frames are scored (rows a reader
skipped as malformed are not). The scores themselves are :mod:`tracknet.eval.metrics` (pure
arrays); this module sits above :mod:`tracknet.infer` to get the predictions.

Results are an :class:`~tracknet.evaluate.result.Evaluation`: the position scores of
:func:`tracknet.eval.metrics.evaluate_clips` (``overall``, ``clips``, ``settings``, slow balls)
and, when the labels carry them, hits and bounces (``events``, :mod:`tracknet.evaluate.events`).
Its metrics JSON (``as_dict()``) has the overall scores also at the top level (``tp, tn, fp1,
fp2, fn, frames, accuracy, precision, recall, f1, rmse``), so ``metrics["f1"]`` is the F1 of the
whole set. :func:`~tracknet.evaluate.report.write_report` writes the report (``metrics.json``,
``metrics.txt``, ``clips.csv``, ``trajectories/<clip>.png``).

:func:`run_eval` is the whole ``tracknet eval`` command as one function.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from tracknet.config import Config, LabelsConfig, as_wh, load_config
from tracknet.constants import BALL_CSV_SUFFIX, IMAGE_SUFFIXES, VIDEO_SUFFIXES
from tracknet.data.clip_events import clip_events
from tracknet.data.codec import HeatmapCodec
from tracknet.data.dataset import load_split
from tracknet.data.formats import is_visible
from tracknet.data.splits import SPLITS
from tracknet.errors import DataError, UserError
from tracknet.eval.events import format_event_table
from tracknet.eval.metrics import ToInput, evaluate_clips
from tracknet.evaluate.events import (
    EventTally,
    evaluate_events_csv,
    plot_fields,
    write_event_report,
)
from tracknet.evaluate.report import ClipTrack, report_text, write_report
from tracknet.evaluate.result import Evaluation, EventEvaluation
from tracknet.infer.loading import load_run, resolve_checkpoint
from tracknet.infer.predictor import Predictor
from tracknet.infer.source import open_source, track_source
from tracknet.io.labels import TrackLabels, read_any_labels, read_ball_csv
from tracknet.io.video.probe import probe_video
from tracknet.models.protocol import WindowModel
from tracknet.utils import atomic_write_text

log = logging.getLogger("tracknet.eval")

_LABEL_KEYS = ("data.labels.", "data.visible_codes=")  # overrides that apply without a checkpoint


def _rows_of(frames: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The row of each ``wanted`` frame number in ``frames``; -1 where it is not there."""
    row_of = {int(f): i for i, f in enumerate(frames)}
    return np.array([row_of.get(int(f), -1) for f in wanted], dtype=np.int64)


def _truth(labels: TrackLabels, visible_codes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(visible [N], xy [N, 2])`` of the labels."""
    xy = np.stack([labels.x, labels.y], axis=1).astype(np.float64)
    return is_visible(labels.visibility, visible_codes), xy


def _score(
    tracks: dict[str, ClipTrack],
    tolerance_px: float,
    tolerance_space: str,
    input_size: tuple[int, int] | None,
    to_input: ToInput | None,
) -> Evaluation:
    """:func:`evaluate_clips` of ``tracks``."""
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
    return Evaluation(result)


# --------------------------------------------------------------------------- a checkpoint
def evaluate_checkpoint(
    model: WindowModel,
    cfg: Config,
    split: str = "test",
    out_dir: str | Path | None = None,
    progress: bool = True,
    grid: tuple[int, int] | None = None,
    grid_map: ToInput | None = None,
) -> Evaluation:
    """Predict every clip of ``split`` and score it; writes the report to ``out_dir``.

    Args:
        model: the trained model (see :class:`tracknet.infer.predictor.Predictor`).
        cfg: the run's configuration (data root, split, codec, tolerance, predict settings).
        split: ``train``, ``val`` or ``test``.
        out_dir: where :func:`write_report` writes; None writes nothing.
        progress: show a progress bar over the clips.
        grid, grid_map: ``(W, H)`` of the input-space tolerance (``eval.tolerance_space=input``)
            and the map of frame positions onto it (None: a stretch), instead of the model input
            and its codec's map (e.g. the trained grid for a model run at another input size).

    Raises:
        UserError: an unknown or empty split, or a dataset that cannot be read.
    """
    if split in SPLITS and not cfg.data.root:  # (an unknown split: load_split says so)
        raise UserError("the run's configuration names no dataset; pass data.root=FOLDER")
    chosen = load_split(cfg, split)
    if not chosen:
        raise DataError(f"the {split} split of {cfg.data.root} holds no clip (see data.split)")
    predictor = Predictor.from_config(model, cfg)
    to_input: ToInput | None = predictor.codec.frame_to_input
    grid_wh = as_wh(cfg.model.input_size)
    if grid is not None:
        grid_wh, to_input = grid, grid_map
    tracks: dict[str, ClipTrack] = {}
    tally = EventTally(cfg.eval.event_tolerance)
    for clip in tqdm(chosen, desc=f"eval {split}", disable=not progress, dynamic_ncols=True):
        frame_size = tuple(clip.frame_size)
        truth = clip_events(clip)  # None: the clip carries no events
        source = open_source(predictor, clip.source)
        track = track_source(predictor, source, frame_size=frame_size, events=truth is not None)
        tally.add(clip.name, track, truth)
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
            **plot_fields(track, rows, truth),
        )
    result = _score(
        tracks,
        cfg.eval.tolerance_px,
        cfg.eval.tolerance_space,
        grid_wh,
        to_input,
    )
    result.settings.scored.update(
        {"split": split, "data_root": str(cfg.data.root), "clips": len(chosen)}
    )
    tally.attach(result)
    if out_dir is not None:
        write_report(result, out_dir, tracks, to_input=to_input)
    return result


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


def _frames_beside(gt_path: str | Path) -> tuple[int, int] | None:
    """:func:`label_frame_size`, or None when what lies beside the labels cannot be read."""
    try:
        return label_frame_size(gt_path)
    except DataError:
        return None


def evaluate_csv(
    pred_csv: str | Path,
    gt_path: str | Path,
    tolerance_px: float = 4.0,
    tolerance_space: str = "original",
    frame_size: tuple[int, int] | None = None,
    input_size: tuple[int, int] | None = None,
    visible_codes: Sequence[int] = (1, 2),
    to_input: ToInput | None = None,
    out_dir: str | Path | None = None,
    labels: LabelsConfig | None = None,
) -> Evaluation:
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
        labels: how ``gt_path`` is read (``data.labels``: columns, normalised coordinates,
            frames without a row); None: the defaults (``auto``). Normalised coordinates are
            fractions of ``frame_size`` (else of the frames found beside ``gt_path``).

    Raises:
        UserError: an unreadable file, a label file that contradicts ``labels``, or ``"input"``
            without the sizes it needs.
    """
    pred = read_ball_csv(pred_csv)
    gt = read_any_labels(
        gt_path,
        visible_codes=visible_codes,
        labels=labels if labels is not None else LabelsConfig(),
        coords_size=frame_size or _frames_beside(gt_path),
    )
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
            frame_size=as_wh(frame_size) if frame_size is not None else None,
        )
    }
    result = _score(tracks, tolerance_px, tolerance_space, input_size, to_input)
    missing = int((~found).sum())
    result.settings.scored.update(
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
) -> Evaluation:
    """:func:`evaluate_csv` with the settings given, else ``checkpoint``'s, else the defaults.

    Without a checkpoint, ``overrides`` may set how the labels are read (``data.labels.*``,
    ``data.visible_codes``) and nothing else.
    """
    space, to_input = tolerance_space, None
    grid: tuple[int, int] | None = None
    visible_codes: tuple[int, ...] = (1, 2)
    labels = LabelsConfig()
    if checkpoint:
        _, config = resolve_checkpoint(checkpoint)
        cfg = load_config(config, overrides)
        codec = HeatmapCodec.from_config(cfg)
        tolerance_px = tolerance_px if tolerance_px is not None else cfg.eval.tolerance_px
        space = space or cfg.eval.tolerance_space
        grid, to_input = as_wh(cfg.model.input_size), codec.frame_to_input
        visible_codes, labels = tuple(cfg.data.visible_codes), cfg.data.labels
    elif overrides:
        others = [o for o in overrides if not o.startswith(_LABEL_KEYS)]
        if others:
            raise UserError(
                f"key=value overrides {others} need --checkpoint (without one, only "
                "data.labels.* and data.visible_codes apply: how --gt is read)"
            )
        cfg = load_config(None, overrides)
        visible_codes, labels = tuple(cfg.data.visible_codes), cfg.data.labels
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
        labels=labels,
    )


# --------------------------------------------------------------------------- the command
def _trained_grid(
    checkpoint: str | Path, cfg: Config
) -> tuple[tuple[int, int] | None, ToInput | None]:
    """The run's own input size and its codec's map where ``cfg`` runs the model at another
    size (an override of ``model.input_size``): input-space tolerances stay on the grid the run
    was trained and scored on, so a smaller input is not scored more leniently. ``(None,
    None)``: the same size."""
    _, config = resolve_checkpoint(checkpoint)
    trained = load_config(config)
    if as_wh(trained.model.input_size) == as_wh(cfg.model.input_size):
        return None, None
    return as_wh(trained.model.input_size), HeatmapCodec.from_config(trained).frame_to_input


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
    pred_events: str | Path | None = None,
    event_tolerance: int | None = None,
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
        overrides: ``key=value`` overrides of the run's configuration (need ``checkpoint``),
            or of how ``gt`` is read (``data.labels.*``, ``data.visible_codes``: also without).
        pred_events: an events CSV scored against the events of ``gt`` (alone, or with
            ``pred``: then added to its metrics as ``events``).
        event_tolerance: frames (default ``eval.event_tolerance``, 2).

    Returns:
        The metrics JSON (:meth:`~tracknet.evaluate.result.Evaluation.as_dict`, or the event
        scores alone for ``pred_events`` without ``pred``).
    """
    overrides = list(overrides)
    if bool(pred or pred_events) != bool(gt):
        raise UserError("--gt goes with --pred and/or --pred-events")
    if not checkpoint and not gt:
        raise UserError("give --checkpoint RUN_DIR, or --pred FILE / --pred-events FILE --gt FILE")
    events = None
    if pred_events:
        assert gt is not None  # checked above: --gt goes with --pred-events
        tolerance = 2 if event_tolerance is None else event_tolerance
        events = evaluate_events_csv(pred_events, gt, tolerance)
    result: Evaluation | EventEvaluation
    if pred_events and not pred:
        assert events is not None
        result, table = events, format_event_table(events.scores)
    else:
        if pred:
            assert gt is not None  # checked above: --gt goes with --pred
            evaluation = _evaluate_csv_of_run(
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
            if event_tolerance is not None:
                overrides.append(f"eval.event_tolerance={event_tolerance}")
            assert checkpoint is not None  # checked above: neither --pred nor --gt
            model, cfg = load_run(checkpoint, overrides)
            grid, grid_map = (input_size, None) if input_size else _trained_grid(checkpoint, cfg)
            evaluation = evaluate_checkpoint(
                model, cfg, split or cfg.eval.split, out_dir, grid=grid, grid_map=grid_map
            )
        if events is not None:
            evaluation.events = events
        result, table = evaluation, report_text(evaluation)
    metrics = result.as_dict()
    if events is not None and out_dir:
        write_event_report(result, out_dir)
    if json_path:
        atomic_write_text(json_path, json.dumps(metrics, indent=2) + "\n")
    print(table)
    return metrics
