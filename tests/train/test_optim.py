"""AdamW parameter groups (backbone lr scale, no decay on 1-D parameters) and the lr schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tracknet.config import TrainConfig
from tracknet.train.optim import apply_lr, build_optimizer, lr_factor


class Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 6)
        self.norm = nn.LayerNorm(6)
        self.frozen = nn.Linear(6, 6)
        self.frozen.requires_grad_(False)


class Toy(nn.Module):
    """Names as in TrackNet: ``backbone.*`` and head parameters, a 2-D ``time_embed``."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone()
        self.head = nn.Conv2d(6, 1, 3)
        self.time_embed = nn.Parameter(torch.zeros(3, 6))
        self.scale = nn.Parameter(torch.ones(1))


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"lr": 1e-3, "backbone_lr_scale": 0.1, "weight_decay": 0.05, **kw})


def test_groups_split_backbone_and_head_and_decay():
    model, cfg = Toy(), _cfg()
    opt = build_optimizer(model, cfg)
    assert isinstance(opt, torch.optim.AdamW)
    assert opt.defaults["betas"] == (0.9, 0.999)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = {g["name"]: g for g in opt.param_groups}
    members = {name: sorted(names[id(p)] for p in g["params"]) for name, g in groups.items()}
    assert members == {
        "head": ["head.weight"],
        "head-nodecay": ["head.bias", "scale", "time_embed"],
        "backbone": ["backbone.proj.weight"],
        "backbone-nodecay": ["backbone.norm.bias", "backbone.norm.weight", "backbone.proj.bias"],
    }
    # the sorted order of (is_backbone, no_decay): the head first, decayed groups first
    assert [g["name"] for g in opt.param_groups] == list(members)
    for name, group in groups.items():
        lr = 1e-3 * (0.1 if name.startswith("backbone") else 1.0)
        assert group["lr"] == pytest.approx(lr) and group["base_lr"] == pytest.approx(lr)
        assert group["weight_decay"] == (0.0 if name.endswith("nodecay") else 0.05)


def test_frozen_parameters_are_left_out():
    model = Toy()
    opt = build_optimizer(model, _cfg())
    in_optimizer = {id(p) for g in opt.param_groups for p in g["params"]}
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert in_optimizer == trainable
    assert not any(id(p) in in_optimizer for p in model.backbone.frozen.parameters())
    assert sum(len(g["params"]) for g in opt.param_groups) == len(trainable)


def test_a_group_with_no_parameter_is_not_made():
    model = nn.Sequential(nn.Linear(2, 2))
    opt = build_optimizer(model, _cfg())
    assert [g["name"] for g in opt.param_groups] == ["head", "head-nodecay"]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, 0.1),  # warm-up: (step + 1) / warmup_steps
        (4, 0.5),
        (9, 1.0),
        (10, 1.0),  # cosine starts at its top
        (60, 0.1 + 0.9 * 0.5),  # half way down
        (85, 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.75))),
        (110, 0.1),  # max_steps: min_lr_ratio
        (500, 0.1),  # beyond: stays there
    ],
)
def test_warmup_then_cosine(step, expected):
    cfg = _cfg(warmup_steps=10, max_steps=110, min_lr_ratio=0.1)
    assert lr_factor(step, cfg) == pytest.approx(expected, abs=1e-12)


def test_no_warmup_starts_at_the_full_rate():
    cfg = _cfg(warmup_steps=0, max_steps=100, min_lr_ratio=0.0)
    assert lr_factor(0, cfg) == 1.0
    assert lr_factor(50, cfg) == pytest.approx(0.5)
    assert lr_factor(100, cfg) == pytest.approx(0.0)


def test_schedule_is_monotone_after_warmup():
    cfg = _cfg(warmup_steps=5, max_steps=50, min_lr_ratio=0.01)
    values = [lr_factor(s, cfg) for s in range(60)]
    assert all(a < b for a, b in zip(values[:5], values[1:5], strict=False))
    assert all(a >= b for a, b in zip(values[5:], values[6:], strict=False))


def test_apply_lr_sets_every_group_and_returns_the_head_rate():
    model = Toy()
    cfg = _cfg(warmup_steps=4, max_steps=20, min_lr_ratio=0.1)
    opt = build_optimizer(model, cfg)
    for step in (0, 2, 7, 19):
        factor = lr_factor(step, cfg)
        assert apply_lr(opt, step, cfg) == pytest.approx(1e-3 * factor)
        for group in opt.param_groups:
            scale = 0.1 if group["name"].startswith("backbone") else 1.0
            assert group["lr"] == pytest.approx(1e-3 * scale * factor)
            assert group["base_lr"] == pytest.approx(1e-3 * scale), "base rates never change"


def test_adadelta_is_trackv2s_optimiser_with_the_same_groups():
    model = Toy()
    adamw = build_optimizer(model, _cfg())
    opt = build_optimizer(model, _cfg(optimizer="adadelta", lr=1.0, weight_decay=0.0))
    assert isinstance(opt, torch.optim.Adadelta) and isinstance(adamw, torch.optim.AdamW)
    assert [g["name"] for g in opt.param_groups] == [g["name"] for g in adamw.param_groups]
    assert {g["base_lr"] for g in opt.param_groups} == {1.0, 0.1}
    before = model.head.weight.detach().clone()
    model.head.weight.sum().backward()
    opt.step()
    assert not torch.equal(before, model.head.weight)
    apply_lr(opt, 0, _cfg(optimizer="adadelta", lr=1.0, warmup_steps=0, min_lr_ratio=1.0))
    assert opt.param_groups[-1]["lr"] in (1.0, 0.1)
    with pytest.raises(ValueError, match="optimizer"):
        build_optimizer(model, _cfg(optimizer="sgd"))
