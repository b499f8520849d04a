"""A Hugging Face ViT (DINOv3, DINOv2) as a patch-grid feature extractor.

``ViTBackbone`` loads ``AutoModel.from_pretrained(name, local_files_only=...)`` and turns images
``[B, 3, H, W]`` (H and W multiples of ``patch_size``) into patch tokens ``[B, H/p, W/p, C]``: the
class token and the register tokens are dropped. Remote code is never trusted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tracknet.config import ConfigError
from tracknet.constants import IMAGENET_MEAN, IMAGENET_STD  # still importable from here
from tracknet.errors import BackboneNotFoundError
from tracknet.models.zoo import bundled_path


@dataclass
class ViTBackboneConfig:
    """How to load the backbone.

    Attributes:
        pretrained_model_name: a Hugging Face model id in the local cache, or a local folder.
        device_map: passed to ``from_pretrained`` (``"auto"`` places the model on a GPU when one
            is present; use ``None`` for distributed training).
        local_files_only: never reach the network (the default).
        patch_size: must equal the model's own patch size.
        freeze: no gradients, and the backbone stays in ``eval()`` when its parent trains.
    """

    pretrained_model_name: str
    device_map: str | None = "auto"
    local_files_only: bool = True
    patch_size: int = 16
    freeze: bool = False


def _download_hint(name: str) -> str:
    return (
        f"backbone '{name}' is not in the local Hugging Face cache "
        f"({_hf_cache_dir()}). The DINOv3 weights are gated: accept the licence on the model's "
        f"Hugging Face page, then run `hf auth login` and `hf download {name}` once "
        "(or set model.pretrained_model_name to a local folder written by save_pretrained)."
    )


def _hf_cache_dir() -> str:
    try:
        from huggingface_hub import constants  # start-up time: only for this error message

        return str(constants.HF_HUB_CACHE)
    except Exception:  # pragma: no cover - very old hub versions
        return "~/.cache/huggingface/hub"


def backbone_source(name: str) -> str:
    """Where ``name``'s weights are: a bundled model's name (``badminton``) is its trained
    backbone (:mod:`tracknet.models.zoo`), anything else a Hugging Face id or folder."""
    folder = bundled_path(name)
    return str(folder / "backbone") if folder is not None else name


def load_pretrained_vit(
    name: str, local_files_only: bool = True, device_map: str | None = None
) -> nn.Module:
    """``AutoModel.from_pretrained`` with a clear error when the weights are not there."""
    name = backbone_source(name)
    # start-up time: transformers takes ~2 s to import; only loading a backbone needs it
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # PyTorch's fused scaled-dot-product attention (flash / memory-efficient kernels)
    kwargs: dict = {
        "local_files_only": local_files_only,
        "trust_remote_code": False,
        "attn_implementation": "sdpa",
    }
    if device_map is not None:
        kwargs["device_map"] = device_map
    try:
        return AutoModel.from_pretrained(name, **kwargs)
    except OSError as exc:
        raise BackboneNotFoundError(_download_hint(name)) from exc


def read_image_mean_std(
    name: str, local_files_only: bool = True
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Normalisation constants from the snapshot's ``preprocessor_config.json``, else ImageNet's."""
    name = backbone_source(name)
    path: str | None
    if Path(name).is_dir():
        candidate = Path(name) / "preprocessor_config.json"
        path = str(candidate) if candidate.exists() else None
    else:
        from transformers.utils import cached_file  # start-up time, as in load_pretrained_vit

        try:
            path = cached_file(
                name,
                "preprocessor_config.json",
                local_files_only=local_files_only,
                _raise_exceptions_for_missing_entries=False,
            )
        except OSError:
            path = None
    if path:
        data = json.loads(Path(path).read_text())
        mean, std = data.get("image_mean"), data.get("image_std")
        if mean and std and len(mean) == 3 and len(std) == 3:
            return tuple(float(v) for v in mean), tuple(float(v) for v in std)
    return IMAGENET_MEAN, IMAGENET_STD


