"""Upsampling convolutional decoder: patch tokens ``[B, Hp, Wp, C0]`` -> features ``[B, Cn, H, W]``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tracknet.models.blocks import ResidualDepthwiseBlock, make_activation, make_norm


class UpsamplingDecoder(nn.Module):
    """Stages of ``1x1 projection -> upsample -> Residual Depthwise Blocks``.

    Args:
        channels: ``[C0, C1, ..., Cn]``: ``C0`` is the backbone width, ``Ci`` stage i's output.
        upsample: ``[u1, ..., un]``: stage i upsamples by ``ui`` (bilinear); ``len == len(channels)-1``.
        out_size: ``(H, W)`` to interpolate the final features to, or ``None``.
        blocks_per_stage: residual blocks after each projection.
        norm: ``gn`` or ``bn``.
        activation: ``gelu``, ``relu`` or ``silu``.
        use_depthwise: depthwise (else dense) 3x3 convolutions in the blocks.
        use_se: a squeeze-and-excitation in each block, reducing by ``se_reduction``.
        dropout: channel dropout at the end of each block.
        detail_channels: width of optional high-resolution features (the detail path) fused
            after the last stage; ``0`` for none (the spec's model).
    """

    def __init__(
        self,
        channels: Sequence[int],
        upsample: Sequence[int],
        out_size: tuple[int, int] | None = None,
        blocks_per_stage: int = 1,
        norm: str = "gn",
        activation: str = "gelu",
        use_depthwise: bool = True,
        use_se: bool = False,
        se_reduction: int = 8,
        dropout: float = 0.0,
        detail_channels: int = 0,
    ):
        super().__init__()
        channels, upsample = list(channels), list(upsample)
        if len(channels) != len(upsample) + 1:
            raise ValueError(
                f"channels needs len(upsample) + 1 entries (the backbone width, then one per "
                f"stage); got channels={channels} and upsample={upsample}"
            )
        if any(u < 1 for u in upsample) or any(c < 1 for c in channels):
            raise ValueError(f"channels and upsample must be positive; got {channels}, {upsample}")
        if blocks_per_stage < 0:
            raise ValueError(f"blocks_per_stage must be >= 0, got {blocks_per_stage}")
        self.in_channels, self.out_channels = channels[0], channels[-1]
        self.out_size = tuple(out_size) if out_size is not None else None
        block = dict(
            norm=norm,
            activation=activation,
            use_depthwise=use_depthwise,
            use_se=use_se,
            se_reduction=se_reduction,
            dropout=dropout,
        )
        self.upsample = upsample
        self.stages = nn.ModuleList()
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
            proj = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, bias=False),
                make_norm(norm, c_out),
                make_activation(activation),
            )
            blocks = [ResidualDepthwiseBlock(c_out, **block) for _ in range(blocks_per_stage)]
            self.stages.append(nn.ModuleDict({"proj": proj, "blocks": nn.Sequential(*blocks)}))
        self.detail_channels = detail_channels
        if detail_channels:
            c = self.out_channels
            self.detail_fuse = nn.Sequential(
                nn.Conv2d(c + detail_channels, c, 1, bias=False),
                make_norm(norm, c),
                make_activation(activation),
                ResidualDepthwiseBlock(c, **block),
            )

    def forward(
        self,
        tokens: torch.Tensor,
        detail: torch.Tensor | None = None,
        out_size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Args:
            tokens: ``[B, Hp, Wp, C0]`` channels-last patch grid, as the backbone returns it.
            detail: ``[B, Cd, H', W']`` high-resolution features (only with ``detail_channels``).
            out_size: ``(H, W)`` for this call instead of the constructor's (e.g. training crops).

        Returns:
            ``[B, Cn, H, W]`` with ``(H, W) = out_size`` or ``(Hp, Wp)`` times the upsampling.
        """
        if tokens.ndim != 4 or tokens.shape[-1] != self.in_channels:
            raise ValueError(
                f"expected channels-last tokens [B, Hp, Wp, {self.in_channels}], "
                f"got shape {tuple(tokens.shape)}"
            )
        x = tokens.permute(0, 3, 1, 2)  # [B, Hp, Wp, C] -> [B, C, Hp, Wp]
        for stage, factor in zip(self.stages, self.upsample, strict=True):
            x = stage["proj"](x)
            if factor > 1:
                x = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
            x = stage["blocks"](x)
        if self.detail_channels:
            if detail is None:
                raise ValueError("this decoder was built with detail_channels; pass detail=")
            if detail.shape[-2:] != x.shape[-2:]:
                detail = F.interpolate(
                    detail, size=x.shape[-2:], mode="bilinear", align_corners=False
                )
            x = self.detail_fuse(torch.cat([x, detail], dim=1))
        size = tuple(out_size) if out_size is not None else self.out_size
        if size is not None and tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x
