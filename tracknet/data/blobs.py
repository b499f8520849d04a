"""Blobs of heatmaps: the connected groups of pixels above a threshold, found in batches.

:func:`blob_candidates` finds, for each heatmap of a batch ``[N, H, W]`` of logits, the ``K``
blobs (8-connected components of the pixels whose probability exceeds the threshold) of largest
summed probability ("mass"), with their peak probability and their sub-pixel centre in HEATMAP
pixels. Everything runs as tensor operations on the heatmaps' device, without Python loops over
pixels, and on the foreground pixels only (:func:`component_roots`): a batch of heatmaps with one
small blob each costs little more than the threshold. :meth:`tracknet.data.codec.HeatmapCodec.decode` maps the
centres to input or frame pixels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# Decoding packs a quantised probability and a pixel index into one int64 to find each blob's peak
# pixel with a single scatter: 2**20 probability levels are far finer than any threshold needs.
_PROB_LEVELS_BITS = 20


def component_roots(pixels: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The 8-connected components of a sparse set of foreground pixels, without Python loops
    over pixels.

    Args:
        pixels: ``int64 [m]``, SORTED linear indices ``image * H * W + y * W + x`` of the
            foreground pixels of a batch of ``H x W`` masks (what ``mask.flatten().nonzero()``
            gives).

    Returns:
        ``int64 [m]``: for each pixel, the position in ``pixels`` of the first pixel of its
        component (its root; a root holds its own position).

    The pixels of a row run start as one tree, rooted at the run's first pixel. A pixel is
    linked to the pixel below it, and diagonally below only where no pixel beside or below it
    makes the same connection already. Then, each round, the two roots of every link that joins
    two trees are hooked, the larger under the smaller, the trees are flattened (pointer
    jumping) and links inside one tree are dropped, until no link is left. The work grows with
    the number of foreground pixels, not with the size of the masks; the rounds stay few even
    for long winding blobs, as every round at least halves the trees of a chain of runs.
    (``index_select`` throughout: twice as fast as indexing with a tensor on the CPU.)
    """
    m = pixels.numel()
    position = torch.arange(m, device=pixels.device)
    if m == 0:
        return position
    y, x = torch.div(pixels % (h * w), w, rounding_mode="floor"), pixels % w
    # position of each foreground pixel in ``pixels``, -1 on the background (and past the end)
    where = torch.full((int(pixels[-1]) + w + 2,), -1, dtype=torch.int64, device=pixels.device)
    where[pixels] = position

    def neighbour(dy: int, dx: int) -> torch.Tensor:  # its position, -1: background or outside
        inside = (y + dy < h) & (x + dx >= 0) & (x + dx < w)
        found = where.index_select(0, (pixels + (dy * w + dx)).clamp_(min=0))
        return torch.where(inside, found, -1)

    left, right, below = neighbour(0, -1), neighbour(0, 1), neighbour(1, 0)
    starts = torch.where(left < 0, position, 0)  # a run starts where its left is background
    parent = torch.cummax(starts, 0).values  # every pixel under its run's first pixel
    first, second = [], []
    for found, needed in (
        (below, below >= 0),
        (neighbour(1, -1), (below < 0) & (left < 0)),
        (neighbour(1, 1), (below < 0) & (right < 0)),
    ):
        linked = ((found >= 0) & needed).nonzero().squeeze(1)
        first.append(linked)
        second.append(found.index_select(0, linked))
    a, b = torch.cat(first), torch.cat(second)
    while True:
        ra, rb = parent.index_select(0, a), parent.index_select(0, b)  # flat: roots
        apart = (ra != rb).nonzero().squeeze(1)
        if not apart.numel():
            break
        if apart.numel() < a.numel():
            a, b, ra, rb = (t.index_select(0, apart) for t in (a, b, ra, rb))
        parent.scatter_reduce_(0, torch.maximum(ra, rb), torch.minimum(ra, rb), reduce="amin")
        while True:  # flatten: every pixel points at its root
            grand = parent.index_select(0, parent)
            if torch.equal(grand, parent):
                break
            parent = grand
    return parent


