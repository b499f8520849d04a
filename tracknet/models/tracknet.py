"""The assembled model: ViT backbone + (temporal fusion) + upsampling decoder + heatmap head.

``TrackNet`` takes frames scaled to ``[0, 1]``, normalises them with the backbone's mean/std and
returns heatmap logits at ``model.heatmap.size``:

- ``[B, 3, H, W]``    -> ``[B, 1, Hh, Wh]`` (one frame, the spec's model), or
- ``[B, T, 3, H, W]`` -> ``[B, T, Hh, Wh]`` (one heatmap per input frame).

For streaming, :meth:`TrackNet.encode` (per-frame backbone tokens) and :meth:`TrackNet.decode_window`
(fusion + decoder + head on a window of cached tokens) can be called separately, so every frame
goes through the backbone once however many windows it belongs to (the
:class:`~tracknet.models.protocol.WindowModel` interface).

:func:`tracknet.models.factory.build_model` assembles it from a configuration;
:mod:`tracknet.models.serialization` saves and loads it (the module itself reads no files).
"""

from __future__ import annotations

import torch
from torch import nn

from tracknet.config import ModelConfig
from tracknet.constants import IMAGENET_MEAN, IMAGENET_STD
from tracknet.data.codec import heatmap_size_for_input
from tracknet.models.backbones.vit_backbone import ViTBackbone
from tracknet.models.decoders.upsampling_decoder import UpsamplingDecoder
from tracknet.models.heads.heatmap_head import HeatmapHead
from tracknet.models.temporal import DetailPath


