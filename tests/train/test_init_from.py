"""Fine-tuning (``train.init_from``): the first step continues the source run exactly; weights
that do not fit are listed key by key and refused, or left at their initialisation when
``train.init_strict=false``; ``--resume`` wins; a frozen backbone taken from a fine-tuned one is
saved with the run."""

from __future__ import annotations

import logging

import pytest
import torch

import tracknet.train.losses as losses
from tracknet.errors import CheckpointError
from tracknet.models import build_model
from tracknet.models.serialization import load_model, resolve_weights
from tracknet.train import trainer as trainer_module
from tracknet.train.hooks import Hook
from tracknet.train.init_from import init_from
from tracknet.train.trainer import Trainer

# A frozen DINOv3 stays in eval(), so a train-mode forward pass draws no random numbers (no
# RoPE jitter): the same weights on the same batch give bitwise the same loss.
FROZEN = "model.backbone.freeze=true"


@pytest.fixture
def source(tiny_cfg, tmp_path):
    """A tiny run trained 3 steps (its best/ written at the step-3 validation)."""
    return Trainer(tiny_cfg(FROZEN, "train.max_steps=3", run_dir=tmp_path / "source")).fit()


class LossSpy(Hook):
    """Every training loss of the trainers it is given to, in order."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def after_batch(self, trainer, batch) -> None:
        self.seen.append(batch.loss.item())


def _loss(model, batch, cfg) -> float:
    t = cfg.train
    with torch.no_grad():
        logits = model(batch["frames"])
    return losses.heatmap_loss(
        logits.float(),
        batch["heatmaps"],
        kind=t.loss,
        pos_weight=t.pos_weight,
        alpha=t.focal_alpha,
        beta=t.focal_beta,
    ).item()


def test_first_step_loss_is_the_source_runs_loss_on_that_batch(source, tiny_cfg, tmp_path):
    cfg = tiny_cfg(FROZEN, f"train.init_from={source}", "train.max_steps=1", run_dir=tmp_path / "b")
    spy = LossSpy()
    tuned = Trainer(cfg, hooks=[spy])
    batch = next(iter(tuned.train_loader))  # batch 0: the order is a function of (seed, step)
    reference = load_model(resolve_weights(source))  # a run folder means its best/
    reference.train()  # the trainer's mode
    expected = _loss(reference, batch, cfg)

    tuned.fit()
    assert spy.seen[0] == expected  # bitwise: the same weights, batch and mode
    assert tuned.step == 1

    fresh = Trainer(tiny_cfg(FROZEN, "train.max_steps=1", run_dir=tmp_path / "fresh"), hooks=[spy])
    fresh.fit()
    assert spy.seen[1] != expected, "from scratch, the first loss differs: the weights mattered"


def test_weights_come_from_best_or_last_and_the_optimizer_starts_fresh(source, tiny_cfg, tmp_path):
    for path in (source / "last", source / "best", source):
        model = build_model(tiny_cfg(FROZEN))
        report = init_from(model, path)
        assert report.fits and report.source == resolve_weights(path)
        saved = load_model(report.source).state_dict()
        own = model.state_dict()
        assert all(torch.equal(own[k], saved[k]) for k in report.loaded)
        assert all(not k.startswith("backbone.") for k in report.loaded)  # frozen: not saved
    trainer = Trainer(
        tiny_cfg(FROZEN, f"train.init_from={source / 'last'}", run_dir=tmp_path / "b")
    )
    assert trainer.step == 0 and not trainer.optimizer.state_dict()["state"]
    with pytest.raises(CheckpointError, match="does not exist"):
        init_from(build_model(tiny_cfg(FROZEN)), tmp_path / "nowhere")


@pytest.mark.parametrize(
    "change",
    [
        "model.decoder.channels=[32,16,16]",  # the last stage and the head change shape
        "model.frames=3",  # temporal layers the source lacks
    ],
)
def test_weights_that_do_not_fit_are_listed_key_by_key_and_refused(
    source, tiny_cfg, tmp_path, change
):
    cfg = tiny_cfg(FROZEN, change, f"train.init_from={source}", run_dir=tmp_path / "b")
    with pytest.raises(CheckpointError) as caught:
        Trainer(cfg)
    message = str(caught.value)
    assert str(source) in message and "train.init_strict=false" in message
    theirs = load_model(resolve_weights(source)).state_dict()
    ours = build_model(cfg).state_dict()
    differ = [k for k in theirs if k in ours and theirs[k].shape != ours[k].shape]
    missing = [k for k in ours if k not in theirs]
    assert differ or missing
    for key in differ:
        shapes = f"{key}: {list(theirs[key].shape)} vs {list(ours[key].shape)}"
        assert shapes in message
    for key in missing:
        assert f"  {key}\n" in message + "\n"


def test_init_strict_false_loads_what_fits_trains_and_reports_the_rest(
    source, tiny_cfg, tmp_path, caplog
):
    cfg = tiny_cfg(
        FROZEN,
        "model.decoder.channels=[32,16,16]",
        f"train.init_from={source}",
        "train.init_strict=false",
        "train.max_steps=2",
        run_dir=tmp_path / "b",
    )
    with caplog.at_level(logging.WARNING, logger="tracknet"):
        trainer = Trainer(cfg)
    theirs = load_model(resolve_weights(source)).state_dict()
    ours = trainer.model.state_dict()
    differ = [k for k in theirs if k in ours and theirs[k].shape != ours[k].shape]
    assert differ
    warning = next(r.getMessage() for r in caplog.records if "init_strict=false" in r.getMessage())
    for key in differ:
        assert key in warning
    fitting = [k for k in theirs if k in ours and k not in differ]
    assert fitting and all(torch.equal(ours[k], theirs[k]) for k in fitting)
    assert (trainer.fit() / "model.json").exists()


def test_a_source_of_which_nothing_fits_is_refused_even_when_not_strict(source, tiny_cfg):
    unet = build_model(tiny_cfg("model.type=unet", "model.unet.base_channels=4"))
    with pytest.raises(CheckpointError, match="no tensor of .* fits this model"):
        init_from(unet, source, strict=False)


def test_resume_wins_over_init_from(source, tiny_cfg, tmp_path, monkeypatch):
    run = tmp_path / "b"
    cfg = tiny_cfg(FROZEN, f"train.init_from={source}", "train.max_steps=2", run_dir=run)
    Trainer(cfg).fit()

    def refuse(*args, **kwargs):
        raise AssertionError("a resumed run must not re-initialise from train.init_from")

    monkeypatch.setattr(trainer_module, "init_from", refuse)
    resumed = Trainer(
        tiny_cfg(FROZEN, f"train.init_from={source}", "train.max_steps=3"), resume=run
    )
    assert resumed.step == 2
    resumed.fit()


def test_a_frozen_backbone_from_a_fine_tuned_source_is_saved_with_the_run(tiny_cfg, tmp_path):
    source = Trainer(tiny_cfg("train.max_steps=2", run_dir=tmp_path / "source")).fit()
    assert (source / "best" / "backbone").is_dir()  # trained backbone: saved
    cfg = tiny_cfg(FROZEN, f"train.init_from={source}", "train.max_steps=2", run_dir=tmp_path / "b")
    trainer = Trainer(cfg)
    assert any(k.startswith("backbone.") for k in init_from(build_model(cfg), source).loaded)
    run = trainer.fit()
    reloaded = load_model(run).state_dict()  # loads: the backbone was saved with it
    tuned = load_model(resolve_weights(source)).state_dict()
    backbone = [k for k in tuned if k.startswith("backbone.")]
    assert backbone and all(torch.equal(reloaded[k], tuned[k]) for k in backbone)
