"""The trainer's golden runs: tiny CPU trainings whose final tensors are fingerprinted bit for bit.

``tests/train/data/trainer_golden.json`` was written by this module (``python -m
tests.train.trainer_golden``) with the trainer as it was before it was split into seams
(build_model, build_optimizer, run_step, hooks); ``test_trainer_golden.py`` trains the same runs
with today's trainer and compares every fingerprint exactly. Regenerate the file only when a
change of results is intended, or on a platform whose float kernels differ (the test skips when
the torch version or the CPU's vector capability is not the recorded one).

Each scenario trains a tiny DINOv3 model for 6 optimizer steps on one thread (thread count
changes the summation order of some CPU kernels) and records the SHA-256 of every tensor of the
final model state dict and of the optimizer state in ``last/``, the step and best F1 of
``last/trainer_state.json``, and the logged losses and validation scores of ``metrics.csv``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

GOLDEN = Path(__file__).parent / "data" / "trainer_golden.json"

# name -> (overrides, steps of a first run that the scenario resumes from, or 0)
SCENARIOS: dict[str, tuple[tuple[str, ...], int]] = {
    # one micro-batch per step; validation at 3 and 6, last/ every 2, a row every step
    "plain": ((), 0),
    # two micro-batches per step, BCE, no clipping, rows every 4 steps (and at the end)
    "accum": (
        ("train.grad_accum=2", "train.loss=bce", "train.grad_clip=0", "train.log_every=4"),
        0,
    ),
    # 3 steps, then resumed from last/ to 6 (the resume restores weights, AdamW and RNG)
    "resume": (("train.save_every=3",), 3),
}
# columns of metrics.csv that are not timings
LOGGED = (
    "step",
    "split",
    "loss",
    "lr",
    "precision",
    "recall",
    "f1",
    "tp",
    "fp1",
    "fp2",
    "fn",
    "tn",
)


def environment() -> dict[str, str]:
    """What the bits depend on besides the code: torch's version and the CPU kernels it picks."""
    return {
        "torch": torch.__version__.split("+")[0],
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def make_inputs(work: Path) -> tuple[Path, Path]:
    """The dataset and backbone of ``tests/train/conftest.py``'s fixtures, written under ``work``."""
    from tests.helpers import tiny_vit
    from tracknet.data.synth import synthesize

    data = work / "data"
    synthesize(data, "tennis", clips=6, frames=12, size=(320, 180), seed=3, clips_per_game=2)
    backbone = tiny_vit(work / "vit", hidden=32, layers=1, heads=2)
    return data, backbone


def _sha(tensor: torch.Tensor) -> str:
    t = tensor.detach().to("cpu").contiguous()
    head = f"{t.dtype}{list(t.shape)}".encode()
    return hashlib.sha256(head + t.view(-1).view(torch.uint8).numpy().tobytes()).hexdigest()


def _tree_sha(root: Path) -> str:
    """One SHA-256 over the relative names and bytes of every file under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def fingerprint(trainer) -> dict[str, Any]:
    """The fingerprints of a finished run (see the module's docstring)."""
    run = trainer.run_dir
    model = trainer.acc.unwrap_model(trainer.model)
    state = json.loads((run / "last" / "trainer_state.json").read_text())
    optimizer = load_file(str(run / "last" / "optimizer.safetensors"))
    with open(run / "metrics.csv", newline="") as fh:
        rows = [{k: row[k] for k in LOGGED if row[k] != ""} for row in csv.DictReader(fh)]
    return {
        "step": state["step"],
        "best_f1": repr(state["best_f1"]),
        "model": {k: _sha(v) for k, v in sorted(model.state_dict().items())},
        "optimizer": {k: _sha(v) for k, v in sorted(optimizer.items())},
        "metrics": rows,
    }


def train_scenario(
    name: str, data: Path, backbone: Path, work: Path, trainer_cls=None
) -> dict[str, Any]:
    """Train scenario ``name`` on one thread with ``trainer_cls`` (default: ``Trainer``)."""
    from tests.train.conftest import tiny_overrides
    from tracknet.config import load_config
    from tracknet.train.trainer import Trainer

    trainer_cls = trainer_cls or Trainer
    extra, first = SCENARIOS[name]
    run = work / name
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if first:
            cfg = load_config(
                overrides=tiny_overrides(data, backbone, run, *extra, f"train.max_steps={first}")
            )
            trainer_cls(cfg).fit()
        cfg = load_config(overrides=tiny_overrides(data, backbone, run, *extra))
        trainer = trainer_cls(cfg, resume=run if first else None)
        trainer.fit()
        return fingerprint(trainer)
    finally:
        torch.set_num_threads(threads)


def golden(work: Path, trainer_cls=None) -> dict[str, Any]:
    """Every scenario's fingerprints, with the inputs' and the environment's."""
    data, backbone = make_inputs(work)
    return {
        "environment": environment(),
        "inputs": {"data": _tree_sha(data), "backbone": _tree_sha(backbone)},
        "scenarios": {
            name: train_scenario(name, data, backbone, work / "runs", trainer_cls)
            for name in SCENARIOS
        },
    }


def main(argv: list[str]) -> int:
    """``python -m tests.train.trainer_golden [OUT.json]``: write the fingerprints."""
    import tempfile

    import tests.conftest  # noqa: F401  (the tests' offline Hugging Face cache)

    out = Path(argv[0]) if argv else GOLDEN
    with tempfile.TemporaryDirectory(prefix="tracknet-golden-") as work:
        result = golden(Path(work))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
