"""Training checkpoints that survive a kill at any moment, with no pickle anywhere.

``last/`` holds everything a resume needs:

- ``model.safetensors`` + ``model.json`` (the model, as :func:`tracknet.models.serialization.save_model`);
- ``optimizer.safetensors`` (AdamW's moment tensors) + ``optimizer.json`` (its param groups);
- ``rng.safetensors`` (torch CPU / CUDA generator states) and, in ``trainer_state.json``, the step,
  the best validation F1 and the numpy / Python generator states. The data order is a function of
  the step alone (see :mod:`tracknet.train.sampler`).

Each file is written atomically, and the folder is swapped in as a whole: it is written as
``last.new/``, then ``last/`` becomes ``last.old/``, ``last.new/`` becomes ``last/`` and ``last.old/``
is removed. ``trainer_state.json`` is written last, so a folder without it is incomplete and
:func:`find_resumable` falls back to ``last.old/``.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from tracknet.errors import CheckpointError
from tracknet.models.serialization import read_meta, save_model
from tracknet.utils import atomic_path, atomic_write_text

STATE = "trainer_state.json"


# --------------------------------------------------------------------------- optimizer
def _save_optimizer(optimizer: torch.optim.Optimizer, directory: Path) -> None:
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{name}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(idx), {})[name] = value
    with atomic_path(directory / "optimizer.safetensors") as tmp:
        save_file(tensors, str(tmp))
    atomic_write_text(
        directory / "optimizer.json",
        json.dumps({"param_groups": sd["param_groups"], "scalars": scalars}, indent=1),
    )


def _load_optimizer(optimizer: torch.optim.Optimizer, directory: Path) -> None:
    meta = json.loads((directory / "optimizer.json").read_text())
    tensors = load_file(str(directory / "optimizer.safetensors"))
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for idx, values in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


# --------------------------------------------------------------------------- RNG
def _rng_tensors() -> dict[str, torch.Tensor]:
    out = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"torch_cuda_{i}"] = s
    return out


def _rng_json() -> dict[str, Any]:
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }


def _restore_rng(directory: Path, state: dict[str, Any]) -> None:
    tensors = load_file(str(directory / "rng.safetensors"))
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("torch_cuda_")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    kind, keys, *rest = state["rng"]["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), *rest))
    version, internal, gauss = state["rng"]["python"]
    random.setstate((version, tuple(internal), gauss))


# --------------------------------------------------------------------------- folders
def save_training_state(
    run_dir: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    save_backbone: bool | None = None,
) -> Path:
    """Write ``run_dir/last/`` (model, optimizer, RNG, ``state``) and swap it in atomically."""
    run_dir = Path(run_dir)
    new, last, old = run_dir / "last.new", run_dir / "last", run_dir / "last.old"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    save_model(model, new, save_backbone=save_backbone)
    _save_optimizer(optimizer, new)
    with atomic_path(new / "rng.safetensors") as tmp:
        save_file(_rng_tensors(), str(tmp))
    atomic_write_text(new / STATE, json.dumps({**state, "rng": _rng_json()}, indent=1))
    shutil.rmtree(old, ignore_errors=True)
    if last.exists():
        last.rename(old)
    new.rename(last)
    shutil.rmtree(old, ignore_errors=True)
    return last


def find_resumable(run_dir: str | Path) -> Path:
    """The newest complete training state in ``run_dir`` (``last/``, else ``last.old/``)."""
    run_dir = Path(run_dir)
    for candidate in (run_dir / "last", run_dir / "last.old"):
        if (candidate / STATE).exists():
            return candidate
    raise CheckpointError(
        f"{run_dir} holds no complete training state (no last/{STATE}); nothing to resume"
    )


def load_training_state(
    directory: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore model weights, optimizer and RNG from ``directory``; returns the saved state."""
    from safetensors.torch import load_file as load_weights

    directory = Path(directory)
    meta = read_meta(directory)  # checks every file against its recorded fingerprint
    weights = load_weights(str(directory / "model.safetensors"))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [
        k for k in missing if not (k.startswith("backbone.") and not meta["includes_backbone"])
    ]
    if missing or unexpected:
        raise CheckpointError(
            f"{directory} was saved from another model configuration: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    try:
        _load_optimizer(optimizer, directory)
    except (ValueError, KeyError) as exc:
        raise CheckpointError(f"optimizer state in {directory} does not fit: {exc}") from exc
    state = json.loads((directory / STATE).read_text())
    _restore_rng(directory, state)
    return state
