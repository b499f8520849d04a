"""The TrackNetV2-style baseline: shapes, the shared interface, the heatmap ratio, save / load."""

import json

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
