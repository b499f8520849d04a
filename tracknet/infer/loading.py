"""Find and load what ``--checkpoint RUN_DIR`` names: the weights and the run's configuration."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tracknet.config import Config, load_config
from tracknet.errors import CheckpointError
from tracknet.models.protocol import WindowModel
from tracknet.models.serialization import load_model


def resolve_checkpoint(path: str | Path) -> tuple[Path, Path]:
    """``(weights folder, config.yaml)`` for a run folder, its ``best/`` or ``last/``.

    A run folder's ``best/`` (best validation F1) is preferred over its latest weights; a
    ``best.old/`` stands in for it when training was killed while swapping a new ``best/`` in.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    candidates = (path / "best", path / "best.old", path)
    weights = next((c for c in candidates if (c / "model.json").exists()), path)
    if not (weights / "model.json").exists():
        raise CheckpointError(
            f"{path} holds no model (no model.json): pass a run folder written by tracknet train"
        )
    for folder in (path, path.parent):
        if (folder / "config.yaml").exists():
            return weights, folder / "config.yaml"
    raise CheckpointError(f"no config.yaml in {path} or its parent: is this a run folder?")


def load_run(
    path: str | Path, overrides: Sequence[str] = (), device_map: str | None = None
) -> tuple[WindowModel, Config]:
    """Load a trained model (on the CPU) and its run configuration with ``overrides`` applied."""
    weights, config = resolve_checkpoint(path)
    cfg = load_config(config, overrides)
    return load_model(weights, device_map=device_map), cfg
