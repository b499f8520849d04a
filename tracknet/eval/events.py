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
zero denominator is 0. Overall counts are the sums over kinds. Sort: O(n log n); the matching
itself is linear. Results are dataclasses (:class:`EventScores` of one kind or of all,
:class:`EventResult` of all with ``by_kind``) whose ``as_dict()`` gives the ``event_*`` keys of
the metrics JSON; counts are python ints and ratios python floats (JSON-serialisable).
:func:`sum_event_results` pools the results of several clips (counts summed, ratios from the
sums); :func:`format_event_table` prints one row per kind and one for all events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


@dataclass
class EventScores:
    """The counts and ratios of one kind of event, or of all: ``tp, fp, fn``, ``precision,
    recall, f1`` (0.0 over a zero denominator) and ``mean_abs_offset`` (frames, of the matches
    made; None without). The fields are in the order of the keys of :meth:`as_dict`."""

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    mean_abs_offset: float | None

    @classmethod
    def from_counts(
        cls, tp: int, fp: int, fn: int, mean_abs_offset: float | None = None
    ) -> EventScores:
        """Precision, recall and F1 from event counts (e.g. counts summed over clips)."""
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(
            tp=int(tp),
            fp=int(fp),
            fn=int(fn),
            precision=float(precision),
            recall=float(recall),
            f1=float(f1),
            mean_abs_offset=mean_abs_offset,
        )

    def counts_dict(self) -> dict[str, Any]:
        """``{event_tp, event_fp, event_fn, event_precision, event_recall, event_f1}``."""
        return {
            "event_tp": self.tp,
            "event_fp": self.fp,
            "event_fn": self.fn,
            "event_precision": self.precision,
            "event_recall": self.recall,
            "event_f1": self.f1,
        }

    def as_dict(self) -> dict[str, Any]:
        """:meth:`counts_dict` and ``event_mean_abs_offset``."""
        return {**self.counts_dict(), "event_mean_abs_offset": self.mean_abs_offset}


@dataclass
class EventResult(EventScores):
    """The scores of all events (the fields of :class:`EventScores`), the ``tolerance`` they
    were matched within (frames) and the same scores per kind (``by_kind``, in kind order)."""

    tolerance: int
    by_kind: dict[str, EventScores]

    def as_dict(self) -> dict[str, Any]:
        """:meth:`EventScores.as_dict`, ``event_tolerance`` and ``by_kind`` (kind -> the
        :meth:`EventScores.as_dict` of that kind)."""
        return {
            **super().as_dict(),
            "event_tolerance": self.tolerance,
            "by_kind": {kind: scores.as_dict() for kind, scores in self.by_kind.items()},
        }


def score_events(
    pred_frames: np.ndarray,
    pred_kinds: Sequence[str] | np.ndarray,
    gt_frames: np.ndarray,
    gt_kinds: Sequence[str] | np.ndarray,
    tolerance: int = 2,
    kinds: Sequence[str] = EVENT_KINDS,
) -> EventResult:
    """Event counts and scores, overall and per kind.

    Args:
        pred_frames, pred_kinds: ``[P]`` predicted events (frame, kind name).
        gt_frames, gt_kinds: ``[G]`` true events.
        tolerance: frames (see the module docstring).
        kinds: the kinds scored; an event of another kind raises.

    Returns:
        The scores of all events, and of each of ``kinds`` in ``by_kind``; a mean offset
        without matches is ``None``.

    Raises:
        ValueError: lengths differ, a frame is not an integer, an unknown kind, a bad tolerance.
    """
    pf, gf = _frames(pred_frames, "pred"), _frames(gt_frames, "gt")
    pk, gk = _kinds(pred_kinds, len(pf), kinds, "pred"), _kinds(gt_kinds, len(gf), kinds, "gt")
    by_kind: dict[str, EventScores] = {}
    offsets: list[np.ndarray] = []
    for kind in kinds:
        p_sel, g_sel = np.flatnonzero(pk == kind), np.flatnonzero(gk == kind)
        pairs = match_event_frames(pf[p_sel], gf[g_sel], tolerance)
        offset = np.abs(pf[p_sel][pairs[:, 0]] - gf[g_sel][pairs[:, 1]])
        offsets.append(offset)
        by_kind[kind] = EventScores.from_counts(
            len(pairs), len(p_sel) - len(pairs), len(g_sel) - len(pairs), _mean(offset)
        )
    parts = by_kind.values()
    total = EventScores.from_counts(
        sum(p.tp for p in parts),
        sum(p.fp for p in parts),
        sum(p.fn for p in parts),
        _mean(np.concatenate(offsets)),
    )
    return EventResult(**vars(total), tolerance=int(tolerance), by_kind=by_kind)


def score_event_lists(
    pred: Iterable[Event], gt: Iterable[Event], tolerance: int = 2
) -> EventResult:
    """:func:`score_events` on two lists of :class:`~tracknet.io.events.Event`."""
    pred, gt = list(pred), list(gt)
    return score_events(
        np.array([e.frame for e in pred], dtype=np.int64),
        [e.kind for e in pred],
        np.array([e.frame for e in gt], dtype=np.int64),
        [e.kind for e in gt],
        tolerance,
    )


def sum_event_results(results: Iterable[EventResult], tolerance: int = 2) -> EventResult:
    """Pool :func:`score_events` results (e.g. one per clip): counts summed overall and per
    kind, ratios recomputed from the sums, mean offsets weighted by the matches."""
    results = list(results)

    def pooled(parts: Sequence[EventScores]) -> EventScores:
        matched = [
            (p.mean_abs_offset, p.tp) for p in parts if p.tp and p.mean_abs_offset is not None
        ]
        offset = sum(m * n for m, n in matched) / sum(n for _, n in matched) if matched else None
        return EventScores.from_counts(
            sum(p.tp for p in parts), sum(p.fp for p in parts), sum(p.fn for p in parts), offset
        )

    total = pooled(results)
    return EventResult(
        **vars(total),
        tolerance=int(results[0].tolerance if results else tolerance),
        by_kind={k: pooled([r.by_kind[k] for r in results]) for k in EVENT_KINDS},
    )


def format_event_table(result: EventResult) -> str:
    """A fixed-width table of :func:`score_events` (or :func:`sum_event_results`): one row per
    kind, then all events."""
    rows: list[tuple[str, EventScores]] = [*result.by_kind.items(), ("all", result)]
    head = f"{'event':<8} {'tp':>5} {'fp':>5} {'fn':>5} {'precision':>9} {'recall':>7} {'F1':>6}"
    lines = [f"events, +-{result.tolerance} frames", head]
    for name, r in rows:
        lines.append(
            f"{name:<8} {r.tp:>5} {r.fp:>5} {r.fn:>5} "
            f"{r.precision:>9.3f} {r.recall:>7.3f} {r.f1:>6.3f}"
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
