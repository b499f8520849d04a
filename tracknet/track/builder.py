"""From a video's predictions to its :class:`~tracknet.track.result.Track`.

:class:`FramePrediction` is the raw (untracked) detection of one frame, as the model runner
(:class:`tracknet.infer.predictor.Predictor`) yields it; it is defined here, below the model
runner, so tracking needs no torch. :class:`TrackBuilder` drives the online tracker
(:mod:`tracknet.track.tracker`) over a video's predictions: each frame is tracked online as it
arrives and kept as a few numbers, and :meth:`TrackBuilder.finish` runs the trajectory stage
(``predict.trajectory``, :mod:`tracknet.track.trajectory_stage`), smooths (``predict.smooth``,
:mod:`tracknet.track.smoothing`) and returns the video's :class:`~tracknet.track.result.Track`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from tracknet.config import PredictConfig
from tracknet.track.exits import TopExitGate
from tracknet.track.result import Track, TrackPoint
from tracknet.track.smoothing import smooth_track
from tracknet.track.static import mask_hotspots, static_hotspots
from tracknet.track.tracker import OnlineTracker
from tracknet.track.trajectory_stage import run_stage, stage_applies


@dataclass
class FramePrediction:
    """The raw (untracked) detection of one frame, in original-frame pixels."""

    index: int
    ok: bool  # False: the frame could not be decoded
    visible: bool
    x: float
    y: float
    score: float
    candidates_xy: np.ndarray = field(repr=False)  # [K, 2]
    candidates_score: np.ndarray = field(repr=False)  # [K]


class _Columns:
    """Growable numpy columns: a few bytes per frame, so memory stays flat for any video."""

    def __init__(
        self, specs: dict[str, tuple[tuple[int, ...], type]], capacity: int = 1024
    ) -> None:
        self.n = 0
        self.data: dict[str, np.ndarray] = {
            k: np.zeros((capacity, *shape), dtype) for k, (shape, dtype) in specs.items()
        }

    def append(self, **values: object) -> None:
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

    def __init__(self, cfg: PredictConfig) -> None:
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
            visible, xy, score = bool(p.visible) and p.ok, np.array([p.x, p.y]), p.score

        at = np.nan_to_num(np.asarray(xy, dtype=np.float64))
        x, y = (float(at[0]), float(at[1])) if visible else (0.0, 0.0)
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
            xy=at,
            candidates=cands,
        )
        return point

    def _retrack(
        self, visible: np.ndarray, xy: np.ndarray, score: np.ndarray, frame_height: float | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Track the video again, offline: without the candidates at its static hotspots
        (``predict.static``) and, with ``predict.exits``, without those that cannot be the ball
        while it is out through the top of the picture. Returns ``visible, xy, score`` and
        ``bool [N]``, the frames where the ball is out; unchanged when neither applies."""
        out = np.zeros(len(visible), dtype=bool)
        height = frame_height or 720.0
        candidates = self._cols.view("candidates")
        masked = None
        if self.cfg.static.enabled:
            radius = self.cfg.static.radius_px * height / 720.0
            hotspots = static_hotspots(candidates, radius, self.cfg.static.min_share)
            if len(hotspots):
                masked = mask_hotspots(candidates, hotspots, radius)
        e = self.cfg.exits
        gate = TopExitGate(height, e.edge_px, e.entry_px, e.max_frames) if e.enabled else None
        if masked is None and gate is None:
            return visible, xy, score, out
        if masked is None:
            masked = np.asarray(candidates, dtype=np.float64)
        ok = self._cols.view("ok")
        tracker = OnlineTracker(gate_px=self.cfg.gate_px)
        for i in range(len(masked)):  # a frame that failed was stored with no candidates
            cand = masked[i]
            if gate is not None:
                cand, out[i] = gate.filter(i, cand)
                if out[i] and (i == 0 or not out[i - 1]):
                    tracker.reset()  # the ball left: its motion says nothing of its return
            v, pos, s = tracker.update(cand[:, :2], cand[:, 2])
            visible[i] = bool(v) and ok[i]
            xy[i] = np.nan_to_num(np.asarray(pos, dtype=np.float64)) if visible[i] else 0.0
            if visible[i]:
                score[i] = s
            if gate is not None:
                gate.observe(i, visible[i], xy[i, 1])
        return visible, xy, score, out

    def finish(
        self, fps: float = 30.0, frame_height: float | None = None, events: bool = False
    ) -> Track:
        """The video's track; positions 0 where not visible.

        With ``cfg.static`` or ``cfg.exits`` the video is first tracked again, offline
        (:meth:`_retrack`). The trajectory stage (``cfg.trajectory``,
        :mod:`tracknet.track.trajectory_stage`) runs next when enabled, filling, or asked for by
        ``events``, then smoothing (``cfg.smooth``); neither fills a frame where the ball is out
        through the top. The stage runs on the tracker's gated output: without the tracker
        (``cfg.track`` false: raw detections) it changes no position.

        Args:
            fps: the video's frame rate (the stage's settings and speeds).
            frame_height: height of the original frames (None: 720).
            events: run the stage even when disabled (its events; the positions stay as tracked).
        """
        col = self._cols.view
        visible, xy, score = col("visible").copy(), col("xy").copy(), col("score").copy()
        out = np.zeros(len(visible), dtype=bool)  # the ball out through the top (exits)
        if self.tracker is not None and len(visible):
            visible, xy, score, out = self._retrack(visible, xy, score, frame_height)
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
        visible = np.asarray(visible, dtype=bool) & ~out  # out of the picture: never filled
        interpolated = np.asarray(interpolated, dtype=bool) & visible
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
