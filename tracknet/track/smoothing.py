"""Offline smoothing of a whole track: :func:`smooth_track` removes isolated outliers, then
fills short gaps by linear interpolation between two real detections. It never extrapolates and
never fills a gap that is not bounded by detections on both sides, so a window without
detections stays empty.
"""

from __future__ import annotations

import numpy as np


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


def _isolated_outliers(
    vis: np.ndarray, pts: np.ndarray, outlier_px: float, window: int
) -> np.ndarray:
    outliers = np.zeros(len(vis), dtype=bool)
    idx = np.flatnonzero(vis)
    if len(idx) < 3:
        return outliers
    before, here, after = idx[:-2], idx[1:-1], idx[2:]
    close_in_time = (here - before <= window) & (after - here <= window)
    t = ((here - before) / (after - before))[:, None]
    expected = pts[before] + t * (pts[after] - pts[before])

    def far(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        beyond: np.ndarray = np.hypot(*(a - b).T) > outlier_px
        return beyond

    is_outlier = (
        close_in_time
        & far(pts[here], expected)
        & far(pts[here], pts[before])
        & far(pts[here], pts[after])
    )
    outliers[here[is_outlier]] = True
    return outliers
