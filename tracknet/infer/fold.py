"""Fold inference-time affine maps into the convolution before or after them.

:func:`fold_batch_norms`: BatchNorm into the convolution before it. :func:`fold_input_normalisation`:
the input's mean/std normalisation into the ViT's patch embedding.

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
                if (
                    isinstance(conv, nn.Conv2d)
                    and isinstance(norm, nn.BatchNorm2d)
                    and _foldable(conv, norm, kept)
                ):
                    module[i] = fuse_conv_bn_eval(conv, norm)
                    module[i + 1] = nn.Identity()
                    folded += 1
        elif (
            isinstance(module, ResidualDepthwiseBlock)
            and isinstance(module.norm, nn.BatchNorm2d)
            and _foldable(module.spatial, module.norm, kept)
        ):
            module.spatial = fuse_conv_bn_eval(module.spatial, module.norm)
            module.norm = nn.Identity()
            folded += 1
    return folded


def _foldable(conv: nn.Conv2d, norm: nn.BatchNorm2d, kept: set[int]) -> bool:
    return (
        id(conv) not in kept
        and norm.track_running_stats
        and norm.running_mean is not None
        and conv.weight.dtype == torch.float32
    )


def fold_input_normalisation(model: nn.Module) -> bool:
    """Fold the model's input normalisation into its ViT's patch embedding, in place.

    :meth:`tracknet.models.TrackNet.encode` normalises frames in [0, 1] with the backbone's
    mean and std (two passes over every frame at the input size) before the patch embedding, a
    convolution whose kernel equals its stride (no padding): so ``conv((x - mean) / std)`` is
    ``conv'(x)`` with the weights divided by std per input channel and the bias less the
    weights' response to ``mean / std``. Exact up to float rounding; afterwards
    ``model.normalise_input`` is False and ``encode`` hands the frames over as they are.

    Returns:
        Whether it folded (False: not a ViT model, already folded, or an embedding of another
        shape).
    """
    if not getattr(model, "normalise_input", False):
        return False
    conv = _patch_embedding(getattr(model, "backbone", None))
    if conv is None or conv.weight.dtype != torch.float32:
        return False
    mean = model.image_mean.flatten().to(conv.weight)  # type: ignore[union-attr, operator]
    std = model.image_std.flatten().to(conv.weight)  # type: ignore[union-attr, operator]
    with torch.no_grad():
        shift = (conv.weight * (mean / std).view(1, 3, 1, 1)).sum(dim=(1, 2, 3))
        conv.weight.div_(std.view(1, 3, 1, 1))
        if conv.bias is None:
            conv.bias = nn.Parameter(-shift)
        else:
            conv.bias.sub_(shift)
    setattr(model, "normalise_input", False)  # noqa: B010 (an attribute of TrackNet, not Module)
    return True


def _patch_embedding(backbone: nn.Module | None) -> nn.Conv2d | None:
    """The ViT's patch embedding: its one convolution over the 3 colour channels whose kernel
    is its stride, without padding; None when there is no such single convolution."""
    embeddings = getattr(getattr(backbone, "model", None), "embeddings", None)
    if not isinstance(embeddings, nn.Module):
        return None
    convs = [m for m in embeddings.modules() if isinstance(m, nn.Conv2d) and m.in_channels == 3]
    if len(convs) != 1:
        return None
    conv = convs[0]
    if conv.stride != conv.kernel_size or conv.padding not in ((0, 0), 0) or conv.groups != 1:
        return None
    return conv
