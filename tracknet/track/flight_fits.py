"""Batched least-squares polynomials ``x(t), y(t)`` of a ball's flights, and the :class:`Segment`.

The numeric kernel of the trajectory stage (:mod:`tracknet.track.trajectory`), in two shapes:
many small windows of track points (a row of point indices ``idx [M, K]`` with a mask
``valid [M, K]``, :func:`fit_windows`), and whole segments of any length (:func:`fit_segments`).
All are fitted at once with numpy (no Python loop over windows or segments): O(M * K).

Conventions: ``t [N]`` are frame numbers (float), ``p [N, 2]`` pixel positions. Each window has its
own time origin ``t0`` and value origin ``origin`` (a point near it), and time is divided by
``scale`` (the window length), so the normal equations stay well conditioned at any frame number.
The normal equations are built from power sums (a Hankel matrix); a window with fewer points than
``degree + 1`` is fitted with the highest degree its points allow (2 points: a line, 1 point: a
constant), so every fit is defined. Squared errors are summed over both coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Fits:
    """Polynomials of ``M`` windows: ``p(t) = origin + sum_k coef[:, k] ((t - t0) / scale)**k``.

    Attributes:
        coef: ``[M, D, 2]`` coefficients, lowest power first (unused powers are 0).
        sse: ``[M]`` sum of squared residuals over the window's points and both coordinates.
        count: ``[M]`` points in each window.
        t0: ``[M]`` time origin; origin: ``[M, 2]`` value origin; scale: time unit (frames).
    """

    coef: np.ndarray
    sse: np.ndarray
    count: np.ndarray
    t0: np.ndarray
    scale: float
    origin: np.ndarray

    def take(self, i: np.ndarray) -> Fits:
        """The fits of windows ``i``."""
        return Fits(
            self.coef[i], self.sse[i], self.count[i], self.t0[i], self.scale, self.origin[i]
        )

    def at(self, t: np.ndarray) -> np.ndarray:
        """Positions ``[M, 2]`` at ``t [M]`` (one time per window) or ``[M, P, 2]`` at ``t [M, P]``."""
        grid = t.ndim == 2
        tau = (t - (self.t0[:, None] if grid else self.t0)) / self.scale
        out = np.zeros((*tau.shape, 2))
        for k in range(self.coef.shape[1] - 1, -1, -1):
            out = out * tau[..., None] + (self.coef[:, None, k] if grid else self.coef[:, k])
        position: np.ndarray = out + (self.origin[:, None] if grid else self.origin)
        return position

    def velocity(self, t: np.ndarray) -> np.ndarray:
        """Velocities ``[M, 2]`` in px per frame at ``t [M]``."""
        tau = (t - self.t0) / self.scale
        out = np.zeros((len(tau), 2))
        for k in range(self.coef.shape[1] - 1, 0, -1):
            out = out * tau[:, None] + k * self.coef[:, k]
        return out / self.scale


def runs(t: np.ndarray, max_gap: int) -> np.ndarray:
    """``int [N]`` run label of each point: a new run after more than ``max_gap`` missing frames."""
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(np.diff(t) > max_gap + 1)])


def same_label(label: np.ndarray, at: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``bool [M, K]``: ``idx`` inside the track and with the same label as ``at [M]``."""
    ok = (idx >= 0) & (idx < len(label))
    same: np.ndarray = ok & (label[np.clip(idx, 0, len(label) - 1)] == label[at][:, None])
    return same


