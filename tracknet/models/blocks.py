"""Building blocks shared by the decoders and the detail path."""

from __future__ import annotations

import torch
from torch import nn


class GELU(nn.GELU):
    """``nn.GELU`` that runs channels-last feature maps through the dense elementwise kernel.

    PyTorch's CPU GELU takes a slower path for a 4-D tensor in channels-last memory (in bf16
    about half the speed of the same values laid out contiguously); viewing the tensor as the
    contiguous ``[N, H, W, C]`` it is in memory gives the same values at full speed.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.ndim == 4
            and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last)
        ):
            return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return super().forward(x)


ACTIVATIONS = {"gelu": GELU, "relu": nn.ReLU, "silu": nn.SiLU}
NORMS = ("gn", "bn")
GN_GROUPS = 8


def make_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}")
    return ACTIVATIONS[name]()


def make_norm(name: str, channels: int) -> nn.Module:
    """``gn`` (GroupNorm with 8 groups) or ``bn`` (BatchNorm2d)."""
    if name == "gn":
        if channels % GN_GROUPS:
            raise ValueError(
                f"norm='gn' uses {GN_GROUPS} groups, so every channel count must be a multiple "
                f"of {GN_GROUPS}; got {channels} (use a multiple of {GN_GROUPS} or norm='bn')"
            )
        return nn.GroupNorm(GN_GROUPS, channels)
    if name == "bn":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"norm must be one of {', '.join(NORMS)}; got {name!r}")


class SqueezeExcite(nn.Module):
    """Channel re-weighting from globally pooled features (Hu et al., 2018)."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return x * self.gate(x)


class ResidualDepthwiseBlock(nn.Module):
    """``x + Pointwise(Act(Norm(Depthwise3x3(x))))``, optionally with SE and dropout.

    With ``use_depthwise=False`` the 3x3 spatial convolution is a full (dense) one.
    """

    def __init__(
        self,
        channels: int,
        norm: str = "gn",
        activation: str = "gelu",
        use_depthwise: bool = True,
        use_se: bool = False,
        se_reduction: int = 8,
        dropout: float = 0.0,
    ):
        super().__init__()
        groups = channels if use_depthwise else 1
        self.spatial = nn.Conv2d(channels, channels, 3, padding=1, groups=groups, bias=False)
        self.norm = make_norm(norm, channels)
        self.act = make_activation(activation)
        self.pointwise = nn.Conv2d(channels, channels, 1)
        self.se = SqueezeExcite(channels, se_reduction) if use_se else nn.Identity()
        self.drop = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x):
        y = self.pointwise(self.act(self.norm(self.spatial(x))))
        return x + self.drop(self.se(y))
