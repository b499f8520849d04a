"""Window augmentation: one random draw per window, applied alike to every frame and its label.

Frames arrive already at model-input size (resizing and its coordinate mapping belong to
:class:`tracknet.data.codec.HeatmapCodec`), with labels in model-input pixels.

Conventions:
    * Frames are ``uint8 [T, H, W, 3]`` RGB; labels ``xy`` are ``float [T, 2]`` ``(x, y)`` pixels
      with pixel centres at integer coordinates (the pixel in column ``j`` covers
      ``[j - 0.5, j + 0.5]``), so a horizontal flip maps ``x -> W - 1 - x`` and the image centre
      is ``((W - 1) / 2, (H - 1) / 2)``.
    * The geometric part is ``x' = c + s * (flip(x) - c) + t``: an optional flip, a scale ``s``
      about the centre ``c`` and a shift ``t`` in pixels. Areas the warp brings in from outside
      the picture are black (mirrored padding could invent a second, unlabelled ball).
    * A ball whose transformed centre leaves ``[0, W - 1] x [0, H - 1]`` becomes not visible and
      its ``xy`` is set to ``(0, 0)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracknet.config import AugmentConfig

# ITU-R BT.601 luma weights, as used for grayscale by PIL and torchvision
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class AugmentParams:
    """One draw of the augmentation, shared by all frames of a window.

    Attributes:
        flip: mirror left-right.
        scale: zoom about the image centre (> 1 enlarges).
        shift: ``(tx, ty)`` pixels, applied after the scale.
        brightness, contrast, saturation: colour factors (1 leaves the colour unchanged).
        blur_sigma: Gaussian blur standard deviation in pixels (0: no blur).
    """

    flip: bool = False
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    blur_sigma: float = 0.0

    @property
    def is_geometric_identity(self) -> bool:
        return not self.flip and self.scale == 1.0 and self.shift == (0.0, 0.0)


def sample_params(cfg: AugmentConfig, size: tuple[int, int], rng: np.random.Generator):
    """Draw :class:`AugmentParams` for a window of frames of ``size = (W, H)``."""
    width, height = size
    jitter = float(cfg.color_jitter)

    def factor() -> float:
        return float(rng.uniform(1 - jitter, 1 + jitter)) if jitter > 0 else 1.0

    flip = bool(rng.random() < cfg.hflip)
    scale = float(rng.uniform(cfg.scale[0], cfg.scale[1]))
    shift = (
        float(rng.uniform(-cfg.translate, cfg.translate) * width),
        float(rng.uniform(-cfg.translate, cfg.translate) * height),
    )
    brightness, contrast, saturation = factor(), factor(), factor()
    blur_sigma = float(rng.uniform(0.3, 1.0)) if rng.random() < cfg.blur else 0.0
    return AugmentParams(flip, scale, shift, brightness, contrast, saturation, blur_sigma)


# --------------------------------------------------------------------------- geometry
def transform_points(
    params: AugmentParams, xy: np.ndarray, visible: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Map label points through the geometric part of ``params``.

    Returns:
        ``xy [T, 2]`` (``(0, 0)`` where not visible) and ``visible [T]``, the latter false for
        points whose new centre lies outside the frame.
    """
    width, height = size
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    out = np.asarray(xy, dtype=np.float64).copy()
    if params.flip:
        out[:, 0] = (width - 1) - out[:, 0]
    out = centre + params.scale * (out - centre) + np.asarray(params.shift)
    inside = (
        (out[:, 0] >= 0) & (out[:, 0] <= width - 1) & (out[:, 1] >= 0) & (out[:, 1] <= height - 1)
    )
    visible = np.asarray(visible, dtype=bool) & inside
    out[~visible] = 0.0
    return out, visible


