"""``tracknet predict`` as one function: a run folder and many inputs in, their outputs out.

:func:`run_predict` loads the run once (its configuration with the options applied as
``predict.*`` overrides), builds the predictor (PyTorch, or the run's ONNX export), takes this
process's share of the inputs when launched by ``torchrun`` / ``accelerate launch`` / MPI, and
writes each input's outputs with :func:`tracknet.infer.pipeline.predict_source`, printing one line
per input. It sits above :mod:`tracknet.export` (the ONNX backend exports the run on first use).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from tracknet.errors import UserError
from tracknet.export import onnx_for_run
from tracknet.infer.inputs import expand_inputs, launcher_rank, output_names, shard, split_overrides
from tracknet.infer.loading import load_run
from tracknet.infer.onnx_backend import OnnxModel
from tracknet.infer.pipeline import predict_source
from tracknet.infer.predictor import Predictor


def _option_overrides(
    rank: int,
    world: int,
    device: str | None,
    batch_size: int | None,
    half: bool,
    smooth: bool,
    max_gap: int | None,
    track: bool,
    gate_px: float | None,
) -> list[str]:
    """The ``predict.*`` overrides of the options (they win over key=value items)."""
    overrides = []
    if device:
        overrides.append(f"predict.device={device}")
    elif world > 1 and torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count()
        overrides.append(f"predict.device=cuda:{local}")
    if batch_size:
        overrides.append(f"predict.batch_size={batch_size}")
    if half:
        overrides.append("predict.half=true")
    if smooth:
        overrides.append("predict.smooth=true")
    if max_gap is not None:
        overrides.append(f"predict.max_gap={max_gap}")
    if not track:
        overrides.append("predict.track=false")
    if gate_px is not None:
        overrides.append(f"predict.gate_px={gate_px}")
    return overrides


def run_predict(
    items: Sequence[str],
    checkpoint: str | Path,
    out_dir: str | Path = "predictions",
    *,
    overlay: bool = False,
    details: bool = False,
    smooth: bool = False,
    max_gap: int | None = None,
    track: bool = True,
    gate_px: float | None = None,
    device: str | None = None,
    batch_size: int | None = None,
    half: bool = False,
    backend: str = "torch",
    progress: bool = True,
) -> int:
    """Predict every input into ``out_dir``; returns the exit status (2 when an input failed).

    Args:
        items: videos, image folders or folders of videos, and ``key.sub=value`` overrides of
            the run's configuration, in any order (:func:`~tracknet.infer.inputs.split_overrides`).
        checkpoint: the run folder (or one of its checkpoints).
        out_dir: the output folder.
        overlay, details: also write the overlay video and the details CSV.
        smooth, max_gap, track, gate_px, device, batch_size, half: ``predict.*`` settings
            (None / False: the run's).
        backend: ``torch`` or ``onnx`` (the run's ``model.onnx``, exported on first use).
        progress: a progress bar per input (on rank 0 only).

    Raises:
        UserError: no input, clashing output names, an unusable setting or checkpoint; or the
            error of the one input when only one was given (with several, a failed input is
            reported on stderr and the others go on).
    """
    rank, world = launcher_rank()
    inputs, overrides = split_overrides(list(items))
    if not inputs:
        raise UserError("no video or image folder given (only key=value overrides)")
    inputs = expand_inputs(inputs)
    names = output_names(inputs)  # on the full list: every rank agrees
    overrides += _option_overrides(
        rank, world, device, batch_size, half, smooth, max_gap, track, gate_px
    )
    model, cfg = load_run(checkpoint, overrides)
    if backend == "onnx":
        model = OnnxModel.for_model(onnx_for_run(checkpoint, model), model)
    predictor = Predictor.from_config(model, cfg)
    jobs = shard(list(zip(inputs, names, strict=True)), rank, world)
    failed = 0
    for path, name in jobs:
        try:
            res = predict_source(
                predictor,
                path,
                out_dir,
                overlay=overlay,
                details=details,
                progress=rank == 0 and progress,
                name=name,
            )
        except UserError as exc:
            if len(jobs) == 1:
                raise
            failed += 1  # one bad input does not stop the others
            print(f"tracknet predict: error: {exc}", file=sys.stderr)
            continue
        extra = f", overlay {res.overlay}" if res.overlay else ""
        bad = f", {res.undecodable} undecodable" if res.undecodable else ""
        print(
            f"{res.source}: {res.frames} frames ({res.fps:.1f} frames/s), ball in "
            f"{res.detected}{bad} -> {res.csv}{extra}"
        )
    if world > 1:
        print(f"[rank {rank}/{world}] predicted {len(jobs) - failed} of {len(inputs)} inputs")
    if failed:
        print(f"tracknet predict: {failed} of {len(jobs)} inputs failed", file=sys.stderr)
        return 2
    return 0
