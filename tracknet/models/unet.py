"""The reference baseline: a TrackNetV2-style encoder-decoder (``model.type=unet``).

Written from the paper's description (Sun et al., 2020): the T input frames are stacked along the
channels; a VGG-like encoder (conv-BN-ReLU blocks of 64, 128, 256, 512 channels with 2x2 max
pooling between them) and a mirrored decoder with skip connections produce one heatmap per input
frame at the input resolution (3 in / 3 out is TrackNetV2's shape, 8 / 8 is TrackNetV3's). The
logits are resized to ``model.heatmap.size`` when that differs from the input size.

It speaks the same interface as :class:`tracknet.models.TrackNet`
(:class:`~tracknet.models.protocol.WindowModel`: ``frames``, ``encode``, ``decode_window``), so
training, evaluation, prediction and the benchmarks use it unchanged.
:func:`tracknet.models.factory.build_model` builds it for ``model.type=unet``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tracknet.config import ModelConfig
from tracknet.data.codec import heatmap_size_for_input

ORDERS = ("conv_bn_relu", "conv_relu_bn")


def _conv(c_in: int, c_out: int, order: str) -> nn.Sequential:
    if order == "conv_relu_bn":  # TrackNetV2's own layer: biased conv, ReLU, then batch norm
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(c_out),
        )
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def _block(c_in: int, c_out: int, n: int, order: str) -> nn.Sequential:
    return nn.Sequential(*[_conv(c_in if i == 0 else c_out, c_out, order) for i in range(n)])


class TrackNetV2UNet(nn.Module):
    """``[B, T, 3, H, W]`` in [0, 1] -> logits ``[B, T, Hh, Wh]`` (H, W multiples of 8).

    Args:
        frames: ``T``, the frames of a window (in and out).
        base: the channels of the first encoder block (64 in the paper).
        out_size: the configured heatmap ``(H, W)``; ``None``: the input's own size.
        input_hw: the configured input ``(H, W)``: with ``out_size``, another input size gets a
            heatmap of the same ratio; ``None``: ``out_size`` for every input.
        config: the configuration the model was built from, kept for saving it (not read here).
        order: ``"conv_bn_relu"`` or ``"conv_relu_bn"`` (TrackNetV2's: biased convolution,
            ReLU, then batch norm).
    """

    size_multiple: int = 8  # three 2x2 poolings
    frames: int
    config: ModelConfig | None
    out_size: tuple[int, int] | None
    input_hw: tuple[int, int] | None

    def __init__(
        self,
        frames: int = 3,
        base: int = 64,
        out_size: tuple[int, int] | None = None,
        *,
        input_hw: tuple[int, int] | None = None,
        config: ModelConfig | None = None,
        order: str = "conv_bn_relu",
    ):
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        self.frames = frames
        self.out_size = (out_size[0], out_size[1]) if out_size is not None else None
        self.input_hw = (input_hw[0], input_hw[1]) if input_hw is not None else None
        self.config = config
        c1, c2, c3, c4 = base, 2 * base, 4 * base, 8 * base
        self.enc1 = _block(3 * frames, c1, 2, order)
        self.enc2 = _block(c1, c2, 2, order)
        self.enc3 = _block(c2, c3, 3, order)
        self.bottom = _block(c3, c4, 3, order)
        self.dec3 = _block(c4 + c3, c3, 3, order)
        self.dec2 = _block(c3 + c2, c2, 2, order)
        self.dec1 = _block(c2 + c1, c1, 2, order)
        self.out = nn.Conv2d(c1, frames, 1)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """No per-frame features to cache: the "tokens" of a frame are the frame itself."""
        return images

    def decode_window(self, tokens, frames=None, background=None, select: int | None = None):
        logits = self.forward(tokens)
        return logits if select is None else logits[:, select : select + 1]

    def forward(self, frames: torch.Tensor, background: torch.Tensor | None = None) -> torch.Tensor:
        if frames.ndim == 4:
            frames = frames.unsqueeze(1)
        b, t, _, h, w = frames.shape
        if t != self.frames:
            raise ValueError(f"this model takes windows of {self.frames} frames, got {t}")
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(f"the baseline needs H and W divisible by {m}, got {h}x{w}")
        x = frames.reshape(b, t * 3, h, w)  # [B, T, 3, H, W] -> [B, 3T, H, W]
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        x = self.bottom(F.max_pool2d(e3, 2))
        x = self.dec3(torch.cat([F.interpolate(x, scale_factor=2.0), e3], 1))
        x = self.dec2(torch.cat([F.interpolate(x, scale_factor=2.0), e2], 1))
        x = self.dec1(torch.cat([F.interpolate(x, scale_factor=2.0), e1], 1))
        logits = self.out(x)  # [B, T, H, W]
        size: tuple[int, int] | None
        if self.out_size is not None and self.input_hw is not None:
            # keep the configured input-to-heatmap ratio for any input size (e.g. training crops)
            size = heatmap_size_for_input((h, w), self.input_hw, self.out_size)
        else:
            size = self.out_size
        if size is not None and tuple(logits.shape[-2:]) != size:
            logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        return logits
