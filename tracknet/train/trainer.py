"""The training loop, on HF Accelerate: one CPU, one GPU, many GPUs or many nodes, unchanged.

Launch it as ``tracknet train ...`` on one device, or under ``accelerate launch`` / ``torchrun``
for several. Only the main process writes files and logs; validation metrics are gathered over all
ranks. In distributed runs the backbone is loaded without ``device_map`` (Accelerate places it).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from tracknet.config import Config, load_config, save_config
from tracknet.errors import UserError
from tracknet.models.serialization import META, WEIGHTS
from tracknet.train.checkpoint import (
    find_resumable,
    load_training_state,
    save_model_folder,
    save_training_state,
)
from tracknet.train.optim import apply_lr, build_optimizer
from tracknet.train.sampler import ResumableBatchSampler, split_key
from tracknet.utils import remove_stale_temporaries

log = logging.getLogger("tracknet.train")

METRIC_FIELDS = [
    "step",
    "split",
    "loss",
    "lr",
    "samples_per_s",
    "precision",
    "recall",
    "f1",
    "accuracy",
    "tp",
    "fp1",
    "fp2",
    "fn",
    "tn",
    "time_s",
]


class KeyedWindows(Dataset):
    """Maps sampler keys ``epoch * N + i`` to window ``i`` with a random draw seeded by
    ``(seed, epoch, i)``: reproducible across worker counts, ranks and resumes.

    With ``crop=(W, H)`` each window is cut to a random crop of that size (the same for all its
    frames), placed over the ball with probability ``ball_prob``: training on crops is several
    times cheaper, and the fully convolutional decoder and the ViT run on whole frames later.
    """

    def __init__(self, windows, seed: int, crop=None, ball_prob: float = 0.8, stride: int = 1):
        self.windows, self.seed = windows, seed
        self.crop, self.ball_prob, self.stride = crop, ball_prob, stride

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, key: int) -> dict[str, Any]:
        epoch, index = split_key(key, len(self.windows))
        rng = np.random.default_rng([self.seed, epoch, index])
        item = self.windows.get(index, rng)
        return crop_window(item, self.crop, rng, self.ball_prob, self.stride) if self.crop else item


def crop_window(
    item: dict[str, Any], crop, rng: np.random.Generator, ball_prob: float, stride: int
) -> dict[str, Any]:
    """Cut frames ``[T, 3, H, W]`` and heatmaps ``[T, Hh, Wh]`` to the same random crop.

    ``stride`` is the input/heatmap ratio: crop offsets are multiples of it so the heatmap crop
    is exact. Balls outside the crop become not visible for this sample.
    """
    cw, ch = crop
    _, _, h, w = item["frames"].shape
    if cw > w or ch > h:
        return item
    visible = item["visible"].numpy()
    if visible.any() and rng.random() < ball_prob:
        t = rng.choice(np.flatnonzero(visible))
        bx, by = item["xy_input"][t].tolist()
        x0 = int(np.clip(bx - rng.uniform(0.15, 0.85) * cw, 0, w - cw))
        y0 = int(np.clip(by - rng.uniform(0.15, 0.85) * ch, 0, h - ch))
    else:
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    x0, y0 = x0 // stride * stride, y0 // stride * stride
    out = dict(item)
    out["frames"] = item["frames"][:, :, y0 : y0 + ch, x0 : x0 + cw]
    hx, hy = x0 // stride, y0 // stride
    out["heatmaps"] = item["heatmaps"][:, hy : hy + ch // stride, hx : hx + cw // stride]
    xy = item["xy_input"]
    inside = (
        (xy[:, 0] >= x0) & (xy[:, 0] <= x0 + cw - 1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y0 + ch - 1)
    )
    out["visible"] = item["visible"] & inside
    return out


def _precision(cfg: Config, accelerator_device: str) -> str:
    if cfg.train.precision == "auto":
        return "bf16" if accelerator_device == "cuda" else "no"
    return {"fp32": "no"}.get(cfg.train.precision, cfg.train.precision)


class Trainer:
    """Builds everything from a :class:`Config` and runs :meth:`fit`."""

    def __init__(self, cfg: Config, resume: str | Path | None = None):
        from accelerate import Accelerator
        from accelerate.utils import set_seed

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
        from tracknet.data.codec import HeatmapCodec
        from tracknet.data.dataset import ClipWindowDataset
        from tracknet.data.transforms import WindowAugment
        from tracknet.models import build_model

        cfg = self.cfg
        self.codec = HeatmapCodec.from_config(cfg)
        augment = WindowAugment(cfg.data.augment) if cfg.data.augment.enabled else None
        self.train_windows = ClipWindowDataset.from_config(cfg, "train", augment=augment)
        self.val_windows = ClipWindowDataset.from_config(cfg, "val", augment=None, stride=None)
        if len(self.train_windows) == 0:
            raise UserError(f"the training split of {cfg.data.root!r} has no labelled windows")
        self.model = build_model(cfg)
        self.optimizer = build_optimizer(self.model, cfg.train)
        self.step, self.best_f1 = 0, -1.0
        if resume:
            state = load_training_state(find_resumable(self.run_dir), self.model, self.optimizer)
            self.step, self.best_f1 = int(state["step"]), float(state["best_f1"])
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
                stride=cfg.model.input_size[0] // cfg.model.heatmap.size[0],
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
        from tqdm.auto import tqdm

        from tracknet.train.losses import heatmap_loss

        t = self.cfg.train
        writer = self._tensorboard()
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
                frames = batch["frames"].to(self.acc.device, non_blocking=True)
                target = batch["heatmaps"].to(self.acc.device, non_blocking=True)
                with self.acc.autocast():
                    logits = self.model(frames)  # [B, T, Hh, Wh]
                loss = heatmap_loss(
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
                self._log(row, writer)
                window_loss, window_samples, tick = [], 0, time.perf_counter()
            if self.step % t.eval_every == 0 or self.step == t.max_steps:
                self._validate(writer)
                self.model.train()
            if self.step % t.save_every == 0 or self.step == t.max_steps:
                self._checkpoint()
        bar.close()
        self._finish(writer)
        return self.run_dir

    # ------------------------------------------------------------------ pieces
    def _all_finite(self, loss: torch.Tensor) -> bool:
        """Every rank must agree to skip, or DDP would wait for gradients forever."""
        flag = torch.tensor([float(torch.isfinite(loss).item())], device=self.acc.device)
        if self.acc.num_processes > 1:
            flag = self.acc.reduce(flag, reduction="sum") / self.acc.num_processes
        return bool(flag.item() == 1.0)

    def _validate(self, writer) -> dict[str, float] | None:
        from tracknet.train.validate import validate_windows

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
        self._log(row, writer)
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
        model.save_pretrained(directory, save_backbone=self._save_backbone(model))

    def _save_backbone(self, model) -> bool | None:
        return True if self.cfg.train.save_backbone else None

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
            # the run folder itself loads with from_pretrained; a kill during an earlier save
            # may have left hidden temporaries of these files
            remove_stale_temporaries(self.run_dir, (WEIGHTS, META))
            self._save_model(self.run_dir)
        self.acc.wait_for_everyone()

    def _tensorboard(self):
        if not self.main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional at run time
            return None
        return SummaryWriter(str(self.run_dir / "tensorboard"))

    def _log(self, row: dict[str, Any], writer) -> None:
        if not self.main:
            return
        path = self.run_dir / "metrics.csv"
        new = not path.exists()
        with open(path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=METRIC_FIELDS)
            if new:
                w.writeheader()
            w.writerow({k: row.get(k, "") for k in METRIC_FIELDS})
        if writer is not None:
            for key, value in row.items():
                if (
                    key not in ("step", "split")
                    and isinstance(value, int | float)
                    and math.isfinite(value)
                ):
                    writer.add_scalar(f"{row['split']}/{key}", value, row["step"])

    def _finish(self, writer) -> None:
        if writer is not None:
            writer.close()
        if self.main:
            from tracknet.eval.plots import plot_training_curves

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
