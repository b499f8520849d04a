"""PNG figures: training curves of a run and the ball trajectory of a clip.

Figures are drawn with matplotlib's object API on the Agg canvas (``matplotlib.figure.Figure``),
never through ``pyplot``: no window is ever opened, no global backend is switched, and nothing is
left in pyplot's figure registry. Files are written atomically; parent folders are created.

Coordinates are original-frame pixels. In trajectory plots the y axis is inverted, so "up" on
the plot is up in the image. The trajectory stage's flights (fitted curves), hits and bounces are
drawn from plain arrays and :class:`~tracknet.io.events.Event` records, so any tool's events can
be shown.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tracknet.eval.metrics import Outcome
from tracknet.io.events import Event
from tracknet.utils import atomic_path

_DPI = 100
_EVENT_STYLE = {"hit": ("tab:pink", "X"), "bounce": ("tab:green", "v")}  # colour, marker
_SEGMENT_COLOURS = ("tab:cyan", "tab:olive")  # neighbouring flights alternate


def _save(fig: Figure, out_png: str | Path) -> Path:
    out = Path(out_png)
    with atomic_path(out, suffix=".tmp.png") as tmp:
        fig.savefig(tmp, format="png", dpi=_DPI)
    return out


# --------------------------------------------------------------------------- training curves
def _number(value: Any) -> float | None:
    """A finite float, or ``None`` for an empty cell, text or NaN."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _read_rows(source: str | Path | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if isinstance(source, str | Path):
        if not Path(source).exists():
            return []  # a run stopped before its first log row: draw empty panels, do not crash
        with open(source, newline="") as fh:
            return list(csv.DictReader(fh))
    return list(source)


def _series(
    rows: Sequence[Mapping[str, Any]], split: str, key: str
) -> tuple[list[float], list[float]]:
    steps, values = [], []
    for row in rows:
        if str(row.get("split", "")) != split:
            continue
        step, value = _number(row.get("step")), _number(row.get(key))
        if step is not None and value is not None:
            steps.append(step)
            values.append(value)
    return steps, values


def plot_training_curves(
    metrics: str | Path | Iterable[Mapping[str, Any]], out_png: str | Path
) -> Path:
    """Loss (log scale) and validation precision / recall / F1 over training steps.

    Args:
        metrics: the trainer's ``metrics.csv`` (columns ``step, split, loss, lr, precision,
            recall, f1, ...``) or its rows as dicts. ``split="train"`` rows give the training
            loss, ``split="val"`` rows the validation loss and scores; empty cells are skipped
            and a CSV that does not exist yet gives empty panels.
        out_png: the PNG to write.

    Returns:
        The path written.
    """
    rows = _read_rows(metrics)
    fig = Figure(figsize=(8, 7), layout="constrained")
    loss_ax, score_ax = fig.subplots(2, 1, sharex=True)
    _draw_losses(loss_ax, rows)
    _draw_scores(score_ax, rows)
    score_ax.set_xlabel("optimizer step")
    return _save(fig, out_png)


def _draw_losses(ax: Axes, rows: Sequence[Mapping[str, Any]]) -> None:
    styles: dict[str, dict[str, Any]] = {
        "train": dict(lw=1.0, color="tab:blue"),
        "val": dict(lw=1.8, marker="o", ms=4, color="tab:red"),
    }
    for split, style in styles.items():
        steps, losses = _series(rows, split, "loss")
        positive = [(s, v) for s, v in zip(steps, losses, strict=True) if v > 0]  # log scale
        if positive:
            ax.plot(*zip(*positive, strict=True), label=f"{split} loss", **style)
    if ax.lines:
        ax.set_yscale("log")
        ax.legend(loc="upper right")
    else:
        _no_data(ax)
    ax.set_ylabel("loss (log scale)")
    ax.set_title("Loss")
    ax.grid(True, which="both", alpha=0.3)


def _draw_scores(ax: Axes, rows: Sequence[Mapping[str, Any]]) -> None:
    for key, colour in (("precision", "tab:green"), ("recall", "tab:orange"), ("f1", "tab:purple")):
        steps, values = _series(rows, "val", key)
        if values:
            ax.plot(steps, values, marker="o", ms=4, color=colour, label=key)
    if ax.lines:
        ax.legend(loc="lower right")
    else:
        _no_data(ax)
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel("score")
    ax.set_title("Validation precision / recall / F1")
    ax.grid(True, alpha=0.3)


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes, color="0.5")


