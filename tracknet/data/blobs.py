"""Blobs of heatmaps: the connected groups of pixels above a threshold, found in batches.

:func:`blob_candidates` finds, for each heatmap of a batch ``[N, H, W]`` of logits, the ``K``
blobs (8-connected components of the pixels whose probability exceeds the threshold) of largest
summed probability ("mass"), with their peak probability and their sub-pixel centre in HEATMAP
pixels. Everything runs as tensor operations on the heatmaps' device, without Python loops over
pixels (:func:`label_components`). :meth:`tracknet.data.codec.HeatmapCodec.decode` maps the
centres to input or frame pixels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# Decoding packs a quantised probability and a pixel index into one int64 to find each blob's peak
# pixel with a single scatter: 2**20 probability levels are far finer than any threshold needs.
_PROB_LEVELS_BITS = 20


def _max3x3(x: torch.Tensor) -> torch.Tensor:
    """3x3 maximum filter of ``[N, H, W]`` (zero padding), as two separable 1-D maxima.

    Much faster than ``max_pool2d`` on the CPU; values must be >= 0 for the zero padding.
    """
    xp = F.pad(x, (1, 1, 1, 1))
    rows = torch.maximum(torch.maximum(xp[..., :-2], xp[..., 1:-1]), xp[..., 2:])
    return torch.maximum(torch.maximum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def label_components(mask: torch.Tensor) -> torch.Tensor:
    """Label the 8-connected components of boolean masks ``[N, H, W]``, without Python pixel loops.

    Every foreground pixel starts with its own label (its linear index + 1). Each round, labels
    spread to the 8 neighbours (a 3x3 maximum kept inside the mask), then each pixel takes the
    label held by the pixel its label names (pointer jumping: long blobs converge in few rounds).
    At the fixed point every pixel of a component holds the component's largest index + 1.

    Returns:
        ``int64 [N, H, W]``: 0 on the background, a per-image component id (``1 .. H*W``) elsewhere.
    """
    n, h, w = mask.shape
    if h * w >= 2**24:  # labels are carried in float32: exact integers below 2**24
        raise ValueError(f"heatmaps of {h}x{w} pixels are too large to label")
    if not bool(mask.any()):
        return torch.zeros(mask.shape, dtype=torch.int64, device=mask.device)
    inside = mask.float()  # multiplying by it is much cheaper than torch.where on the CPU
    ids = torch.arange(1, h * w + 1, device=mask.device, dtype=torch.float32).view(1, h, w)
    labels = ids * inside
    for _ in range(h * w):  # never reached: a component converges in ~log(diameter) rounds
        grown = (_max3x3(labels) * inside).view(n, h * w)
        # Label L names pixel L - 1, found at L in the grid shifted by a leading 0 (background).
        pointed = F.pad(grown, (1, 0)).gather(1, grown.long())
        grown = torch.maximum(grown, pointed).view(n, h, w)
        if torch.equal(grown, labels):
            break
        labels = grown
    return labels.long()


def blob_candidates(logits: torch.Tensor, threshold: float, top_k: int) -> dict[str, torch.Tensor]:
    """The ``top_k`` blobs of largest mass of each heatmap ``[N, H, W]``.

    Returns ``{"xy": [N, K, 2] heatmap px, "mass": [N, K], "peak": [N, K]}`` (zeros where missing).
    """
    n, h, w = logits.shape
    device = logits.device
    flat_logits = logits.reshape(n, h * w)
    mask = flat_logits > math.log(threshold / (1.0 - threshold))  # sigmoid(z) > threshold
    if not bool(mask.any()):  # nothing anywhere (common between rallies): skip the work
        zeros = torch.zeros(n, top_k, device=device)
        return {"xy": torch.zeros(n, top_k, 2, device=device), "mass": zeros, "peak": zeros}
    labels = label_components(mask.view(n, h, w)).view(n, h * w)
    # Per-blob sums over the foreground pixels only: each blob owns slot image * (H*W+1) + label.
    image, pixel = mask.nonzero(as_tuple=True)
    slot = image * (h * w + 1) + labels[image, pixel]
    prob = torch.sigmoid(flat_logits[image, pixel])
    px, py = (pixel % w).float(), torch.div(pixel, w, rounding_mode="floor").float()

    def per_blob(values: torch.Tensor, reduce: str = "sum") -> torch.Tensor:  # [N, H*W + 1]
        out = torch.zeros(n * (h * w + 1), device=device, dtype=values.dtype)
        return out.scatter_reduce_(0, slot, values, reduce=reduce).view(n, h * w + 1)

    mass, sum_x, sum_y = per_blob(prob), per_blob(prob * px), per_blob(prob * py)
    # Peak pixel of each blob: amax over (quantised probability, pixel index) packed in an int64.
    index_bits = max(1, math.ceil(math.log2(h * w)))
    quantised = torch.round(prob * (2**_PROB_LEVELS_BITS - 1)).long()
    peak_key = per_blob((quantised << index_bits) | pixel, reduce="amax")
    touch_x = per_blob(((px == 0) | (px == w - 1)).float(), reduce="amax")
    touch_y = per_blob(((py == 0) | (py == h - 1)).float(), reduce="amax")

    k = min(top_k, h * w + 1)
    top_mass, top_slot = mass.topk(k, dim=1)  # [N, K]; missing blobs have mass 0
    safe_mass = top_mass.clamp(min=1e-12)
    cx, cy = sum_x.gather(1, top_slot) / safe_mass, sum_y.gather(1, top_slot) / safe_mass
    key = peak_key.gather(1, top_slot)
    peak_index = key & ((1 << index_bits) - 1)
    peak = (key >> index_bits).float() / (2**_PROB_LEVELS_BITS - 1)
    peak_x = (peak_index % w).float()
    peak_y = torch.div(peak_index, w, rounding_mode="floor").float()
    fit_x, fits_x = _parabola_vertex(flat_logits, peak_x, peak_y, w, h, axis=0)
    fit_y, fits_y = _parabola_vertex(flat_logits, peak_x, peak_y, w, h, axis=1)
    cx = torch.where((touch_x.gather(1, top_slot) > 0) & fits_x, fit_x, cx)
    cy = torch.where((touch_y.gather(1, top_slot) > 0) & fits_y, fit_y, cy)
    present = top_mass > 0
    if k < top_k:  # fewer pixels than requested candidates: pad with missing ones
        pad = (0, top_k - k)
        cx, cy, top_mass, peak = (
            F.pad(cx, pad),
            F.pad(cy, pad),
            F.pad(top_mass, pad),
            F.pad(peak, pad),
        )
        present = F.pad(present, pad)
    zero = torch.zeros_like(cx)
    return {
        "xy": torch.stack([torch.where(present, cx, zero), torch.where(present, cy, zero)], -1),
        "mass": torch.where(present, top_mass, zero),
        "peak": torch.where(present, peak, zero),
    }


def _parabola_vertex(
    flat_logits: torch.Tensor, px: torch.Tensor, py: torch.Tensor, w: int, h: int, axis: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sub-pixel peak along one axis: vertex of the parabola through 3 log-probabilities.

    The three pixels are the peak ``(px, py)`` and its two neighbours along ``axis`` (0: x, 1: y),
    shifted inwards at the border. The vertex is kept within one pixel of the peak.

    Returns:
        The vertex, and where it is valid (False where the samples are not concave, e.g. a flat
        plateau, or the axis is shorter than 3 pixels).
    """
    size = w if axis == 0 else h
    peak = px if axis == 0 else py
    if size < 3:
        return peak, torch.zeros_like(peak, dtype=torch.bool)
    centre = peak.clamp(1, size - 2)
    samples = []
    for step in (-1.0, 0.0, 1.0):
        x, y = (centre + step, py) if axis == 0 else (px, centre + step)
        samples.append(F.logsigmoid(flat_logits.gather(1, (y * w + x).long())))
    before, middle, after = samples
    curvature = before - 2.0 * middle + after
    concave = curvature < -1e-9
    offset = 0.5 * (before - after) / torch.where(concave, curvature, -torch.ones_like(curvature))
    vertex = (centre + offset).clamp(peak - 1.0, peak + 1.0).clamp(-0.5, size - 0.5)
    # infinite logits (a saturated model) give inf - inf: keep the centroid there
    return vertex, concave & torch.isfinite(vertex)
