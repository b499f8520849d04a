"""Event scoring (hits, bounces) on plain arrays: matching within a frame tolerance, P/R/F1.

A predicted event matches a ground-truth event of the SAME kind when their frames differ by at
most ``tolerance`` frames (``|f_pred - f_gt| <= tolerance``); every event, predicted or true, is
matched at most once. Matched predictions are true positives (``event_tp``), unmatched
predictions false positives (``event_fp``), unmatched labels false negatives (``event_fn``).
Kinds never cross: a ``hit`` predicted on a labelled ``bounce`` is one FP and one FN.

Matching is OPTIMAL in the number of matches, not greedy by distance: per kind, labels are taken
in time order and each is matched to the earliest still unmatched prediction within its window.
Because every window has the same width, this gives the largest possible number of matches (the
classic interval-scheduling argument), which a greedy-by-distance pass does not always do (with
labels at 10 and 12, predictions at 11 and 13 and tolerance 1, pairing 11 with 12 first strands
the label at 10). Among matchings of that size the offsets are not minimised; the reported
``event_mean_abs_offset`` is that of the matching made.

``precision = tp / (tp + fp)``, ``recall = tp / (tp + fn)``, ``F1 = 2PR / (P + R)``; a ratio with a
zero denominator is 0. Overall counts are the sums over kinds. Counts are python ints and ratios
python floats (JSON-serialisable). Sort: O(n log n); the matching itself is linear.
:func:`sum_event_results` pools the results of several clips (counts summed, ratios from the
sums); :func:`format_event_table` prints one row per kind and one for all events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tracknet.io.events import EVENT_KINDS, Event

EVENT_COUNT_KEYS = ("event_tp", "event_fp", "event_fn")
EVENT_SCORE_KEYS = ("event_precision", "event_recall", "event_f1")


def match_event_frames(pred: np.ndarray, gt: np.ndarray, tolerance: int = 2) -> np.ndarray:
    """Match predicted and true frames of ONE kind (each at most once, as many as possible).

    Args:
        pred: ``[P]`` predicted event frames (any order).
        gt: ``[G]`` true event frames (any order).
        tolerance: the largest ``|pred - gt|`` of a match, in frames (>= 0).

    Returns:
        ``int [M, 2]`` pairs ``(index into pred, index into gt)``, in time order.
    """
    if tolerance < 0 or int(tolerance) != tolerance:
        raise ValueError(f"tolerance must be an integer >= 0, got {tolerance!r}")
    pred, gt = _frames(pred, "pred"), _frames(gt, "gt")
    p_order, g_order = np.argsort(pred, kind="stable"), np.argsort(gt, kind="stable")
    pairs: list[tuple[int, int]] = []
    i = 0
    for g in g_order:
        while i < len(p_order) and pred[p_order[i]] < gt[g] - tolerance:
            i += 1  # too early for this label, hence for every later one
        if i < len(p_order) and pred[p_order[i]] <= gt[g] + tolerance:
            pairs.append((int(p_order[i]), int(g)))
            i += 1
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def score_events(
    pred_frames: np.ndarray,
    pred_kinds: Sequence[str] | np.ndarray,
    gt_frames: np.ndarray,
    gt_kinds: Sequence[str] | np.ndarray,
    tolerance: int = 2,
    kinds: Sequence[str] = EVENT_KINDS,
) -> dict[str, Any]:
    """Event counts and scores, overall and per kind.

    Args:
        pred_frames, pred_kinds: ``[P]`` predicted events (frame, kind name).
        gt_frames, gt_kinds: ``[G]`` true events.
        tolerance: frames (see the module docstring).
        kinds: the kinds scored; an event of another kind raises.

    Returns:
        ``{"event_tp", "event_fp", "event_fn", "event_precision", "event_recall", "event_f1",
        "event_mean_abs_offset", "event_tolerance", "by_kind": {kind: {same keys but the
        tolerance}}}``; a mean offset without matches is ``None``.

    Raises:
        ValueError: lengths differ, a frame is not an integer, an unknown kind, a bad tolerance.
    """
    pf, gf = _frames(pred_frames, "pred"), _frames(gt_frames, "gt")
    pk, gk = _kinds(pred_kinds, len(pf), kinds, "pred"), _kinds(gt_kinds, len(gf), kinds, "gt")
    by_kind: dict[str, dict[str, Any]] = {}
    offsets: list[np.ndarray] = []
    for kind in kinds:
        p_sel, g_sel = np.flatnonzero(pk == kind), np.flatnonzero(gk == kind)
        pairs = match_event_frames(pf[p_sel], gf[g_sel], tolerance)
        offset = np.abs(pf[p_sel][pairs[:, 0]] - gf[g_sel][pairs[:, 1]])
        offsets.append(offset)
        by_kind[kind] = event_scores(len(pairs), len(p_sel) - len(pairs), len(g_sel) - len(pairs))
        by_kind[kind]["event_mean_abs_offset"] = _mean(offset)
    total = {k: sum(v[k] for v in by_kind.values()) for k in EVENT_COUNT_KEYS}
    result = event_scores(total["event_tp"], total["event_fp"], total["event_fn"])
    result["event_mean_abs_offset"] = _mean(np.concatenate(offsets))
    result["event_tolerance"] = int(tolerance)
    result["by_kind"] = by_kind
    return result


def score_event_lists(
    pred: Iterable[Event], gt: Iterable[Event], tolerance: int = 2
) -> dict[str, Any]:
    """:func:`score_events` on two lists of :class:`~tracknet.io.events.Event`."""
    pred, gt = list(pred), list(gt)
    return score_events(
        np.array([e.frame for e in pred], dtype=np.int64),
        [e.kind for e in pred],
        np.array([e.frame for e in gt], dtype=np.int64),
        [e.kind for e in gt],
        tolerance,
    )


def event_scores(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Precision, recall and F1 from event counts (e.g. counts summed over clips)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "event_tp": int(tp),
        "event_fp": int(fp),
        "event_fn": int(fn),
        "event_precision": float(precision),
        "event_recall": float(recall),
        "event_f1": float(f1),
    }


def sum_event_results(results: Iterable[dict[str, Any]], tolerance: int = 2) -> dict[str, Any]:
    """Pool :func:`score_events` results (e.g. one per clip): counts summed overall and per
    kind, ratios recomputed from the sums, mean offsets weighted by the matches."""
    results = list(results)

    def pooled(parts: list[dict[str, Any]]) -> dict[str, Any]:
        counts = [sum(p[k] for p in parts) for k in EVENT_COUNT_KEYS]
        out = event_scores(*counts)
        matched = [(p["event_mean_abs_offset"], p["event_tp"]) for p in parts if p["event_tp"]]
        out["event_mean_abs_offset"] = (
            sum(m * n for m, n in matched) / sum(n for _, n in matched) if matched else None
        )
        return out

    total = pooled(results)
    total["event_tolerance"] = int(results[0]["event_tolerance"] if results else tolerance)
    total["by_kind"] = {k: pooled([r["by_kind"][k] for r in results]) for k in EVENT_KINDS}
    return total


def format_event_table(result: dict[str, Any]) -> str:
    """A fixed-width table of :func:`score_events` (or :func:`sum_event_results`): one row per
    kind, then all events."""
    rows = [*result["by_kind"].items(), ("all", result)]
    head = f"{'event':<8} {'tp':>5} {'fp':>5} {'fn':>5} {'precision':>9} {'recall':>7} {'F1':>6}"
    lines = [f"events, +-{result['event_tolerance']} frames", head]
    for name, r in rows:
        lines.append(
            f"{name:<8} {r['event_tp']:>5} {r['event_fp']:>5} {r['event_fn']:>5} "
            f"{r['event_precision']:>9.3f} {r['event_recall']:>7.3f} {r['event_f1']:>6.3f}"
        )
    return "\n".join(lines)


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def _frames(frames: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(frames).reshape(-1)
    integral = np.issubdtype(arr.dtype, np.integer)
    if not integral and not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
        raise ValueError(f"{what} event frames must be integers")
    return arr.astype(np.int64)


def _kinds(
    kinds: Sequence[str] | np.ndarray, n: int, allowed: Sequence[str], what: str
) -> np.ndarray:
    arr = np.asarray(kinds, dtype=object).reshape(-1)
    if len(arr) != n:
        raise ValueError(f"{n} {what} event frames but {len(arr)} kinds")
    unknown = sorted({str(k) for k in arr} - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what} event kind(s) {unknown}; expected {list(allowed)}")
    return arr
