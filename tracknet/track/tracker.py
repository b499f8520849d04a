"""Turning per-frame candidate blobs into one ball track: an online gate, then optional smoothing.

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

:func:`smooth_track` (offline, on a whole track): removes isolated outliers, then fills short gaps
by linear interpolation between two real detections. It never extrapolates and never fills a gap
that is not bounded by detections on both sides, so a window without detections stays empty.

:class:`TrackBuilder` drives them over a video's predictions: each frame is tracked online as it
arrives and kept as a few numbers, and :meth:`TrackBuilder.finish` runs the trajectory stage
(``predict.trajectory``, :mod:`tracknet.track.trajectory_stage`), smooths (``predict.smooth``)
and returns the video's :class:`Track`.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tracknet.config import PredictConfig
from tracknet.io.labels import TrackLabels, write_ball_csv
from tracknet.track.static import mask_hotspots, static_hotspots
from tracknet.track.trajectory import Trajectory
from tracknet.track.trajectory_stage import run_stage, stage_applies

_NAN_XY = (math.nan, math.nan)


@dataclass
class FramePrediction:
    """The raw (untracked) detection of one frame, in original-frame pixels, as the model runner
    (:class:`tracknet.infer.predictor.Predictor`) yields it; defined here, below the model runner,
    so tracking needs no torch."""

    index: int
    ok: bool  # False: the frame could not be decoded
    visible: bool
    x: float
    y: float
    score: float
    candidates_xy: np.ndarray = field(repr=False)  # [K, 2]
    candidates_score: np.ndarray = field(repr=False)  # [K]


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
        return last_xy + velocity * (next_frame - last_frame)

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


def _valid_candidates(candidates_xy, candidates_score, min_score: float):
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


def smooth_track(
    visible: np.ndarray,
    xy: np.ndarray,
    max_gap: int = 5,
    outlier_px: float | None = 100.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove isolated outliers and fill short gaps between real detections.

    A visible point is an outlier when both of its visible neighbours lie within
    ``max(max_gap, 1) + 1`` frames and the point is more than ``outlier_px`` away from each of
    them and from their linear interpolation at its frame (a sharp turn at a hit stays close to
    one of them). Outliers are judged on the input track, so only isolated ones are certain to
    go. A removed outlier leaves a gap that is then filled like any other.

    A gap of ``1..max_gap`` invisible frames with a detection on both sides is filled by linear
    interpolation between those two detections. Gaps at either end of the track, or longer than
    ``max_gap``, stay invisible.

    Args:
        visible: ``[N]`` visibility (non-zero = visible).
        xy: ``[N, 2]`` positions in original pixels (ignored where not visible).
        max_gap: the longest gap filled, in frames; 0 fills nothing.
        outlier_px: the outlier distance; ``None`` keeps every point.

    Returns:
        ``visible [N]`` bool, ``xy [N, 2]`` (NaN where not visible) and ``interpolated [N]``
        bool, true for the points that were filled in.
    """
    vis = np.asarray(visible).reshape(-1) != 0
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2).copy()
    if len(pts) != len(vis):
        raise ValueError(f"{len(vis)} visibility flags but {len(pts)} positions")
    vis &= np.isfinite(pts).all(axis=1)
    if outlier_px is not None:
        vis &= ~_isolated_outliers(vis, pts, outlier_px, window=max(max_gap, 1) + 1)
    interpolated = np.zeros(len(vis), dtype=bool)
    detected = np.flatnonzero(vis)
    for start, end in zip(detected[:-1], detected[1:], strict=True):
        gap = end - start - 1
        if 1 <= gap <= max_gap:
            t = np.arange(1, gap + 1)[:, None] / (end - start)  # [gap, 1]
            pts[start + 1 : end] = pts[start] + t * (pts[end] - pts[start])
            interpolated[start + 1 : end] = True
    vis |= interpolated
    pts[~vis] = np.nan
    return vis, pts, interpolated


