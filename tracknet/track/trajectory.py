"""The trajectory stage: flight segments, outliers, hit/bounce events and honest gap filling.

It runs after the online tracker on a whole track, on plain arrays: ``frames [N]`` (strictly
increasing frame numbers), ``visible [N]``, ``xy [N, 2]`` (pixels of the ORIGINAL frame, ``x``
right, ``y`` down; ignored where not visible) and optionally ``score [N]``. Everything is
vectorised numpy over small windows of detections (:mod:`tracknet.track.flight_fits`):
O(N * window) time and memory.

Method (:func:`fit_trajectory`):

1. **Runs.** Detections more than ``max_gap`` missing frames apart are never in one flight.
2. **Outliers.** Each detection is predicted five ways from its neighbours in its run: a
   quadratic ``x(t), y(t)`` through up to ``window`` detections ending at the one before it
   (extrapolated forward), one ending a detection earlier (so a second outlier right next to it
   does not spoil the fit), the same two from the detections after it (extrapolated back), and the
   straight line between its two nearest neighbours (both at most 2 frames away). A prediction
   explains it within ``outlier_px + outlier_speed * speed`` (speed in px/frame: a fast, blurred
   ball gets more room). A fit may judge only if its own rms residual is at most ``outlier_px / 2``
   (clean) and explain only if at most ``outlier_px`` (one that holds an outlier, or straddles a
   hit, says nothing). An outlier is a detection some clean prediction judges and none explains:
   one right after a hit is explained by the flight after it, so kinks are not outliers. Outliers
   are left out and the detections near them judged again (at most 3 passes); a detection with
   no usable prediction is kept.
3. **Breakpoints.** At every pair of neighbouring inliers of a run, quadratics through up to
   ``window`` inliers on each side and one cubic through both sides are fitted; the drop in
   squared error from the cubic to the two quadratics over the noise variance (the median residual
   variance of the one-sided fits, at least ``noise_px**2``) is a change-point statistic. Its local
   maxima (within ``window`` pairs) above ``break_threshold``, where the two curves' velocities
   differ by at least ``min_turn_px`` px/frame at their meeting point, are breakpoints; the flights
   are cut there and the statistic is computed again near the cuts (up to 4 passes), so an event a
   few frames after another is found too. The event time is where the two curves come closest
   between the two inliers, so a hit hidden behind a player is still timed.
4. **Events.** Each breakpoint is a ``hit`` or a ``bounce`` by the direction of its velocity change
   and the rhythm of a rally (:mod:`tracknet.track.event_kinds`); its score grows with the
   statistic (recomputed with fits that stop at the neighbouring breakpoints):
   ``stat / (stat + break_threshold)`` in ``[0, 1)``, 0.5 at the threshold.
5. **Segments.** Inliers between breakpoints (and runs) form segments (a lone inlier is none); each
   gets a least-squares polynomial in time (degree up to 2, or ``max_degree`` with at least 8
   points: perspective and drag bend a parabola in the image), its rms residual and its speed
   along the curve in px/s.
6. **Gaps.** Frames strictly inside a segment without an inlier (missed or rejected) are filled
   from a quadratic through up to ``window`` of the segment's inliers on each side of the gap
   (``fill="fit"``, source ``fitted``: the segment's flight, fitted locally) or linearly between
   the two neighbouring inliers (``fill="linear"``, source ``interpolated``); never across two
   segments, never outside a segment's first and last inlier, never longer than ``max_fill_gap``.

Provenance per frame (:data:`SOURCE_NAMES`): ``detected`` (an inlier the model saw), ``fitted``,
``interpolated``, ``none`` (no ball, a rejected outlier outside any fill, an unfilled gap).
``Trajectory.visible`` is true ONLY for detected inliers; filled positions are in ``xy``, flagged.

Limits: curves are fitted in image space (no camera model); a breakpoint needs 3 inliers on each
side, so events closer than that to a long gap or to each other are missed; a ball at rest or
rolling has no events; a consistent false track (a head detected for many frames) is a flight.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tracknet.io.events import Event
from tracknet.track.event_kinds import bounce_evidence, label_events
from tracknet.track.flight_fits import (
    Fits,
    Segment,
    fit_segments,
    fit_windows,
    runs,
    same_label,
    side_fits,
    split_sse,
)

NONE, DETECTED, FITTED, INTERPOLATED = 0, 1, 2, 3
SOURCE_NAMES = ("none", "detected", "fitted", "interpolated")
FILL_MODES = ("none", "fit", "linear")
_MIN_SIDE = 3  # inliers needed on each side of a breakpoint
_NEIGHBOUR_FRAMES = 2  # the straight-line predictor uses neighbours at most this far away
_GRID = 17  # sub-frame samples when timing an event between two inliers
_PASSES = 4  # breakpoint passes


@dataclass(frozen=True)
class TrajectoryParams:
    """Settings of :func:`fit_trajectory` (the module docstring says what each one does).

    Pixel and frame values are for 720-pixel-high frames at 30 fps; :meth:`for_video` scales
    them to another video.

    Attributes:
        window: inliers per side in the local fits (>= 3).
        max_gap: missing frames that end a flight (>= 1).
        outlier_px: distance (px) a detection may lie from its best prediction.
        outlier_speed: extra allowance per px/frame of ball speed.
        break_threshold: change-point statistic (noise-normalised) a breakpoint must exceed.
        min_turn_px: smallest velocity change (px/frame) at a breakpoint.
        noise_px: floor of the per-detection noise that normalises the statistic.
        bounce_lateral: largest sideways fraction of a bounce's velocity change.
        alternation: bonus for a hit and a bounce following each other (0: off, e.g. badminton).
        fill: ``"fit"``, ``"linear"`` or ``"none"``.
        max_fill_gap: longest gap filled (frames); None: ``max_gap``.
        max_degree: highest degree of a segment's curve (1 to 3).
    """

    window: int = 8
    max_gap: int = 8
    outlier_px: float = 12.0
    outlier_speed: float = 0.5
    break_threshold: float = 15.0
    min_turn_px: float = 2.0
    noise_px: float = 1.0
    bounce_lateral: float = 0.2
    alternation: float = 1.0
    fill: str = "fit"
    max_fill_gap: int | None = None
    max_degree: int = 3

    def __post_init__(self) -> None:
        if self.window < _MIN_SIDE or self.max_gap < 1:
            raise ValueError(f"need window >= {_MIN_SIDE} and max_gap >= 1: {self}")
        if self.fill not in FILL_MODES:
            raise ValueError(f"fill must be one of {FILL_MODES}, got {self.fill!r}")
        if not 1 <= self.max_degree <= 3:
            raise ValueError(f"max_degree must be 1, 2 or 3, got {self.max_degree}")
        if self.max_fill_gap is not None and self.max_fill_gap < 0:
            raise ValueError(f"max_fill_gap must be >= 0, got {self.max_fill_gap}")
        for name in (
            "outlier_px",
            "outlier_speed",
            "break_threshold",
            "min_turn_px",
            "alternation",
        ):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not (self.noise_px > 0 and self.bounce_lateral > 0):
            raise ValueError("noise_px and bounce_lateral must be > 0")

    def for_video(self, frame_height: float, fps: float) -> TrajectoryParams:
        """These settings, given for 720-pixel-high frames at 30 fps, for another video: pixel
        distances scale with the height, px/frame speeds with ``height / fps``, frame counts of
        gaps with ``fps`` (the window stays a number of detections)."""
        if not (frame_height > 0 and fps > 0):
            raise ValueError(f"need a positive frame height and fps, got {frame_height}, {fps}")
        px, per_frame = frame_height / 720.0, frame_height / 720.0 * 30.0 / fps
        return replace(
            self,
            max_gap=max(1, round(self.max_gap * fps / 30.0)),
            outlier_px=self.outlier_px * px,
            min_turn_px=self.min_turn_px * per_frame,
            noise_px=self.noise_px * px,
            max_fill_gap=None
            if self.max_fill_gap is None
            else max(0, round(self.max_fill_gap * fps / 30.0)),
        )


@dataclass
class Trajectory:
    """The result of :func:`fit_trajectory`, one entry per input row.

    Attributes:
        frames: ``int [N]`` the input frame numbers.
        xy: ``float [N, 2]`` detected or filled positions; NaN where ``source`` is ``none``.
        visible: ``bool [N]`` detected inliers only (seen by the model, explained by a flight).
        source: ``int8 [N]``: :data:`NONE`, :data:`DETECTED`, :data:`FITTED`, :data:`INTERPOLATED`.
        segment: ``int [N]`` segment id of detected and filled frames, -1 elsewhere.
        outlier: ``bool [N]`` detections rejected as outliers.
        score: ``float [N]`` the input score of detected frames, 0 elsewhere.
        segments: the flights, in time order.
        events: hits and bounces, in time order.
        fps: frames per second of the speeds.
    """

    frames: np.ndarray
    xy: np.ndarray
    visible: np.ndarray
    source: np.ndarray
    segment: np.ndarray
    outlier: np.ndarray
    score: np.ndarray
    segments: list[Segment]
    events: list[Event]
    fps: float

    def source_names(self) -> np.ndarray:
        """``str [N]`` provenance names (``detected``, ``fitted``, ...)."""
        names: np.ndarray = np.asarray(SOURCE_NAMES)[self.source]
        return names

    @property
    def filled(self) -> np.ndarray:
        """``bool [N]`` frames whose position was filled in (fitted or interpolated)."""
        filled: np.ndarray = (self.source == FITTED) | (self.source == INTERPOLATED)
        return filled


def fit_trajectory(
    frames: np.ndarray,
    visible: np.ndarray,
    xy: np.ndarray,
    score: np.ndarray | None = None,
    fps: float = 30.0,
    params: TrajectoryParams | None = None,
) -> Trajectory:
    """Split a track into flights, reject outliers, find hits and bounces, fill gaps.

    Args:
        frames: ``[N]`` strictly increasing frame numbers.
        visible: ``[N]`` detections (non-zero = visible); a visible row without finite ``xy``
            counts as not visible.
        xy: ``[N, 2]`` positions in original-frame pixels.
        score: ``[N]`` detection scores (carried through), or None (1 for every row).
        fps: frames per second, for the speeds.
        params: :class:`TrajectoryParams`; None: the defaults.

    Returns:
        A :class:`Trajectory`. An empty track gives an empty one; a lone detection (no other
        within ``max_gap``) stays ``detected`` with segment -1; no events without 3 inliers on
        each side of a breakpoint.

    Raises:
        ValueError: mismatched lengths, frames not strictly increasing integers, ``fps <= 0``.
    """
    prm = params or TrajectoryParams()
    f, vis, pts, sc = _validate(frames, visible, xy, score, fps)
    n = len(f)
    det = np.flatnonzero(vis)
    outlier = np.zeros(n, dtype=bool)
    outlier[det[_reject_outliers(f[det].astype(np.float64), pts[det], prm)]] = True
    rows = np.flatnonzero(vis & ~outlier)
    t, p = f[rows].astype(np.float64), pts[rows]

    breaks, label = _find_breaks(t, p, prm)
    counts = np.bincount(label) if len(t) else np.zeros(0, np.int64)
    real = counts >= 2  # a lone detection is no flight
    seg = np.where(real[label], np.cumsum(real)[label] - 1, -1) if len(t) else label
    segments = fit_segments(f, t, p, seg, int(real.sum()), prm.max_degree, fps)

    source = np.zeros(n, dtype=np.int8)
    source[rows] = DETECTED
    seg_of_row = np.full(n, -1, dtype=np.int64)
    seg_of_row[rows] = seg
    out_xy = np.full((n, 2), np.nan)
    out_xy[rows] = p
    if prm.fill != "none":
        _fill(f, t, p, seg, prm, out_xy, source, seg_of_row)
    chain = runs(t, prm.max_gap)[breaks.after]
    return Trajectory(
        frames=f,
        xy=out_xy,
        visible=source == DETECTED,
        source=source,
        segment=seg_of_row,
        outlier=outlier,
        score=np.where(source == DETECTED, sc, 0.0),
        segments=segments,
        events=_events(breaks, chain, prm),
        fps=float(fps),
    )


# =========================================================================== outliers
def _reject_outliers(t: np.ndarray, p: np.ndarray, prm: TrajectoryParams) -> np.ndarray:
    """``bool [M]`` outliers among the detections ``t [M]``, ``p [M, 2]``.

    Each pass judges the detections again against the inliers of the pass before; after the
    first, only those whose neighbourhood changed.
    """
    out = np.zeros(len(t), dtype=bool)
    which = np.arange(len(t))
    reach = prm.window + 2  # detections whose fits can see a change
    for _ in range(3):
        new = out.copy()
        new[which] = _unexplained(t, p, ~out, which, prm)
        changed = np.flatnonzero(new != out)
        out = new
        if len(changed) == 0:
            break
        near = np.zeros(len(t) + 1, dtype=np.int64)
        np.add.at(near, np.clip(changed - reach, 0, len(t)), 1)
        np.add.at(near, np.clip(changed + reach + 1, 0, len(t)), -1)
        which = np.flatnonzero(np.cumsum(near)[:-1] > 0)
    return out


def _unexplained(
    t: np.ndarray, p: np.ndarray, inlier: np.ndarray, which: np.ndarray, prm: TrajectoryParams
) -> np.ndarray:
    """``bool`` per detection ``which``: judged by some clean fit and explained by none."""
    tk, pk = t[inlier], p[inlier]
    tw, pw = t[which], p[which]
    if len(tk) < 2:
        return np.zeros(len(which), dtype=bool)
    last, run = len(tk) - 1, runs(tk, prm.max_gap)
    lo = np.searchsorted(tk, tw, "left") - 1  # last inlier before each detection
    hi = np.searchsorted(tk, tw, "right")  # first inlier after it
    lo_c, hi_c = np.clip(lo, 0, last), np.clip(hi, 0, last)
    before, after = tw - tk[lo_c], tk[hi_c] - tw
    has_lo = (lo >= 0) & (before <= prm.max_gap + 1)
    has_hi = (hi < len(tk)) & (after <= prm.max_gap + 1)
    judged = np.zeros(len(which), dtype=bool)
    explained = np.zeros(len(which), dtype=bool)
    for side, anchor, ok, step in (("left", lo, has_lo, -1), ("right", hi, has_hi, 1)):
        need = np.unique(np.clip(np.concatenate([anchor, anchor + step]), 0, last))
        fits = side_fits(tk, pk, run, need, prm.window, side)
        for skip in (0, step):  # the nearest neighbour's fit, and the next one's
            i = np.clip(anchor + skip, 0, last)
            usable = ok & (anchor + skip >= 0) & (anchor + skip <= last)
            usable &= run[i] == run[np.clip(anchor, 0, last)]
            fit = fits.take(np.searchsorted(need, i))
            usable &= fit.count >= _MIN_SIDE
            mean_sq = fit.sse / np.maximum(fit.count, 1)  # its own residuals, both axes
            err = np.hypot(*(fit.at(tw) - pw).T)
            near = err <= prm.outlier_px + prm.outlier_speed * np.hypot(*fit.velocity(tw).T)
            judged |= usable & (mean_sq <= (prm.outlier_px / 2) ** 2)  # clean: may judge
            explained |= usable & (mean_sq <= prm.outlier_px**2) & near  # fair: may explain
    close = has_lo & has_hi & (before <= _NEIGHBOUR_FRAMES) & (after <= _NEIGHBOUR_FRAMES)
    gap = np.maximum(before + after, 1)
    line = pk[lo_c] + (before / gap)[:, None] * (pk[hi_c] - pk[lo_c])
    speed = np.hypot(*(pk[hi_c] - pk[lo_c]).T) / gap
    judged |= close
    explained |= close & (np.hypot(*(line - pw).T) <= prm.outlier_px + prm.outlier_speed * speed)
    return judged & ~explained


# =========================================================================== breakpoints
@dataclass
class _Breaks:
    after: np.ndarray  # int [B]: the breakpoint lies between inliers after[b] and after[b] + 1
    time: np.ndarray  # float [B] sub-frame event time
    xy: np.ndarray  # [B, 2]
    v_before: np.ndarray  # [B, 2] px/frame
    v_after: np.ndarray  # [B, 2]
    stat: np.ndarray  # [B] noise-normalised statistic


def _find_breaks(t: np.ndarray, p: np.ndarray, prm: TrajectoryParams) -> tuple[_Breaks, np.ndarray]:
    """Breakpoints of the inlier track ``t [M]``, ``p [M, 2]``, and the flight label of each
    inlier (a new label after each breakpoint and each long gap)."""
    label = runs(t, prm.max_gap)
    j = np.flatnonzero(label[:-1] == label[1:]) if len(t) > 1 else np.zeros(0, np.int64)
    stat = np.full(len(j), -np.inf)
    todo = np.ones(len(j), dtype=bool)
    noise, r = None, prm.window
    for _ in range(_PASSES):
        joined = label[j] == label[j + 1]
        stat[~joined] = -np.inf
        todo &= joined
        if not todo.any():
            break
        stat[todo], noise = _split_stats(t, p, label, j[todo], prm, noise)
        padded = np.concatenate([np.full(r, -np.inf), stat, np.full(r, -np.inf)])
        peak = stat >= np.lib.stride_tricks.sliding_window_view(padded, 2 * r + 1).max(axis=1)
        new = j[peak & (stat > prm.break_threshold)]
        new = new[np.hypot(*_velocity_change(t, p, label, new, r).T) >= prm.min_turn_px]
        if len(new) == 0:
            break
        cut = np.zeros(len(t), dtype=np.int64)
        cut[new + 1] = 1
        label = label * (len(new) + 1) + np.cumsum(cut)  # a new label on each side of a cut
        reach = np.zeros(len(t) + 1, dtype=np.int64)
        np.add.at(reach, np.clip(new - r, 0, len(t)), 1)
        np.add.at(reach, np.clip(new + r + 2, 0, len(t)), -1)
        todo = np.cumsum(reach)[j] > 0  # splits whose windows reach a new cut
    label = np.unique(label, return_inverse=True)[1].reshape(-1)
    after = j[label[j] != label[j + 1]] if len(j) else j
    left = side_fits(t, p, label, after, r, "left")
    right = side_fits(t, p, label, after + 1, r, "right")
    when, xy = _meeting(t, left, right, after)
    (sse_l, sse_r, sse_j), _, _ = split_sse(t, p, label, after, r)
    stat_at = np.maximum(sse_j - sse_l - sse_r, 0.0) / (noise or prm.noise_px**2)
    breaks = _Breaks(after, when, xy, left.velocity(when), right.velocity(when), stat_at)
    return breaks, label


def _split_stats(
    t: np.ndarray,
    p: np.ndarray,
    label: np.ndarray,
    j: np.ndarray,
    prm: TrajectoryParams,
    noise: float | None,
) -> tuple[np.ndarray, float]:
    """Change-point statistic at the splits ``j | j + 1`` (same label) and the noise variance."""
    (left, right, joint), n_left, n_right = split_sse(t, p, label, j, prm.window)
    testable = (n_left >= _MIN_SIDE) & (n_right >= _MIN_SIDE)
    if noise is None:
        dof = n_left - 3  # per coordinate: points minus coefficients
        ok = testable & (dof > 1)
        spread = left[ok] / dof[ok]  # squared error per point, both coordinates together
        noise = max(float(np.median(spread)) if len(spread) else 0.0, prm.noise_px**2)
    return np.where(testable, (joint - left - right) / noise, -np.inf), noise


def _meeting(
    t: np.ndarray, left: Fits, right: Fits, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """When and where the curves before and after each split ``j | j + 1`` come closest."""
    grid = t[j][:, None] + np.linspace(0.0, 1.0, _GRID) * (t[j + 1] - t[j])[:, None]  # [B, G]
    a, b = left.at(grid), right.at(grid)
    best = np.argmin(np.hypot(*(a - b).transpose(2, 0, 1)), axis=1)
    rows = np.arange(len(j))
    return grid[rows, best], (a[rows, best] + b[rows, best]) / 2


def _velocity_change(
    t: np.ndarray, p: np.ndarray, label: np.ndarray, j: np.ndarray, k: int
) -> np.ndarray:
    """``[B, 2]`` velocity after minus before (px/frame) where the two flights meet."""
    left = side_fits(t, p, label, j, k, "left")
    right = side_fits(t, p, label, j + 1, k, "right")
    when, _ = _meeting(t, left, right, j)
    change: np.ndarray = right.velocity(when) - left.velocity(when)
    return change


def _events(br: _Breaks, chain: np.ndarray, prm: TrajectoryParams) -> list[Event]:
    evidence = bounce_evidence(br.v_before, br.v_after, prm.bounce_lateral)
    bounce = label_events(evidence, chain, prm.alternation)
    score = br.stat / (br.stat + prm.break_threshold + 1e-9)
    return [
        Event(int(round(w)), "bounce" if b else "hit", float(x), float(y), float(s))
        for w, b, (x, y), s in zip(br.time, bounce, br.xy, score, strict=True)
    ]


# =========================================================================== gaps
def _fill(
    f: np.ndarray,
    t: np.ndarray,
    p: np.ndarray,
    seg: np.ndarray,
    prm: TrajectoryParams,
    out_xy: np.ndarray,
    source: np.ndarray,
    seg_of_row: np.ndarray,
) -> None:
    """Fill, in place, the rows strictly inside a segment that have no inlier."""
    longest = prm.max_gap if prm.max_fill_gap is None else prm.max_fill_gap
    lo = np.searchsorted(t, f, "right") - 1  # last inlier at or before each row
    hi = lo + 1
    ok = (lo >= 0) & (hi < len(t))
    lo_c, hi_c = np.clip(lo, 0, max(len(t) - 1, 0)), np.clip(hi, 0, max(len(t) - 1, 0))
    ok &= source == NONE
    if len(t):
        ok &= (seg[lo_c] >= 0) & (seg[lo_c] == seg[hi_c]) & (t[hi_c] - t[lo_c] - 1 <= longest)
    rows = np.flatnonzero(ok)
    if len(rows) == 0:
        return
    lo, hi = lo_c[rows], hi_c[rows]
    if prm.fill == "fit":
        k = prm.window
        idx = lo[:, None] + np.arange(-k + 1, k + 1)
        valid = same_label(seg, lo, idx)
        fits = fit_windows(t, p, idx, valid, t[lo], p[lo], 2)
        out_xy[rows] = fits.at(f[rows].astype(np.float64))
        source[rows] = FITTED
    else:
        frac = ((f[rows] - t[lo]) / (t[hi] - t[lo]))[:, None]
        out_xy[rows] = p[lo] + frac * (p[hi] - p[lo])
        source[rows] = INTERPOLATED
    seg_of_row[rows] = seg[lo]


def _validate(
    frames: np.ndarray,
    visible: np.ndarray,
    xy: np.ndarray,
    score: np.ndarray | None,
    fps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    f = np.asarray(frames).reshape(-1)
    integral = np.issubdtype(f.dtype, np.integer)
    if not integral and not (np.all(np.isfinite(f)) and np.all(f == np.round(f))):
        raise ValueError("frames must be integers")
    f = f.astype(np.int64)
    vis = np.asarray(visible).reshape(-1) != 0
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    sc = np.ones(len(f)) if score is None else np.asarray(score, np.float64).reshape(-1)
    if not len(f) == len(vis) == len(pts) == len(sc):
        raise ValueError(
            f"lengths differ: {len(f)} frames, {len(vis)} visible, {len(pts)} xy, {len(sc)} score"
        )
    if np.any(np.diff(f) <= 0):
        raise ValueError("frames must be strictly increasing (one row per frame, in order)")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return f, vis & np.isfinite(pts).all(axis=1), pts, sc
