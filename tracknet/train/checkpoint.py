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
:func:`find_resumable` falls back to ``last.old/``; the next save first moves such a
``last.old/`` back to ``last/``, so a second crash cannot lose it.

Safety: only safetensors and JSON are read back, and ``trainer_state.json`` records the SHA-256
of every other file of the folder (``model.json`` those of the model files): a folder whose files
do not match is refused. A write that fails (disk full, read-only...) stops with a
:class:`tracknet.errors.StorageError` that names the intact previous checkpoint.
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

from tracknet.errors import CheckpointError, StorageError
from tracknet.models.serialization import read_meta, save_model, verify_fingerprints
from tracknet.utils import atomic_path, atomic_write_text, sha256_file, storage_error

STATE = "trainer_state.json"
# Files of a training state besides the model's (whose fingerprints model.json holds).
STATE_FILES = ("optimizer.safetensors", "optimizer.json", "rng.safetensors")


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
    np_state = np.random.get_state()  # legacy=True (the default): a tuple
    assert isinstance(np_state, tuple)
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
    """Write ``run_dir/last/`` (model, optimizer, RNG, ``state``) and swap it in atomically.

    Raises:
        StorageError: a file could not be written (disk full, read-only, ...); ``last/`` is left
            as it was and the partial ``last.new/`` is removed.
    """
    run_dir = Path(run_dir)
    new, last = run_dir / "last.new", run_dir / "last"
    _recover(run_dir)
    try:
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir(parents=True)
        save_model(model, new, save_backbone=save_backbone)
        _save_optimizer(optimizer, new)
        with atomic_path(new / "rng.safetensors") as tmp:
            save_file(_rng_tensors(), str(tmp))
        files = {name: sha256_file(new / name) for name in STATE_FILES}
        atomic_write_text(
            new / STATE, json.dumps({**state, "rng": _rng_json(), "files": files}, indent=1)
        )
    except OSError as exc:
        shutil.rmtree(new, ignore_errors=True)  # free what the partial copy took
        error = storage_error(exc, new)
        if error is exc and not isinstance(exc, StorageError):
            raise
        stopped = StorageError(f"{_strip(error)}. Training stopped; {_previous(run_dir)}")
        stopped.errno = exc.errno
        raise stopped from exc
    swap_in(new, last)
    return last


def swap_in(new: Path, final: Path) -> None:
    """Replace the folder ``final`` by the complete folder ``new``, never leaving neither.

    ``final`` becomes ``final.old``, ``new`` becomes ``final``, ``final.old`` is removed: a kill
    between the two renames leaves ``final.old`` complete (readers fall back to it).
    """
    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def save_model_folder(
    model: torch.nn.Module,
    directory: str | Path,
    save_backbone: bool | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Save ``model`` (and ``extra`` text files) as the folder ``directory``, swapped in whole.

    Written as ``NAME.new/`` and swapped in by :func:`swap_in`, so the pair ``model.safetensors``
    / ``model.json`` is always from one save: a kill at any moment leaves the previous folder
    (or its ``.old`` copy) loadable. On an error the partial ``NAME.new/`` is removed.
    """
    directory = Path(directory)
    new = directory.with_name(directory.name + ".new")
    try:
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir(parents=True)
        save_model(model, new, save_backbone=save_backbone)
        for name, text in (extra or {}).items():
            atomic_write_text(new / name, text)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    swap_in(new, directory)
    return directory


def _strip(error: BaseException) -> str:
    return str(error).rstrip(". ")


def _previous(run_dir: Path) -> str:
    """What the user still has: the last complete checkpoint (and its step), if any."""
    try:
        last = find_resumable(run_dir)
        step = json.loads((last / STATE).read_text()).get("step", "?")
    except (CheckpointError, OSError, ValueError):
        return "no earlier checkpoint existed"
    return (
        f"the last good checkpoint {last} (step {step}) is intact: free space, then resume "
        f"with `tracknet train --resume {run_dir}`"
    )


def _recover(run_dir: Path) -> None:
    """Move a complete ``last.old/`` back to ``last/`` when a crash left no complete ``last/``
    (killed between the two renames of :func:`save_training_state`)."""
    last, old = run_dir / "last", run_dir / "last.old"
    if (last / STATE).exists() or not (old / STATE).exists():
        return
    shutil.rmtree(last, ignore_errors=True)
    old.rename(last)


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
    """Restore model weights, optimizer and RNG from ``directory``; returns the saved state.

    Raises:
        CheckpointError: a file is missing, does not match its recorded fingerprint, or the
            state was saved from another model configuration.
    """
    directory = Path(directory)
    meta = read_meta(directory)  # checks the model files against their recorded fingerprints
    state = _read_state(directory)
    weights = load_file(str(directory / "model.safetensors"))
    try:
        missing, unexpected = model.load_state_dict(weights, strict=False)
    except RuntimeError as exc:  # tensors of other shapes
        first = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), "")
        raise CheckpointError(
            f"{directory} was saved from another model configuration ({first}); resume with the "
            "run's own config.yaml or start a new run"
        ) from exc
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
    _restore_rng(directory, state)
    return state


def _read_state(directory: Path) -> dict[str, Any]:
    """``trainer_state.json``, after checking every file it fingerprints."""
    path = directory / STATE
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path} cannot be read ({exc}); resume from another run") from exc
    files = state.get("files")
    if not isinstance(files, dict) or set(files) != set(STATE_FILES):
        raise CheckpointError(
            f"{path} does not list the fingerprints of {', '.join(STATE_FILES)}; this training "
            "state was not written by this version of tracknet"
        )
    verify_fingerprints(directory, files)
    return state
