"""Models that ship with tracknet, run by name: ``--checkpoint badminton``.

A bundled model is a folder ``tracknet/models/bundled/<name>/`` inside the package, laid out as a
trained run's model folder, so everything that takes a run folder takes it:

- ``model.safetensors``, ``model.json`` and ``backbone/config.json``: the weights, as
  :func:`tracknet.models.serialization.save_model` writes them (the backbone included);
- ``backbone/model.safetensors`` and ``backbone/preprocessor_config.json``: the trained backbone
  alone in Hugging Face's layout, so ``model.pretrained_model_name=<name>`` builds a model of
  the same shape for fine-tuning (with ``train.init_from=<name>``);
- ``config.yaml``: the run configuration it was trained with (the data paths emptied);
- ``card.json``: what ``tracknet models`` prints: the footage, its licence, the training and
  the held-out figures with the commands that produced them (the model card, ``docs/models.md``,
  says the same at length).

A bundled name wins over a folder of the same name in the working directory: ``badminton``
always means the shipped model (write ``./badminton`` for the folder). Nothing is downloaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracknet.errors import CheckpointError

BUNDLED_ROOT = Path(__file__).resolve().parent / "bundled"
"""Where the bundled models live (package data)."""

CARD = "card.json"


@dataclass(frozen=True)
class BundledModel:
    """One shipped model: its folder and its card.

    Attributes:
        name: what ``--checkpoint`` takes.
        path: the model folder.
        card: ``card.json`` as read (``summary``, ``sport``, ``footage``, ``licence``,
            ``training``, ``figures``, ...).
    """

    name: str
    path: Path
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return str(self.card.get("summary", ""))

    @property
    def size_bytes(self) -> int:
        """Bytes of weights the model carries (``model.safetensors``)."""
        weights = self.path / "model.safetensors"
        return weights.stat().st_size if weights.exists() else 0


def bundled_models(root: Path | None = None) -> dict[str, BundledModel]:
    """The bundled models by name (folders of ``root`` holding a ``model.json``), sorted."""
    root = BUNDLED_ROOT if root is None else root
    if not root.is_dir():
        return {}
    out: dict[str, BundledModel] = {}
    for folder in sorted(p for p in root.iterdir() if (p / "model.json").is_file()):
        card_path = folder / CARD
        try:
            card = json.loads(card_path.read_text()) if card_path.exists() else {}
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{card_path} is not valid JSON: {exc}") from exc
        out[folder.name] = BundledModel(folder.name, folder, card)
    return out


def bundled_path(name: str | Path) -> Path | None:
    """The folder of the bundled model ``name``; None when ``name`` is no bundled model's."""
    text = str(name)
    if not text or "/" in text or "\\" in text or text.startswith("."):
        return None
    model = bundled_models().get(text)
    return model.path if model is not None else None


def resolve_model_path(path: str | Path) -> Path:
    """What a ``--checkpoint`` names: a bundled model's folder for its name, else the path.

    Raises:
        CheckpointError: neither a bundled model nor an existing path (one line, naming the
            bundled models).
    """
    found = bundled_path(path)
    if found is not None:
        return found
    path = Path(path)
    if not path.exists():
        names = ", ".join(bundled_models()) or "none"
        raise CheckpointError(
            f"checkpoint {path} does not exist and is not a bundled model (bundled: {names}); "
            "pass a run folder written by tracknet train, or a bundled name (tracknet models)"
        )
    return path
