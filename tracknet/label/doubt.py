"""The review queue's ranking: which unconfirmed frames of ``tracknet label`` most need a look.

A model's worst mistakes are confident ones: a ball 40 px off at score 0.99, a head taken for
the ball for two frames. Its score alone cannot find them, so each frame's doubt is built from
several pieces of evidence, each a *need* in ``[0, 1]``:

* ``off flight``: the trajectory stage of ``tracknet predict``
  (:func:`tracknet.track.trajectory.fit_trajectory`, with the ``predict.trajectory`` settings)
  calls the suggested position an outlier (no flight of the neighbouring frames explains it),
  or the position lies far from the curve of the flight it belongs to or that ends next to it
  (:func:`curve_distance`: two or three wrong positions in a row make a flight of their own).
* ``jump``: the position is far from every guess the nearest frames make (their midpoint, or
  constant velocity from two frames on one side); a position a flight explains counts less.
* ``rival``: a second candidate of the frame, over the threshold, scored almost as high as the
  one suggested (or higher: the tracker chose by continuity); less when a flight explains the
  position.
* ``low confidence``: the suggested ball's score is close to the threshold, less so when a
  flight explains the position; ``faint ball``: no ball is suggested but the best peak is close
  to the threshold (or over it, and the tracker left it out).
* ``missed``: no ball is suggested, inside a flight (the stage would fill the frame from the
  curve); ``lost``: no ball between two frames that have one.
* ``isolated``: a ball between two frames without one; ``short run``: a ball in two or three
  frames only, with none around; ``flip``: the ball appears or disappears here.

The doubt of a frame combines them as independent chances of a mistake:
``1 - prod(1 - 0.95 * need)`` (no single piece is certain, so more evidence always ranks
higher). Frames whose doubt reaches :data:`REVIEW_NEED` are queued, most doubtful first; the
main reason is the largest need. Confirmed labels count as the truth around them; a flight that
rejects one explains nothing near it.

The ranking before this one (``ranking="peak"``: low confidence, jump, lost, isolated, the
largest need alone) is kept for comparison (``scripts/review_queue_eval.py``).
Coordinates are original-frame pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tracknet.config import TrajectoryConfig
from tracknet.label.confirmed import Label
from tracknet.track.trajectory import DETECTED, FITTED, Trajectory, TrajectoryParams, fit_trajectory
from tracknet.track.trajectory_stage import trajectory_params

REVIEW_NEED = 0.5  # frames whose doubt reaches this are queued
JUMP_FRACTION = 0.03  # a jump of this fraction of the frame diagonal is a full "need"
RIVAL_FRACTION = 0.01  # candidates closer than this fraction of the diagonal are one ball
RANKINGS = ("flight", "peak")
NEED_CAP = 0.95  # one piece of evidence alone is never certain (the flight ranking's combination)
SHORT_RUN = (0.8, 0.65, 0.45)  # need of a ball seen in 1, 2, 3 frames only, with none around
CURVE_POINTS = 4  # flights of this many inliers or more judge the positions near them ...
CURVE_REACH = 3  # ... within this many frames of their ends
CURVE_FULL = 3.0  # a position this many times the stage's outlier_px from the curve: full need


@dataclass(frozen=True)
class Track:
    """The model's suggestions for the frames of one source, as arrays of ``N`` frames.

    Attributes:
        have: ``bool [N]`` frames that have a suggestion.
        visible: ``bool [N]`` a ball is suggested.
        xy: ``float [N, 2]`` its position (ignored where not visible).
        score: ``float [N]`` the suggested ball's score; where no ball is suggested, the best
            peak's.
        rival: ``float [N]`` the best score of another candidate, away from the suggested one
            (0: none).
        threshold: the model's detection threshold.
        frame_size: ``(W, H)``.
        fps: frames per second (the trajectory stage's settings scale with it).
    """

    have: np.ndarray
    visible: np.ndarray
    xy: np.ndarray
    score: np.ndarray
    rival: np.ndarray
    threshold: float
    frame_size: tuple[int, int]
    fps: float = 30.0

    def __len__(self) -> int:
        return len(self.have)

    @property
    def diagonal(self) -> float:
        return float(np.hypot(*self.frame_size))


def rival_score(
    xy: tuple[float, float], cand_xy: np.ndarray, cand_score: np.ndarray, apart: float
) -> float:
    """The best score among the candidates ``cand_xy [K, 2]`` more than ``apart`` px from the
    suggested position ``xy`` (0 when there is none)."""
    cand_xy = np.asarray(cand_xy, dtype=np.float64).reshape(-1, 2)
    cand_score = np.asarray(cand_score, dtype=np.float64).reshape(-1)
    if len(cand_score) == 0:
        return 0.0
    away = np.hypot(*(cand_xy - np.asarray(xy, dtype=np.float64)).T) > apart
    scores = cand_score[away & np.isfinite(cand_score)]
    return float(scores.max()) if len(scores) else 0.0


# --------------------------------------------------------------------------- shared pieces
def known_positions(
    track: Track, labels: Mapping[int, Label]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(known, ball, pos)``: frames whose content is known (a confirmed label or a
    suggestion), those with a ball, and its best known position (confirmed labels first, else
    the suggestion; NaN without a ball)."""
    n = len(track)
    known = track.have.copy()
    ball = track.visible & track.have
    pos = np.where(ball[:, None], track.xy, np.nan)
    for frame, label in labels.items():
        if 0 <= frame < n:
            known[frame] = True
            ball[frame] = label.kind != "none"
            pos[frame] = (label.x, label.y) if ball[frame] else (np.nan, np.nan)
    return known, ball, pos


def deviation(ball: np.ndarray, pos: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """How far each ``xy`` lies from where its neighbours put the ball (NaN: they cannot tell).

    Three guesses, the closest counts: the midpoint of the two neighbours, and constant
    velocity from the two frames before or the two after. Taking the closest keeps an outlier's
    neighbours (which one guess from the outlier's side gets wrong) out of the queue.
    """
    n = len(ball)
    padded_ball = np.concatenate([np.zeros(2, bool), ball, np.zeros(2, bool)])
    padded = np.concatenate([np.full((2, 2), np.nan), pos, np.full((2, 2), np.nan)])

    def at(offset: int) -> tuple[np.ndarray, np.ndarray]:
        return padded_ball[2 + offset : 2 + offset + n], padded[2 + offset : 2 + offset + n]

    (k_1, p_1), (k_2, p_2), (k1, p1), (k2, p2) = at(-1), at(-2), at(1), at(2)
    guesses = [
        np.where((k_1 & k1)[:, None], (p_1 + p1) / 2, np.nan),
        np.where((k_1 & k_2)[:, None], 2 * p_1 - p_2, np.nan),
        np.where((k1 & k2)[:, None], 2 * p1 - p2, np.nan),
    ]
    distances = np.stack([np.linalg.norm(xy - g, axis=1) for g in guesses])  # [3, N]
    closest = np.nan_to_num(distances, nan=np.inf).min(axis=0)
    return np.where(np.isinf(closest), np.nan, closest)


def _shifted(a: np.ndarray, by: int, fill: bool = False) -> np.ndarray:
    """``a`` moved ``by`` frames later (``out[i] = a[i - by]``), ``fill`` where nothing comes."""
    out = np.full_like(a, fill)
    if by > 0:
        out[by:] = a[:-by]
    elif by < 0:
        out[:by] = a[-by:]
    else:
        out[:] = a
    return out


def _jump_px(track: Track) -> float:
    return max(8.0, JUMP_FRACTION * track.diagonal)


def _low_confidence(track: Track) -> np.ndarray:
    th = track.threshold
    return np.where(track.visible, np.clip(1 - (track.score - th) / max(1 - th, 1e-6), 0, 1), 0.0)


# --------------------------------------------------------------------------- the rankings
def peak_needs(track: Track, labels: Mapping[int, Label]) -> dict[str, np.ndarray]:
    """The first ranking's needs: the score, a jump from the neighbours, a lost or an isolated
    ball (the largest need alone counts)."""
    known, ball, pos = known_positions(track, labels)
    sugg = np.where(track.visible[:, None], track.xy, np.nan)
    distance = deviation(ball, pos, sugg)
    empty = ~ball  # the first ranking took frames without a suggestion yet as "no ball" too
    return {
        "low confidence": _low_confidence(track),
        "jump": np.clip(np.nan_to_num(distance / _jump_px(track), nan=0.0), 0, 1),
        "lost": np.where(~track.visible & _shifted(ball, 1) & _shifted(ball, -1), 0.75, 0.0),
        "isolated": np.where(
            track.visible
            & _shifted(empty, 1)
            & (np.arange(len(track)) > 0)
            & _shifted(empty, -1)
            & (np.arange(len(track)) < len(track) - 1),
            0.75,
            0.0,
        ),
    }


def flight(track: Track, labels: Mapping[int, Label]) -> tuple[Trajectory, TrajectoryParams]:
    """The trajectory stage over the best known track (confirmed labels and suggestions), and
    its settings for this video."""
    _, ball, pos = known_positions(track, labels)
    params = trajectory_params(TrajectoryConfig(fill="fit"), track.frame_size[1], track.fps)
    frames = np.arange(len(track))
    xy = np.where(ball[:, None], pos, 0.0)
    return fit_trajectory(frames, ball, xy, None, track.fps, params), params


def curve_distance(traj: Trajectory, xy: np.ndarray) -> np.ndarray:
    """``float [N]``: how far each ``xy`` lies from the curve of the nearest flights: those of
    :data:`CURVE_POINTS` inliers or more whose frames, widened by :data:`CURVE_REACH` on each
    side, hold the frame (the closest curve counts; NaN where there is none).

    A few wrong detections in a row can form a flight of their own, between two "events"
    (:func:`~tracknet.track.trajectory.fit_trajectory` explains them by themselves); the
    flights before and after them, extended a few frames, still say where the ball was.
    """
    n = len(xy)
    out = np.full(n, np.inf)
    for seg in traj.segments:
        if seg.n_points < CURVE_POINTS:
            continue
        lo, hi = max(seg.start - CURVE_REACH, 0), min(seg.end + CURVE_REACH, n - 1)
        rows = np.arange(lo, hi + 1)
        dist = np.hypot(*(seg.position(rows) - xy[rows]).T)
        out[rows] = np.fmin(out[rows], np.where(np.isfinite(dist), dist, np.inf))
    return np.where(np.isinf(out), np.nan, out)


def flight_needs(track: Track, labels: Mapping[int, Label]) -> dict[str, np.ndarray]:
    """The needs of the default ranking (module docstring), each ``float [N]`` in ``[0, 1]``."""
    known, ball, pos = known_positions(track, labels)
    vis = track.visible & track.have
    none = known & ~ball  # known to hold no ball
    traj, params = flight(track, labels)
    # an inlier of a flight explains a position, unless the flight rejects a confirmed label
    # near it (the person's word against the model's: the flight is the suspect then)
    truth = np.zeros(len(track), dtype=bool)
    truth[[f for f, label in labels.items() if 0 <= f < len(track) and label.kind != "none"]] = True
    overruled = truth & traj.outlier
    near = np.zeros(len(track), dtype=bool)
    for by in range(-CURVE_REACH, CURVE_REACH + 1):
        near |= _shifted(overruled, by)
    explained = (traj.source == DETECTED) & (traj.segment >= 0) & ~near
    th = track.threshold

    sugg = np.where(vis[:, None], track.xy, np.nan)
    jump = np.clip(np.nan_to_num(deviation(ball, pos, sugg) / _jump_px(track), nan=0.0), 0, 1)
    off_curve = curve_distance(traj, sugg) / (CURVE_FULL * params.outlier_px)
    off_curve = np.clip(np.nan_to_num(off_curve, nan=0.0), 0, 1)
    needs = {
        "off flight": np.where(vis, np.maximum(np.where(traj.outlier, 0.85, 0.0), off_curve), 0),
        "jump": np.where(explained, 0.5, 1.0) * np.where(vis & ~traj.outlier, jump, 0.0),
    }
    ratio = track.rival / np.maximum(track.score, 1e-6)
    rival = np.where(vis & (track.rival >= th), np.clip((ratio - 0.7) / 0.3, 0, 1), 0.0)
    needs["rival"] = np.where(explained, 0.5, 1.0) * rival
    needs["low confidence"] = np.where(explained, 0.5, 1.0) * _low_confidence(track)
    needs["faint ball"] = np.where(
        track.have & ~track.visible, np.clip((track.score - 0.5 * th) / (0.5 * th), 0, 1), 0.0
    )
    missing = track.have & ~track.visible
    needs["missed"] = np.where(missing & (traj.source == FITTED), 0.7, 0.0)
    before, after = _shifted(ball, 1), _shifted(ball, -1)
    needs["lost"] = np.where(missing & before & after, 0.75, 0.0)

    # a ball for a frame or a few, with frames known to hold none on both sides
    length, first, last = _runs(ball)
    fenced = vis & _at(none, first - 1) & _at(none, last + 1)
    run_need = np.where(fenced, np.select([length == 1, length == 2, length == 3], SHORT_RUN), 0.0)
    needs["isolated"] = np.where(length == 1, run_need, 0.0)
    needs["short run"] = np.where(length > 1, run_need, 0.0)
    flips = (known & _shifted(known, 1) & (ball != _shifted(ball, 1))) | (
        known & _shifted(known, -1) & (ball != _shifted(ball, -1))
    )
    needs["flip"] = np.where(track.have & flips, 0.35, 0.0)
    return needs


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each frame of a run of True in ``mask``: the run's length, first and last frame
    (0, 0, -1 elsewhere)."""
    starts = np.flatnonzero(mask & ~_shifted(mask, 1))
    ends = np.flatnonzero(mask & ~_shifted(mask, -1))
    run = np.cumsum(mask & ~_shifted(mask, 1)) - 1  # the run of each frame (in a run)
    inside = mask & (run >= 0)
    first = np.where(inside, starts[np.clip(run, 0, None)] if len(starts) else 0, 0)
    last = np.where(inside, ends[np.clip(run, 0, None)] if len(ends) else -1, -1)
    return np.where(inside, last - first + 1, 0), first, last


def _at(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``a[index]``, False outside ``0 .. len(a)-1``."""
    inside = (index >= 0) & (index < len(a))
    return np.where(inside, a[np.clip(index, 0, max(len(a) - 1, 0))], False)


def doubts(
    track: Track, labels: Mapping[int, Label], ranking: str = "flight"
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(doubt [N], needs)`` of every frame under ``ranking`` (``flight`` or ``peak``).

    Raises:
        ValueError: an unknown ranking.
    """
    if ranking not in RANKINGS:
        raise ValueError(f"ranking must be one of {RANKINGS}, got {ranking!r}")
    if ranking == "peak":
        needs = peak_needs(track, labels)
        return np.stack(list(needs.values())).max(axis=0), needs
    needs = flight_needs(track, labels)
    # capped: several full needs still order by their number and size (no ties at 1.0)
    return 1 - np.prod(1 - NEED_CAP * np.stack(list(needs.values())), axis=0), needs


def rank(
    track: Track, labels: Mapping[int, Label], ranking: str = "flight", limit: int = 1000
) -> list[dict]:
    """Unconfirmed frames with a suggestion whose doubt reaches :data:`REVIEW_NEED`, most
    doubtful first (ties: the earlier frame).

    Returns:
        ``[{"frame", "need" (the doubt, 0-1), "reason" (the largest need's), "reasons" (every
        need of 0.2 or more, largest first)}]``, at most ``limit``.
    """
    n = len(track)
    if n == 0:
        return []
    doubt, needs = doubts(track, labels, ranking)
    names = list(needs)
    stacked = np.stack([needs[r] for r in names])  # [R, N]
    confirmed = np.zeros(n, dtype=bool)
    confirmed[[f for f in labels if 0 <= f < n]] = True
    queued = np.flatnonzero(track.have & ~confirmed & (doubt >= REVIEW_NEED))
    order = queued[np.lexsort((queued, -doubt[queued]))][:limit]
    out = []
    for f in order:
        column = stacked[:, f]
        strong = [names[i] for i in np.argsort(-column, kind="stable") if column[i] >= 0.2]
        out.append(
            {
                "frame": int(f),
                "need": round(float(doubt[f]), 3),
                "reason": names[int(column.argmax())],
                "reasons": strong,
            }
        )
    return out
