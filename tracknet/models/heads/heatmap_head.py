"""Heatmap head: features ``[B, C, H, W]`` -> logits ``[B, 1, H, W]``."""

from __future__ import annotations

import math

import torch
from torch import nn

from tracknet.models.blocks import GELU

# Initial probability of "ball" at every pixel: a bias of logit(0.01) keeps the first steps of a
# focal or BCE loss from being swamped by the ~99.9% background pixels (as in RetinaNet).
PRIOR_PROBABILITY = 0.01


class HeatmapHead(nn.Module):
    """A 3x3 conv, GELU and a 1x1 conv to one logit channel (the sigmoid is the loss's business)."""

    def __init__(self, in_channels: int):
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be positive, got {in_channels}")
        self.in_channels = in_channels
        self.conv = nn.Conv2d(in_channels, in_channels, 3, padding=1)
        self.act = GELU()  # nn.GELU, fast on channels-last maps
        self.out = nn.Conv2d(in_channels, 1, 1)
        assert self.out.bias is not None  # nn.Conv2d's default bias=True
        nn.init.constant_(self.out.bias, -math.log((1 - PRIOR_PROBABILITY) / PRIOR_PROBABILITY))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 4 or features.shape[1] != self.in_channels:
            raise ValueError(
                f"expected features [B, {self.in_channels}, H, W], got shape {tuple(features.shape)}"
            )
        return self.out(self.act(self.conv(features)))  # [B, 1, H, W]
