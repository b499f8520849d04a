"""The assembled model: ViT backbone + (temporal fusion) + upsampling decoder + heatmap head.

``TrackNet`` takes frames scaled to ``[0, 1]``, normalises them with the backbone's mean/std and
returns heatmap logits at ``model.heatmap.size``:

- ``[B, 3, H, W]``    -> ``[B, 1, Hh, Wh]`` (one frame, the spec's model), or
- ``[B, T, 3, H, W]`` -> ``[B, T, Hh, Wh]`` (one heatmap per input frame).

For streaming, :meth:`TrackNet.encode` (per-frame backbone tokens) and :meth:`TrackNet.decode_window`
(fusion + decoder + head on a window of cached tokens) can be called separately, so every frame
goes through the backbone once however many windows it belongs to.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from tracknet.config import Config, ConfigError, ModelConfig, wh_to_hw
from tracknet.models.backbones.vit_backbone import ViTBackbone, ViTBackboneConfig
from tracknet.models.decoders.upsampling_decoder import UpsamplingDecoder
from tracknet.models.heads.heatmap_head import HeatmapHead
from tracknet.models.temporal import DetailPath, build_temporal_fusion


class TrackNet(nn.Module):
    """Backbone, optional temporal fusion and detail path, decoder and head."""

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
    ):
        super().__init__()
        self.backbone, self.decoder, self.head = backbone, decoder, head
        self.frames = frames
        self.temporal = temporal
        self.detail = detail
        mean = image_mean or getattr(backbone, "image_mean", (0.485, 0.456, 0.406))
        std = image_std or getattr(backbone, "image_std", (0.229, 0.224, 0.225))
        self.register_buffer("image_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("image_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.model_config: ModelConfig | None = None  # set by build_model

    # ------------------------------------------------------------------ pieces
    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """``[N, 3, H, W]`` in [0, 1] -> normalised with the backbone's mean/std."""
        return (images - self.image_mean) / self.image_std

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Backbone tokens of single frames: ``[N, 3, H, W]`` in [0, 1] -> ``[N, Hp, Wp, C]``."""
        return self.backbone(self.normalize(images))

    def decode_window(
        self,
        tokens: torch.Tensor,
        frames: torch.Tensor | None = None,
        background: torch.Tensor | None = None,
        select: int | None = None,
    ) -> torch.Tensor:
        """Heatmap logits of windows from their cached tokens.

        Args:
            tokens: ``[B, T, Hp, Wp, C]`` backbone tokens of each frame of the windows.
            frames: ``[B, T, 3, H, W]`` the frames in [0, 1] (needed only by the detail path).
            background: ``[B, 3, H, W]`` in [0, 1], optional input of the detail path.
            select: decode only frame ``select`` of each window (it still sees all T frames
                through the temporal fusion and the detail path's differences).

        Returns:
            ``[B, T, Hh, Wh]`` logits, or ``[B, 1, Hh, Wh]`` with ``select``.
        """
        b, t = tokens.shape[:2]
        if self.temporal is not None:
            tokens = self.temporal(tokens, select=select)  # [B, T or 1, Hp, Wp, C]
        elif select is not None:
            tokens = tokens[:, select : select + 1]  # [B, 1, Hp, Wp, C]
        detail = None
        if self.detail is not None:
            if frames is None:
                raise ValueError("this model has a detail path: decode_window needs frames=")
            # the path normalises what it uses itself (one pass, not one per window frame)
            detail = self.detail(frames, background, select, self.image_mean, self.image_std)
        features = self.decoder(tokens.flatten(0, 1), detail, self.heatmap_size_for(tokens))
        logits = self.head(features)  # [B*T', 1, Hh, Wh]
        return logits.reshape(b, -1, *logits.shape[-2:])

    def heatmap_size_for(self, tokens: torch.Tensor) -> tuple[int, int] | None:
        """Heatmap ``(H, W)`` for the input whose tokens these are (``[..., Hp, Wp, C]``).

        The configured input gives the configured heatmap size; another input size (a training
        crop, a user's other resolution) keeps the same input-to-heatmap ratio.
        """
        if self.model_config is None:
            return None
        in_h, in_w = wh_to_hw(self.model_config.input_size)
        hm_h, hm_w = wh_to_hw(self.model_config.heatmap.size)
        p = self.backbone.patch_size
        h, w = tokens.shape[-3] * p, tokens.shape[-2] * p
        return round(h * hm_h / in_h), round(w * hm_w / in_w)

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

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, directory: str | Path, save_backbone: bool | None = None) -> Path:
        """Write ``model.safetensors`` + ``model.json`` (see :mod:`tracknet.models.serialization`)."""
        from tracknet.models.serialization import save_model

        return save_model(self, directory, save_backbone=save_backbone)

    @classmethod
    def from_pretrained(cls, directory: str | Path, device_map: str | None = None) -> TrackNet:
        """Rebuild a model saved by :meth:`save_pretrained` (a run folder or its ``best/``)."""
        from tracknet.models.serialization import load_model

        return load_model(directory, device_map=device_map)


def build_model(cfg: Config | ModelConfig, backbone_module: nn.Module | None = None) -> nn.Module:
    """Build the model a configuration describes (``model.type`` ``vit`` or ``unet``).

    Args:
        cfg: the whole configuration or its ``model`` section.
        backbone_module: an already built Hugging Face ViT to use instead of loading one
            (used when restoring a checkpoint that carries the backbone weights).
    """
    m = cfg.model if isinstance(cfg, Config) else cfg
    if m.type == "unet":
        from tracknet.models.unet import build_unet

        return build_unet(m)
    bcfg = ViTBackboneConfig(
        pretrained_model_name=m.pretrained_model_name,
        device_map=m.backbone.device_map,
        local_files_only=m.backbone.local_files_only,
        patch_size=m.backbone.patch_size,
        freeze=m.backbone.freeze,
    )
    backbone = ViTBackbone(bcfg, model=backbone_module)
    in_h, in_w = wh_to_hw(m.input_size)
    p = backbone.patch_size
    if in_h % p or in_w % p:
        raise ConfigError(
            f"model.input_size={list(m.input_size)} ([W, H]) is not a multiple of the patch "
            f"size {p}; use e.g. [{-(-in_w // p) * p}, {-(-in_h // p) * p}]"
        )
    d = m.decoder
    if d.channels[0] != backbone.hidden_size:
        raise ConfigError(
            f"model.decoder.channels[0]={d.channels[0]} must equal the backbone width "
            f"{backbone.hidden_size} of '{m.pretrained_model_name}'"
        )
    detail = None
    if m.detail.enabled:
        detail = DetailPath(
            m.detail.channels,
            m.detail.scale,
            m.detail.use_diff,
            m.detail.background,
            d.norm,
            d.activation,
        )
    decoder = UpsamplingDecoder(
        channels=d.channels,
        upsample=d.upsample,
        out_size=wh_to_hw(m.heatmap.size),
        blocks_per_stage=d.blocks_per_stage,
        norm=d.norm,
        activation=d.activation,
        use_depthwise=d.use_depthwise,
        use_se=d.use_se,
        se_reduction=d.se_reduction,
        dropout=d.dropout,
        detail_channels=detail.out_channels if detail is not None else 0,
    )
    temporal = build_temporal_fusion(
        m.temporal.fusion, backbone.hidden_size, m.frames, m.temporal.layers, m.temporal.heads
    )
    model = TrackNet(backbone, decoder, HeatmapHead(d.channels[-1]), m.frames, temporal, detail)
    model.model_config = m
    return model
