"""Heatmap losses on logits: BCE, TrackNetV2's weighted BCE (mean or sum) and CenterNet's focal
loss.

Conventions: ``logits`` and ``target`` have the same shape, e.g. ``[B, T, H, W]`` (any shape
works); ``target`` holds values in ``[0, 1]`` (a Gaussian or a disk per visible ball, all zeros for
a frame without ball). Every loss returns a scalar tensor.

All losses are computed in float32 from ``logits`` through ``F.logsigmoid``:
``log p = logsigmoid(z)`` and ``log(1 - p) = logsigmoid(-z)``, so nothing overflows or NaNs even
at logits of +-1e4, and gradients stay finite. No probability is ever clamped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

LOSS_KINDS = ("focal", "bce", "wbce", "wbce_sum")

# A target pixel at least this close to 1 is a positive (a ball centre) for the focal loss.
POSITIVE_THRESHOLD = 1.0 - 1e-4


def _as_float(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if logits.shape != target.shape:
        raise ValueError(
            f"logits and target must have the same shape, got {tuple(logits.shape)} "
            f"and {tuple(target.shape)}"
        )
    # Mixed precision: the loss itself is always float32.
    return logits.float(), target.to(device=logits.device, dtype=torch.float32)


def bce(logits: torch.Tensor, target: torch.Tensor, pos_weight: float = 1.0) -> torch.Tensor:
    """Binary cross-entropy with logits, averaged over every element.

    ``-(pos_weight * y * log p + (1 - y) * log(1 - p))``: ``pos_weight`` multiplies the target
    term, which counters how rare ball pixels are.
    """
    z, y = _as_float(logits, target)
    per_pixel = -(pos_weight * y * F.logsigmoid(z) + (1.0 - y) * F.logsigmoid(-z))
    return per_pixel.mean()


def wbce(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """TrackNetV2's weighted binary cross-entropy, averaged (or summed) over every element.

    The paper's loss is ``-sum((1 - p)^2 * y * log p + p^2 * (1 - y) * log(1 - p))``: each term is
    weighted by how wrong the prediction is (a focal loss with gamma 2). ``reduction="mean"``
    takes the mean over pixels, as the TrackNetV3 code does, so its size does not depend on the
    heatmap size or batch size; ``"sum"`` is TrackNetV2's own (the sum over every pixel of the
    batch), whose large gradients its Adadelta optimiser expects (``train.loss=wbce_sum``).
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    z, y = _as_float(logits, target)
    log_p, log_not_p = F.logsigmoid(z), F.logsigmoid(-z)
    # p^2 = exp(2 log p): exact in the tails where 1 - sigmoid(z) would round to 0.
    p_sq, not_p_sq = torch.exp(2.0 * log_p), torch.exp(2.0 * log_not_p)
    per_pixel = -(not_p_sq * y * log_p + p_sq * (1.0 - y) * log_not_p)
    return per_pixel.sum() if reduction == "sum" else per_pixel.mean()


def focal(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0
) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss for Gaussian heatmap targets.

    Positives are the peak pixel of each heatmap that has a ball (its value within 1e-4 of the
    heatmap's maximum): the codec centres its Gaussian at the sub-pixel ball position, so the peak
    pixel is below 1 unless the ball sits exactly on a pixel centre. Positive term:
    ``-(1 - p)^alpha * log p``. Every other pixel is a negative, down-weighted near a centre:
    ``-(1 - y)^beta * p^alpha * log(1 - p)``. The sum over the whole batch is divided by the
    number of positives in the batch, clamped to at least 1, so frames without a ball (all-zero
    targets) contribute negatives only and a batch without any ball is still defined.
    """
    z, y = _as_float(logits, target)
    log_p, log_not_p = F.logsigmoid(z), F.logsigmoid(-z)
    peak = y.amax(dim=(-2, -1), keepdim=True)  # per heatmap
    positive = (y >= peak * POSITIVE_THRESHOLD) & (peak > 0)
    pos_term = torch.exp(alpha * log_not_p) * log_p  # (1 - p)^alpha * log p
    # Clamped so a target a hair above 1 cannot give NaN (which would leak into the gradient).
    neg_term = torch.pow((1.0 - y).clamp(min=0.0), beta) * torch.exp(alpha * log_p) * log_not_p
    total = torch.where(positive, pos_term, neg_term).sum()
    num_pos = positive.sum().clamp(min=1).to(total.dtype)
    return -total / num_pos


def heatmap_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    kind: str = "focal",
    pos_weight: float = 1.0,
    alpha: float = 2.0,
    beta: float = 4.0,
) -> torch.Tensor:
    """The training loss chosen by ``train.loss``.

    Args:
        logits: raw model outputs, any shape (e.g. ``[B, T, H, W]``).
        target: target heatmaps of the same shape, values in ``[0, 1]``.
        kind: ``"focal"``, ``"bce"``, ``"wbce"`` or ``"wbce_sum"`` (TrackNetV2's sum).
        pos_weight: weight of the positive term, for ``"bce"`` only.
        alpha: focal exponent on the prediction, for ``"focal"`` only.
        beta: focal exponent on ``1 - target`` for negatives, for ``"focal"`` only.

    Returns:
        A float32 scalar tensor.

    Raises:
        ValueError: an unknown ``kind`` or mismatched shapes.
    """
    if kind == "focal":
        return focal(logits, target, alpha=alpha, beta=beta)
    if kind == "bce":
        return bce(logits, target, pos_weight=pos_weight)
    if kind == "wbce":
        return wbce(logits, target)
    if kind == "wbce_sum":
        return wbce(logits, target, reduction="sum")
    raise ValueError(f"unknown loss kind {kind!r}; choose one of {', '.join(LOSS_KINDS)}")


def configured_loss(train: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``loss(logits, target)``: :func:`heatmap_loss` with the settings of ``train`` (a
    :class:`~tracknet.config.TrainConfig`: ``loss``, ``pos_weight``, ``focal_alpha``,
    ``focal_beta``)."""
    return functools.partial(
        heatmap_loss,
        kind=train.loss,
        pos_weight=train.pos_weight,
        alpha=train.focal_alpha,
        beta=train.focal_beta,
    )
