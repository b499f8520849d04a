"""Fine-tuning: start a run from another run's weights (``train.init_from``).

``train.init_from=PATH`` names a run folder, its ``best/`` or ``last/`` (resolved as ``tracknet
predict --checkpoint`` does: a run folder means its ``best/``). Its weights are copied into the
freshly built model before training; the optimizer, the schedule and the step start from zero.
``tracknet train --resume`` wins over it: a resumed run restores its own weights and state.

The source must fit the model the configuration builds. A parameter whose shape differs, one the
source lacks (e.g. a temporal layer for ``model.frames=3``) or one the model lacks is listed by
name, with both shapes, and refused (:class:`tracknet.errors.CheckpointError`) unless
``train.init_strict=false``: then those stay at their initialisation, the rest is loaded and the
list is logged as a warning. A source saved without its frozen backbone (identified by a
fingerprint of the backbone's weights) must sit on the same backbone weights as this model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file

from tracknet.errors import CheckpointError
from tracknet.models.serialization import (
    WEIGHTS,
    backbone_fingerprint,
    read_meta,
    resolve_weights,
)

log = logging.getLogger("tracknet.train")

BACKBONE = "backbone."


@dataclass
class InitReport:
    """What :func:`init_from` loaded and what it left at its initialisation.

    Attributes:
        source: the weights folder read.
        loaded: names of the tensors copied from the source.
        mismatched: ``(name, source shape, model shape)`` of tensors whose shapes differ.
        missing: tensors of the model that the source lacks.
        unexpected: tensors of the source that the model lacks.
        backbone: why the source's frozen backbone differs from this model's ("" when it does not).
    """

    source: Path
    loaded: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    backbone: str = ""

    @property
    def fits(self) -> bool:
        return not (self.mismatched or self.missing or self.unexpected or self.backbone)

    def describe(self) -> str:
        """Every tensor that does not fit, one per line."""
        lines = []
        if self.mismatched:
            lines.append(
                f"{len(self.mismatched)} tensor(s) of another shape (name: source shape vs "
                "model shape):"
            )
            lines += [f"  {name}: {list(a)} vs {list(b)}" for name, a, b in self.mismatched]
        if self.missing:
            lines.append(f"{len(self.missing)} tensor(s) of the model missing from the source:")
            lines += [f"  {name}" for name in self.missing]
        if self.unexpected:
            lines.append(f"{len(self.unexpected)} tensor(s) of the source not in the model:")
            lines += [f"  {name}" for name in self.unexpected]
        if self.backbone:
            lines.append(self.backbone)
        return "\n".join(lines)


def compare_weights(
    model: torch.nn.Module, source: dict[str, torch.Tensor], meta: dict, folder: Path
) -> InitReport:
    """Which tensors of ``source`` (saved as ``meta`` describes) fit ``model``."""
    report = InitReport(folder)
    own = model.state_dict()
    for name, tensor in source.items():
        if name not in own:
            report.unexpected.append(name)
        elif tuple(tensor.shape) != tuple(own[name].shape):
            report.mismatched.append((name, tuple(tensor.shape), tuple(own[name].shape)))
        else:
            report.loaded.append(name)
    without_backbone = not meta.get("includes_backbone", False)
    for name in own:
        if name not in source and not (without_backbone and name.startswith(BACKBONE)):
            report.missing.append(name)
    expected = meta.get("backbone_fingerprint")
    if without_backbone and expected and backbone_fingerprint(model) != expected:
        report.backbone = (
            f"the source was saved without its frozen backbone ('{meta.get('backbone_id')}'), "
            "and this model's backbone weights are not those it was trained on"
        )
    return report


def init_from(model: torch.nn.Module, path: str | Path, strict: bool = True) -> InitReport:
    """Copy the weights of the run ``path`` names into ``model`` (before training starts).

    Args:
        model: the model built from this run's configuration.
        path: a run folder (its ``best/`` is used), or a ``best/`` / ``last/`` folder.
        strict: refuse any tensor that does not fit; False: load those that fit, leave the
            others at their initialisation and log them.

    Returns:
        The :class:`InitReport`.

    Raises:
        CheckpointError: the folder holds no intact model; something does not fit (``strict``);
            nothing fits at all (even when not ``strict``).
    """
    folder = resolve_weights(path)
    meta = read_meta(folder)  # checks the files against their recorded fingerprints
    source = load_file(str(folder / WEIGHTS))
    report = compare_weights(model, source, meta, folder)
    advice = (
        "build the model as the source run did (its config.yaml has the model section), or set "
        "train.init_strict=false to load only what fits"
    )
    if not report.fits and strict:
        raise CheckpointError(
            f"train.init_from={path}: the weights in {folder} do not fit this model:\n"
            f"{report.describe()}\n{advice}"
        )
    if not report.loaded:
        raise CheckpointError(
            f"train.init_from={path}: no tensor of {folder} fits this model:\n{report.describe()}"
        )
    model.load_state_dict({name: source[name] for name in report.loaded}, strict=False)
    log.info("initialised from %s: %d tensor(s) loaded", folder, len(report.loaded))
    if not report.fits:
        log.warning(
            "train.init_from=%s (train.init_strict=false): left at their initialisation:\n%s",
            path,
            report.describe(),
        )
    return report
