"""Scoring a checkpoint on a dataset split, or any tool's CSV against labels.

A checkpoint is scored through the same streaming predictor (and tracker) that ``tracknet
predict`` uses, over every frame of every clip of the split, so the numbers are those a user gets.
Only labelled frames are scored (rows a reader skipped as malformed are not).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from tracknet.config import Config
from tracknet.utils import atomic_write_text

log = logging.getLogger("tracknet.eval")


def _clip_frames(clip):
    """``(index, rgb or None)`` for every frame of a clip (images or a video)."""
    from tracknet.infer.pipeline import FrameSource

    return FrameSource(clip.source)


def evaluate_checkpoint(
    model, cfg: Config, split: str = "test", out_dir: str | Path | None = None, progress=True
) -> dict[str, Any]:
    """Predict every clip of ``split`` and score it; writes metrics, table and plots to ``out_dir``."""
    from tqdm.auto import tqdm

    from tracknet.data.codec import HeatmapCodec
    from tracknet.data.formats import is_visible, load_clips
    from tracknet.data.splits import split_clips
    from tracknet.eval.metrics import evaluate_clips
    from tracknet.infer.pipeline import build_track
    from tracknet.infer.predictor import Predictor

    codec = HeatmapCodec.from_config(cfg)
    clips = load_clips(
        cfg.data.root,
        cfg.data.format,
        strict=cfg.data.strict,
        visible_codes=tuple(cfg.data.visible_codes),
    )
    chosen = split_clips(clips, cfg.data.split)[split]
    predictor = Predictor(model, codec, cfg.predict)
    per_clip: dict[str, tuple] = {}
    tracks = {}
    for clip in tqdm(chosen, desc=f"eval {split}", disable=not progress, dynamic_ncols=True):
        source = _clip_frames(clip)
        preds = list(predictor.run(iter(source), tuple(clip.frame_size)))
        track = build_track(preds, cfg.predict)
        row_of = {int(f): i for i, f in enumerate(track.frame)}
        labels = clip.labels
        rows = np.array([row_of.get(int(f), -1) for f in labels.frame])
        keep = rows >= 0
        rows = rows[keep]
        gt_visible = is_visible(labels.visibility[keep], cfg.data.visible_codes)
        gt_xy = np.stack([labels.x[keep], labels.y[keep]], axis=1).astype(np.float64)
        per_clip[clip.name] = (
            track.visible[rows],
            track.xy[rows],
            gt_visible,
            gt_xy,
            tuple(clip.frame_size),
        )
        tracks[clip.name] = (
            labels.frame[keep],
            track.visible[rows],
            track.xy[rows],
            gt_visible,
            gt_xy,
        )
    result = evaluate_clips(
        per_clip,
        tolerance_px=cfg.eval.tolerance_px,
        tolerance_space=cfg.eval.tolerance_space,
        input_size=tuple(cfg.model.input_size),
        to_input=codec.frame_to_input,
    )
    result["settings"].update({"split": split, "data_root": cfg.data.root, "clips": len(chosen)})
    if out_dir is not None:
        write_report(result, out_dir, tracks)
    return result


def write_report(result: dict[str, Any], out_dir: str | Path, tracks: dict | None = None) -> None:
    """``metrics.json``, ``metrics.txt`` (the table) and ``trajectories/<clip>.png``."""
    from tracknet.eval.metrics import format_table

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(result, indent=2))
    atomic_write_text(out / "metrics.txt", format_table(result) + "\n")
    if tracks:
        from tracknet.eval.plots import plot_trajectory

        for name, (frames, pv, pxy, gv, gxy) in tracks.items():
            safe = name.replace("/", "__")
            plot_trajectory(
                frames, pv, pxy, gv, gxy, out / "trajectories" / f"{safe}.png", title=name
            )


def evaluate_csv(
    pred_csv: str | Path,
    gt_path: str | Path,
    tolerance_px: float = 4.0,
    tolerance_space: str = "original",
    frame_size: tuple[int, int] | None = None,
    input_size: tuple[int, int] | None = None,
    visible_codes=(1, 2),
) -> dict[str, Any]:
    """Score a ``Frame,Visibility,X,Y`` prediction CSV against a label file of any format.

    Frames are matched by number; a labelled frame missing from the predictions counts as
    predicted not visible.
    """
    from tracknet.data.formats import is_visible
    from tracknet.eval.metrics import evaluate_clips
    from tracknet.io.labels import read_any_labels, read_ball_csv

    pred = read_ball_csv(pred_csv)
    gt = read_any_labels(gt_path)
    row_of = {int(f): i for i, f in enumerate(pred.frame)}
    rows = np.array([row_of.get(int(f), -1) for f in gt.frame])
    found = rows >= 0
    pv = np.zeros(len(gt), dtype=bool)
    pxy = np.zeros((len(gt), 2))
    pv[found] = pred.visibility[rows[found]] > 0
    pxy[found, 0], pxy[found, 1] = pred.x[rows[found]], pred.y[rows[found]]
    gv = is_visible(gt.visibility, visible_codes)
    gxy = np.stack([gt.x, gt.y], axis=1).astype(np.float64)
    name = Path(pred_csv).stem
    result = evaluate_clips(
        {name: (pv, pxy, gv, gxy, frame_size)},
        tolerance_px=tolerance_px,
        tolerance_space=tolerance_space,
        input_size=input_size,
    )
    result["settings"].update(
        {"pred": str(pred_csv), "gt": str(gt_path), "missing_prediction_rows": int((~found).sum())}
    )
    return result
