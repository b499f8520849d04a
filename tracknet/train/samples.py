"""Training samples: a sampler key becomes one window, augmented and cropped by its own draws.

:class:`~tracknet.train.sampler.ResumableBatchSampler` yields keys ``epoch * N + i``;
:class:`KeyedWindows` turns key ``(epoch, i)`` into window ``i`` with a generator seeded by
``(seed, epoch, i)``, so a sample (its augmentation and its crop) is the same whatever the worker
count, the ranks or a resume point. :func:`crop_window` cuts the training crop.

Item conventions are those of :class:`tracknet.data.dataset.ClipWindowDataset`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch.utils.data import Dataset

from tracknet.train.sampler import split_key


class KeyedWindows(Dataset):
    """Maps sampler keys ``epoch * N + i`` to window ``i`` with a random draw seeded by
    ``(seed, epoch, i)``: reproducible across worker counts, ranks and resumes.

    With ``crop=(W, H)`` each window is cut to a random crop of that size (the same for all its
    frames), placed over the ball with probability ``ball_prob``: training on crops is several
    times cheaper, and the fully convolutional decoder and the ViT run on whole frames later.

    Args:
        windows: a dataset with ``get(index, rng)`` (a :class:`ClipWindowDataset`).
        seed: the run's seed.
        crop: ``(W, H)`` of the training crop in input pixels; None: whole frames.
        ball_prob: how often a crop is placed over the ball.
        stride: input pixels per heatmap pixel (:attr:`HeatmapCodec.stride`).
    """

    def __init__(self, windows, seed: int, crop=None, ball_prob: float = 0.8, stride: int = 1):
        self.windows, self.seed = windows, seed
        self.crop, self.ball_prob, self.stride = crop, ball_prob, stride

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, key: int) -> dict[str, Any]:
        epoch, index = split_key(key, len(self.windows))
        rng = np.random.default_rng([self.seed, epoch, index])
        item = self.windows.get(index, rng)
        return crop_window(item, self.crop, rng, self.ball_prob, self.stride) if self.crop else item


def crop_window(
    item: dict[str, Any], crop, rng: np.random.Generator, ball_prob: float, stride: int
) -> dict[str, Any]:
    """Cut frames ``[T, 3, H, W]``, heatmaps ``[T, Hh, Wh]`` (and a background ``[3, H, W]``) to
    the same random crop.

    With probability ``ball_prob`` (when some frame shows the ball) the crop is placed so that
    the ball of one visible frame, drawn at random, lies 15-85 % of the way across it (clipped
    to the frame); otherwise it is uniform over the frame. ``stride`` is the input/heatmap
    ratio: crop offsets are multiples of it so the heatmap crop is exact. Balls outside the crop
    become not visible for this sample. A crop larger than the frame leaves the item whole.
    """
    cw, ch = crop
    _, _, h, w = item["frames"].shape
    if cw > w or ch > h:
        return item
    visible = item["visible"].numpy()
    if visible.any() and rng.random() < ball_prob:
        t = rng.choice(np.flatnonzero(visible))
        bx, by = item["xy_input"][t].tolist()
        x0 = int(np.clip(bx - rng.uniform(0.15, 0.85) * cw, 0, w - cw))
        y0 = int(np.clip(by - rng.uniform(0.15, 0.85) * ch, 0, h - ch))
    else:
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    x0, y0 = x0 // stride * stride, y0 // stride * stride
    out = dict(item)
    out["frames"] = item["frames"][:, :, y0 : y0 + ch, x0 : x0 + cw]
    if "background" in item:
        out["background"] = item["background"][:, y0 : y0 + ch, x0 : x0 + cw]
    hx, hy = x0 // stride, y0 // stride
    out["heatmaps"] = item["heatmaps"][:, hy : hy + ch // stride, hx : hx + cw // stride]
    xy = item["xy_input"]
    inside = (
        (xy[:, 0] >= x0) & (xy[:, 0] <= x0 + cw - 1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y0 + ch - 1)
    )
    out["visible"] = item["visible"] & inside
    return out
