"""Fold inference-time BatchNorm into the convolution before it.

In evaluation mode a ``BatchNorm2d`` is a fixed per-channel affine map, so a convolution followed
by one is a single convolution with scaled weights and a bias: one pass over the feature map
instead of two. The decoders and the detail path built with ``norm: bn`` (the fast CPU recipe,
``configs/real_cpu_fast.yaml``) run their high-resolution stages this way in ``tracknet
predict`` (:func:`tracknet.infer.device.prepare_for_inference`). GroupNorm depends on each
input's statistics and cannot be folded; models with ``norm: gn`` are left as they are.

Only for inference: the folded model computes the same function (up to float rounding) but no
longer trains like the original (its norms are gone).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from tracknet.models.blocks import ResidualDepthwiseBlock


def fold_batch_norms(model: nn.Module, keep: Iterable[nn.Module] = ()) -> int:
    """Fold every ``BatchNorm2d`` that directly follows a ``Conv2d`` into it, in place.

    The pairs found: consecutive entries of an ``nn.Sequential`` and the ``spatial`` convolution
    and ``norm`` of a :class:`~tracknet.models.blocks.ResidualDepthwiseBlock`. The norm becomes
    ``nn.Identity``.

    Args:
        model: put in evaluation mode first (a training-mode norm depends on its batch).
        keep: convolutions to leave unfolded (with their norms), e.g. the detail path's first
            convolution, whose weights the cached per-frame stems are computed from.

    Returns:
        How many norms were folded.

    Raises:
        ValueError: the model is in training mode.
    """
    if model.training:
        raise ValueError("fold_batch_norms needs a model in evaluation mode (model.eval())")
    kept = {id(m) for m in keep}
    folded = 0
    for module in list(model.modules()):
        if isinstance(module, nn.Sequential):
            for i in range(len(module) - 1):
                conv, norm = module[i], module[i + 1]
                if _foldable(conv, norm, kept):
                    module[i] = fuse_conv_bn_eval(conv, norm)
                    module[i + 1] = nn.Identity()
                    folded += 1
        elif isinstance(module, ResidualDepthwiseBlock) and _foldable(
            module.spatial, module.norm, kept
        ):
            module.spatial = fuse_conv_bn_eval(module.spatial, module.norm)
            module.norm = nn.Identity()
            folded += 1
    return folded


def _foldable(conv: nn.Module, norm: nn.Module, kept: set[int]) -> bool:
    return (
        isinstance(conv, nn.Conv2d)
        and isinstance(norm, nn.BatchNorm2d)
        and id(conv) not in kept
        and norm.track_running_stats
        and norm.running_mean is not None
        and conv.weight.dtype == torch.float32
    )
