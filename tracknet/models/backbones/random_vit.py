"""Write small randomly initialised DINOv3 / DINOv2 ViTs in the Hugging Face folder format.

Used by the demo (nothing to download) and by the tests: the folder written here is loaded through
the same ``AutoModel.from_pretrained(..., local_files_only=True)`` path as the real weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tracknet.constants import IMAGENET_MEAN, IMAGENET_STD


def save_random_vit(
    directory: str | Path,
    kind: str = "dinov3",
    hidden_size: int = 384,
    num_layers: int = 1,
    num_heads: int = 6,
    patch_size: int = 16,
    num_register_tokens: int = 4,
    intermediate_size: int | None = None,
    seed: int = 0,
) -> Path:
    """Save a random ViT (weights, config and ``preprocessor_config.json``) into ``directory``.

    Args:
        kind: ``dinov3``, ``dinov2`` (no registers) or ``dinov2_registers``.
    """
    # start-up time: transformers takes ~2 s to import; only writing a ViT needs it
    from transformers import (
        Dinov2Config,
        Dinov2Model,
        Dinov2WithRegistersConfig,
        Dinov2WithRegistersModel,
        DINOv3ViTConfig,
        DINOv3ViTModel,
    )

    common = dict(
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size or 4 * hidden_size,
        patch_size=patch_size,
    )
    torch.manual_seed(seed)
    if kind == "dinov3":
        model = DINOv3ViTModel(DINOv3ViTConfig(num_register_tokens=num_register_tokens, **common))
    elif kind == "dinov2":
        common.pop("intermediate_size")
        model = Dinov2Model(Dinov2Config(mlp_ratio=4, **common))
    elif kind == "dinov2_registers":
        common.pop("intermediate_size")
        model = Dinov2WithRegistersModel(
            Dinov2WithRegistersConfig(
                num_register_tokens=num_register_tokens, mlp_ratio=4, **common
            )
        )
    else:
        raise ValueError(f"kind must be dinov3, dinov2 or dinov2_registers, got {kind!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    (directory / "preprocessor_config.json").write_text(
        json.dumps({"image_mean": list(IMAGENET_MEAN), "image_std": list(IMAGENET_STD)}, indent=2)
    )
    return directory
