"""Hit and bounce scoring in ``tracknet eval``: an events CSV against labels, or a checkpoint's
trajectory stage against the events of a split's clips.

A predicted event matches a true one of the same kind within ``eval.event_tolerance`` frames
(``--event-tolerance``, default 2), each at most once (:mod:`tracknet.eval.events`). Over a split
the counts are summed over the clips that carry events (:mod:`tracknet.data.clip_events`: the
tennis ``status`` column, or a ``<stem>_events.csv``) and the ratios computed from the sums.

The result, an :class:`~tracknet.evaluate.result.EventEvaluation` (the
:attr:`~tracknet.evaluate.result.Evaluation.events` of a checkpoint's scores, or the whole result
of ``--pred-events`` alone), holds in its JSON ``event_tp, event_fp, event_fn, event_precision,
event_recall, event_f1``, ``event_mean_abs_offset``, ``event_tolerance``, ``by_kind`` (the same
per kind) and, for a split, ``clips`` (the same per clip); the overall ``event_*`` scores are
also copied to the top level of the metrics JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tracknet.data.clip_events import events_of_label_file
from tracknet.errors import UserError
from tracknet.eval.events import (
    EventResult,
    format_event_table,
    score_event_lists,
    sum_event_results,
)
from tracknet.evaluate.result import Evaluation, EventEvaluation, EventSettings
from tracknet.io.events import Event, read_events_csv
from tracknet.track.result import Track
from tracknet.utils import atomic_write_text


def check_tolerance(tolerance: int) -> int:
    """The event tolerance as an int >= 0, else a :class:`UserError`."""
    if int(tolerance) != tolerance or tolerance < 0:
        raise UserError(f"the event tolerance must be a whole number of frames >= 0: {tolerance}")
    return int(tolerance)


class EventTally:
    """Event scores of the clips of a split, one clip at a time (:meth:`add`), then summed
    into an :class:`~tracknet.evaluate.result.Evaluation` (:meth:`attach`)."""

    def __init__(self, tolerance: int = 2) -> None:
        self.tolerance = check_tolerance(tolerance)
        self.clips: dict[str, EventResult] = {}

    def add(self, name: str, track: Track, truth: list[Event] | None) -> None:
        """Score one clip's predicted events (``track.trajectory``) against ``truth`` (None:
        the clip carries no events and is left out)."""
        if truth is None or track.trajectory is None:
            return
        self.clips[name] = score_event_lists(track.trajectory.events, truth, self.tolerance)

    def attach(self, result: Evaluation) -> Evaluation:
        """Set ``result.events`` to the summed scores when any clip carried events; returns
        ``result``."""
        if not self.clips:
            return result
        events = sum_event_results(self.clips.values(), self.tolerance)
        result.events = EventEvaluation(events, dict(self.clips))
        return result


def plot_fields(track: Track, rows: np.ndarray, truth: list[Event] | None) -> dict[str, Any]:
    """What :class:`tracknet.evaluate.report.ClipTrack` shows of the trajectory stage for the
    track's ``rows`` (the labelled frames): fitted flights, predicted and true events, fills."""
    traj = track.trajectory
    if traj is None:
        return {}
    curves = []
    for seg in traj.segments:
        frames = np.arange(seg.start, seg.end + 1)
        curves.append((frames, seg.position(frames)))
    return {
        "segments": curves,
        "pred_events": list(traj.events),
        "gt_events": list(truth or []),
        "filled": track.filled[rows],
    }


def evaluate_events_csv(
    pred_events: str | Path, gt_path: str | Path, tolerance: int = 2
) -> EventEvaluation:
    """Score an events CSV (``Frame,Event,X,Y,Score``) against the events of ``gt_path``: an
    events CSV, a tennis ``Label.csv`` with ``status``, or a ball CSV with ``<stem>_events.csv``
    beside it.

    Raises:
        UserError: labels without events, a bad tolerance; DataError: an unreadable file.
    """
    tolerance = check_tolerance(tolerance)
    pred = read_events_csv(pred_events)
    truth = events_of_label_file(gt_path)
    settings = EventSettings(str(pred_events), str(gt_path), len(pred), len(truth))
    return EventEvaluation(score_event_lists(pred, truth, tolerance), settings=settings)


def write_event_report(result: Evaluation | EventEvaluation, out_dir: str | Path) -> None:
    """``metrics.json`` (the whole metrics JSON: :meth:`Evaluation.as_dict`, or the event
    scores alone) and ``events.txt`` (the event table) in ``out_dir``.

    Raises:
        ValueError: an :class:`Evaluation` without events.
    """
    events = result.events if isinstance(result, Evaluation) else result
    if events is None:
        raise ValueError("no events were scored")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(result.as_dict(), indent=2) + "\n")
    atomic_write_text(out / "events.txt", format_event_table(events.scores) + "\n")