def moments(
    t: np.ndarray,
    p: np.ndarray,
    idx: np.ndarray,
    valid: np.ndarray,
    t0: np.ndarray,
    origin: np.ndarray,
    scale: float,
    degree: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Powers ``[M, K, 2D - 1]`` of the scaled times and centred values ``[M, K, 2]`` of the
    points ``idx [M, K]`` (zero where not ``valid``)."""
    safe = np.where(valid, idx, 0)
    w = valid.astype(np.float64)
    tau = (t[safe] - t0[:, None]) / scale * w
    power = np.empty((*idx.shape, 2 * degree + 1))
    power[..., 0] = w
    for q in range(1, 2 * degree + 1):
        power[..., q] = power[..., q - 1] * tau
    return power, (p[safe] - origin[:, None, :]) * w[..., None]


def sums(
    power: np.ndarray, val: np.ndarray, degree: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Summed moments over the window axis (the one before the last of ``power [..., K, Q]`` and
    ``val [..., K, 2]``): powers ``[..., Q]``, cross ``[..., D, 2]``, squares ``[...]``."""
    cross = np.matmul(power[..., : degree + 1].swapaxes(-1, -2), val)
    return power.sum(-2), cross, (val * val).sum(axis=(-1, -2))


def solve(
    power_sum: np.ndarray,
    cross_sum: np.ndarray,
    degree: int,
    max_degree: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients ``[M, D, 2]`` and explained sum of squares ``[M]`` from summed moments.

    Each row uses at most ``count - 1`` (``power_sum[:, 0]``) and ``max_degree`` (``[M]``, optional)
    powers; the unused ones get coefficient 0. ``sse = squares - explained``.
    """
    d = np.arange(degree + 1)
    use = np.clip(np.rint(power_sum[:, 0]) - 1, 0, degree)
    if max_degree is not None:
        use = np.minimum(use, max_degree)
    unused = d[None, :] > use[:, None]  # [M, D]
    a = power_sum[:, d[:, None] + d[None, :]].astype(np.float64)  # a copy
    b = cross_sum[:, : degree + 1]
    if unused.any():
        a[unused[:, :, None] | unused[:, None, :]] = 0.0
        a[:, d, d] += unused
        b = np.where(unused[..., None], 0.0, b)
    a[:, d, d] += 1e-9
    coef = np.linalg.solve(a, b)
    return coef, (b * coef).sum(axis=(1, 2))


def fit_windows(
    t: np.ndarray,
    p: np.ndarray,
    idx: np.ndarray,
    valid: np.ndarray,
    t0: np.ndarray,
    origin: np.ndarray,
    degree: int,
) -> Fits:
    """Fit a polynomial of ``degree`` to the points ``idx [M, K]`` where ``valid [M, K]``."""
    scale = float(max(idx.shape[1], 1))
    power, val = moments(t, p, idx, valid, t0, origin, scale, degree)
    power_sum, cross_sum, square = sums(power, val, degree)
    coef, explained = solve(power_sum, cross_sum, degree)
    return Fits(coef, np.maximum(square - explained, 0.0), valid.sum(1), t0, scale, origin)


def side_fits(
    t: np.ndarray,
    p: np.ndarray,
    label: np.ndarray,
    at: np.ndarray,
    k: int,
    side: str,
    degree: int = 2,
) -> Fits:
    """Fits to up to ``k`` points ending at (``side="left"``) or starting at (``"right"``) each
    index ``at [M]``, using only points with the same ``label`` (run or segment) as ``at``."""
    idx = at[:, None] + (np.arange(-k + 1, 1) if side == "left" else np.arange(k))
    valid = same_label(label, at, idx)
    return fit_windows(t, p, idx, valid, t[at].astype(np.float64), p[at], degree)


def split_sse(
    t: np.ndarray, p: np.ndarray, label: np.ndarray, j: np.ndarray, k: int
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """At each split ``j | j + 1``: squared errors of a quadratic on up to ``k`` points ending at
    ``j`` (label of ``j``), of one on up to ``k`` points from ``j + 1`` (label of ``j + 1``) and of
    a cubic on both sides together, from one set of moments.

    Returns:
        ``(sse_left, sse_right, sse_joint)`` and the point counts of the two sides.
    """
    idx = j[:, None] + np.arange(-k + 1, k + 1)
    valid = np.concatenate(
        [same_label(label, j, idx[:, :k]), same_label(label, j + 1, idx[:, k:])], axis=1
    )
    power, val = moments(t, p, idx, valid, (t[j] + t[j + 1]) / 2.0, p[j], float(k), 3)
    m = len(j)
    halves = sums(power.reshape(m, 2, k, 7), val.reshape(m, 2, k, 2), 3)  # [M, 2, ...]
    sides = [tuple(x[:, h] for x in halves) for h in (0, 1)]
    joint = tuple(x.sum(axis=1) for x in halves)
    sse = tuple(
        np.maximum(square - solve(power_sum, cross_sum, degree)[1], 0.0)
        for (power_sum, cross_sum, square), degree in zip((*sides, joint), (2, 2, 3), strict=True)
    )
    return sse, valid[:, :k].sum(1), valid[:, k:].sum(1)


@dataclass(frozen=True)
class Segment:
    """One flight: the inliers between two breakpoints (or a breakpoint and a gap).

    The curve is ``x(tau) = sum(coef_x[k] * tau**k)`` (``y`` alike), ``tau = (frame - start) /
    span``, ``span = max(end - start, 1)``.

    Attributes:
        id: index in ``Trajectory.segments``.
        start, end: frames of the first and last inlier.
        n_points: inlier detections.
        coef_x, coef_y: ``[degree + 1]`` coefficients, lowest power first.
        rms_px: root mean squared distance of the inliers from the curve.
        speed_px_s: mean speed along the curve over the segment's frames, px per second.
        max_speed_px_s: highest speed along the curve, px per second.
    """

    id: int
    start: int
    end: int
    n_points: int
    coef_x: np.ndarray
    coef_y: np.ndarray
    rms_px: float
    speed_px_s: float
    max_speed_px_s: float

    @property
    def span(self) -> int:
        return max(self.end - self.start, 1)

    @property
    def degree(self) -> int:
        return len(self.coef_x) - 1

    def position(self, frames: np.ndarray) -> np.ndarray:
        """``[M, 2]`` positions of the curve at ``frames`` (meaningful inside the segment)."""
        tau = (np.asarray(frames, dtype=np.float64) - self.start) / self.span
        poly = np.polynomial.polynomial
        return np.stack([poly.polyval(tau, self.coef_x), poly.polyval(tau, self.coef_y)], -1)

    def velocity(self, frames: np.ndarray) -> np.ndarray:
        """``[M, 2]`` velocity of the curve at ``frames``, px per frame."""
        tau = (np.asarray(frames, dtype=np.float64) - self.start) / self.span
        poly = np.polynomial.polynomial
        vx = poly.polyval(tau, poly.polyder(self.coef_x))
        vy = poly.polyval(tau, poly.polyder(self.coef_y))
        return np.stack([vx, vy], axis=-1) / self.span


def fit_segments(
    f: np.ndarray,
    t: np.ndarray,
    p: np.ndarray,
    seg: np.ndarray,
    n_seg: int,
    max_degree: int,
    fps: float,
) -> list[Segment]:
    """Least-squares curves of all segments at once (moments summed per segment with
    ``np.bincount``), their rms residuals and their speeds (px/s) over the track's frames inside.

    Args:
        f: ``[N]`` the track's frames (speeds are averaged over those inside each segment).
        t, p: ``[M]``, ``[M, 2]`` the inliers, in time order.
        seg: ``[M]`` segment id of each inlier (non-decreasing; -1: none); ids ``0..n_seg-1``
            each hold at least 2 inliers.
        max_degree: the degree of segments with 8 or more inliers (others: at most 2).
        fps: frames per second.
    """
    has = seg >= 0
    t, p, seg = t[has], p[has], seg[has]
    count = np.bincount(seg, minlength=n_seg)
    first = np.searchsorted(seg, np.arange(n_seg))  # inliers are in time order, so is seg
    start, end = t[first], t[first + count - 1]
    span = np.maximum(end - start, 1.0)
    power = ((t - start[seg]) / span[seg])[:, None] ** np.arange(7)  # [M, 7]
    val = p - p[first][seg]
    cross = (power[:, :4, None] * val[:, None, :]).reshape(len(seg), 8)  # [M, 4 * 2]

    def per_segment(columns: np.ndarray) -> np.ndarray:  # [M, C] -> [S, C] sums
        return np.stack([np.bincount(seg, c, n_seg) for c in columns.T], axis=1)

    power_sum, cross_sum = per_segment(power), per_segment(cross).reshape(n_seg, 4, 2)
    square = np.bincount(seg, (val**2).sum(1), n_seg)
    degree = np.minimum(np.where(count >= 8, max_degree, min(max_degree, 2)), count - 1)
    coef, explained = solve(power_sum, cross_sum, 3, degree)
    coef[:, 0] += p[first]
    rms = np.sqrt(np.maximum(square - explained, 0.0) / np.maximum(count, 1))
    inside = np.searchsorted(start, f, "right") - 1
    rows = (
        np.flatnonzero((inside >= 0) & (f <= end[np.clip(inside, 0, None)]))
        if n_seg
        else np.zeros(0, np.intp)
    )

    s = inside[rows]
    u = (f[rows] - start[s]) / span[s]
    deriv = np.arange(1, 4) * u[:, None] ** np.arange(3)  # d/dtau of tau**1..3
    speed = np.hypot(*np.einsum("md,mdc->mc", deriv, coef[s, 1:]).T) / span[s] * fps
    mean = np.bincount(s, speed, n_seg) / np.maximum(np.bincount(s, minlength=n_seg), 1)
    peak = np.zeros(n_seg)
    np.maximum.at(peak, s, speed)
    return [
        Segment(
            id=i,
            start=int(start[i]),
            end=int(end[i]),
            n_points=int(count[i]),
            coef_x=coef[i, : degree[i] + 1, 0].copy(),
            coef_y=coef[i, : degree[i] + 1, 1].copy(),
            rms_px=float(rms[i]),
            speed_px_s=float(mean[i]),
            max_speed_px_s=float(peak[i]),
        )
        for i in range(n_seg)
    ]
