"""Blob finding on heatmaps: connected components and blob statistics against a plain
breadth-first search."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import torch

from tracknet.data.blobs import blob_candidates, component_roots


def label_components(mask: torch.Tensor) -> torch.Tensor:
    """``int64 [N, H, W]`` from boolean masks ``[N, H, W]``: 0 on the background, elsewhere the
    linear index + 1 of the first pixel of the pixel's 8-connected component (its root)."""
    n, h, w = mask.shape
    pixels = mask.reshape(-1).nonzero().squeeze(1)
    roots = component_roots(pixels, h, w)
    labels = torch.zeros(n * h * w, dtype=torch.int64)
    labels[pixels] = pixels[roots] % (h * w) + 1
    return labels.view(n, h, w)


def _reference_components(mask: np.ndarray) -> list[set]:
    """8-connected components by breadth-first search (slow, obviously right)."""
    seen = np.zeros_like(mask)
    components = []
    h, w = mask.shape
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        queue, blob = deque([start]), set()
        seen[start] = True
        while queue:
            y, x = queue.popleft()
            blob.add((y, x))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        components.append(blob)
    return components


def test_label_components_matches_breadth_first_search():
    rng = np.random.default_rng(3)
    masks = rng.random((6, 20, 30)) > 0.55
    snake = np.zeros((20, 30), bool)  # one long winding blob: many propagation rounds
    snake[1::4, 1:29] = True
    snake[1:19, 28] = True
    masks[0] = snake
    yy, xx = np.mgrid[0:20, 0:30]
    masks[1] = (yy + xx) % 2 == 0  # a checkerboard: joined through corners only
    masks[2] = rng.random((20, 30)) > 0.15  # dense
    masks[3] = ((yy + xx) % 2 == 0) & (rng.random((20, 30)) > 0.3) | (xx % 7 == 3)
    labels = label_components(torch.from_numpy(masks)).numpy()
    for mask, label in zip(masks, labels, strict=True):
        assert ((label > 0) == mask).all()
        found = [set(zip(*np.nonzero(label == v), strict=True)) for v in np.unique(label[mask])]
        assert sorted(map(sorted, found)) == sorted(map(sorted, _reference_components(mask)))
    for mask, label in zip(masks, labels, strict=True):  # each id: its first pixel's index + 1
        for v in np.unique(label[mask]):
            assert np.flatnonzero(label == v)[0] + 1 == v


def test_blob_candidates_match_a_pixel_by_pixel_reference():
    """Mass, peak, centroid and order of the blobs against breadth-first search on each heatmap
    (centroids of blobs that touch the border are refined by a parabola and left out)."""
    rng = np.random.default_rng(5)
    logits = rng.normal(-1.0, 2.0, (5, 18, 26)).astype(np.float32)
    logits[3] = -9.0  # a heatmap without any blob
    k = 4
    found = blob_candidates(torch.from_numpy(logits), 0.5, k)
    for i, heat in enumerate(logits):
        prob = 1.0 / (1.0 + np.exp(-heat.astype(np.float64)))
        blobs = []
        for blob in _reference_components(prob > 0.5):
            ys, xs = np.array(sorted(blob)).T
            p = prob[ys, xs]
            border = (xs.min() == 0) | (xs.max() == 25) | (ys.min() == 0) | (ys.max() == 17)
            centre = None if border else ((p * xs).sum() / p.sum(), (p * ys).sum() / p.sum())
            blobs.append((p.sum(), p.max(), centre))
        blobs.sort(key=lambda b: -b[0])
        mass = found["mass"][i].numpy()
        assert np.count_nonzero(mass) == min(k, len(blobs))
        for j, (m, peak, centre) in enumerate(blobs[:k]):
            assert mass[j] == pytest.approx(m, rel=1e-5)
            assert found["peak"][i, j].item() == pytest.approx(peak, abs=1e-5)
            if centre is not None:
                np.testing.assert_allclose(found["xy"][i, j].numpy(), centre, atol=1e-4)
        assert (mass[len(blobs) :] == 0).all() and (found["xy"][i, len(blobs) :] == 0).all()
    assert found["mass"][3].sum() == 0