class ViTBackbone(nn.Module):
    """Patch tokens of a Hugging Face ViT: ``[B, 3, H, W] -> [B, H/p, W/p, C]``."""

    def __init__(self, config: ViTBackboneConfig, model: nn.Module | None = None):
        super().__init__()
        self.config = config
        self.eager_max_tokens: int | None = None  # see set_attention
        # ``model``: an already built HF ViT (restoring a checkpoint that carries its weights)
        self.model = model or load_pretrained_vit(
            config.pretrained_model_name, config.local_files_only, config.device_map
        )
        hf: Any = self.model.config  # the HF model's PretrainedConfig
        model_patch = int(getattr(hf, "patch_size", config.patch_size))
        if model_patch != config.patch_size:
            raise ConfigError(
                f"patch_size={config.patch_size} does not match the model "
                f"'{config.pretrained_model_name}', whose patch size is {model_patch}; "
                f"set patch_size={model_patch}"
            )
        self.patch_size = model_patch
        self.hidden_size = int(hf.hidden_size)
        # class token + registers (DINOv3 and DINOv2-with-registers have them; DINOv2 has none)
        self.num_prefix_tokens = 1 + int(getattr(hf, "num_register_tokens", 0) or 0)
        self.image_mean, self.image_std = read_image_mean_std(
            config.pretrained_model_name, config.local_files_only
        )
        if config.freeze:
            self.model.requires_grad_(False)
            self.model.eval()
        else:
            # the mask token is used only for masked-image pre-training: never reached here, and an
            # unused trainable parameter would stall DistributedDataParallel
            mask_token = getattr(getattr(self.model, "embeddings", None), "mask_token", None)
            if isinstance(mask_token, torch.nn.Parameter):
                mask_token.requires_grad_(False)

    @property
    def frozen(self) -> bool:
        return self.config.freeze

    def train(self, mode: bool = True) -> ViTBackbone:
        # A frozen DINOv3 must stay in eval(): in train() it randomly rescales its rotary
        # position embedding, which would perturb the features of a backbone we do not train.
        super().train(mode and not self.config.freeze)
        return self

    def set_attention(self, implementation: str, eager_max_tokens: int | None = None) -> None:
        """Switch the ViT's attention kernel (``"sdpa"`` or ``"eager"``); same function, other speed.

        ``eager_max_tokens`` (with ``"eager"``): use eager attention only for inputs of at most
        that many patches and SDPA above, chosen at each call.
        """
        self.eager_max_tokens = eager_max_tokens if implementation == "eager" else None
        self._use_attention(implementation)

    def _use_attention(self, implementation: str) -> None:
        setter = getattr(self.model, "set_attn_implementation", None)
        hf: Any = self.model.config
        if setter is not None and hf._attn_implementation != implementation:
            setter(implementation)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` when ``x`` is not ``[B, 3, H, W]`` with H, W multiples of p."""
        p = self.patch_size
        if x.ndim != 4:
            raise ValueError(
                f"expected images [B, 3, H, W], got a {x.ndim}-D tensor of shape {tuple(x.shape)}"
            )
        if x.shape[1] != 3:
            raise ValueError(
                f"expected 3 colour channels in [B, 3, H, W], got {x.shape[1]} "
                f"(shape {tuple(x.shape)})"
            )
        h, w = x.shape[-2:]
        if h % p or w % p or h == 0 or w == 0:
            valid_h, valid_w = max(p, -(-h // p) * p), max(p, -(-w // p) * p)  # round up
            raise ValueError(
                f"image size {h}x{w} (HxW) is not a multiple of the patch size {p}; "
                f"resize to e.g. {valid_h}x{valid_w}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[B, 3, H, W]`` normalised images. Returns ``[B, H/p, W/p, C]`` on x's device."""
        self.check_input(x)
        b, _, h, w = x.shape
        if self.eager_max_tokens is not None:
            tokens = (h // self.patch_size) * (w // self.patch_size)
            self._use_attention("eager" if tokens <= self.eager_max_tokens else "sdpa")
        param = next(self.model.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.freeze):
            out = self.model(pixel_values=x.to(device=param.device, dtype=param.dtype))
        tokens = out.last_hidden_state[:, self.num_prefix_tokens :]  # [B, N, C]
        grid = tokens.reshape(b, h // self.patch_size, w // self.patch_size, -1)  # [B, Hp, Wp, C]
        return grid.to(x.device)
