"""The TrackNetV2-style baseline: shapes, the shared interface, save / load."""

import pytest
import torch

from tracknet.config import load_config
from tracknet.models import TrackNet, build_model


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
    model.save_pretrained(tmp_path / "run")
    again = TrackNet.from_pretrained(tmp_path / "run")
    with torch.no_grad():
        torch.testing.assert_close(again(x), logits)


def test_unet_rejects_sizes_not_divisible_by_8():
    model = build_model(load_config(overrides=["model.type=unet", "model.unet.base_channels=8"]))
    with pytest.raises(ValueError, match="divisible by 8"):
        model(torch.rand(1, 1, 3, 36, 64))
