"""Validation during training: decode windows, classify frames, pool the counts over all ranks.

Windows are taken back to back (stride = window length), so each labelled frame of the split is
scored once (frames in an incomplete last window of a clip are not). The predictions are the
codec's raw decode, without the tracker: this scores the model itself.

Distances are measured as ``tracknet eval`` measures them: under ``eval.tolerance_space=input``
both points are mapped to the model input by the run's codec (``codec.frame_to_input``, the
letterbox map when ``data.resize=letterbox``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from tracknet.config import Config
from tracknet.data.codec import HeatmapCodec
from tracknet.eval.metrics import Outcome, Scores, classify_frames, scores_from_counts
from tracknet.train.losses import configured_loss

COUNT_KEYS = ("tp", "tn", "fp1", "fp2", "fn")


@dataclass(frozen=True)
class Validation(Scores):
    """The scores of one validation: :class:`tracknet.eval.metrics.Scores` of the counts pooled
    over all ranks, and the mean loss of the windows. The fields are the keys of
    ``best/metrics.json`` (in its order, after ``step``) and, those among
    :data:`~tracknet.train.run_log.METRIC_FIELDS`, of a ``val`` row of ``metrics.csv``."""

    loss: float


def model_inputs(
    batch: dict[str, Any], device: torch.device, non_blocking: bool = False
) -> list[torch.Tensor]:
    """What the model is called with for a batch: its frames, and the clips' median frames when
    the items carry them (``model.detail.background``), on ``device``."""
    inputs = [batch["frames"].to(device, non_blocking=non_blocking)]
    if "background" in batch:
        inputs.append(batch["background"].to(device, non_blocking=non_blocking))
    return inputs


@torch.no_grad()
def validate_windows(
    accelerator,
    model: torch.nn.Module,
    windows,
    codec: HeatmapCodec,
    cfg: Config,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> Validation:
    """Score ``model`` on every window of ``windows``; identical result on every rank.

    Args:
        accelerator: the run's ``accelerate.Accelerator`` (device, rank, autocast, reduce).
        model: the model (``[B, T, 3, H, W]`` frames -> ``[B, T, H_h, W_h]`` logits).
        windows: the validation windows (items of :class:`ClipWindowDataset`).
        codec: the run's codec: decodes the heatmaps and maps frame to input pixels.
        cfg: the configuration (``train`` loss settings and batch size, ``eval`` tolerance).
        loss_fn: ``loss(logits, target)``, the trainer's (:meth:`Trainer.build_loss
            <tracknet.train.trainer.Trainer.build_loss>`); ``None``: ``train.loss`` with its
            settings (:func:`~tracknet.train.losses.configured_loss`).

    Returns:
        The pooled scores and the mean loss.
    """
    loss_fn = loss_fn or configured_loss(cfg.train)
    rank, world = accelerator.process_index, accelerator.num_processes
    mine = Subset(windows, list(range(rank, len(windows), world)))
    loader = DataLoader(mine, batch_size=cfg.train.batch_size, num_workers=0)
    was_training = model.training
    model.eval()
    counts = torch.zeros(len(COUNT_KEYS) + 3, dtype=torch.float64, device=accelerator.device)
    for batch in loader:
        inputs = model_inputs(batch, accelerator.device)
        frames = inputs[0]
        with accelerator.autocast():
            logits = model(*inputs).float()  # [B, T, Hh, Wh]
        target = batch["heatmaps"].to(logits.device)
        loss = loss_fn(logits, target)
        frame_size = batch["frame_size"].to(logits.device)  # [B, 2] (W, H)
        det = codec.decode(logits, frame_size=frame_size[:, None, :].expand(*logits.shape[:2], 2))
        pv = det.visible.flatten().cpu().numpy()
        pxy = det.xy.reshape(-1, 2).cpu().numpy()
        gv = batch["visible"].flatten().numpy()
        gxy = batch["xy"].reshape(-1, 2).numpy()
        sizes = np.repeat(batch["frame_size"].numpy(), logits.shape[1], axis=0)
        outcomes = classify_frames(
            pv,
            pxy,
            gv,
            gxy,
            tolerance_px=cfg.eval.tolerance_px,
            tolerance_space=cfg.eval.tolerance_space,
            frame_size=sizes,
            to_input=codec.frame_to_input,
        )
        tp = outcomes == Outcome.TP
        for i, key in enumerate(COUNT_KEYS):
            counts[i] += float((outcomes == getattr(Outcome, key.upper())).sum())
        counts[5] += float((np.linalg.norm(pxy[tp] - gxy[tp], axis=1) ** 2).sum())
        counts[6] += float(loss) * frames.shape[0]
        counts[7] += frames.shape[0]
    if world > 1:
        counts = accelerator.reduce(counts, reduction="sum")
    model.train(was_training)
    c = counts.cpu().numpy()
    scores = scores_from_counts(**{k: int(c[i]) for i, k in enumerate(COUNT_KEYS)}, sq_err_sum=c[5])
    return Validation(**scores, loss=float(c[6] / max(c[7], 1)))