class TrackNet(nn.Module):
    """Backbone, optional temporal fusion and detail path, decoder and head.

    Args:
        frames: ``T``, the frames of a window.
        image_mean, image_std: the normalisation (default: the backbone's).
        input_hw, heatmap_hw: the configured input and heatmap sizes ``(H, W)``: an input of
            another size (a training crop, a user's resolution) gets a heatmap of the same ratio.
            ``None``: the decoder's ``out_size`` for every input.
        config: the configuration the model was built from, kept for saving it (not read here).
    """

    frames: int
    config: ModelConfig | None
    input_hw: tuple[int, int] | None
    heatmap_hw: tuple[int, int] | None
    image_mean: torch.Tensor  # buffers [1, 3, 1, 1]
    image_std: torch.Tensor
    normalise_input: bool = True
    """Whether :meth:`encode` normalises its frames; False once the normalisation is folded
    into the backbone's patch embedding for inference
    (:func:`tracknet.infer.fold.fold_input_normalisation`)."""

    def __init__(
        self,
        backbone: ViTBackbone,
        decoder: UpsamplingDecoder,
        head: HeatmapHead,
        frames: int = 1,
        temporal: nn.Module | None = None,
        detail: DetailPath | None = None,
        image_mean: tuple[float, ...] | None = None,
        image_std: tuple[float, ...] | None = None,
        *,
        input_hw: tuple[int, int] | None = None,
        heatmap_hw: tuple[int, int] | None = None,
        config: ModelConfig | None = None,
    ):
        super().__init__()
        self.backbone, self.decoder, self.head = backbone, decoder, head
        self.frames = frames
        self.temporal = temporal
        self.detail = detail
        mean = image_mean or getattr(backbone, "image_mean", IMAGENET_MEAN)
        std = image_std or getattr(backbone, "image_std", IMAGENET_STD)
        self.register_buffer("image_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("image_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.input_hw = (input_hw[0], input_hw[1]) if input_hw is not None else None
        self.heatmap_hw = (heatmap_hw[0], heatmap_hw[1]) if heatmap_hw is not None else None
        self.config = config

    @property
    def size_multiple(self) -> int:
        """H and W of an input must be multiples of the backbone's patch size."""
        return self.backbone.patch_size

    # ------------------------------------------------------------------ pieces
    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """``[N, 3, H, W]`` in [0, 1] -> normalised with the backbone's mean/std."""
        return (images - self.image_mean) / self.image_std

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Backbone tokens of single frames: ``[N, 3, H, W]`` in [0, 1] -> ``[N, Hp, Wp, C]``."""
        return self.backbone(self.normalize(images) if self.normalise_input else images)

    def decode_window(
        self,
        tokens: torch.Tensor,
        frames: torch.Tensor | None = None,
        background: torch.Tensor | None = None,
        select: int | None = None,
        *,
        stems: torch.Tensor | None = None,
        background_stem: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Heatmap logits of windows from their cached tokens.

        Args:
            tokens: ``[B, T, Hp, Wp, C]`` backbone tokens of each frame of the windows.
            frames: ``[B, T, 3, H, W]`` the frames in [0, 1] (needed only by the detail path).
            background: ``[B, 3, H, W]`` in [0, 1], optional input of the detail path.
            select: decode only frame ``select`` of each window (it still sees all T frames
                through the temporal fusion and the detail path's differences).
            stems, background_stem: instead of ``frames`` and ``background``, the detail path's
                cached per-frame stems ``[B, T, ...]`` (:meth:`detail_stem`) and the stream's
                background stem (:meth:`detail_background_stem`).

        Returns:
            ``[B, T, Hh, Wh]`` logits, or ``[B, 1, Hh, Wh]`` with ``select``.
        """
        b, t = tokens.shape[:2]
        if self.temporal is not None:
            tokens = self.temporal(tokens, select=select)  # [B, T or 1, Hp, Wp, C]
        elif select is not None:
            tokens = tokens[:, select : select + 1]  # [B, 1, Hp, Wp, C]
        detail = None
        if self.detail is not None and stems is not None:
            detail = self.detail.from_stems(stems, background_stem, select)
        elif self.detail is not None:
            if frames is None:
                raise ValueError("this model has a detail path: decode_window needs frames=")
            # the path normalises what it uses itself (one pass, not one per window frame)
            detail = self.detail(frames, background, select, self.image_mean, self.image_std)
        features = self.decoder(tokens.flatten(0, 1), detail, self.heatmap_size_for(tokens))
        logits = self.head(features)  # [B*T', 1, Hh, Wh]
        return logits.reshape(b, -1, *logits.shape[-2:])

    def detail_stem(self, images: torch.Tensor) -> torch.Tensor | None:
        """The detail path's per-frame stem of ``[N, 3, H, W]`` in [0, 1], for
        :meth:`decode_window`'s ``stems`` (``None``: the model has no detail path)."""
        if self.detail is None:
            return None
        return self.detail.stem(images, self.image_mean, self.image_std)

    def detail_background_stem(self, background: torch.Tensor) -> torch.Tensor | None:
        """The detail path's stem of a stream's background ``[1, 3, H, W]`` in [0, 1]
        (``None``: no detail path, or one without a background)."""
        if self.detail is None:
            return None
        return self.detail.background_stem(background, self.image_mean, self.image_std)

    def heatmap_size_for(self, tokens: torch.Tensor) -> tuple[int, int] | None:
        """Heatmap ``(H, W)`` for the input whose tokens these are (``[..., Hp, Wp, C]``).

        The configured input gives the configured heatmap size; another input size keeps the same
        input-to-heatmap ratio (:func:`tracknet.data.codec.heatmap_size_for_input`, integer
        arithmetic, so an ONNX export keeps it for dynamic sizes). ``None`` without a configured
        geometry: the decoder's own ``out_size``.
        """
        if self.input_hw is None or self.heatmap_hw is None:
            return None
        p = self.backbone.patch_size
        input_hw = (tokens.shape[-3] * p, tokens.shape[-2] * p)
        return heatmap_size_for_input(input_hw, self.input_hw, self.heatmap_hw)

    # ------------------------------------------------------------------ forward
    def forward(self, frames: torch.Tensor, background: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, 3, H, W]`` -> ``[B, 1, Hh, Wh]``; ``[B, T, 3, H, W]`` -> ``[B, T, Hh, Wh]``."""
        if frames.ndim == 4:
            frames = frames.unsqueeze(1)  # [B, 3, H, W] -> [B, 1, 3, H, W]
        if frames.ndim != 5:
            raise ValueError(
                f"expected frames [B, 3, H, W] or [B, T, 3, H, W], got shape {tuple(frames.shape)}"
            )
        b, t = frames.shape[:2]
        if t != self.frames:
            raise ValueError(f"this model takes windows of {self.frames} frames, got {t}")
        tokens = self.encode(frames.flatten(0, 1)).unflatten(0, (b, t))  # [B, T, Hp, Wp, C]
        return self.decode_window(tokens, frames, background)
