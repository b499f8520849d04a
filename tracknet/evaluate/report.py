"""The report files of ``tracknet eval``: metrics, the per-clip table and trajectory plots.

:func:`write_report` writes, into an output folder:

- ``metrics.json``: the metrics JSON (:meth:`tracknet.evaluate.result.Evaluation.as_dict`);
- ``metrics.txt``: the fixed-width table (one row per clip, then overall), and the event table
  (hits, bounces, all) when events were scored;
- ``clips.csv``: the position table as CSV (one row per clip, then ``overall``);
- ``trajectories/<clip>.png``: predicted against true x and y over time, one per clip, with the
  fitted flights and the predicted and true events when the trajectory stage ran.

:class:`ClipTrack` holds one clip's predictions and truth on its labelled frames.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tracknet.eval.events import format_event_table
from tracknet.eval.metrics import ToInput, classify_frames, format_table
from tracknet.eval.plots import plot_trajectory
from tracknet.evaluate.result import Evaluation
from tracknet.io.events import Event
from tracknet.utils import atomic_write_text

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
    """Predictions and truth of the labelled frames of one clip, original-frame pixels.

    The last four are for the plots only: the fitted flights ``(frames, xy)``, the predicted
    and true events, and which predictions were filled in (all optional).
    """

    frames: np.ndarray  # [N] frame numbers
    pred_visible: np.ndarray  # [N] bool
    pred_xy: np.ndarray  # [N, 2]
    gt_visible: np.ndarray  # [N] bool
    gt_xy: np.ndarray  # [N, 2]
    frame_size: tuple[int, int] | None  # (W, H)
    segments: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    pred_events: list[Event] = field(default_factory=list)
    gt_events: list[Event] = field(default_factory=list)
    filled: np.ndarray | None = None  # [N] bool


def clips_csv(result: Evaluation) -> str:
    """The per-clip table as CSV: ``clip, frames, tp, ..., rmse``, then an ``overall`` row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["clip", *TABLE_COLUMNS])
    rows = [*result.clips.items(), ("overall", result.overall)]
    for name, scores in rows:
        cells: list[Any] = []
        for key in TABLE_COLUMNS:
            value = getattr(scores, key)
            cells.append(
                "" if value is None else f"{value:.6g}" if isinstance(value, float) else value
            )
        writer.writerow([name, *cells])
    return buf.getvalue()


def report_text(result: Evaluation) -> str:
    """The printed table: positions, then events when they were scored."""
    text = format_table(result.positions)
    if result.events is not None:
        text += "\n\n" + format_event_table(result.events.scores)
    return text


def write_report(
    result: Evaluation,
    out_dir: str | Path,
    tracks: dict[str, ClipTrack] | None = None,
    to_input: ToInput | None = None,
) -> None:
    """Write ``metrics.json``, ``metrics.txt``, ``clips.csv`` and ``trajectories/<clip>.png``.

    Args:
        result: what :func:`tracknet.evaluate.score.evaluate_checkpoint` or
            :func:`tracknet.evaluate.score.evaluate_csv` returned.
        out_dir: the folder (created).
        tracks: the per-clip predictions and truth, for the trajectory plots (none without).
        to_input: the frame -> input map the scores used (to mark FP1 on the plots).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(result.as_dict(), indent=2) + "\n")
    atomic_write_text(out / "metrics.txt", report_text(result) + "\n")
    atomic_write_text(out / "clips.csv", clips_csv(result))
    if not tracks:
        return
    settings = result.settings
    for name, t in tracks.items():
        outcomes = classify_frames(
            t.pred_visible,
            t.pred_xy,
            t.gt_visible,
            t.gt_xy,
            tolerance_px=settings.tolerance_px,
            tolerance_space=settings.tolerance_space,
            frame_size=t.frame_size,
            input_size=settings.input_size,
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
            segments=t.segments,
            pred_events=t.pred_events,
            gt_events=t.gt_events,
            filled=t.filled,
        )
