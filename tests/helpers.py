"""Shared test helpers: tiny random ViTs installed into a private Hugging Face cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tracknet.models.backbones.random_vit import save_random_vit

SPEC_MODEL_ID = "facebook/dinov3-vits16-pretrain-lvd1689m"
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hub_cache() -> Path:
    return Path(os.environ["HF_HUB_CACHE"])


def install_in_hf_cache(src: Path, model_id: str) -> Path:
    """Lay ``src`` out as the hub cache does: ``models--org--name/snapshots/<commit>/`` + refs."""
    repo = hub_cache() / ("models--" + model_id.replace("/", "--"))
    snapshot = repo / "snapshots" / FAKE_COMMIT
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(src, snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(FAKE_COMMIT)
    return snapshot


def tiny_vit(
    tmp: Path, kind: str = "dinov3", hidden: int = 32, layers: int = 1, patch: int = 16, **kw
):
    """A tiny random ViT saved to a local folder; returns the folder (usable as a model name)."""
    heads = kw.pop("heads", 2)
    return save_random_vit(
        tmp / f"{kind}-{hidden}-{layers}-{patch}",
        kind=kind,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        patch_size=patch,
        **kw,
    )
