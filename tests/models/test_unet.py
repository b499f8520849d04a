"""The TrackNetV2-style baseline: shapes, the shared interface, the heatmap ratio, save / load."""

import json
from pathlib import Path

import pytest
import torch

from tracknet.config import load_config
from tracknet.data.codec import heatmap_size_for_input
from tracknet.models import build_model
from tracknet.models.serialization import load_model, save_model


@pytest.mark.parametrize("frames", [1, 3, 8])
def test_unet_shapes_and_interface(frames, tmp_path):
    cfg = load_config(
        overrides=[
            "model.type=unet",
            f"model.frames={frames}",
            "model.unet.base_channels=8",
            "model.input_size=[64,32]",
            "model.heatmap.size=[32,16]",
        ]
    )
    model = build_model(cfg).eval()
    x = torch.rand(2, frames, 3, 32, 64)
    with torch.no_grad():
        logits = model(x)
        assert logits.shape == (2, frames, 16, 32)
        centre = model.decode_window(model.encode(x), x, select=frames // 2)
        torch.testing.assert_close(centre[:, 0], logits[:, frames // 2])
    save_model(model, tmp_path / "run")
    again = load_model(tmp_path / "run")
    with torch.no_grad():
        torch.testing.assert_close(again(x), logits)


def test_unet_rejects_sizes_not_divisible_by_8():
    model = build_model(load_config(overrides=["model.type=unet", "model.unet.base_channels=8"]))
    with pytest.raises(ValueError, match="divisible by 8"):
        model(torch.rand(1, 1, 3, 36, 64))


def test_unet_keeps_the_configured_heatmap_ratio_for_other_sizes():
    cfg = load_config(
        overrides=[
            "model.type=unet",
            "model.unet.base_channels=4",
            "model.input_size=[64,32]",
            "model.heatmap.size=[32,16]",
        ]
    )
    model = build_model(cfg).eval()
    assert model.input_hw == (32, 64) and model.out_size == (16, 32)
    for h, w in [(32, 64), (48, 96), (40, 24)]:
        with torch.no_grad():
            out = model(torch.rand(1, 1, 3, h, w))
        expected = heatmap_size_for_input((h, w), (32, 64), (16, 32))
        assert tuple(out.shape[-2:]) == expected == (h // 2, w // 2)


def test_unet_saves_no_backbone_even_when_asked(tmp_path):
    model = build_model(load_config(overrides=["model.type=unet", "model.unet.base_channels=4"]))
    save_model(model, tmp_path / "run", save_backbone=True)  # train.save_backbone=true
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["includes_backbone"] is False and meta["backbone_id"] is None
    assert not (tmp_path / "run" / "backbone").exists()
    assert isinstance(load_model(tmp_path / "run"), type(model))


def test_trackv2s_layer_order_and_the_preset():
    """``model.unet.order=conv_relu_bn`` is TrackNetV2's layer (biased conv, ReLU, batch norm);
    configs/unet_tracknetv2.yaml builds TrackNetV2: 9 in, 3 out at 512x288, 64-512 wide."""
    preset = Path(__file__).resolve().parents[2] / "configs" / "unet_tracknetv2.yaml"
    cfg = load_config(preset)
    assert cfg.train.optimizer == "adadelta" and cfg.train.loss == "wbce_sum"
    assert cfg.model.heatmap.target == "disk" and cfg.model.heatmap.size == [512, 288]
    model = build_model(cfg)
    first = model.enc1[0]
    assert isinstance(first[1], torch.nn.ReLU) and isinstance(first[2], torch.nn.BatchNorm2d)
    assert first[0].in_channels == 9 and first[0].bias is not None
    assert model.bottom[0][0].out_channels == 512 and model.out.out_channels == 3
    assert 11e6 < sum(p.numel() for p in model.parameters()) < 12e6  # TrackNetV2: 11.3 M
    small = build_model(load_config(overrides=["model.type=unet", "model.unet.base_channels=4"]))
    assert isinstance(small.enc1[0][1], torch.nn.BatchNorm2d)  # the default order is unchanged
