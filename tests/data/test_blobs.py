"""Blob finding on heatmaps: connected components against a plain breadth-first search."""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from tracknet.data.blobs import label_components


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
    labels = label_components(torch.from_numpy(masks)).numpy()
    for mask, label in zip(masks, labels, strict=True):
        assert ((label > 0) == mask).all()
        found = [set(zip(*np.nonzero(label == v), strict=True)) for v in np.unique(label[mask])]
        assert sorted(map(sorted, found)) == sorted(map(sorted, _reference_components(mask)))
