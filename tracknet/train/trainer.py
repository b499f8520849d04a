"""The training loop, on HF Accelerate: one CPU, one GPU, many GPUs or many nodes, unchanged.

Launch it as ``tracknet train ...`` on one device, or under ``accelerate launch`` / ``torchrun``
for several. Only the main process writes files and logs; validation metrics are gathered over all
ranks. In distributed runs the backbone is loaded without ``device_map`` (Accelerate places it).

:class:`Trainer` builds a run from a configuration and runs it, in the manner of detectron2's
``DefaultTrainer``: each part is built by a method a subclass may override
(:meth:`~Trainer.build_datasets`, :meth:`~Trainer.build_model`, :meth:`~Trainer.build_optimizer`,
:meth:`~Trainer.build_schedule`, :meth:`~Trainer.build_loss`, :meth:`~Trainer.build_train_loader`,
:meth:`~Trainer.build_hooks`), :meth:`~Trainer.run_step` takes one optimizer step, and
:meth:`~Trainer.fit` calls it in a loop between the hooks of :mod:`~tracknet.train.hooks`
(logging, the non-finite stop, validation and ``best/``, the ``last/`` checkpoint). A new loss,
schedule or callback is a subclass or a hook, not an edit of :meth:`~Trainer.fit`.

The pieces live beside it: the batch order in :mod:`~tracknet.train.sampler`, the samples and
crops in :mod:`~tracknet.train.samples`, the schedule in :mod:`~tracknet.train.optim`, validation
in :mod:`~tracknet.train.validate`, the log in :mod:`~tracknet.train.run_log`, the checkpoints in
:mod:`~tracknet.train.checkpoint`, fine-tuning from another run (``train.init_from``) in
:mod:`~tracknet.train.init_from`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch.utils.data import DataLoader

from tracknet.config import Config, load_config, save_config
from tracknet.data.codec import HeatmapCodec
from tracknet.data.dataset import ClipWindowDataset
from tracknet.data.transforms import WindowAugment
from tracknet.errors import UserError
from tracknet.models import build_model
from tracknet.models.serialization import BACKBONE_DIR, META, WEIGHTS, save_model
from tracknet.train.checkpoint import (
    find_resumable,
    load_training_state,
    save_model_folder,
    save_training_state,
)
from tracknet.train.hooks import (
    BatchResult,
    Hook,
    NonFiniteStop,
    PeriodicCheckpoint,
    PeriodicValidation,
    TrainingLog,
)
from tracknet.train.init_from import BACKBONE, init_from
from tracknet.train.losses import configured_loss
from tracknet.train.optim import apply_lr, build_optimizer
from tracknet.train.run_log import RunLog
from tracknet.train.sampler import ResumableBatchSampler
from tracknet.train.samples import KeyedWindows
from tracknet.train.validate import Validation, model_inputs, validate_windows
from tracknet.utils import remove_stale_temporaries

log = logging.getLogger("tracknet.train")

# ``loss(logits, target)``: float32 logits and target heatmaps of the same shape -> a scalar
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _precision(cfg: Config, accelerator_device: str) -> str:
    if cfg.train.precision == "auto":
        return "bf16" if accelerator_device == "cuda" else "no"
    return {"fp32": "no"}.get(cfg.train.precision, cfg.train.precision)


class Trainer:
    """Builds everything from a :class:`Config` and runs :meth:`fit`.

    Args:
        cfg: the run's configuration.
        resume: a run folder to resume from its ``last/`` (weights, optimizer, RNG, step).
        hooks: more :class:`~tracknet.train.hooks.Hook` objects, called after the default ones.

    State the hooks read: ``step`` (optimizer steps taken), ``lr`` (the last step's logged lr),
    ``best_f1``, ``model`` and ``optimizer`` (as Accelerate prepared them), ``acc``, ``main``,
    ``cfg``, ``run_dir``, ``run_log`` (during :meth:`fit`); ``stop_requested = True`` ends
    :meth:`fit` after the current step.
    """

    def __init__(
        self, cfg: Config, resume: str | Path | None = None, hooks: Iterable[Hook] = ()
    ) -> None:
        self.cfg = cfg
        self.run_dir = Path(resume) if resume else Path(cfg.run.dir)
        device_type = "cuda" if torch.cuda.is_available() else "cpu"
        self.acc = Accelerator(
            # cpu=True is what makes Accelerate set up gloo DDP under torchrun on CPU-only hosts
            cpu=device_type == "cpu",
            mixed_precision=_precision(cfg, device_type),
            gradient_accumulation_steps=cfg.train.grad_accum,
        )
        set_seed(cfg.train.seed)
        self.main = self.acc.is_main_process
        # Accelerate (or DDP) places the model: never device_map="auto" while training.
        cfg.model.backbone.device_map = None
        self.lr = float("nan")
        self.stop_requested = False
        self._build(resume)
        self.hooks: list[Hook] = [*self.build_hooks(), *hooks]

    # ------------------------------------------------------------------ setup
    def _build(self, resume) -> None:
        """Every part, in an order the random numbers depend on (the model's initialisation
        draws from the seeded generators; a resume then restores their saved states)."""
        cfg = self.cfg
        # The run's one codec: the geometry of the training and validation windows, the crops'
        # stride and the decoding of validation.
        self.codec = HeatmapCodec.from_config(cfg)
        self.train_windows, self.val_windows = self.build_datasets()
        self.model = self.build_model()
        # the backbone's weights are not the pretrained ones (a fine-tuned source's): save them
        # even when it is frozen, or the run could not be loaded again
        self.keep_backbone = False
        if cfg.train.init_from and not resume:  # a resume restores its own weights instead
            report = init_from(self.model, cfg.train.init_from, strict=cfg.train.init_strict)
            self.keep_backbone = any(name.startswith(BACKBONE) for name in report.loaded)
        self.optimizer = self.build_optimizer(self.model)
        self.step, self.best_f1 = 0, -1.0
        if resume:
            self._restore()
        self.model, self.optimizer = self.acc.prepare(self.model, self.optimizer)
        self.schedule = self.build_schedule(self.optimizer)
        self.loss_fn = self.build_loss()
        self.train_loader = self.build_train_loader()
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.run_dir)

    def _restore(self) -> None:
        """Weights, optimizer, RNG states, step and best F1 from the run folder's ``last/``."""
        last = find_resumable(self.run_dir)
        state = load_training_state(last, self.model, self.optimizer)
        self.step, self.best_f1 = int(state["step"]), float(state["best_f1"])
        self.keep_backbone = (last / BACKBONE_DIR).is_dir()  # saved with it: keep doing so
        if self.main:
            log.info("resuming %s at step %d", self.run_dir, self.step)

    def build_datasets(self) -> tuple[ClipWindowDataset, ClipWindowDataset]:
        """The training windows (augmented when ``data.augment.enabled``) and the validation
        windows (back to back); a training split without windows is refused."""
        cfg = self.cfg
        augment = WindowAugment(cfg.data.augment) if cfg.data.augment.enabled else None
        train = ClipWindowDataset.from_config(cfg, "train", augment=augment, codec=self.codec)
        val = ClipWindowDataset.from_config(cfg, "val", augment=None, stride=None, codec=self.codec)
        if len(train) == 0:
            raise UserError(f"the training split of {cfg.data.root!r} has no labelled windows")
        return train, val

    def build_model(self) -> torch.nn.Module:
        """The model of ``cfg.model`` (:func:`tracknet.models.build_model`)."""
        return build_model(self.cfg)

    def build_optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        """``train.optimizer`` over ``model``'s parameter groups (:mod:`~tracknet.train.optim`).

        Every group needs a ``base_lr`` when the default schedule is kept."""
        return build_optimizer(model, self.cfg.train)

    def build_schedule(self, optimizer: torch.optim.Optimizer) -> Callable[[int], float]:
        """A function of the step that sets every group's lr for that optimizer step and
        returns the lr to log: warm-up + cosine (:func:`~tracknet.train.optim.apply_lr`).

        A pure function of the step, so a resume needs no scheduler state."""
        return functools.partial(apply_lr, optimizer, cfg=self.cfg.train)

    def build_loss(self) -> LossFn:
        """``loss(logits, target)`` of training and validation: ``train.loss`` with its
        settings (:func:`~tracknet.train.losses.configured_loss`)."""
        return configured_loss(self.cfg.train)

    def build_train_loader(self) -> DataLoader:
        """The keyed, resumable loader of training batches: this rank's share of each global
        batch, in an order that is a function of ``(seed, step)``, from ``self.step`` on."""
        cfg = self.cfg
        sampler = ResumableBatchSampler(
            len(self.train_windows),
            cfg.train.batch_size,
            seed=cfg.train.seed,
            rank=self.acc.process_index,
            world_size=self.acc.num_processes,
            start=self.step * cfg.train.grad_accum,
        )
        workers = cfg.data.num_workers
        return DataLoader(
            KeyedWindows(
                self.train_windows,
                cfg.train.seed,
                crop=cfg.train.crop or None,
                ball_prob=cfg.train.crop_ball_prob,
                stride=self.codec.stride,
            ),
            batch_sampler=sampler,
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=self.acc.device.type == "cuda",
            prefetch_factor=4 if workers > 0 else None,
            # its own generator: creating the iterator must not draw from the global torch RNG,
            # which the model uses in train mode (DINOv3's RoPE jitter) and a resume restores
            generator=torch.Generator().manual_seed(cfg.train.seed),
        )

    def build_hooks(self) -> list[Hook]:
        """The default hooks (:mod:`~tracknet.train.hooks`), in the order they run: the log,
        the non-finite stop, validation, the checkpoint. Override to add, drop or reorder."""
        t = self.cfg.train
        return [
            TrainingLog(t.log_every),
            NonFiniteStop(t.max_nonfinite),
            PeriodicValidation(t.eval_every),
            PeriodicCheckpoint(t.save_every),
        ]

    # ------------------------------------------------------------------ loop
    def fit(self) -> Path:
        """Train to ``train.max_steps``; returns the run folder."""
        self.run_log = RunLog(self.run_dir, enabled=self.main)
        self.model.train()
        self._batches = iter(self.train_loader)
        self._call("before_train")
        while self.step < self.cfg.train.max_steps and not self.stop_requested:
            self._call("before_step")
            self.run_step()
            self.step += 1
            self._call("after_step")
        self._call("after_train")
        self.run_log.close()
        self.acc.wait_for_everyone()
        return self.run_dir

    def _call(self, moment: str, *args: Any) -> None:
        for hook in self.hooks:
            getattr(hook, moment)(self, *args)

    def run_step(self) -> None:
        """One optimizer step: ``train.grad_accum`` micro-batches (forward under autocast, the
        loss in float32, backward), gradients clipped to ``train.grad_clip``, the update.

        A micro-batch whose loss is not finite on some rank is skipped on every rank (no
        backward pass); the hooks see each micro-batch (:meth:`Hook.after_batch`).
        """
        t = self.cfg.train
        self.lr = self.schedule(self.step)
        while True:
            batch = next(self._batches)
            with self.acc.accumulate(self.model):
                inputs = model_inputs(batch, self.acc.device, non_blocking=True)
                target = batch["heatmaps"].to(self.acc.device, non_blocking=True)
                with self.acc.autocast():
                    logits = self.model(*inputs)  # [B, T, Hh, Wh]
                loss = self.loss_fn(logits.float(), target)
                finite = self._all_finite(loss)
                if finite:
                    self.acc.backward(loss)
                    if self.acc.sync_gradients and t.grad_clip > 0:
                        self.acc.clip_grad_norm_(self.model.parameters(), t.grad_clip)
                    self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            samples = inputs[0].shape[0] * self.acc.num_processes
            self._call("after_batch", BatchResult(loss, finite, samples))
            if self.acc.sync_gradients:
                return

    # ------------------------------------------------------------------ pieces
    def _all_finite(self, loss: torch.Tensor) -> bool:
        """Every rank must agree to skip, or DDP would wait for gradients forever."""
        flag = torch.tensor([float(torch.isfinite(loss).item())], device=self.acc.device)
        if self.acc.num_processes > 1:
            flag = self.acc.reduce(flag, reduction="sum") / self.acc.num_processes
        return bool(flag.item() == 1.0)

    def validate(self) -> Validation | None:
        """Score the model on the validation windows (every rank takes part); ``None`` when the
        split has none."""
        if len(self.val_windows) == 0:
            return None
        return validate_windows(
            self.acc, self.model, self.val_windows, self.codec, self.cfg, loss_fn=self.loss_fn
        )

    def _save_backbone(self) -> bool | None:
        return True if self.cfg.train.save_backbone or self.keep_backbone else None

    def save_best(self, result: Validation) -> None:
        """``best/``: the model and ``metrics.json`` (``result`` at this step); main process."""
        model = self.acc.unwrap_model(self.model)
        metrics = json.dumps({"step": self.step, **result.as_dict()}, indent=2)

        save_model_folder(
            model, self.run_dir / "best", self._save_backbone(), extra={"metrics.json": metrics}
        )

    def save_checkpoint(self) -> None:
        """``last/`` (everything a resume needs) and the model at the run folder's top; every
        rank calls it, the main process writes."""
        self.acc.wait_for_everyone()
        if self.main:
            model = self.acc.unwrap_model(self.model)
            state = {
                "step": self.step,
                "best_f1": self.best_f1,
                "world_size": self.acc.num_processes,
                "config": dataclasses.asdict(self.cfg),
            }
            save_training_state(
                self.run_dir,
                model,
                self.optimizer.optimizer
                if hasattr(self.optimizer, "optimizer")
                else self.optimizer,
                state,
                save_backbone=self._save_backbone(),
            )
            # the run folder itself loads with load_model; a kill during an earlier save
            # may have left hidden temporaries of these files
            remove_stale_temporaries(self.run_dir, (WEIGHTS, META))
            save_model(model, self.run_dir, save_backbone=self._save_backbone())
        self.acc.wait_for_everyone()


def train(
    config: str | Path | Config | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    resume: str | Path | None = None,
) -> Path:
    """Train from a config file (or object) plus overrides, or resume a run folder."""
    if resume is not None:
        cfg = load_config(Path(resume) / "config.yaml", overrides)
    elif isinstance(config, Config):
        cfg = load_config(None, overrides, base=config)
    else:
        cfg = load_config(config, overrides)
    return Trainer(cfg, resume=resume).fit()
