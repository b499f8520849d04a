"""The training loop, on HF Accelerate: one CPU, one GPU, many GPUs or many nodes, unchanged.

Launch it as ``tracknet train ...`` on one device, or under ``accelerate launch`` / ``torchrun``
for several. Only the main process writes files and logs; validation metrics are gathered over all
ranks. In distributed runs the backbone is loaded without ``device_map`` (Accelerate places it).

:class:`Trainer` builds a run from a configuration (one codec, the windows, the model, the
optimizer, the keyed loader) and runs the loop: steps, logging, validation, checkpoints. The pieces
live beside it: the batch order in :mod:`~tracknet.train.sampler`, the samples and crops in
:mod:`~tracknet.train.samples`, the schedule in :mod:`~tracknet.train.optim`, validation in
:mod:`~tracknet.train.validate`, the log in :mod:`~tracknet.train.run_log`, the checkpoints in
:mod:`~tracknet.train.checkpoint`, fine-tuning from another run (``train.init_from``) in
:mod:`~tracknet.train.init_from`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from tracknet.config import Config, load_config, save_config
from tracknet.data.codec import HeatmapCodec
from tracknet.data.dataset import ClipWindowDataset
from tracknet.data.transforms import WindowAugment
from tracknet.errors import UserError
from tracknet.eval.plots import plot_training_curves
from tracknet.models import build_model
from tracknet.models.serialization import BACKBONE_DIR, META, WEIGHTS, save_model
from tracknet.train import losses  # the module: tests replace losses.heatmap_loss
from tracknet.train.checkpoint import (
    find_resumable,
    load_training_state,
    save_model_folder,
    save_training_state,
)
from tracknet.train.init_from import BACKBONE, init_from
from tracknet.train.optim import apply_lr, build_optimizer
from tracknet.train.run_log import RunLog
from tracknet.train.sampler import ResumableBatchSampler
from tracknet.train.samples import KeyedWindows
from tracknet.train.validate import model_inputs, validate_windows
from tracknet.utils import remove_stale_temporaries

log = logging.getLogger("tracknet.train")


def _precision(cfg: Config, accelerator_device: str) -> str:
    if cfg.train.precision == "auto":
        return "bf16" if accelerator_device == "cuda" else "no"
    return {"fp32": "no"}.get(cfg.train.precision, cfg.train.precision)


class Trainer:
    """Builds everything from a :class:`Config` and runs :meth:`fit`."""

    def __init__(self, cfg: Config, resume: str | Path | None = None):
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
        self._build(resume)

    # ------------------------------------------------------------------ setup
    def _build(self, resume) -> None:
        cfg = self.cfg
        # The run's one codec: the geometry of the training and validation windows, the crops'
        # stride and the decoding of validation.
        self.codec = HeatmapCodec.from_config(cfg)
        augment = WindowAugment(cfg.data.augment) if cfg.data.augment.enabled else None
        self.train_windows = ClipWindowDataset.from_config(
            cfg, "train", augment=augment, codec=self.codec
        )
        self.val_windows = ClipWindowDataset.from_config(
            cfg, "val", augment=None, stride=None, codec=self.codec
        )
        if len(self.train_windows) == 0:
            raise UserError(f"the training split of {cfg.data.root!r} has no labelled windows")
        self.model = build_model(cfg)
        # the backbone's weights are not the pretrained ones (a fine-tuned source's): save them
        # even when it is frozen, or the run could not be loaded again
        self.keep_backbone = False
        if cfg.train.init_from and not resume:  # a resume restores its own weights instead
            report = init_from(self.model, cfg.train.init_from, strict=cfg.train.init_strict)
            self.keep_backbone = any(name.startswith(BACKBONE) for name in report.loaded)
        self.optimizer = build_optimizer(self.model, cfg.train)
        self.step, self.best_f1 = 0, -1.0
        if resume:
            last = find_resumable(self.run_dir)
            state = load_training_state(last, self.model, self.optimizer)
            self.step, self.best_f1 = int(state["step"]), float(state["best_f1"])
            self.keep_backbone = (last / BACKBONE_DIR).is_dir()  # saved with it: keep doing so
            if self.main:
                log.info("resuming %s at step %d", self.run_dir, self.step)
        self.model, self.optimizer = self.acc.prepare(self.model, self.optimizer)
        sampler = ResumableBatchSampler(
            len(self.train_windows),
            cfg.train.batch_size,
            seed=cfg.train.seed,
            rank=self.acc.process_index,
            world_size=self.acc.num_processes,
            start=self.step * cfg.train.grad_accum,
        )
        workers = cfg.data.num_workers
        self.train_loader = DataLoader(
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
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.run_dir)

    # ------------------------------------------------------------------ loop
    def fit(self) -> Path:
        """Train to ``train.max_steps``; returns the run folder."""
        t = self.cfg.train
        run_log = RunLog(self.run_dir, enabled=self.main)
        bar = tqdm(
            total=t.max_steps,
            initial=self.step,
            disable=not self.main,
            desc="train",
            dynamic_ncols=True,
        )
        nonfinite, micro, window_loss, window_samples = 0, 0, [], 0
        tick = time.perf_counter()
        self.model.train()
        batches = iter(self.train_loader)
        while self.step < t.max_steps:
            batch = next(batches)
            lr = apply_lr(self.optimizer, self.step, t)
            with self.acc.accumulate(self.model):
                inputs = model_inputs(batch, self.acc.device, non_blocking=True)
                frames = inputs[0]
                target = batch["heatmaps"].to(self.acc.device, non_blocking=True)
                with self.acc.autocast():
                    logits = self.model(*inputs)  # [B, T, Hh, Wh]
                loss = losses.heatmap_loss(
                    logits.float(),
                    target,
                    kind=t.loss,
                    pos_weight=t.pos_weight,
                    alpha=t.focal_alpha,
                    beta=t.focal_beta,
                )
                finite = self._all_finite(loss)
                if finite:
                    self.acc.backward(loss)
                    if self.acc.sync_gradients and t.grad_clip > 0:
                        self.acc.clip_grad_norm_(self.model.parameters(), t.grad_clip)
                    self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            micro += 1
            if not finite:
                nonfinite += 1
                log.warning("step %d: non-finite loss, skipped (%d in a row)", self.step, nonfinite)
                if nonfinite >= t.max_nonfinite:
                    self._checkpoint()
                    raise UserError(
                        f"{nonfinite} non-finite losses in a row at step {self.step}: stopped "
                        f"(state saved in {self.run_dir}/last); lower train.lr or check the data"
                    )
            else:
                nonfinite = 0
                window_loss.append(loss.detach().float().item())
                window_samples += frames.shape[0] * self.acc.num_processes
            if not self.acc.sync_gradients:
                continue
            self.step += 1
            bar.update(1)
            if self.step % t.log_every == 0 or self.step == t.max_steps:
                elapsed = time.perf_counter() - tick
                row = {
                    "step": self.step,
                    "split": "train",
                    "lr": lr,
                    "loss": float(np.mean(window_loss)) if window_loss else float("nan"),
                    "samples_per_s": window_samples / max(elapsed, 1e-9),
                }
                bar.set_postfix(
                    loss=f"{row['loss']:.4f}", lr=f"{lr:.2e}", sps=f"{row['samples_per_s']:.1f}"
                )
                run_log.write(row)
                window_loss, window_samples, tick = [], 0, time.perf_counter()
            if self.step % t.eval_every == 0 or self.step == t.max_steps:
                self._validate(run_log)
                self.model.train()
            if self.step % t.save_every == 0 or self.step == t.max_steps:
                self._checkpoint()
        bar.close()
        self._finish(run_log)
        return self.run_dir

    # ------------------------------------------------------------------ pieces
    def _all_finite(self, loss: torch.Tensor) -> bool:
        """Every rank must agree to skip, or DDP would wait for gradients forever."""
        flag = torch.tensor([float(torch.isfinite(loss).item())], device=self.acc.device)
        if self.acc.num_processes > 1:
            flag = self.acc.reduce(flag, reduction="sum") / self.acc.num_processes
        return bool(flag.item() == 1.0)

    def _validate(self, run_log: RunLog) -> dict[str, float] | None:
        if len(self.val_windows) == 0:
            return None
        result = validate_windows(self.acc, self.model, self.val_windows, self.codec, self.cfg)
        if not self.main:
            return result
        row = {
            "step": self.step,
            "split": "val",
            **{
                k: result[k]
                for k in (
                    "loss",
                    "precision",
                    "recall",
                    "f1",
                    "accuracy",
                    "tp",
                    "fp1",
                    "fp2",
                    "fn",
                    "tn",
                )
            },
        }
        run_log.write(row)
        log.info(
            "step %d  val  F1 %.4f  P %.4f  R %.4f",
            self.step,
            result["f1"],
            result["precision"],
            result["recall"],
        )
        if result["f1"] > self.best_f1:
            self.best_f1 = result["f1"]
            model = self.acc.unwrap_model(self.model)
            metrics = json.dumps({"step": self.step, **result}, indent=2)
            save_model_folder(
                model,
                self.run_dir / "best",
                self._save_backbone(model),
                extra={"metrics.json": metrics},
            )
        return result

    def _save_model(self, directory: Path) -> None:
        model = self.acc.unwrap_model(self.model)
        save_model(model, directory, save_backbone=self._save_backbone(model))

    def _save_backbone(self, model) -> bool | None:
        return True if self.cfg.train.save_backbone or self.keep_backbone else None

    def _checkpoint(self) -> None:
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
                save_backbone=self._save_backbone(model),
            )
            # the run folder itself loads with load_model; a kill during an earlier save
            # may have left hidden temporaries of these files
            remove_stale_temporaries(self.run_dir, (WEIGHTS, META))
            self._save_model(self.run_dir)
        self.acc.wait_for_everyone()

    def _finish(self, run_log: RunLog) -> None:
        run_log.close()
        if self.main:
            plot_training_curves(self.run_dir / "metrics.csv", self.run_dir / "curves.png")
            log.info("run folder: %s (best val F1 %.4f)", self.run_dir, max(self.best_f1, 0.0))
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
