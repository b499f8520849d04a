"""Model assistance for ``tracknet label``: suggestions, a review queue and interpolation.

* :class:`Suggestions` runs a trained model (``--checkpoint RUN_DIR``) over the source in a
  background thread with the streaming :class:`tracknet.infer.predictor.Predictor` and the online
  tracker of ``tracknet predict``, and keeps each frame's prediction (visible, x, y, score) as it
  arrives, so the page can show them while the model is still running. A few bytes per frame.
* :func:`review_queue` orders the unconfirmed frames that need a human look: low confidence
  (score near the detection threshold), a jump away from the trajectory of the neighbouring
  positions, a ball lost between two visible frames, or an isolated detection.
* :func:`interpolation` fills the unlabelled frames between two confirmed positions linearly.

Suggestions are never written to the label file: a person accepts them (they then become
confirmed labels through :class:`tracknet.label.store.LabelStore`).
Coordinates are original-frame pixels.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracknet.errors import UserError
from tracknet.io.frames import read_ahead
from tracknet.label.source import LabelSource
from tracknet.label.store import Label

log = logging.getLogger("tracknet.label")

REVIEW_NEED = 0.5  # frames whose need of review reaches this are queued
JUMP_FRACTION = 0.03  # a jump of this fraction of the frame diagonal is a full "need"


@dataclass(frozen=True)
class Suggestion:
    """The model's prediction for one frame."""

    visible: bool
    x: float
    y: float
    score: float


