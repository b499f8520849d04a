"""The assembled model: normalisation, shapes, build_model checks, save_model / load_model."""

import subprocess
import sys

import pytest
import torch

from tests.helpers import tiny_vit
from tracknet.config import load_config
from tracknet.data.codec import heatmap_size_for_input
from tracknet.errors import CheckpointError
from tracknet.models import TrackNet, build_model
from tracknet.models.serialization import load_model, save_model


def small_cfg(backbone: str, *extra: str):
    return load_config(
        overrides=[
            f"model.pretrained_model_name={backbone}",
            "model.backbone.device_map=null",
            "model.input_size=[64,32]",
            "model.heatmap.size=[32,16]",
            "model.decoder.channels=[32,16,8]",
            "model.decoder.upsample=[2,2]",
            *extra,
        ]
    )


def test_single_frame_model_is_the_spec_pipeline(tiny_dinov3):
    model = build_model(small_cfg(tiny_dinov3)).eval()
    frames = torch.rand(2, 3, 32, 64)
    with torch.no_grad():
        logits = model(frames)
        # The spec's pipeline by hand: normalise -> backbone -> decoder -> head.
        mean = torch.tensor(model.backbone.image_mean).view(1, 3, 1, 1)
        std = torch.tensor(model.backbone.image_std).view(1, 3, 1, 1)
        by_hand = model.head(model.decoder(model.backbone((frames - mean) / std)))
    assert logits.shape == (2, 1, 16, 32)  # heatmap.size [W, H] = [32, 16] -> (H, W)
    torch.testing.assert_close(logits, by_hand, rtol=0, atol=0)


@pytest.mark.parametrize("frames", [1, 3, 5])
@pytest.mark.parametrize("fusion", ["attention", "concat"])
def test_temporal_shapes(tiny_dinov3, frames, fusion):
    cfg = small_cfg(
        tiny_dinov3,
        f"model.frames={frames}",
        f"model.temporal.fusion={fusion}",
        "model.temporal.heads=2",
        "model.detail.enabled=true",
        "model.detail.channels=8",
    )
    model = build_model(cfg)
    out = model(torch.rand(2, frames, 3, 32, 64))
    assert out.shape == (2, frames, 16, 32)
    out.mean().backward()
    assert model.detail.net[0].weight.grad is not None


def test_other_input_sizes_keep_the_configured_heatmap_ratio(tiny_dinov3):
    model = build_model(small_cfg(tiny_dinov3)).eval()
    # the geometry is a constructor argument, in (H, W): input [64, 32] and heatmap [32, 16] [W, H]
    assert model.input_hw == (32, 64) and model.heatmap_hw == (16, 32)
    for h, w in [(32, 64), (48, 96), (64, 32), (16, 16)]:
        with torch.no_grad():
            out = model(torch.rand(1, 3, h, w))
        expected = heatmap_size_for_input((h, w), (32, 64), (16, 32))
        assert tuple(out.shape[-2:]) == expected == (h // 2, w // 2)


def test_a_model_without_geometry_keeps_the_decoder_size(tiny_dinov3):
    built = build_model(small_cfg(tiny_dinov3))
    bare = TrackNet(built.backbone, built.decoder, built.head).eval()  # assembled by hand
    assert bare.config is None and bare.input_hw is None
    with torch.no_grad():
        assert bare(torch.rand(1, 3, 48, 96)).shape == (1, 1, 16, 32)  # the decoder's out_size


def test_model_rejects_wrong_window_length(tiny_dinov3):
    model = build_model(small_cfg(tiny_dinov3, "model.frames=3"))
    with pytest.raises(ValueError, match="windows of 3 frames, got 2"):
        model(torch.rand(1, 2, 3, 32, 64))


def test_build_model_checks_input_size_and_width(tiny_dinov3):
    with pytest.raises(
        ValueError, match="not a multiple of the patch size 16; use e.g. \\[64, 48\\]"
    ):
        build_model(small_cfg(tiny_dinov3, "model.input_size=[60,40]"))
    with pytest.raises(ValueError, match="channels\\[0\\]=64 must equal the backbone width 32"):
        build_model(small_cfg(tiny_dinov3, "model.decoder.channels=[64,16,8]"))


@pytest.mark.parametrize("freeze", [False, True])
def test_save_and_reload_in_a_fresh_process(tiny_dinov3, tmp_path, freeze):
    cfg = small_cfg(tiny_dinov3, f"model.backbone.freeze={str(freeze).lower()}")
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.add_(0.01 * torch.randn_like(p))
        if not freeze:  # a fine-tuned backbone differs from the cached one and must be saved
            for p in model.backbone.parameters():
                p.add_(0.01 * torch.randn_like(p))
    save_model(model, tmp_path / "run")
    x = torch.rand(1, 3, 32, 64)
    torch.save(x, tmp_path / "x.pt")
    with torch.no_grad():
        expected = model(x)
    torch.save(expected, tmp_path / "expected.pt")
    code = (
        "import torch; from tracknet.models.serialization import load_model\n"
        f"m = load_model({str(tmp_path / 'run')!r})\n"
        f"x = torch.load({str(tmp_path / 'x.pt')!r})\n"
        f"e = torch.load({str(tmp_path / 'expected.pt')!r})\n"
        "with torch.no_grad(): torch.testing.assert_close(m(x), e, rtol=0, atol=0)\n"
        "print('same logits')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "same logits" in out.stdout
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert ("backbone" in files) is (not freeze)


def test_tampered_checkpoint_is_refused(tiny_dinov3, tmp_path):
    model = build_model(small_cfg(tiny_dinov3))
    save_model(model, tmp_path / "run")
    weights = tmp_path / "run" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its recorded fingerprint"):
        load_model(tmp_path / "run")


def test_frozen_checkpoint_checks_the_cached_backbone(tmp_path):
    folder = tiny_vit(tmp_path / "a")
    model = build_model(small_cfg(str(folder), "model.backbone.freeze=true"))
    save_model(model, tmp_path / "run")
    tiny_vit(tmp_path / "a", seed=1)  # other weights at the same place
    with pytest.raises(CheckpointError, match="not the one this checkpoint was trained with"):
        load_model(tmp_path / "run")


def test_decoding_only_the_centre_frame_matches_the_full_window(tiny_dinov3):
    cfg = small_cfg(
        tiny_dinov3,
        "model.frames=3",
        "model.temporal.heads=2",
        "model.detail.enabled=true",
        "model.detail.channels=8",
    )
    model = build_model(cfg).eval()
    x = torch.rand(2, 3, 3, 32, 64)
    with torch.no_grad():
        full = model(x)
        tokens = model.encode(x.flatten(0, 1)).unflatten(0, (2, 3))
        centre = model.decode_window(tokens, x, select=1)
    torch.testing.assert_close(centre[:, 0], full[:, 1], rtol=1e-5, atol=1e-5)
