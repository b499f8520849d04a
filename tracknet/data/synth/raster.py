"""Anti-aliased drawing of capsules (segments with a radius) on float or ``uint8`` images.

Pixel centres are at integer coordinates: the pixel in column ``j`` and row ``i`` covers
``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]``. Only the bounding box of a shape is touched, so
the cost follows the shape, not the frame.
"""

from __future__ import annotations

import numpy as np


def _bounds(
    segments: np.ndarray, radii: np.ndarray, height: int, width: int
) -> tuple[int, int, int, int] | None:
    """Pixel box ``(x0, x1, y0, y1)`` (end exclusive) around capsules, clipped; None if empty."""
    pad = float(radii.max()) + 1.0
    x0 = max(int(np.floor(segments[..., 0].min() - pad)), 0)
    x1 = min(int(np.ceil(segments[..., 0].max() + pad)) + 1, width)
    y0 = max(int(np.floor(segments[..., 1].min() - pad)), 0)
    y1 = min(int(np.ceil(segments[..., 1].max() + pad)) + 1, height)
    return (x0, x1, y0, y1) if x0 < x1 and y0 < y1 else None


def _capsule_cover(xs: np.ndarray, ys: np.ndarray, segment: np.ndarray, radius: float):
    """Anti-aliased coverage ``[h, w]`` of a capsule on pixel centres ``xs [1, w]``, ``ys [h, 1]``.

    A pixel whose centre lies within ``radius - 0.5`` of the segment is fully covered.
    """
    ax, ay, bx, by = (float(v) for v in segment.reshape(4))
    dx, dy = bx - ax, by - ay
    px, py = xs - ax, ys - ay
    length2 = dx * dx + dy * dy
    if length2 > 1e-9:
        t = (px * dx + py * dy) * (1.0 / length2)
        np.minimum(np.maximum(t, 0.0, out=t), 1.0, out=t)
        px, py = px - t * dx, py - t * dy
    cover = (radius + 0.5) - np.sqrt(px * px + py * py)
    return np.minimum(np.maximum(cover, 0.0, out=cover), 1.0, out=cover)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Round and saturate a float image (in place) to ``uint8``."""
    image += 0.5
    np.maximum(image, 0, out=image)
    np.minimum(image, 255, out=image)
    return image.astype(np.uint8)


def _write_patch(canvas: np.ndarray, box: tuple[int, int, int, int], patch: np.ndarray) -> None:
    x0, x1, y0, y1 = box
    if canvas.dtype == np.uint8:
        canvas[y0:y1, x0:x1] = to_uint8(patch)
    else:
        canvas[y0:y1, x0:x1] = patch


def blend_capsules(
    canvas: np.ndarray,
    segments: np.ndarray,
    radius: np.ndarray | float,
    colour: np.ndarray,
    alpha: float,
    noise: np.ndarray | None = None,
) -> None:
    """Alpha-blend the union of capsules ``segments [K, 2, 2]`` (pixel end points) in place.

    Used for one-colour shapes (the ball's blur streak, distractors, marks). Only the shapes'
    bounding box is touched, so the cost follows the shape, not the frame. ``noise`` (same
    layout as ``canvas``) is added to the colour, as a sensor would.
    """
    radii = np.broadcast_to(np.asarray(radius, dtype=np.float32), (len(segments),))
    box = _bounds(segments, radii, *canvas.shape[:2])
    if box is None:
        return
    x0, x1, y0, y1 = box
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    cover = _capsule_cover(xs, ys, segments[0], float(radii[0]))
    for segment, r in zip(segments[1:], radii[1:], strict=True):
        np.maximum(cover, _capsule_cover(xs, ys, segment, float(r)), out=cover)
    patch = canvas[y0:y1, x0:x1].astype(np.float32)
    target = colour.astype(np.float32)
    if noise is not None:
        target = target + noise[y0:y1, x0:x1]
    patch += (alpha * cover)[..., None] * (target - patch)
    _write_patch(canvas, box, patch)


def blend_parts(
    canvas: np.ndarray,
    segments: np.ndarray,
    radii: np.ndarray,
    colours: np.ndarray,
    alphas: np.ndarray,
    noise: np.ndarray | None = None,
) -> None:
    """Paint capsules ``segments [P, 2, 2]`` one over the other (a figure's parts, in order).

    The figure's bounding box is converted to float once; each part touches only its own box.
    """
    box = _bounds(segments, radii, *canvas.shape[:2])
    if box is None:
        return
    x0, x1, y0, y1 = box
    patch = canvas[y0:y1, x0:x1].astype(np.float32)
    noise_patch = noise[y0:y1, x0:x1] if noise is not None else None
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    for segment, r, colour, alpha in zip(segments, radii, colours, alphas, strict=True):
        part = _bounds(segment[None], np.array([r]), *canvas.shape[:2])
        if part is None:
            continue
        px0, px1, py0, py1 = part[0] - x0, part[1] - x0, part[2] - y0, part[3] - y0
        cover = _capsule_cover(xs[:, px0:px1], ys[py0:py1], segment, float(r))
        sub = patch[py0:py1, px0:px1]
        target = colour if noise_patch is None else colour + noise_patch[py0:py1, px0:px1]
        sub += (alpha * cover)[..., None] * (target - sub)
    _write_patch(canvas, box, patch)


def polyline_segments(points: np.ndarray) -> np.ndarray:
    """``[P, 2]`` points -> ``[max(P-1, 1), 2, 2]`` segments (a dot for one point)."""
    if len(points) == 1:
        return np.stack([points, points], axis=1)
    return np.stack([points[:-1], points[1:]], axis=1)
