"""What ``tracknet eval`` scored: :class:`Evaluation`, and its metrics JSON (:meth:`as_dict`).

The JSON (``--json``, ``metrics.json``) holds the overall position scores at the top level
(``tp, tn, fp1, fp2, fn, frames, accuracy, precision, recall, f1, rmse``), then ``overall``,
``clips``, ``settings`` and ``slow`` (:meth:`tracknet.eval.metrics.ClipScores.as_dict`), then,
when events were scored, ``events`` (:mod:`tracknet.evaluate.events`) and its overall
``event_*`` scores at the top level again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracknet.eval.events import EVENT_COUNT_KEYS, EVENT_SCORE_KEYS
from tracknet.eval.metrics import ClipScores, Scores, ScoreSettings

EVENT_TOP_KEYS = (*EVENT_COUNT_KEYS, *EVENT_SCORE_KEYS)  # copied to the top level of the JSON


@dataclass
class Evaluation:
    """The scores of a checkpoint on a split, or of a CSV against labels.

    ``positions`` are the ball positions (:func:`tracknet.eval.metrics.evaluate_clips`);
    ``events`` the hits and bounces (:func:`tracknet.eval.events.score_events`, summed over
    the clips of a split with ``clips`` per clip), None when none were scored.
    """

    positions: ClipScores
    events: dict[str, Any] | None = None

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
            result["events"] = self.events
            result.update({k: self.events[k] for k in EVENT_TOP_KEYS})
        return result
