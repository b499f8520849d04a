"""Child process of ``test_training_faults``: saves training states, SIGKILLing itself inside one.

Usage: ``python ckpt_driver.py RUN_DIR STEP:POINT [STEP:POINT ...]`` where POINT is ``none``
(a complete save) or where in :func:`save_training_state` the process kills itself:

- ``model``: half-way through writing ``last.new/model.safetensors``;
- ``optimizer``: half-way through ``last.new/optimizer.safetensors``;
- ``state``: half-way through ``last.new/trainer_state.json`` (the file written last);
- ``swap``: after ``last/`` became ``last.old/``, before ``last.new/`` becomes ``last/``;
- ``cleanup``: while ``last.old/`` is being removed.

The weights of the state saved at step ``s`` are :func:`weights_for` ``(s)``, so the parent can
check which state it loads.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import torch


def build():
    from tracknet.config import load_config
    from tracknet.models import build_model
    from tracknet.train.optim import build_optimizer

    cfg = load_config(
        overrides=[
            "model.type=unet",
            "model.unet.base_channels=4",
            "model.input_size=[64,32]",
            "model.heatmap.size=[64,32]",
        ]
    )
    torch.manual_seed(0)
    model = build_model(cfg)
    return model, build_optimizer(model, cfg.train)


def weights_for(model: torch.nn.Module, step: int) -> None:
    """Deterministic weights and optimizer moments for ``step``."""
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.full_like(p, step + i / 1000))


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(point: str) -> None:
    import tracknet.models.serialization as serialization
    import tracknet.train.checkpoint as checkpoint
    import tracknet.utils as utils

    def half_then_die(real, name):
        def save(tensors, path, *a, **k):
            real(tensors, path, *a, **k)
            if Path(path).name.startswith(f".{name}."):  # the temporary file of ``name``
                data = Path(path).read_bytes()
                Path(path).write_bytes(data[: len(data) // 2])
                _kill()

        return save

    if point == "model":
        serialization.save_file = half_then_die(serialization.save_file, "model.safetensors")
    elif point == "optimizer":
        checkpoint.save_file = half_then_die(checkpoint.save_file, "optimizer.safetensors")
    elif point == "state":
        real_write = utils.atomic_write_text

        def write(path, text):
            if Path(path).name == checkpoint.STATE:
                with utils.atomic_path(path) as tmp:
                    tmp.write_text(text[: len(text) // 2])
                    _kill()
            real_write(path, text)

        checkpoint.atomic_write_text = write
    elif point == "swap":
        real_rename = Path.rename

        def rename(self, target):
            if self.name == "last.new":
                _kill()
            return real_rename(self, target)

        Path.rename = rename
    elif point == "cleanup":
        real_rmtree = shutil.rmtree

        def rmtree(path, *a, **k):
            if Path(path).name == "last.old" and Path(path).exists():
                files = sorted(Path(path).iterdir())
                files[0].unlink()  # part of it gone, then killed
                _kill()
            return real_rmtree(path, *a, **k)

        checkpoint.shutil.rmtree = rmtree
    elif point != "none":
        raise SystemExit(f"unknown kill point {point}")


def main() -> None:
    from tracknet.train.checkpoint import save_training_state

    run_dir = Path(sys.argv[1])
    model, optimizer = build()
    for item in sys.argv[2:]:
        step, point = item.split(":")
        weights_for(model, int(step))
        model(torch.rand(1, 3, 32, 64)).sum().backward()
        optimizer.step()
        _arm(point)
        save_training_state(run_dir, model, optimizer, {"step": int(step), "best_f1": -1.0})


if __name__ == "__main__":
    main()
