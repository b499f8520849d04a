"""The reference baseline: a TrackNetV2-style encoder-decoder (``model.type=unet``).

Written from the paper's description (Sun et al., 2020): the T input frames are stacked along the
channels; a VGG-like encoder (conv-BN-ReLU blocks of 64, 128, 256, 512 channels with 2x2 max
pooling between them) and a mirrored decoder with skip connections produce one heatmap per input
frame at the input resolution (3 in / 3 out is TrackNetV2's shape, 8 / 8 is TrackNetV3's). The
logits are resized to ``model.heatmap.size`` when that differs from the input size.

It speaks the same interface as :class:`tracknet.models.TrackNet` (``frames``, ``encode``,
``decode_window``), so training, evaluation, prediction and the benchmarks use it unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tracknet.config import ModelConfig, wh_to_hw


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def _block(c_in: int, c_out: int, n: int) -> nn.Sequential:
    return nn.Sequential(*[_conv(c_in if i == 0 else c_out, c_out) for i in range(n)])


class TrackNetV2UNet(nn.Module):
    """``[B, T, 3, H, W]`` in [0, 1] -> logits ``[B, T, Hh, Wh]`` (H, W multiples of 8)."""

    def __init__(self, frames: int = 3, base: int = 64, out_size: tuple[int, int] | None = None):
        super().__init__()
        self.frames, self.out_size = frames, out_size
        c1, c2, c3, c4 = base, 2 * base, 4 * base, 8 * base
        self.enc1 = _block(3 * frames, c1, 2)
        self.enc2 = _block(c1, c2, 2)
        self.enc3 = _block(c2, c3, 3)
        self.bottom = _block(c3, c4, 3)
        self.dec3 = _block(c4 + c3, c3, 3)
        self.dec2 = _block(c3 + c2, c2, 2)
        self.dec1 = _block(c2 + c1, c1, 2)
        self.out = nn.Conv2d(c1, frames, 1)
        self.model_config: ModelConfig | None = None

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
        if h % 8 or w % 8:
            raise ValueError(f"the baseline needs H and W divisible by 8, got {h}x{w}")
        x = frames.reshape(b, t * 3, h, w)  # [B, T, 3, H, W] -> [B, 3T, H, W]
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        x = self.bottom(F.max_pool2d(e3, 2))
        x = self.dec3(torch.cat([F.interpolate(x, scale_factor=2.0), e3], 1))
        x = self.dec2(torch.cat([F.interpolate(x, scale_factor=2.0), e2], 1))
        x = self.dec1(torch.cat([F.interpolate(x, scale_factor=2.0), e1], 1))
        logits = self.out(x)  # [B, T, H, W]
        if self.out_size is not None and self.model_config is not None:
            # keep the configured input-to-heatmap ratio for any input size (e.g. training crops)
            # (integer arithmetic, round half up: exportable to ONNX with dynamic sizes)
            in_w, in_h = self.model_config.input_size
            size = (
                (2 * h * self.out_size[0] + in_h) // (2 * in_h),
                (2 * w * self.out_size[1] + in_w) // (2 * in_w),
            )
        else:
            size = self.out_size
        if size is not None and tuple(logits.shape[-2:]) != size:
            logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        return logits

    def save_pretrained(self, directory, save_backbone=None):
        from tracknet.models.serialization import save_model

        return save_model(self, directory, save_backbone=False)


def build_unet(m: ModelConfig) -> TrackNetV2UNet:
    model = TrackNetV2UNet(m.frames, m.unet.base_channels, wh_to_hw(m.heatmap.size))
    model.model_config = m
    return model
