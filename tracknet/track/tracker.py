"""The online tracker: per-frame candidate blobs in, the ball picked by its recent motion.

Coordinates are pixels of the ORIGINAL frame. A candidate with score ``<= min_score`` (the decoder
pads absent candidates with score 0) or non-finite coordinates is ignored. Positions of frames
where the ball is not visible are returned as NaN; the caller writes them as it likes (the ball
CSV writes 0).

:class:`OnlineTracker` (causal, frame by frame):

1. Predict the ball with constant velocity from the last two accepted points (the velocity is
   per frame, so lost frames between them are accounted for); with one accepted point the
   prediction is that point.
2. Discard every candidate farther than ``gate_px`` from the prediction.
3. Keep the candidate with the highest ``score * exp(-distance / distance_scale_px)``: a strong
   blob far from where the ball should be loses to a weaker one on the trajectory.
4. With no history, accept the strongest candidate (acquisition).
5. Re-acquisition: after ``max_lost`` consecutive frames without an accepted point (no candidate
   at all, or every candidate outside the gate), the history is forgotten and the next frame
   acquires its strongest candidate again. So a lock on a wrong object ends as soon as that
   object is missing for ``max_lost`` frames, and a ball that truly jumped (a camera cut, a
   long occlusion) is found again. A wrong lock on an object that is detected in every frame
   persists; that needs a better detector, not a tracker.

:func:`track_sequence` runs it over a whole sequence of candidates; smoothing is
:mod:`tracknet.track.smoothing`, a video's result :mod:`tracknet.track.result`, and
:class:`~tracknet.track.builder.TrackBuilder` drives both over a video's predictions.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

_NAN_XY = (math.nan, math.nan)


class OnlineTracker:
    """Pick, frame by frame, the candidate consistent with the ball's recent motion.

    Args:
        gate_px: candidates farther than this from the predicted position are rejected.
        max_lost: consecutive frames without an accepted point after which the track is
            re-acquired from the strongest candidate.
        distance_scale_px: how fast a candidate's merit decays with its distance to the
            prediction; default ``gate_px / 6`` (50 px for the default gate).
        min_score: candidates with a score at or below this are absent.
    """

    def __init__(
        self,
        gate_px: float = 300.0,
        max_lost: int = 5,
        distance_scale_px: float | None = None,
        min_score: float = 0.0,
    ) -> None:
        if gate_px <= 0:
            raise ValueError(f"gate_px must be positive, got {gate_px}")
        if max_lost < 0:
            raise ValueError(f"max_lost must be >= 0, got {max_lost}")
        self.gate_px = float(gate_px)
        self.max_lost = int(max_lost)
        self.distance_scale_px = float(distance_scale_px or gate_px / 6.0)
        self.min_score = float(min_score)
        self.reset()

    def reset(self) -> None:
        """Forget everything (start of a new video)."""
        self._frame = -1
        self._lost = 0
        self._history: deque[tuple[int, np.ndarray]] = deque(maxlen=2)  # (frame, xy)

    def predicted_xy(self) -> np.ndarray | None:
        """Where the ball should be in the next frame, or ``None`` without history."""
        if not self._history:
            return None
        next_frame = self._frame + 1
        last_frame, last_xy = self._history[-1]
        if len(self._history) == 1:
            return last_xy.copy()
        first_frame, first_xy = self._history[0]
        velocity = (last_xy - first_xy) / (last_frame - first_frame)  # px per frame
        predicted: np.ndarray = last_xy + velocity * (next_frame - last_frame)
        return predicted

    def update(
        self, candidates_xy: np.ndarray, candidates_score: np.ndarray
    ) -> tuple[bool, np.ndarray, float]:
        """Consume one frame's candidates.

        Args:
            candidates_xy: ``[K, 2]`` candidate positions in original pixels (K may be 0).
            candidates_score: ``[K]`` candidate scores; 0 marks an absent candidate.

        Returns:
            ``(visible, xy [2], score)``; ``xy`` is NaN and ``score`` 0 when not visible.
        """
        xy, score = _valid_candidates(candidates_xy, candidates_score, self.min_score)
        if self._lost >= self.max_lost and self._history:
            self._history.clear()  # re-acquire: the old motion no longer tells anything
        prediction = self.predicted_xy()
        self._frame += 1
        choice = self._choose(xy, score, prediction)
        if choice is None:
            self._lost += 1
            return False, np.array(_NAN_XY), 0.0
        self._lost = 0
        self._history.append((self._frame, xy[choice].copy()))
        return True, xy[choice].copy(), float(score[choice])

    def _choose(
        self, xy: np.ndarray, score: np.ndarray, prediction: np.ndarray | None
    ) -> int | None:
        if len(score) == 0:
            return None
        if prediction is None:
            return int(np.argmax(score))
        distance = np.hypot(*(xy - prediction).T)
        merit = score * np.exp(-distance / self.distance_scale_px)
        merit[distance > self.gate_px] = -np.inf
        best = int(np.argmax(merit))
        return best if np.isfinite(merit[best]) else None


def _valid_candidates(
    candidates_xy: np.ndarray, candidates_score: np.ndarray, min_score: float
) -> tuple[np.ndarray, np.ndarray]:
    xy = np.asarray(candidates_xy, dtype=np.float64).reshape(-1, 2)
    score = np.asarray(candidates_score, dtype=np.float64).reshape(-1)
    if len(xy) != len(score):
        raise ValueError(f"{len(xy)} candidate positions but {len(score)} scores")
    keep = (score > min_score) & np.isfinite(xy).all(axis=1) & np.isfinite(score)
    return xy[keep], score[keep]


def track_sequence(
    cands_xy: np.ndarray,
    cands_score: np.ndarray,
    gate_px: float = 300.0,
    max_lost: int = 5,
    distance_scale_px: float | None = None,
    min_score: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run an :class:`OnlineTracker` over a whole sequence.

    Args:
        cands_xy: ``[N, K, 2]`` candidate positions per frame (original pixels).
        cands_score: ``[N, K]`` candidate scores (0 = absent).
        gate_px, max_lost, distance_scale_px, min_score: see :class:`OnlineTracker`.

    Returns:
        ``visible [N]`` bool, ``xy [N, 2]`` (NaN where not visible), ``score [N]``.
    """
    cands_xy = np.asarray(cands_xy, dtype=np.float64)
    cands_score = np.asarray(cands_score, dtype=np.float64)
    n = len(cands_score)
    tracker = OnlineTracker(gate_px, max_lost, distance_scale_px, min_score)
    visible = np.zeros(n, dtype=bool)
    xy = np.full((n, 2), np.nan)
    score = np.zeros(n)
    for i in range(n):
        visible[i], xy[i], score[i] = tracker.update(cands_xy[i], cands_score[i])
    return visible, xy, score