def blob_candidates(logits: torch.Tensor, threshold: float, top_k: int) -> dict[str, torch.Tensor]:
    """The ``top_k`` blobs of largest mass of each heatmap ``[N, H, W]``.

    Returns ``{"xy": [N, K, 2] heatmap px, "mass": [N, K], "peak": [N, K]}`` (zeros where missing),
    in decreasing order of mass (ties: the blob whose first pixel comes first).
    """
    n, h, w = logits.shape
    hw = h * w
    device = logits.device
    flat_logits = logits.reshape(n, hw)
    mask = flat_logits > math.log(threshold / (1.0 - threshold))  # sigmoid(z) > threshold
    pixels = mask.reshape(-1).nonzero().squeeze(1)  # sorted: image by image, row by row
    k = min(top_k, hw)
    if pixels.numel() == 0:  # nothing anywhere (common between rallies): skip the work
        zeros = torch.zeros(n, top_k, device=device)
        return {"xy": torch.zeros(n, top_k, 2, device=device), "mass": zeros, "peak": zeros}
    roots = component_roots(pixels, h, w)
    # number the blobs 0 .. B-1 in the order of their first pixels
    is_root = roots == torch.arange(roots.numel(), device=device)
    blob = (torch.cumsum(is_root, 0) - 1)[roots]
    blobs = int(is_root.sum())
    image, pixel = torch.div(pixels, hw, rounding_mode="floor"), pixels % hw
    prob = torch.sigmoid(logits.reshape(-1)[pixels])
    px, py = (pixel % w).float(), torch.div(pixel, w, rounding_mode="floor").float()

    def per_blob(values: torch.Tensor, reduce: str = "sum") -> torch.Tensor:  # [B]
        out = torch.zeros(blobs, device=device, dtype=values.dtype)
        return out.scatter_reduce_(0, blob, values, reduce=reduce)

    mass, sum_x, sum_y = per_blob(prob), per_blob(prob * px), per_blob(prob * py)
    # Peak pixel of each blob: amax over (quantised probability, pixel index) packed in an int64.
    index_bits = max(1, math.ceil(math.log2(hw)))
    quantised = torch.round(prob * (2**_PROB_LEVELS_BITS - 1)).long()
    peak_key = per_blob((quantised << index_bits) | pixel, reduce="amax")
    touch_x = per_blob(((px == 0) | (px == w - 1)).float(), reduce="amax") > 0
    touch_y = per_blob(((py == 0) | (py == h - 1)).float(), reduce="amax") > 0

    # Rank the blobs of each image by mass (stable sorts: ties keep the order of first pixels)
    # and keep the first k of each, at [image, rank] of the [N, k] outputs.
    blob_image = image[is_root]
    order = torch.sort(mass, descending=True, stable=True).indices
    order = order[torch.sort(blob_image[order], stable=True).indices]
    first_of_image = torch.searchsorted(blob_image[order], blob_image[order], right=False)
    rank = torch.arange(blobs, device=device) - first_of_image
    kept = rank < k
    order, slot = order[kept], blob_image[order][kept] * k + rank[kept]

    def place(values: torch.Tensor) -> torch.Tensor:  # [B] -> [N, k], 0 where missing
        out = torch.zeros(n * k, device=device, dtype=values.dtype)
        return out.index_copy_(0, slot, values[order]).view(n, k)

    top_mass = place(mass)
    safe_mass = top_mass.clamp(min=1e-12)
    cx, cy = place(sum_x) / safe_mass, place(sum_y) / safe_mass
    key = place(peak_key)
    peak_index = key & ((1 << index_bits) - 1)
    peak = (key >> index_bits).float() / (2**_PROB_LEVELS_BITS - 1)
    peak_x = (peak_index % w).float()
    peak_y = torch.div(peak_index, w, rounding_mode="floor").float()
    fit_x, fits_x = _parabola_vertex(flat_logits, peak_x, peak_y, w, h, axis=0)
    fit_y, fits_y = _parabola_vertex(flat_logits, peak_x, peak_y, w, h, axis=1)
    cx = torch.where(place(touch_x) & fits_x, fit_x, cx)
    cy = torch.where(place(touch_y) & fits_y, fit_y, cy)
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
