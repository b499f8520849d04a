"""Models: the spec's ViT backbone, upsampling decoder and heatmap head, and their assembly.

:func:`build_model` (:mod:`tracknet.models.factory`) builds what a configuration describes;
:class:`WindowModel` (:mod:`tracknet.models.protocol`) is the interface every model speaks;
:mod:`tracknet.models.serialization` saves and loads models (``save_model`` / ``load_model``).
"""

from tracknet.models.backbones.vit_backbone import ViTBackbone, ViTBackboneConfig
from tracknet.models.decoders.upsampling_decoder import UpsamplingDecoder
from tracknet.models.factory import build_model
from tracknet.models.heads.heatmap_head import HeatmapHead
from tracknet.models.protocol import WindowModel
from tracknet.models.tracknet import TrackNet
from tracknet.models.unet import TrackNetV2UNet

__all__ = [
    "HeatmapHead",
    "TrackNet",
    "TrackNetV2UNet",
    "UpsamplingDecoder",
    "ViTBackbone",
    "ViTBackboneConfig",
    "WindowModel",
    "build_model",
]
