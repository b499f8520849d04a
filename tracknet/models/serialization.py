"""Saving and loading trained models: safetensors weights + a JSON description. No pickle.

A model folder holds:

- ``model.safetensors``: the weights (without the backbone's when it was frozen);
- ``backbone/config.json``: the backbone's Hugging Face config, when its weights are included,
  so the model rebuilds without the original weights in the cache;
- ``model.json``: the model configuration, normalisation constants, the backbone id and a
  fingerprint of its weights (checked on load when they are not included), and the SHA-256 of
  every other file (a folder whose files do not match is refused). It is written last, so a
  folder without it is incomplete.

A run folder (``tracknet train``'s ``run.dir``) holds such folders: the latest weights at its top,
``best/`` and ``last/``; :func:`resolve_checkpoint` finds the one a path names.

:func:`save_model` / :func:`load_model` work for every model :func:`tracknet.models.build_model`
makes (the model's ``config`` is what ``model.json`` records, and what the loader rebuilds from).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from safetensors.torch import load_file, save_file

from tracknet.config import ModelConfig
from tracknet.errors import CheckpointError
from tracknet.models.factory import build_model
from tracknet.models.tracknet import TrackNet
from tracknet.models.unet import TrackNetV2UNet
from tracknet.models.zoo import resolve_model_path
from tracknet.utils import atomic_path, atomic_write_text, sha256_file

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
META = "model.json"
BACKBONE_DIR = "backbone"


def fingerprint_state(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of a state dict (order independent)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def backbone_fingerprint(model: torch.nn.Module) -> str | None:
    backbone = getattr(model, "backbone", None)
    if backbone is None or not hasattr(backbone, "model"):
        return None
    return fingerprint_state(backbone.model.state_dict())


def save_model(
    model: torch.nn.Module, directory: str | Path, save_backbone: bool | None = None
) -> Path:
    """Save ``model`` (built by :func:`tracknet.models.build_model`) into ``directory``.

    Args:
        save_backbone: include the backbone's weights. ``None``: only when it is not frozen
            (a fine-tuned backbone must be saved; a frozen one is identified by its fingerprint).
            A model without a Hugging Face backbone (the U-Net) has none to include.
    """
    cfg: ModelConfig | None = getattr(model, "config", None)
    if not isinstance(cfg, ModelConfig):
        raise ValueError("save_model needs a model made by build_model (it carries its config)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    has_backbone = hasattr(model, "backbone") and hasattr(model.backbone, "model")
    if not has_backbone:
        save_backbone = False
    elif save_backbone is None:
        save_backbone = not model.backbone.frozen
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if has_backbone and not save_backbone:
        state = {k: v for k, v in state.items() if not k.startswith("backbone.")}
    with atomic_path(directory / WEIGHTS) as tmp:
        save_file(state, str(tmp))
    files = {WEIGHTS: sha256_file(directory / WEIGHTS)}
    if has_backbone and save_backbone:
        hf_cfg = model.backbone.model.config.to_json_string()
        atomic_write_text(directory / BACKBONE_DIR / "config.json", hf_cfg)
        files[f"{BACKBONE_DIR}/config.json"] = sha256_file(directory / BACKBONE_DIR / "config.json")
    meta = {
        "format": "tracknet",
        "version": FORMAT_VERSION,
        "model": dataclasses.asdict(cfg),
        "includes_backbone": bool(save_backbone),
        "backbone_id": cfg.pretrained_model_name if has_backbone else None,
        "backbone_fingerprint": backbone_fingerprint(model),
        "image_mean": model.image_mean.flatten().tolist() if has_backbone else None,
        "image_std": model.image_std.flatten().tolist() if has_backbone else None,
        "files": files,
    }
    atomic_write_text(directory / META, json.dumps(meta, indent=2))
    return directory


def resolve_weights(path: str | Path) -> Path:
    """The model folder a path names: a run folder's ``best/``, else the folder itself.

    A bundled model's name (:mod:`tracknet.models.zoo`) names its folder. A run folder's
    ``best/`` (best validation F1) is preferred over its latest weights; a
    ``best.old/`` stands in for it when training was killed while swapping a new ``best/`` in.
    ``best/``, ``last/`` or any folder holding ``model.json`` is taken as it is.

    Raises:
        CheckpointError: the path does not exist or holds no model.
    """
    path = resolve_model_path(path)
    candidates = (path / "best", path / "best.old", path)
    weights = next((c for c in candidates if (c / META).exists()), path)
    if not (weights / META).exists():
        raise CheckpointError(
            f"{path} holds no model (no {META}): pass a run folder written by tracknet train"
        )
    return weights


def resolve_checkpoint(path: str | Path) -> tuple[Path, Path]:
    """``(weights folder, config.yaml)`` for a run folder, its ``best/`` or ``last/``.

    The weights are :func:`resolve_weights`'s; the configuration is the run folder's.
    """
    path = resolve_model_path(path)
    weights = resolve_weights(path)
    for folder in (path, path.parent):
        if (folder / "config.yaml").exists():
            return weights, folder / "config.yaml"
    raise CheckpointError(f"no config.yaml in {path} or its parent: is this a run folder?")


def read_meta(directory: str | Path) -> dict:
    """Read and check ``model.json``: present, parseable, and every listed file intact."""
    directory = Path(directory)
    meta_path = directory / META
    if not meta_path.exists():
        raise CheckpointError(
            f"{directory} is not a tracknet model folder (no {META}); pass a run folder written "
            "by `tracknet train` or its best/ or last/ subfolder"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{meta_path} is not valid JSON: {exc}") from exc
    if meta.get("format") != "tracknet" or meta.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{meta_path}: unknown checkpoint format {meta.get('format')!r}")
    verify_fingerprints(directory, meta.get("files", {}))
    return meta


def verify_fingerprints(directory: Path, files: dict[str, str]) -> None:
    """Raise :class:`CheckpointError` unless each of ``files`` (name -> SHA-256) is there intact."""
    for name, expected in files.items():
        path = directory / name
        if not path.is_file():
            raise CheckpointError(f"checkpoint file {path} is missing")
        if sha256_file(path) != expected:
            raise CheckpointError(
                f"checkpoint file {path} does not match its recorded fingerprint (modified or "
                "corrupted); refusing to load it"
            )


def model_config_from_meta(meta: dict) -> ModelConfig:
    try:
        merged = OmegaConf.merge(OmegaConf.structured(ModelConfig()), meta["model"])
        return OmegaConf.to_object(merged)
    except (OmegaConfBaseException, KeyError) as exc:
        raise CheckpointError(f"checkpoint model config is incompatible: {exc}") from exc


def load_model(directory: str | Path, device_map: str | None = None) -> TrackNet | TrackNetV2UNet:
    """Rebuild the model saved in ``directory`` (on the CPU unless ``device_map`` says otherwise)."""
    directory = Path(directory)
    meta = read_meta(directory)
    cfg = model_config_from_meta(meta)
    cfg.backbone.device_map = device_map
    hf_model = None
    if meta["includes_backbone"] and cfg.type == "vit":
        # start-up time: transformers takes ~2 s to import; only a saved backbone needs it here
        from transformers import AutoConfig, AutoModel

        hf_cfg = AutoConfig.from_pretrained(directory / BACKBONE_DIR, local_files_only=True)
        hf_model = AutoModel.from_config(hf_cfg, trust_remote_code=False)
    model = build_model(cfg, backbone_module=hf_model)
    if meta.get("image_mean"):
        model.image_mean.copy_(torch.tensor(meta["image_mean"]).view(1, 3, 1, 1))
        model.image_std.copy_(torch.tensor(meta["image_std"]).view(1, 3, 1, 1))
    state = load_file(str(directory / WEIGHTS))
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed_missing = (
        [] if meta["includes_backbone"] else [k for k in missing if k.startswith("backbone.")]
    )
    bad_missing = sorted(set(missing) - set(allowed_missing))
    if bad_missing or unexpected:
        raise CheckpointError(
            f"checkpoint {directory} does not fit its own model config: "
            f"missing {bad_missing[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    if not meta["includes_backbone"] and meta.get("backbone_fingerprint"):
        found = backbone_fingerprint(model)
        if found != meta["backbone_fingerprint"]:
            raise CheckpointError(
                f"the backbone '{meta['backbone_id']}' in the local cache is not the one this "
                f"checkpoint was trained with (weights fingerprint differs); restore those "
                "weights or retrain"
            )
    model.eval()
    return model