class Suggestions:
    """Per-frame model predictions of a source, filled by a background thread.

    Args:
        source: what is labelled.
        checkpoint: a run folder written by ``tracknet train``.
        overrides: ``key=value`` overrides of the run's configuration (e.g. ``predict.device=cpu``).
    """

    def __init__(
        self, source: LabelSource, checkpoint: str | Path, overrides: Sequence[str] = ()
    ) -> None:
        self.source = source
        self.checkpoint = Path(checkpoint)
        self.overrides = list(overrides)
        n = source.frame_count
        self.visible = np.zeros(n, dtype=bool)
        self.xy = np.zeros((n, 2), dtype=np.float64)
        self.score = np.zeros(n, dtype=np.float32)
        self.have = np.zeros(n, dtype=bool)
        self.threshold = 0.5
        self._arrival = np.zeros(n, dtype=np.int64)  # frames in the order they arrived
        self._count = 0
        self.state = "waiting"  # waiting, loading, running, done, error, stopped
        self.error = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Suggestions:
        """Load the model and predict in a background thread; returns at once."""
        self._thread = threading.Thread(target=self._run, name="label-suggest", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the thread to stop and wait a little for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the predictions to finish; True when the thread has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        # start-up time: torch and the model are imported here, in the background thread,
        # so the page is served at once (and `tracknet label` without a model never loads them)
        from tracknet.infer.loading import load_run
        from tracknet.infer.pipeline import open_source
        from tracknet.infer.predictor import Predictor
        from tracknet.infer.tracker import OnlineTracker

        try:
            self.state = "loading"
            model, cfg = load_run(self.checkpoint, self.overrides)
            predictor = Predictor.from_config(model, cfg)
            self.threshold = float(predictor.codec.threshold)
            tracker = OnlineTracker(gate_px=cfg.predict.gate_px) if cfg.predict.track else None
            frames = open_source(predictor, list(self.source.images) or self.source.path)
            stream = read_ahead(frames, depth=2 * predictor.batch_size + predictor.frames)
            self.state = "running"
            for pred in predictor.run(stream, self.source.frame_size):
                if self._stop.is_set():
                    self.state = "stopped"
                    return
                self._add(pred, tracker)
            self.state = "done"
        except UserError as exc:
            self.error, self.state = str(exc), "error"
        except Exception as exc:  # shown on the page; the labelling goes on without a model
            log.exception("tracknet label: the model failed")
            self.error, self.state = f"{type(exc).__name__}: {exc}", "error"

    def _add(self, pred, tracker) -> None:
        """Store one :class:`FramePrediction`, tracked online as ``tracknet predict`` does."""
        index = int(pred.index)
        if not 0 <= index < len(self.have):
            return  # the container announced fewer frames than it holds
        if tracker is not None:
            scores = np.asarray(pred.candidates_score, dtype=np.float64).reshape(-1)
            if not pred.ok:
                scores = np.zeros_like(scores)
            cand_xy = np.asarray(pred.candidates_xy, dtype=np.float64).reshape(-1, 2)
            visible, xy, score = tracker.update(cand_xy, scores)
            visible = bool(visible) and pred.ok
            score = score if visible else pred.score
        else:
            visible, xy, score = bool(pred.visible) and pred.ok, (pred.x, pred.y), pred.score
        w, h = self.source.frame_size
        with self._lock:
            self.visible[index] = visible
            if visible:
                self.xy[index] = (min(max(xy[0], 0.0), w - 1), min(max(xy[1], 0.0), h - 1))
            self.score[index] = score
            self.have[index] = True
            self._arrival[self._count] = index
            self._count += 1

    # ------------------------------------------------------------------ reading
    @property
    def done(self) -> int:
        return self._count

    def get(self, frame: int) -> Suggestion | None:
        with self._lock:
            if not self.have[frame]:
                return None
            return Suggestion(
                bool(self.visible[frame]),
                float(self.xy[frame, 0]),
                float(self.xy[frame, 1]),
                float(self.score[frame]),
            )

    def since(self, cursor: int) -> dict:
        """Progress and the predictions that arrived after the first ``cursor`` ones."""
        with self._lock:
            cursor = min(max(int(cursor), 0), self._count)
            frames = self._arrival[cursor : self._count]
            items = [
                [
                    int(f),
                    int(self.visible[f]),
                    round(float(self.xy[f, 0]), 3),
                    round(float(self.xy[f, 1]), 3),
                    round(float(self.score[f]), 4),
                ]
                for f in frames
            ]
            return {
                "state": self.state,
                "error": self.error,
                "done": self._count,
                "total": len(self.have),
                "next": self._count,
                "items": items,
            }

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Copies of ``(have, visible, xy, score)``."""
        with self._lock:
            return self.have.copy(), self.visible.copy(), self.xy.copy(), self.score.copy()


# --------------------------------------------------------------------------- review queue
def _positions(n: int, labels: dict[int, Label], visible: np.ndarray, xy: np.ndarray):
    """Best known position of every frame: confirmed labels first, else visible suggestions."""
    known = visible.copy()
    pos = np.where(visible[:, None], xy, np.nan)
    for frame, label in labels.items():
        if 0 <= frame < n:
            known[frame] = label.kind != "none"
            pos[frame] = (label.x, label.y) if known[frame] else (np.nan, np.nan)
    return known, pos


def _deviation(known: np.ndarray, pos: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """How far each ``xy`` lies from where its neighbours put the ball (NaN: they cannot tell).

    Three guesses, the closest counts: the midpoint of the two neighbours, and constant
    velocity from the two frames before or the two after. Taking the closest keeps an outlier's
    neighbours (which one guess from the outlier's side gets wrong) out of the queue.
    """
    n = len(known)
    padded_known = np.concatenate([np.zeros(2, bool), known, np.zeros(2, bool)])
    padded = np.concatenate([np.full((2, 2), np.nan), pos, np.full((2, 2), np.nan)])

    def at(offset: int) -> tuple[np.ndarray, np.ndarray]:
        return padded_known[2 + offset : 2 + offset + n], padded[2 + offset : 2 + offset + n]

    (k_1, p_1), (k_2, p_2), (k1, p1), (k2, p2) = at(-1), at(-2), at(1), at(2)
    guesses = [
        np.where((k_1 & k1)[:, None], (p_1 + p1) / 2, np.nan),
        np.where((k_1 & k_2)[:, None], 2 * p_1 - p_2, np.nan),
        np.where((k1 & k2)[:, None], 2 * p1 - p2, np.nan),
    ]
    distances = np.stack([np.linalg.norm(xy - g, axis=1) for g in guesses])  # [3, N]
    closest = np.nan_to_num(distances, nan=np.inf).min(axis=0)
    return np.where(np.isinf(closest), np.nan, closest)


def review_queue(
    suggestions: Suggestions, labels: dict[int, Label], limit: int = 1000
) -> list[dict]:
    """Unconfirmed frames whose suggestion needs a look, most needed first.

    Each entry: ``{"frame", "need" (0-1), "reason"}``. Reasons: ``low confidence`` (a visible
    suggestion whose score is near the threshold), ``jump`` (far from where the neighbouring
    positions put the ball), ``lost`` (no ball between two visible frames), ``isolated`` (a ball
    between two frames without one).
    """
    have, visible, xy, score = suggestions.arrays()
    n = len(have)
    if n == 0:
        return []
    confirmed = np.zeros(n, dtype=bool)
    confirmed[[f for f in labels if 0 <= f < n]] = True
    known, pos = _positions(n, labels, visible, xy)
    th = suggestions.threshold
    needs = {
        "low confidence": np.where(
            visible, np.clip(1 - (score - th) / max(1 - th, 1e-6), 0, 1), 0.0
        ),
    }
    w, h = suggestions.source.frame_size
    jump_px = max(8.0, JUMP_FRACTION * float(np.hypot(w, h)))
    distance = _deviation(known, pos, np.where(visible[:, None], xy, np.nan))
    needs["jump"] = np.clip(np.nan_to_num(distance / jump_px, nan=0.0), 0, 1)
    before, after = np.roll(known, 1), np.roll(known, -1)
    before[0], after[-1] = False, False
    needs["lost"] = np.where(~visible & before & after, 0.75, 0.0)
    nothing_before = np.roll(~known, 1) & (np.arange(n) > 0)
    nothing_after = np.roll(~known, -1) & (np.arange(n) < n - 1)
    needs["isolated"] = np.where(visible & nothing_before & nothing_after, 0.75, 0.0)
    reasons = list(needs)
    stacked = np.stack([needs[r] for r in reasons])  # [R, N]
    need = stacked.max(axis=0)
    which = stacked.argmax(axis=0)
    queued = np.flatnonzero(have & ~confirmed & (need >= REVIEW_NEED))
    order = queued[np.lexsort((queued, -need[queued]))][:limit]
    return [
        {"frame": int(f), "need": round(float(need[f]), 3), "reason": reasons[int(which[f])]}
        for f in order
    ]


# --------------------------------------------------------------------------- interpolation
def interpolation(labels: dict[int, Label], frame: int) -> list[tuple[int, float, float]]:
    """Linear positions for the unlabelled frames of the gap around ``frame``.

    The gap runs between the confirmed positions (visible or occluded labels) nearest to
    ``frame`` on each side; when ``frame`` itself has a position, the gap after it (else the
    one before it). Frames in the gap that carry any confirmed label are left alone.

    Returns:
        ``[(frame, x, y)]`` for the frames to fill; empty when there is no such gap.
    """
    anchors = sorted(f for f, label in labels.items() if label.kind != "none")
    before = [f for f in anchors if f < frame]
    after = [f for f in anchors if f > frame]
    if frame in labels and labels[frame].kind != "none":
        if after:
            a, b = frame, after[0]
        elif before:
            a, b = before[-1], frame
        else:
            return []
    elif before and after:
        a, b = before[-1], after[0]
    else:
        return []
    la, lb = labels[a], labels[b]
    out = []
    for f in range(a + 1, b):
        if f in labels:
            continue
        t = (f - a) / (b - a)
        out.append((f, la.x + t * (lb.x - la.x), la.y + t * (lb.y - la.y)))
    return out