def _axis_taps(
    n_out: int, n_in: int, slope: float, offset: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Linear-interpolation taps for ``source = slope * output_index + offset`` along one axis.

    Returns the two source indices (clipped) and their weights; taps that fall outside the
    input get weight 0, so outside areas come out black.
    """
    source = slope * np.arange(n_out, dtype=np.float64) + offset
    first = np.floor(source).astype(np.int64)
    frac = (source - first).astype(np.float32)
    second = first + 1
    w_first = (1 - frac) * ((first >= 0) & (first < n_in))
    w_second = frac * ((second >= 0) & (second < n_in))
    return np.clip(first, 0, n_in - 1), np.clip(second, 0, n_in - 1), w_first, w_second


def _warp(frames: np.ndarray, params: AugmentParams) -> np.ndarray:
    """Resample ``uint8 [T, H, W, 3]`` through the inverse of the geometric map -> float32.

    Flip, scale and shift keep the axes apart, so the bilinear warp is two one-dimensional
    passes of gathers and weighted sums: columns (gathering the bytes of each row; ``np.take``
    on a 2-D array is several times faster than fancy indexing in 4-D), then whole rows.
    """
    n_frames, height, width, _ = frames.shape
    cx, cy = (width - 1) / 2, (height - 1) / 2
    tx, ty = params.shift
    inv = 1.0 / params.scale
    # inverse of x' = c + s (x - c) + t, then of the flip x -> W - 1 - x
    y_slope, y_offset = inv, cy - (cy + ty) * inv
    x_slope, x_offset = inv, cx - (cx + tx) * inv
    if params.flip:
        x_slope, x_offset = -x_slope, (width - 1) - x_offset
    # columns first, gathering bytes of the uint8 input (4x less memory than float)
    c0, c1, wc0, wc1 = _axis_taps(width, width, x_slope, x_offset)
    flat = frames.reshape(n_frames * height, width * 3)  # [T*H, W*3]: a row of RGB bytes
    cols = _weighted(np.take(flat, _pixel_bytes(c0), axis=1), np.repeat(wc0, 3))
    cols += _weighted(np.take(flat, _pixel_bytes(c1), axis=1), np.repeat(wc1, 3))
    cols = cols.reshape(frames.shape)
    # then rows: whole contiguous rows, cheap to gather
    r0, r1, wr0, wr1 = _axis_taps(height, height, y_slope, y_offset)
    out = _weighted(np.take(cols, r0, axis=1), wr0[None, :, None, None])
    out += _weighted(np.take(cols, r1, axis=1), wr1[None, :, None, None])
    return out


def _weighted(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``float32(values) * weights``, converting first (mixed-type products are slow)."""
    out = values.astype(np.float32, copy=values.dtype != np.float32)
    out *= weights
    return out


def _pixel_bytes(columns: np.ndarray) -> np.ndarray:
    """Column indices -> indices of their R, G, B values in a flattened ``[W*3]`` row."""
    return (columns[:, None] * 3 + np.arange(3)).ravel()


# --------------------------------------------------------------------------- colour and blur
def _jitter_colour(image: np.ndarray, params: AugmentParams) -> np.ndarray:
    """Brightness, contrast and saturation of float ``[T, H, W, 3]`` (in place) as one map.

    ``out = a * rgb + b * grey(rgb) + o``: saturation blends each pixel with its own grey,
    brightness scales, and contrast blends with the window's mean grey (one pivot for all
    frames, so they stay consistent).
    """
    # (small inner dimensions are slow in numpy: strided channel sums and a repeat instead of
    # a [N, 3] @ [3] product or a broadcast over a trailing axis of 3)
    grey = image[..., 0] * _LUMA[0]
    grey += image[..., 1] * _LUMA[1]
    grey += image[..., 2] * _LUMA[2]
    mean_grey = float(grey[:, ::8, ::8].mean())  # a subsample is plenty for the pivot
    gain = params.brightness * params.contrast
    grey *= gain * (1 - params.saturation)
    grey += (1 - params.contrast) * params.brightness * mean_grey
    image *= gain * params.saturation
    image.reshape(-1)[...] += np.repeat(grey.reshape(-1), 3)
    return image


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(2 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of float ``[T, H, W, 3]`` (edges replicated)."""
    n_frames, height, width, _ = image.shape
    kernel = _gaussian_kernel(sigma)
    radius = len(kernel) // 2
    rows = np.arange(height)
    out = image * kernel[radius]
    for k, weight in enumerate(kernel):
        if k != radius:
            taps = np.clip(rows + k - radius, 0, height - 1)
            out += _weighted(np.take(image, taps, axis=1), weight)
    flat = out.reshape(n_frames * height, width * 3)
    cols = np.arange(width)
    result = flat * kernel[radius]
    for k, weight in enumerate(kernel):
        if k != radius:
            taps = _pixel_bytes(np.clip(cols + k - radius, 0, width - 1))
            result += _weighted(np.take(flat, taps, axis=1), weight)
    return result.reshape(image.shape)


def apply_params(
    params: AugmentParams, frames: np.ndarray, xy: np.ndarray, visible: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply one draw to a window: ``uint8 [T, H, W, 3]``, ``[T, 2]``, ``[T]`` -> same shapes."""
    height, width = frames.shape[1:3]
    new_xy, new_visible = transform_points(params, xy, visible, (width, height))
    if params.is_geometric_identity:
        image = frames.astype(np.float32)
    else:
        image = _warp(frames, params)
    colour_changed = (params.brightness, params.contrast, params.saturation) != (1.0, 1.0, 1.0)
    if colour_changed:
        image = _jitter_colour(image, params)
    if params.blur_sigma > 0:
        image = _blur(image, params.blur_sigma)
    image += 0.5
    np.maximum(image, 0, out=image)
    np.minimum(image, 255, out=image)
    return image.astype(np.uint8), new_xy, new_visible


class WindowAugment:
    """Random flip, scale/shift, colour jitter and blur, drawn once per window.

    Args:
        cfg: the ``data.augment`` section (probabilities and ranges).

    Example::

        augment = WindowAugment(cfg.data.augment)
        frames, xy, visible = augment(frames, xy, visible, rng)
    """

    def __init__(self, cfg: AugmentConfig) -> None:
        if len(cfg.scale) != 2 or not 0 < cfg.scale[0] <= cfg.scale[1]:
            raise ValueError(f"augment.scale must be [low, high] with 0 < low <= high: {cfg.scale}")
        self.cfg = cfg

    def __call__(
        self,
        frames: np.ndarray,
        xy: np.ndarray,
        visible: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Augment one window.

        Args:
            frames: ``uint8 [T, H, W, 3]`` at model-input size.
            xy: ``float [T, 2]`` ball centres in input pixels.
            visible: ``bool [T]``.
            rng: the source of the one random draw for this window.

        Returns:
            New ``(frames, xy, visible)``; the inputs themselves when augmentation is disabled.
        """
        if not self.cfg.enabled:
            return frames, xy, visible
        height, width = frames.shape[1:3]
        params = sample_params(self.cfg, (width, height), rng)
        return apply_params(params, frames, xy, visible)
