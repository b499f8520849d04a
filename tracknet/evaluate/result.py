"""What ``tracknet eval`` scored: :class:`Evaluation`, and its metrics JSON (:meth:`as_dict`).

The JSON (``--json``, ``metrics.json``) holds the overall position scores at the top level
(``tp, tn, fp1, fp2, fn, frames, accuracy, precision, recall, f1, rmse``), then ``overall``,
``clips``, ``settings`` and ``slow`` (:meth:`tracknet.eval.metrics.ClipScores.as_dict`), then,
when events were scored, ``events`` (:mod:`tracknet.evaluate.events`) and its overall
``event_*`` scores at the top level again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tracknet.eval.events import EVENT_COUNT_KEYS, EVENT_SCORE_KEYS, EventResult
from tracknet.eval.metrics import ClipScores, Scores, ScoreSettings

EVENT_TOP_KEYS = (*EVENT_COUNT_KEYS, *EVENT_SCORE_KEYS)  # copied to the top level of the JSON


@dataclass
class EventSettings:
    """What ``--pred-events`` scored: the events CSV, the labels and how many events each held."""

    pred_events: str
    gt: str
    predicted: int
    labelled: int

    def as_dict(self) -> dict[str, Any]:
        """``{pred_events, gt, predicted, labelled}``."""
        return asdict(self)


@dataclass
class EventEvaluation:
    """The hits and bounces scored (:mod:`tracknet.evaluate.events`).

    ``scores`` are those of all the events (:func:`tracknet.eval.events.score_events`, summed
    over the clips of a split); ``clips`` the scores of each clip of a split that carries events
    (empty for an events CSV); ``settings`` what an events CSV was scored against (None for a
    split).
    """

    scores: EventResult
    clips: dict[str, EventResult] = field(default_factory=dict)
    settings: EventSettings | None = None

    def as_dict(self) -> dict[str, Any]:
        """:meth:`EventResult.as_dict <tracknet.eval.events.EventResult.as_dict>`, then
        ``settings`` (an events CSV) or ``clips`` (a split: each clip's ``event_tp`` ...
        ``event_f1`` and ``by_kind``)."""
        result = self.scores.as_dict()
        if self.settings is not None:
            result["settings"] = self.settings.as_dict()
        if self.clips:
            result["clips"] = {
                name: {**scores.counts_dict(), "by_kind": scores.as_dict()["by_kind"]}
                for name, scores in self.clips.items()
            }
        return result


@dataclass
class Evaluation:
    """The scores of a checkpoint on a split, or of a CSV against labels.

    ``positions`` are the ball positions (:func:`tracknet.eval.metrics.evaluate_clips`);
    ``events`` the hits and bounces (:class:`EventEvaluation`), None when none were scored.
    """

    positions: ClipScores
    events: EventEvaluation | None = None

    @property
    def overall(self) -> Scores:
        """The position scores of the whole set."""
        return self.positions.overall

    @property
    def clips(self) -> dict[str, Scores]:
        """The position scores of each clip."""
        return self.positions.clips

    @property
    def settings(self) -> ScoreSettings:
        """How the positions were scored, and what (split, files)."""
        return self.positions.settings

    def as_dict(self) -> dict[str, Any]:
        """The metrics JSON (see the module docstring)."""
        result = {**self.overall.as_dict(), **self.positions.as_dict()}
        if self.events is not None:
            events = self.events.as_dict()
            result["events"] = events
            result.update({k: events[k] for k in EVENT_TOP_KEYS})
        return result
