"""Find and load what ``--checkpoint RUN_DIR`` names: the weights and the run's configuration.

:func:`resolve_checkpoint` (which folder, which ``config.yaml``) lives in
:mod:`tracknet.models.serialization`, below training, which resolves ``train.init_from`` with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tracknet.config import Config, load_config, wh_to_hw
from tracknet.data.codec import heatmap_size_for_input
from tracknet.models.protocol import WindowModel
from tracknet.models.serialization import load_model, resolve_checkpoint


def load_run(
    path: str | Path, overrides: Sequence[str] = (), device_map: str | None = None
) -> tuple[WindowModel, Config]:
    """Load a trained model (on the CPU) and its run configuration with ``overrides`` applied."""
    weights, config = resolve_checkpoint(path)
    cfg = load_config(config, overrides)
    follow_input_size(cfg, load_config(config))
    return load_model(weights, device_map=device_map), cfg


def follow_input_size(cfg: Config, trained: Config) -> None:
    """A run loaded at another input size (``model.input_size=[384,224]``, e.g. for speed) gets
    the heatmap size its model gives that input, the trained input-to-heatmap ratio
    (:func:`~tracknet.data.codec.heatmap_size_for_input`, what the model computes itself), unless
    ``model.heatmap.size`` was changed too. Without it the codec would read the model's smaller
    heatmaps on the trained grid: every position wrong. Changes ``cfg`` in place."""
    same_input = list(cfg.model.input_size) == list(trained.model.input_size)
    if same_input or list(cfg.model.heatmap.size) != list(trained.model.heatmap.size):
        return
    h, w = heatmap_size_for_input(
        wh_to_hw(cfg.model.input_size),
        wh_to_hw(trained.model.input_size),
        wh_to_hw(trained.model.heatmap.size),
    )
    cfg.model.heatmap.size = [w, h]
