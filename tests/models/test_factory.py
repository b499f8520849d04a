"""The factory, the WindowModel interface, and who imports whom among the model modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

import tracknet.models as models_package
from tracknet.config import ModelConfig, load_config
from tracknet.models import TrackNet, TrackNetV2UNet, WindowModel, build_model
from tracknet.models.factory import build_tracknet, build_unet

MODELS = Path(models_package.__file__).parent


def vit_cfg(backbone: str, *extra: str):
    return load_config(
        overrides=[
            f"model.pretrained_model_name={backbone}",
            "model.backbone.device_map=null",
            "model.frames=3",
            "model.input_size=[64,32]",
            "model.heatmap.size=[32,16]",
            "model.decoder.channels=[32,8]",
            "model.decoder.upsample=[2]",
            "model.temporal.heads=2",
            *extra,
        ]
    )


def unet_cfg(*extra: str):
    return load_config(
        overrides=[
            "model.type=unet",
            "model.frames=3",
            "model.unet.base_channels=4",
            "model.input_size=[64,32]",
            "model.heatmap.size=[32,16]",
            *extra,
        ]
    )


# --------------------------------------------------------------------------- factory
def test_build_model_dispatches_on_the_model_type(tiny_dinov3):
    vit, unet = build_model(vit_cfg(tiny_dinov3)), build_model(unet_cfg())
    assert type(vit) is TrackNet and type(unet) is TrackNetV2UNet
    # the whole configuration or its model section, the same model
    assert type(build_model(unet_cfg().model)) is TrackNetV2UNet
    assert type(build_tracknet(vit_cfg(tiny_dinov3).model)) is TrackNet
    assert type(build_unet(unet_cfg().model)) is TrackNetV2UNet


def test_the_factory_hands_geometry_and_config_to_the_constructors(tiny_dinov3):
    cfg = vit_cfg(tiny_dinov3)
    vit = build_model(cfg)
    assert vit.config is cfg.model and isinstance(vit.config, ModelConfig)
    assert vit.frames == 3 and vit.input_hw == (32, 64) and vit.heatmap_hw == (16, 32)
    assert vit.size_multiple == vit.backbone.patch_size == 16
    ucfg = unet_cfg()
    unet = build_model(ucfg)
    assert unet.config is ucfg.model
    assert unet.frames == 3 and unet.input_hw == (32, 64) and unet.out_size == (16, 32)
    assert unet.size_multiple == 8


def test_models_have_no_model_config_set_afterwards(tiny_dinov3):
    """The old ``model.model_config`` attribute is gone: the configuration is ``model.config``."""
    for model in (build_model(vit_cfg(tiny_dinov3)), build_model(unet_cfg())):
        assert not hasattr(model, "model_config")
        assert not hasattr(model, "save_pretrained") and not hasattr(model, "from_pretrained")


# --------------------------------------------------------------------------- the interface
@pytest.mark.parametrize("kind", ["vit", "unet"])
def test_both_models_speak_the_window_model_interface(tiny_dinov3, kind):
    model = build_model(vit_cfg(tiny_dinov3) if kind == "vit" else unet_cfg()).eval()
    assert isinstance(model, WindowModel)
    window = torch.rand(2, model.frames, 3, 32, 64)
    with torch.no_grad():
        full = model(window)
        tokens = model.encode(window.flatten(0, 1))
        tokens = tokens.unflatten(0, (2, model.frames))
        centre = model.decode_window(tokens, window, None, select=1)
    assert full.shape == (2, 3, 16, 32) and centre.shape == (2, 1, 16, 32)
    torch.testing.assert_close(centre[:, 0], full[:, 1], rtol=1e-4, atol=1e-5)


def test_the_interface_check_rejects_a_model_missing_a_member():
    class NoDecode(torch.nn.Module):
        frames, config, size_multiple = 1, None, 1

        def encode(self, images):
            return images

    assert not isinstance(NoDecode(), WindowModel)


# --------------------------------------------------------------------------- imports
def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, wherever the import sits (function bodies included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_serialization_imports_the_factory_and_never_the_reverse():
    assert "tracknet.models.factory" in _imported_modules(MODELS / "serialization.py")
    for name in ("tracknet.py", "unet.py", "factory.py", "protocol.py"):
        imported = _imported_modules(MODELS / name)
        assert not any("serialization" in m for m in imported), name


def test_model_modules_do_no_file_io():
    """The model classes neither read nor write files: saving and loading is serialization's."""
    io_modules = {"pathlib", "json", "safetensors", "safetensors.torch", "tracknet.io", "os"}
    for name in ("tracknet.py", "unet.py", "factory.py", "protocol.py"):
        imported = _imported_modules(MODELS / name)
        assert not imported & io_modules, (name, imported & io_modules)
        assert not any(m.startswith("tracknet.io") for m in imported), name
