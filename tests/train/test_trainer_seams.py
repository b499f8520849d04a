"""The trainer's seams: a loss, a schedule or a callback is a subclass or a hook, not an edit of
``Trainer.fit``."""

from __future__ import annotations

import csv

import torch

from tracknet.train.hooks import Hook
from tracknet.train.trainer import Trainer


def _rows(run, split="train") -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["split"] == split]


class DoubledLoss(Trainer):
    """Twice the configured loss; records whether each call had gradients (training) or not
    (validation)."""

    def build_loss(self):
        base = super().build_loss()
        self.grad_enabled: list[bool] = []

        def loss(logits, target):
            self.grad_enabled.append(torch.is_grad_enabled())
            return 2 * base(logits, target)

        return loss


def test_a_subclass_replaces_the_loss_of_training_and_validation(tiny_cfg, tmp_path):
    extra = ("train.max_steps=1", "train.eval_every=1")
    plain = Trainer(tiny_cfg(*extra, run_dir=tmp_path / "plain")).fit()
    doubled = DoubledLoss(tiny_cfg(*extra, run_dir=tmp_path / "doubled"))
    doubled.fit()
    # the same weights, batch and random draws: the first loss is exactly twice the plain one
    assert float(_rows(doubled.run_dir)[0]["loss"]) == 2 * float(_rows(plain)[0]["loss"])
    assert True in doubled.grad_enabled and False in doubled.grad_enabled  # train, then val
    assert _rows(doubled.run_dir, "val")


class Recorder(Hook):
    """Every call, as ``(moment, step)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def before_train(self, trainer):
        self.calls.append(("before_train", trainer.step))

    def before_step(self, trainer):
        self.calls.append(("before_step", trainer.step))

    def after_batch(self, trainer, batch):
        assert batch.finite and batch.samples == 2 and batch.loss.ndim == 0
        self.calls.append(("after_batch", trainer.step))

    def after_step(self, trainer):
        self.calls.append(("after_step", trainer.step))

    def after_train(self, trainer):
        self.calls.append(("after_train", trainer.step))


def test_a_hook_sees_every_moment_of_the_loop(tiny_cfg):
    recorder = Recorder()
    Trainer(tiny_cfg("train.max_steps=2", "train.grad_accum=2"), hooks=[recorder]).fit()
    step = [("before_step", 0), ("after_batch", 0), ("after_batch", 0), ("after_step", 1)]
    second = [("before_step", 1), ("after_batch", 1), ("after_batch", 1), ("after_step", 2)]
    assert recorder.calls == [("before_train", 0), *step, *second, ("after_train", 2)]


class StopAt(Hook):
    """Ends the run after step ``step`` (an early stop)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def after_step(self, trainer):
        if trainer.step >= self.step:
            trainer.stop_requested = True


class ConstantLrStoppingEarly(Trainer):
    """A schedule and a hook of its own: a constant lr, stopped after step 2."""

    def build_schedule(self, optimizer):
        def constant(step: int) -> float:
            for group in optimizer.param_groups:
                group["lr"] = 5e-4
            return 5e-4

        return constant

    def build_hooks(self):
        return [*super().build_hooks(), StopAt(2)]


def test_a_subclass_adds_a_schedule_and_an_early_stop(tiny_cfg):
    trainer = ConstantLrStoppingEarly(tiny_cfg("train.max_steps=6"))
    run = trainer.fit()
    assert trainer.step == 2
    assert [(row["step"], float(row["lr"])) for row in _rows(run)] == [("1", 5e-4), ("2", 5e-4)]
    assert all(group["lr"] == 5e-4 for group in trainer.optimizer.param_groups)
    assert (run / "curves.png").exists()  # the default hooks still ended the run
