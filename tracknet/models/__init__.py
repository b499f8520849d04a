"""Models: the spec's ViT backbone, upsampling decoder and heatmap head, and their assembly."""

from tracknet.models.backbones.vit_backbone import ViTBackbone, ViTBackboneConfig
from tracknet.models.decoders.upsampling_decoder import UpsamplingDecoder
from tracknet.models.heads.heatmap_head import HeatmapHead
from tracknet.models.tracknet import TrackNet, build_model

__all__ = [
    "HeatmapHead",
    "TrackNet",
    "UpsamplingDecoder",
    "ViTBackbone",
    "ViTBackboneConfig",
    "build_model",
]