def _isolated_outliers(vis: np.ndarray, pts: np.ndarray, outlier_px: float, window: int):
    outliers = np.zeros(len(vis), dtype=bool)
    idx = np.flatnonzero(vis)
    if len(idx) < 3:
        return outliers
    before, here, after = idx[:-2], idx[1:-1], idx[2:]
    close_in_time = (here - before <= window) & (after - here <= window)
    t = ((here - before) / (after - before))[:, None]
    expected = pts[before] + t * (pts[after] - pts[before])

    def far(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.hypot(*(a - b).T) > outlier_px

    is_outlier = (
        close_in_time
        & far(pts[here], expected)
        & far(pts[here], pts[before])
        & far(pts[here], pts[after])
    )
    outliers[here[is_outlier]] = True
    return outliers


# --------------------------------------------------------------------------- a video's track
class TrackPoint(NamedTuple):
    """One frame of a :class:`Track`: original-frame pixels, ``x = y = 0`` where not visible."""

    frame: int
    visible: bool
    x: float
    y: float
    score: float


@dataclass
class Track:
    """Per-frame results of one video, original-frame pixels.

    ``len(track)`` frames; ``track[i]`` is a :class:`TrackPoint`, ``track[a:b]`` (or a boolean /
    index array) a shorter :class:`Track`. :meth:`to_csv` writes the ball CSV of
    ``tracknet predict``; :meth:`to_pandas` gives a DataFrame (pandas is optional).
    """

    frame: np.ndarray  # [N] int
    ok: np.ndarray  # [N] bool, frame decoded
    raw_visible: np.ndarray  # [N] bool, codec's best blob
    raw_xy: np.ndarray  # [N, 2]
    score: np.ndarray  # [N]
    visible: np.ndarray  # [N] bool, after tracking (and smoothing)
    xy: np.ndarray  # [N, 2]
    interpolated: np.ndarray  # [N] bool
    candidates: np.ndarray  # [N, K, 3] float32 (x, y, score) of the codec's blobs, score 0 = none
    # the trajectory stage's result, one row per frame (predict.trajectory); a slice drops it
    trajectory: Trajectory | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def filled(self) -> np.ndarray:
        """``bool [N]`` visible positions the trajectory stage filled in (not detected)."""
        if self.trajectory is None:
            return np.zeros(len(self.frame), dtype=bool)
        return self.trajectory.filled & self.visible

    @property
    def frames(self) -> np.ndarray:
        """``int [N]`` frame numbers (the same array as :attr:`frame`)."""
        return self.frame

    def __getitem__(self, key):
        if isinstance(key, int | np.integer):
            i = int(key)
            return TrackPoint(
                int(self.frame[i]),
                bool(self.visible[i]),
                float(self.xy[i, 0]),
                float(self.xy[i, 1]),
                float(self.score[i]),
            )
        arrays = [f.name for f in dataclasses.fields(self) if f.name != "trajectory"]
        return Track(**{name: getattr(self, name)[key] for name in arrays})

    def to_csv(self, path: str | Path) -> Path:
        """Write ``Frame,Visibility,X,Y`` (the ball CSV of ``tracknet predict``); returns ``path``."""
        vis = self.visible.astype(int)
        write_ball_csv(path, TrackLabels(self.frame, vis, self.xy[:, 0], self.xy[:, 1]))
        return Path(path)

    def to_pandas(self):
        """A ``pandas.DataFrame``: ``frame, visible, x, y, score, interpolated, decoded``.

        Raises:
            ImportError: pandas is not installed (``pip install 'tracknet[pandas]'``).
        """
        try:
            import pandas as pd  # optional dependency: the pandas extra
        except ImportError as exc:
            raise ImportError(
                "Track.to_pandas needs pandas: pip install 'tracknet[pandas]' (or pandas)"
            ) from exc
        return pd.DataFrame(
            {
                "frame": self.frame,
                "visible": self.visible,
                "x": self.xy[:, 0],
                "y": self.xy[:, 1],
                "score": self.score,
                "interpolated": self.interpolated,
                "decoded": self.ok,
            }
        )


class _Columns:
    """Growable numpy columns: a few bytes per frame, so memory stays flat for any video."""

    def __init__(self, specs: dict[str, tuple[tuple[int, ...], type]], capacity: int = 1024):
        self.n = 0
        self.data = {k: np.zeros((capacity, *shape), dtype) for k, (shape, dtype) in specs.items()}

    def append(self, **values) -> None:
        capacity = len(next(iter(self.data.values())))
        if self.n == capacity:
            for key, arr in self.data.items():
                grown = np.zeros((2 * capacity, *arr.shape[1:]), arr.dtype)
                grown[:capacity] = arr
                self.data[key] = grown
        for key, value in values.items():
            self.data[key][self.n] = value
        self.n += 1

    def view(self, key: str) -> np.ndarray:
        return self.data[key][: self.n]


class TrackBuilder:
    """Collects the predictions of one video and tracks them online, frame by frame.

    Each frame is reduced at once to a few numbers (its raw detection, its top-k candidates and
    the tracker's choice), so the memory held grows by about a hundred bytes per frame, never by
    frames or heatmaps. :meth:`finish` applies the optional offline smoothing.

    Args:
        cfg: ``track`` and ``gate_px`` (the online gate), ``top_k`` (candidates kept),
            ``smooth`` and ``max_gap`` (:func:`smooth_track`).
    """

    def __init__(self, cfg: PredictConfig):
        self.cfg = cfg
        self.tracker = OnlineTracker(gate_px=cfg.gate_px) if cfg.track else None
        k = max(1, int(cfg.top_k))
        self._cols = _Columns(
            {
                "frame": ((), np.int64),
                "ok": ((), np.bool_),
                "raw_visible": ((), np.bool_),
                "raw_xy": ((2,), np.float64),
                "score": ((), np.float64),
                "visible": ((), np.bool_),
                "xy": ((2,), np.float64),
                "candidates": ((k, 3), np.float32),
            }
        )
        self._k = k

    def __len__(self) -> int:
        return self._cols.n

    def add(self, p: FramePrediction, keep: bool = True) -> TrackPoint:
        """Track the next frame's prediction and keep the result (``keep=False``: only return
        it, so an endless live stream holds nothing); returns the frame's point, unsmoothed."""
        cand_xy = np.asarray(p.candidates_xy, dtype=np.float64).reshape(-1, 2)
        cand_score = np.asarray(p.candidates_score, dtype=np.float64).reshape(-1)
        if not p.ok:
            cand_score = np.zeros_like(cand_score)
        if self.tracker is not None:
            v, pos, s = self.tracker.update(cand_xy, cand_score)
            visible, xy = bool(v) and p.ok, pos
            score = s if visible else p.score
        else:
            visible, xy, score = bool(p.visible) and p.ok, (p.x, p.y), p.score
        xy = np.nan_to_num(np.asarray(xy, dtype=np.float64))
        x, y = (float(xy[0]), float(xy[1])) if visible else (0.0, 0.0)
        point = TrackPoint(int(p.index), visible, x, y, float(score))
        if not keep:
            return point
        cands = np.zeros((self._k, 3), np.float32)
        m = min(self._k, len(cand_score))
        cands[:m, :2], cands[:m, 2] = cand_xy[:m], cand_score[:m]
        self._cols.append(
            frame=p.index,
            ok=p.ok,
            raw_visible=bool(p.visible) and p.ok,
            raw_xy=(p.x, p.y),
            score=score,
            visible=visible,
            xy=xy,
            candidates=cands,
        )
        return point

    def _without_static(
        self, visible: np.ndarray, xy: np.ndarray, score: np.ndarray, frame_height: float | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Track the video again without the candidates at its static hotspots
        (``predict.static``); unchanged when it has none."""
        cfg = self.cfg.static
        radius = cfg.radius_px * (frame_height or 720.0) / 720.0
        candidates = self._cols.view("candidates")
        hotspots = static_hotspots(candidates, radius, cfg.min_share)
        if len(hotspots) == 0:
            return visible, xy, score
        masked = mask_hotspots(candidates, hotspots, radius)
        ok = self._cols.view("ok")
        tracker = OnlineTracker(gate_px=self.cfg.gate_px)
        for i in range(len(masked)):
            v, pos, s = tracker.update(
                masked[i, :, :2], masked[i, :, 2] if ok[i] else 0 * masked[i, :, 2]
            )
            visible[i] = bool(v) and ok[i]
            xy[i] = np.nan_to_num(np.asarray(pos, dtype=np.float64)) if visible[i] else 0.0
            if visible[i]:
                score[i] = s
        return visible, xy, score

    def finish(
        self, fps: float = 30.0, frame_height: float | None = None, events: bool = False
    ) -> Track:
        """The video's track; positions 0 where not visible.

        The trajectory stage (``cfg.trajectory``, :mod:`tracknet.track.trajectory_stage`) runs
        first when enabled, filling, or asked for by ``events``, then smoothing (``cfg.smooth``). It
        runs on the tracker's gated output: without the tracker (``cfg.track`` false: raw
        detections) it changes no position.

        Args:
            fps: the video's frame rate (the stage's settings and speeds).
            frame_height: height of the original frames (None: 720).
            events: run the stage even when disabled (its events; the positions stay as tracked).
        """
        col = self._cols.view
        visible, xy, score = col("visible").copy(), col("xy").copy(), col("score").copy()
        if self.cfg.static.enabled and self.tracker is not None and len(visible):
            visible, xy, score = self._without_static(visible, xy, score, frame_height)
        trajectory = None
        stage = self.cfg.trajectory
        if not self.cfg.track:  # raw detections stay raw
            stage = dataclasses.replace(stage, enabled=False, fill="none")
        if stage_applies(stage) or events:
            trajectory, visible, xy = run_stage(
                col("frame"), visible, xy, score, stage, fps, frame_height
            )
        interpolated = np.zeros(len(visible), dtype=bool)
        if self.cfg.smooth:
            visible, xy, interpolated = smooth_track(visible, xy, max_gap=self.cfg.max_gap)
        xy = np.where(visible[:, None], np.nan_to_num(xy), 0.0)
        raw_visible = col("raw_visible").copy()
        return Track(
            frame=col("frame").copy(),
            ok=col("ok").copy(),
            raw_visible=raw_visible,
            raw_xy=np.where(raw_visible[:, None], col("raw_xy"), 0.0),
            score=score,
            visible=np.asarray(visible, dtype=bool),
            xy=xy,
            interpolated=np.asarray(interpolated, dtype=bool),
            candidates=col("candidates").copy(),
            trajectory=trajectory,
        )
