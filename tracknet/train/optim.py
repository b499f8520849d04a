"""The optimiser (AdamW, or TrackNetV2's Adadelta) with its parameter groups, and the warm-up +
cosine schedule."""

from __future__ import annotations

import math

import torch
from torch import nn

from tracknet.config import TrainConfig


def _no_decay(name: str, param: torch.Tensor) -> bool:
    """Biases, norm weights and other 1-D parameters (and embeddings of time) get no decay."""
    return param.ndim <= 1 or name.endswith(".bias") or "time_embed" in name


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """``train.optimizer`` with the backbone at ``lr * backbone_lr_scale``, no decay on norms and
    biases.

    ``adamw`` (betas 0.9, 0.999) by default; ``adadelta`` is TrackNetV2's optimiser (its paper:
    Adadelta, lr 1.0; PyTorch's rho 0.9 and eps 1e-6), with the same groups and schedule.
    """
    groups: dict[tuple[bool, bool], list[torch.Tensor]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        key = (name.startswith("backbone."), _no_decay(name, param))
        groups.setdefault(key, []).append(param)
    param_groups = []
    for (is_backbone, no_decay), params in sorted(groups.items()):
        param_groups.append(
            {
                "params": params,
                "lr": cfg.lr * (cfg.backbone_lr_scale if is_backbone else 1.0),
                "base_lr": cfg.lr * (cfg.backbone_lr_scale if is_backbone else 1.0),
                "weight_decay": 0.0 if no_decay else cfg.weight_decay,
                "name": f"{'backbone' if is_backbone else 'head'}{'-nodecay' if no_decay else ''}",
            }
        )
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(param_groups, rho=0.9, eps=1e-6)
    if cfg.optimizer != "adamw":
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose adamw or adadelta")
    return torch.optim.AdamW(param_groups, betas=(0.9, 0.999))


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to 1, then cosine down to ``min_lr_ratio`` at ``max_steps``."""
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, cfg.max_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def apply_lr(optimizer: torch.optim.Optimizer, step: int, cfg: TrainConfig) -> float:
    """Set every group's lr for optimizer step ``step``; returns the head's (the logged) lr.

    The schedule is a pure function of the step, so resuming needs no scheduler state.
    """
    factor = lr_factor(step, cfg)
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
    return cfg.lr * factor
