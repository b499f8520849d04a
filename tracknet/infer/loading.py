"""Find and load what ``--checkpoint RUN_DIR`` names: the weights and the run's configuration.

:func:`resolve_checkpoint` (which folder, which ``config.yaml``) lives in
:mod:`tracknet.models.serialization`, below training, which resolves ``train.init_from`` with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tracknet.config import Config, load_config
from tracknet.models.protocol import WindowModel
from tracknet.models.serialization import load_model, resolve_checkpoint


def load_run(
    path: str | Path, overrides: Sequence[str] = (), device_map: str | None = None
) -> tuple[WindowModel, Config]:
    """Load a trained model (on the CPU) and its run configuration with ``overrides`` applied."""
    weights, config = resolve_checkpoint(path)
    cfg = load_config(config, overrides)
    return load_model(weights, device_map=device_map), cfg