# --------------------------------------------------------------------------- trajectories
def plot_trajectory(
    frames: np.ndarray,
    pred_visible: np.ndarray,
    pred_xy: np.ndarray,
    gt_visible: np.ndarray,
    gt_xy: np.ndarray,
    out_png: str | Path,
    title: str = "",
    outcomes: np.ndarray | None = None,
    segments: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    pred_events: Iterable[Event] = (),
    gt_events: Iterable[Event] = (),
    filled: np.ndarray | None = None,
) -> Path:
    """x and y of the ball over time for one clip: truth against prediction.

    One PNG per clip, two panels sharing the frame axis (x on top, y below). Truth is a grey line
    (broken where the ball is not visible), predictions are blue dots. Misses (truth visible,
    nothing predicted) are red ticks at the truth; false detections (predicted, truth not
    visible) are orange triangles at the prediction. Given ``outcomes`` from
    :func:`tracknet.eval.metrics.classify_frames`, predictions beyond the tolerance (FP1) are
    circled in red. Fitted flights (``segments``) are thin lines in alternating colours;
    predicted events are large markers at their position (hit: a pink cross, bounce: a green
    triangle), true events dotted vertical lines of the same colours; positions filled in from
    a flight (``filled``) are hollow blue circles.

    Args:
        frames: ``[N]`` frame numbers.
        pred_visible, pred_xy: ``[N]`` and ``[N, 2]`` predictions (original pixels).
        gt_visible, gt_xy: ``[N]`` and ``[N, 2]`` truth (original pixels).
        out_png: the PNG to write.
        title: the figure title (the clip name).
        outcomes: optional ``[N]`` outcome codes, to mark FP1.
        segments: ``(frames [M], xy [M, 2])`` of each fitted flight.
        pred_events, gt_events: predicted and true hits and bounces.
        filled: optional ``[N]`` predictions filled in from a flight (not detected).

    Returns:
        The path written.
    """
    t = np.asarray(frames, dtype=np.float64).reshape(-1)
    pv = np.asarray(pred_visible).reshape(-1) != 0
    gv = np.asarray(gt_visible).reshape(-1) != 0
    pxy = np.asarray(pred_xy, dtype=np.float64).reshape(-1, 2)
    gxy = np.asarray(gt_xy, dtype=np.float64).reshape(-1, 2)
    missed, false_alarm = gv & ~pv, pv & ~gv
    far = np.zeros_like(pv)
    if outcomes is not None:
        far = np.asarray(outcomes).reshape(-1) == Outcome.FP1

    # (frames to mark, positions to mark them at, matplotlib style, legend label)
    markers = [
        (missed, gxy, dict(marker="|", color="tab:red", ms=10, mew=1.5), "miss (FN)"),
        (false_alarm, pxy, dict(marker="^", color="tab:orange", ms=5), "false alarm (FP2)"),
    ]
    if outcomes is not None:
        style = dict(marker="o", mfc="none", mec="tab:red", ms=8)
        markers.append((far, pxy, style, "too far (FP1)"))

    if filled is not None:
        fill = np.asarray(filled).reshape(-1) != 0
        style = dict(marker="o", mfc="none", mec="tab:blue", ms=5)
        markers.append((fill & pv, pxy, style, "filled in"))
    pred_events, gt_events = list(pred_events), list(gt_events)

    fig = Figure(figsize=(11, 6), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for axis, (ax, name) in enumerate(zip(axes, ("x", "y"), strict=True)):
        truth = np.where(gv, gxy[:, axis], np.nan)  # NaN breaks the line where not visible
        ax.plot(t, truth, color="0.55", lw=2.0, label="truth")
        ax.plot(t[pv], pxy[pv, axis], ".", color="tab:blue", ms=4, label="prediction")
        for mask, points, style, label in markers:
            ax.plot(t[mask], points[mask, axis], ls="none", label=f"{label} {mask.sum()}", **style)
        _draw_flights(ax, axis, segments, pred_events, gt_events)
        ax.set_ylabel(f"{name} (px)")
        ax.grid(True, alpha=0.3)
    axes[1].invert_yaxis()  # image y grows downwards
    axes[1].set_xlabel("frame")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    fig.suptitle(title or "ball trajectory")
    return _save(fig, out_png)


def _draw_flights(
    ax: Axes,
    axis: int,
    segments: Sequence[tuple[np.ndarray, np.ndarray]],
    pred_events: list[Event],
    gt_events: list[Event],
) -> None:
    """Fitted flights, predicted events (markers) and true events (dotted lines) on one panel."""
    for k, (frames, xy) in enumerate(segments):
        label = f"fitted flight ({len(segments)})" if k == 0 else None
        colour = _SEGMENT_COLOURS[k % len(_SEGMENT_COLOURS)]
        ax.plot(np.asarray(frames), np.asarray(xy)[:, axis], color=colour, lw=1.2, label=label)
    for kind, (colour, marker) in _EVENT_STYLE.items():
        mine = [e for e in pred_events if e.kind == kind and math.isfinite(e.x)]
        if mine:
            value = [e.x if axis == 0 else e.y for e in mine]
            ax.plot([e.frame for e in mine], value, ls="none", marker=marker, ms=9, mfc=colour,
                    mec="black", label=f"predicted {kind} {len(mine)}")  # fmt: skip
        true = [e.frame for e in gt_events if e.kind == kind]
        for i, frame in enumerate(true):
            label = f"true {kind} {len(true)}" if i == 0 else None
            ax.axvline(frame, color=colour, ls=":", lw=1.2, label=label)
