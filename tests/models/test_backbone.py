"""ViTBackbone: token extraction, validation errors, freezing, cache errors."""

import json

import pytest
import torch
from transformers import AutoModel

from tests.helpers import tiny_vit
from tracknet.errors import BackboneNotFoundError
from tracknet.models import ViTBackbone, ViTBackboneConfig


@pytest.mark.parametrize(
    ("kind", "patch", "registers", "prefix"),
    [("dinov3", 16, 4, 5), ("dinov2", 14, 0, 1), ("dinov2_registers", 14, 4, 5)],
)
def test_patch_tokens_equal_hf_output_without_prefix(tmp_path, kind, patch, registers, prefix):
    folder = tiny_vit(tmp_path, kind=kind, patch=patch, num_register_tokens=registers)
    backbone = ViTBackbone(ViTBackboneConfig(str(folder), device_map=None, patch_size=patch))
    reference = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    x = torch.randn(2, 3, patch * 3, patch * 5)
    with torch.no_grad():
        tokens = backbone.eval()(x)
        hidden = reference(pixel_values=x).last_hidden_state
    assert backbone.num_prefix_tokens == prefix
    assert tokens.shape == (2, 3, 5, 32)
    expected = hidden[:, prefix:].reshape(2, 3, 5, 32)
    torch.testing.assert_close(tokens, expected, rtol=0, atol=0)


@pytest.fixture
def backbone(tiny_dinov3):
    return ViTBackbone(ViTBackboneConfig(tiny_dinov3, device_map=None))


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((3, 32, 32), "expected images \\[B, 3, H, W\\], got a 3-D tensor"),
        ((1, 1, 3, 32, 32), "got a 5-D tensor"),
        ((1, 4, 32, 32), "expected 3 colour channels .* got 4"),
        ((1, 3, 30, 32), "image size 30x32 \\(HxW\\) is not a multiple of the patch size 16"),
        ((1, 3, 32, 40), "image size 32x40 .* resize to e.g. 32x48"),
    ],
)
def test_invalid_inputs_raise_with_explanation(backbone, shape, message):
    with pytest.raises(ValueError, match=message):
        backbone(torch.zeros(shape))


def test_patch_size_mismatch_names_the_right_one(tiny_dinov3):
    with pytest.raises(ValueError, match="patch_size=14 does not match .* patch size is 16"):
        ViTBackbone(ViTBackboneConfig(tiny_dinov3, device_map=None, patch_size=14))


def test_missing_model_says_how_to_get_it():
    name = "facebook/dinov3-not-in-this-cache"
    with pytest.raises(BackboneNotFoundError) as err:
        ViTBackbone(ViTBackboneConfig(name))
    text = str(err.value)
    assert name in text and f"hf download {name}" in text and "gated" in text


def test_frozen_backbone_has_no_grads_and_stays_in_eval(tiny_dinov3):
    backbone = ViTBackbone(ViTBackboneConfig(tiny_dinov3, device_map=None, freeze=True))
    parent = torch.nn.Sequential(backbone, torch.nn.Identity())
    parent.train()
    assert not backbone.training and not backbone.model.training
    assert all(not p.requires_grad for p in backbone.parameters())
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    out = backbone(x)
    assert not out.requires_grad
    # Deterministic in "train" mode too: DINOv3's RoPE jitter is off because it stays in eval().
    torch.testing.assert_close(out, backbone(x))


def test_trainable_backbone_follows_parent_mode(tiny_dinov3):
    backbone = ViTBackbone(ViTBackboneConfig(tiny_dinov3, device_map=None))
    backbone.train()
    assert backbone.training and backbone.model.training
    out = backbone(torch.randn(1, 3, 32, 32))
    out.sum().backward()
    assert any(p.grad is not None for p in backbone.parameters())


def test_tokens_come_back_on_the_input_device(backbone):
    x = torch.randn(1, 3, 32, 48)
    assert backbone(x).device == x.device


def test_mean_std_read_from_preprocessor_config(tmp_path):
    folder = tiny_vit(tmp_path)
    (folder / "preprocessor_config.json").write_text(
        json.dumps({"image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.25, 0.25]})
    )
    backbone = ViTBackbone(ViTBackboneConfig(str(folder), device_map=None))
    assert backbone.image_mean == (0.5, 0.5, 0.5) and backbone.image_std == (0.25, 0.25, 0.25)
    (folder / "preprocessor_config.json").unlink()
    backbone = ViTBackbone(ViTBackboneConfig(str(folder), device_map=None))
    assert backbone.image_mean == pytest.approx((0.485, 0.456, 0.406))
