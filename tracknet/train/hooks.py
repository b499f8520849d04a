"""What happens around the training steps, as hooks: logging, the non-finite stop, validation and
the best model, the ``last/`` checkpoint.

A :class:`Hook` has one method per moment of :meth:`tracknet.train.trainer.Trainer.fit`, each
given the trainer: :meth:`~Hook.before_train`, :meth:`~Hook.before_step`,
:meth:`~Hook.after_batch` (after each micro-batch, finite loss or not), :meth:`~Hook.after_step`
(after each optimizer step, ``trainer.step`` already counts it) and :meth:`~Hook.after_train`.
The trainer calls its hooks in order (:meth:`~tracknet.train.trainer.Trainer.build_hooks`, then
those passed as ``Trainer(cfg, hooks=[...])``); a hook reads and changes the trainer's state
(``step``, ``best_f1``, ``model``, ``run_log``...) and may end the run early with
``trainer.stop_requested = True``.

The default hooks keep the run folder as it always was: :class:`TrainingLog` (the progress bar,
the ``train`` rows of ``metrics.csv`` every ``train.log_every`` steps, ``curves.png`` at the
end), :class:`NonFiniteStop` (``train.max_nonfinite`` non-finite losses in a row save ``last/``
and stop), :class:`PeriodicValidation` (every ``train.eval_every`` steps: a ``val`` row, and
``best/`` when F1 improves) and :class:`PeriodicCheckpoint` (``last/`` and the run folder's
weights every ``train.save_every`` steps). The last step always logs, validates and saves.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from tracknet.errors import UserError
from tracknet.eval.plots import plot_training_curves
from tracknet.train.run_log import METRIC_FIELDS
from tracknet.train.validate import Validation

if TYPE_CHECKING:
    from tracknet.train.trainer import Trainer

log = logging.getLogger("tracknet.train")


@dataclass
class BatchResult:
    """One micro-batch of a step, as :meth:`Hook.after_batch` sees it."""

    loss: torch.Tensor  # the scalar loss (not finite: no backward pass, no update from it)
    finite: bool  # the loss was finite on every rank
    samples: int  # windows in the micro-batch, summed over ranks


class Hook:
    """A callback of :meth:`~tracknet.train.trainer.Trainer.fit`; every method does nothing."""

    def before_train(self, trainer: Trainer) -> None:
        """Once, before the first step (``trainer.step`` is the resumed step, or 0)."""

    def before_step(self, trainer: Trainer) -> None:
        """Before optimizer step ``trainer.step + 1``."""

    def after_batch(self, trainer: Trainer, batch: BatchResult) -> None:
        """After each micro-batch (``train.grad_accum`` per step), the step not yet counted."""

    def after_step(self, trainer: Trainer) -> None:
        """After optimizer step ``trainer.step`` (the model updated, ``trainer.lr`` its lr)."""

    def after_train(self, trainer: Trainer) -> None:
        """Once, after the last step (not after an exception)."""


def due(trainer: Trainer, every: int) -> bool:
    """Whether the step just taken is a multiple of ``every`` or the run's last."""
    return trainer.step % every == 0 or trainer.step == trainer.cfg.train.max_steps


class TrainingLog(Hook):
    """The progress bar, a ``train`` row every ``every`` steps, ``curves.png`` at the end.

    A row holds the lr, the mean finite loss and the samples per second since the last row.
    """

    def __init__(self, every: int) -> None:
        self.every = every

    def before_train(self, trainer: Trainer) -> None:
        self.bar = tqdm(
            total=trainer.cfg.train.max_steps,
            initial=trainer.step,
            disable=not trainer.main,
            desc="train",
            dynamic_ncols=True,
        )
        self._reset()

    def _reset(self) -> None:
        self.losses: list[float] = []
        self.samples = 0
        self.tick = time.perf_counter()

    def after_batch(self, trainer: Trainer, batch: BatchResult) -> None:
        if batch.finite:
            self.losses.append(batch.loss.detach().float().item())
            self.samples += batch.samples

    def after_step(self, trainer: Trainer) -> None:
        self.bar.update(1)
        if not due(trainer, self.every):
            return
        elapsed = time.perf_counter() - self.tick
        row = {
            "step": trainer.step,
            "split": "train",
            "lr": trainer.lr,
            "loss": float(np.mean(self.losses)) if self.losses else float("nan"),
            "samples_per_s": self.samples / max(elapsed, 1e-9),
        }
        self.bar.set_postfix(
            loss=f"{row['loss']:.4f}", lr=f"{trainer.lr:.2e}", sps=f"{row['samples_per_s']:.1f}"
        )
        trainer.run_log.write(row)
        self._reset()

    def after_train(self, trainer: Trainer) -> None:
        self.bar.close()
        if trainer.main:
            run_dir = trainer.run_dir
            plot_training_curves(run_dir / "metrics.csv", run_dir / "curves.png")
            log.info("run folder: %s (best val F1 %.4f)", run_dir, max(trainer.best_f1, 0.0))


class NonFiniteStop(Hook):
    """Warns of each skipped non-finite loss; ``limit`` in a row save ``last/`` and stop the run
    with a :class:`~tracknet.errors.UserError`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0

    def before_train(self, trainer: Trainer) -> None:
        self.in_a_row = 0

    def after_batch(self, trainer: Trainer, batch: BatchResult) -> None:
        if batch.finite:
            self.in_a_row = 0
            return
        self.in_a_row += 1
        log.warning("step %d: non-finite loss, skipped (%d in a row)", trainer.step, self.in_a_row)
        if self.in_a_row >= self.limit:
            trainer.save_checkpoint()
            raise UserError(
                f"{self.in_a_row} non-finite losses in a row at step {trainer.step}: stopped "
                f"(state saved in {trainer.run_dir}/last); lower train.lr or check the data"
            )


class PeriodicValidation(Hook):
    """Every ``every`` steps: validate, write a ``val`` row, save ``best/`` when F1 improves."""

    def __init__(self, every: int) -> None:
        self.every = every

    def after_step(self, trainer: Trainer) -> None:
        if not due(trainer, self.every):
            return
        result = trainer.validate()
        if result is not None and trainer.main:
            self.record(trainer, result)
        trainer.model.train()

    def record(self, trainer: Trainer, result: Validation) -> None:
        """The main process's part: the row, the log line, ``best/`` on a better F1."""
        scores = {k: v for k, v in result.as_dict().items() if k in METRIC_FIELDS}
        trainer.run_log.write({"step": trainer.step, "split": "val"} | scores)
        log.info(
            "step %d  val  F1 %.4f  P %.4f  R %.4f",
            trainer.step,
            result.f1,
            result.precision,
            result.recall,
        )
        if result.f1 > trainer.best_f1:
            trainer.best_f1 = result.f1
            trainer.save_best(result)


class PeriodicCheckpoint(Hook):
    """Every ``every`` steps: ``last/`` (the resumable state) and the run folder's weights."""

    def __init__(self, every: int) -> None:
        self.every = every

    def after_step(self, trainer: Trainer) -> None:
        if due(trainer, self.every):
            trainer.save_checkpoint()
