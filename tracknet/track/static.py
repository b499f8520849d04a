"""Static distractors: places where the detector fires in a large share of a video's frames.

A broadcast picture holds small things that look like a ball to a heatmap model and never move:
a light on the umpire's chair, a logo's dot, a mark on the floor. On the held-out badminton
clips they were most of the detections more than 4 px from the truth (73 of 97 on validation
lay more than 50 px away), and the online tracker, once it held such a spot, kept it while the
real shuttle flew elsewhere. A ball does not stay at one pixel for a fifth of a rally; a fixed
object does. :func:`static_hotspots` finds the places where some candidate lies within
``radius`` pixels in at least ``min_share`` of the frames; :func:`mask_hotspots` zeroes the
candidates there, so the tracker (run again over the video, offline) takes the next candidate or
no ball. A shuttle lying still for a whole clip is such a place too: keep ``min_share`` above the
share of frames in which the ball rests (0.2 was chosen on validation; radius 6 px removed real
still shuttles there, 3 px did not).

Numpy only; positions in frame pixels. Offline: it needs the whole video's candidates, so live
streams (nothing kept) are tracked without it.
"""

from __future__ import annotations

import numpy as np


def static_hotspots(candidates: np.ndarray, radius: float, min_share: float) -> np.ndarray:
    """``float [M, 2]``: the places where a candidate lies within ``radius`` of the same point in
    at least ``min_share`` of the frames.

    Args:
        candidates: ``[N, K, 3]`` per frame ``(x, y, score)``; a score ``<= 0`` is no candidate.
        radius: pixels.
        min_share: of the ``N`` frames, in ``(0, 1]``.
    """
    cand = np.asarray(candidates, dtype=np.float64)
    n = len(cand)
    if n == 0 or radius <= 0:
        return np.zeros((0, 2))
    frame_of = np.repeat(np.arange(n), cand.shape[1])
    pts = cand[..., :2].reshape(-1, 2)
    keep = cand[..., 2].reshape(-1) > 0
    pts, frame_of = pts[keep], frame_of[keep]
    need = max(1, int(np.ceil(min_share * n)))
    if len(pts) < need:
        return np.zeros((0, 2))
    # A grid of cells one radius wide: a hotspot's points lie in the 3x3 cells around its own,
    # so only cells whose neighbourhood holds ``need`` points are looked at exactly.
    cells = np.floor(pts / radius).astype(np.int64)
    keys, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    lookup = {tuple(k): c for k, c in zip(keys.tolist(), counts.tolist(), strict=True)}
    hotspots: list[np.ndarray] = []
    for idx in np.argsort(-counts):
        kx, ky = keys[idx]
        around = sum(lookup.get((kx + dx, ky + dy), 0) for dx in (-1, 0, 1) for dy in (-1, 0, 1))
        if around < need:
            continue
        centre = np.median(pts[inverse == idx], axis=0)
        for _ in range(3):  # a cell may hold one side of the cloud: move to its middle
            near = np.hypot(pts[:, 0] - centre[0], pts[:, 1] - centre[1]) <= 1.5 * radius
            centre = np.median(pts[near], axis=0)
        if any(np.hypot(*(centre - h)) <= radius for h in hotspots):
            continue
        near = np.hypot(pts[:, 0] - centre[0], pts[:, 1] - centre[1]) <= radius
        if len(np.unique(frame_of[near])) >= need:
            hotspots.append(centre)
    return np.asarray(hotspots, dtype=np.float64).reshape(-1, 2)


def mask_hotspots(candidates: np.ndarray, hotspots: np.ndarray, radius: float) -> np.ndarray:
    """A copy of ``candidates`` (``[N, K, 3]``) with the score of every candidate within
    ``radius`` of a hotspot set to 0 (no candidate)."""
    out = np.array(candidates, dtype=np.float64, copy=True)
    if len(hotspots) == 0 or out.size == 0:
        return out
    d = np.hypot(
        out[..., None, 0] - hotspots[None, None, :, 0],
        out[..., None, 1] - hotspots[None, None, :, 1],
    )  # [N, K, M]
    out[..., 2] = np.where((d <= radius).any(axis=-1), 0.0, out[..., 2])
    return out
