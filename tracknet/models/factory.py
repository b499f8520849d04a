"""Build the model a configuration describes: ``model.type`` ``vit`` (:class:`TrackNet`) or
``unet`` (:class:`TrackNetV2UNet`).

The one place where a :class:`~tracknet.config.ModelConfig` becomes modules: it checks what only
the loaded backbone can tell (the input size against the patch size, the decoder's first width
against the backbone's), converts the ``[W, H]`` sizes of the configuration to ``(H, W)``, and
hands the models their geometry and their configuration as constructor arguments.
:mod:`tracknet.models.serialization` rebuilds saved models through :func:`build_model`.
"""

from __future__ import annotations

from torch import nn

from tracknet.config import Config, ConfigError, ModelConfig, wh_to_hw
from tracknet.models.backbones.vit_backbone import ViTBackbone, ViTBackboneConfig
from tracknet.models.decoders.upsampling_decoder import UpsamplingDecoder
from tracknet.models.heads.heatmap_head import HeatmapHead
from tracknet.models.temporal import DetailPath, build_temporal_fusion
from tracknet.models.tracknet import TrackNet
from tracknet.models.unet import TrackNetV2UNet


def build_model(
    cfg: Config | ModelConfig, backbone_module: nn.Module | None = None
) -> TrackNet | TrackNetV2UNet:
    """Build the model a configuration describes (``model.type`` ``vit`` or ``unet``).

    Args:
        cfg: the whole configuration or its ``model`` section.
        backbone_module: an already built Hugging Face ViT to use instead of loading one
            (used when restoring a checkpoint that carries the backbone weights).
    """
    m = cfg.model if isinstance(cfg, Config) else cfg
    if m.type == "unet":
        return build_unet(m)
    return build_tracknet(m, backbone_module)


def build_unet(m: ModelConfig) -> TrackNetV2UNet:
    """The TrackNetV2-style baseline of ``model.unet``."""
    return TrackNetV2UNet(
        m.frames,
        m.unet.base_channels,
        wh_to_hw(m.heatmap.size),
        input_hw=wh_to_hw(m.input_size),
        config=m,
        order=m.unet.order,
    )


def build_tracknet(m: ModelConfig, backbone_module: nn.Module | None = None) -> TrackNet:
    """The ViT model: backbone, temporal fusion, detail path, decoder and head of ``m``."""
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
    heatmap_hw = wh_to_hw(m.heatmap.size)
    decoder = UpsamplingDecoder(
        channels=d.channels,
        upsample=d.upsample,
        out_size=heatmap_hw,
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
    return TrackNet(
        backbone,
        decoder,
        HeatmapHead(d.channels[-1]),
        m.frames,
        temporal,
        detail,
        input_hw=(in_h, in_w),
        heatmap_hw=heatmap_hw,
        config=m,
    )
