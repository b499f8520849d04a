"""Model assistance for ``tracknet label``: suggestions, a review queue and interpolation.

* :class:`Suggestions` runs a trained model (``--checkpoint RUN_DIR``) over the source in a
  background thread with the streaming :class:`tracknet.infer.predictor.Predictor` and the online
  tracker of ``tracknet predict``, and keeps each frame's prediction (visible, x, y, score) as it
  arrives, so the page can show them while the model is still running. A few bytes per frame.
* :func:`review_queue` orders the unconfirmed frames that need a human look, by the evidence of
  :mod:`tracknet.label.doubt`: a position no flight of the neighbouring frames explains (the
  trajectory stage's outliers), a jump, a second candidate close in score, a score near the
  threshold, a ball missed inside a flight, a ball that appears for a frame or two.
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
from tracknet.label.confirmed import Label
from tracknet.label.doubt import RIVAL_FRACTION, Track, rank, rival_score
from tracknet.label.source import LabelSource

log = logging.getLogger("tracknet.label")


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
        self.rival = np.zeros(n, dtype=np.float32)  # the best other candidate's score
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
        from tracknet.infer.predictor import Predictor
        from tracknet.infer.source import open_source
        from tracknet.track.tracker import OnlineTracker

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
        cand_xy = np.asarray(getattr(pred, "candidates_xy", ()), dtype=np.float64).reshape(-1, 2)
        cand_score = np.asarray(getattr(pred, "candidates_score", ()), dtype=np.float64)
        cand_score = cand_score.reshape(-1) if pred.ok else np.zeros(len(cand_xy))
        if tracker is not None:
            visible, xy, score = tracker.update(cand_xy, cand_score)
            visible = bool(visible) and pred.ok
            score = score if visible else pred.score
        else:
            visible, xy, score = bool(pred.visible) and pred.ok, (pred.x, pred.y), pred.score
        w, h = self.source.frame_size
        apart = RIVAL_FRACTION * float(np.hypot(w, h))
        rival = rival_score(xy, cand_xy, cand_score, apart) if visible else 0.0
        with self._lock:
            self.visible[index] = visible
            if visible:
                self.xy[index] = (min(max(xy[0], 0.0), w - 1), min(max(xy[1], 0.0), h - 1))
            self.score[index] = score
            self.rival[index] = rival
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

    def track(self) -> Track:
        """A copy of the predictions so far, as :class:`~tracknet.label.doubt.Track`."""
        with self._lock:
            return Track(
                have=self.have.copy(),
                visible=self.visible.copy(),
                xy=self.xy.copy(),
                score=self.score.astype(np.float64),
                rival=self.rival.astype(np.float64),
                threshold=float(self.threshold),
                frame_size=self.source.frame_size,
                fps=float(self.source.fps or 30.0),
            )


# --------------------------------------------------------------------------- review queue
def review_queue(
    suggestions: Suggestions,
    labels: dict[int, Label],
    limit: int = 1000,
    ranking: str = "flight",
) -> list[dict]:
    """Unconfirmed frames whose suggestion needs a look, most doubtful first.

    Each entry: ``{"frame", "need" (the doubt, 0-1), "reason", "reasons"}``; the reasons and
    the two rankings (``flight``, the default, and the first one, ``peak``) are those of
    :mod:`tracknet.label.doubt`.
    """
    return rank(suggestions.track(), labels, ranking, limit)


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
