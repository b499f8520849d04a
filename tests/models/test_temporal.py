"""Temporal input: shapes for T in {1, 3, 5}, the single-frame model is the spec's, decoding one
frame of a window (the streaming reuse through the predictor: tests/infer/test_model_in_predictor.py)."""

import pytest
import torch

from tracknet.config import load_config, wh_to_hw
from tracknet.models import (
    HeatmapHead,
    TrackNet,
    UpsamplingDecoder,
    ViTBackbone,
    ViTBackboneConfig,
    build_model,
)
from tracknet.models.blocks import GELU
from tracknet.models.temporal import (
    DetailPath,
    TemporalAttention,
    TemporalConcat,
    detail_inputs,
)

IN_W, IN_H = 64, 32  # model input [W, H]; 4 x 2 patches of 16 px
HM_W, HM_H = 32, 16


def tiny_cfg(backbone: str, *extra: str):
    return load_config(
        overrides=[
            f"model.pretrained_model_name={backbone}",
            "model.backbone.device_map=null",
            f"model.input_size=[{IN_W},{IN_H}]",
            f"model.heatmap.size=[{HM_W},{HM_H}]",
            "model.decoder.channels=[32,16,8]",
            "model.decoder.upsample=[2,2]",
            "model.temporal.heads=2",
            "model.detail.channels=8",
            *extra,
        ]
    )


# --------------------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    ("frames", "fusion", "extras"),
    [  # every T, fusion and extra at least twice, in six models
        (1, "attention", "none"),
        (1, "concat", "detail+background"),
        (3, "attention", "detail"),
        (3, "concat", "none"),
        (5, "attention", "detail+background"),
        (5, "concat", "detail"),
    ],
)
def test_one_heatmap_per_input_frame(tiny_dinov3, frames, fusion, extras):
    cfg = tiny_cfg(
        tiny_dinov3,
        f"model.frames={frames}",
        f"model.temporal.fusion={fusion}",
        f"model.detail.enabled={extras != 'none'}",
        f"model.detail.background={extras == 'detail+background'}",
    )
    model = build_model(cfg)
    if frames == 1:
        assert model.temporal is None  # nothing to mix in a single frame
    else:
        kind = TemporalAttention if fusion == "attention" else TemporalConcat
        assert isinstance(model.temporal, kind)
    assert (model.detail is not None) == (extras != "none")
    window = torch.rand(2, frames, 3, IN_H, IN_W)
    out = model(window)
    assert out.shape == (2, frames, HM_H, HM_W)
    if extras == "detail+background":  # an explicit background frame is also accepted
        assert model(window, torch.rand(2, 3, IN_H, IN_W)).shape == out.shape
    out.square().mean().backward()
    first = next(p for p in model.decoder.parameters())
    assert first.grad is not None and first.grad.abs().sum() > 0
    if model.detail is not None:
        assert model.detail.net[0].weight.grad.abs().sum() > 0
    # decoding one selected frame gives that frame's heatmap of the full window
    model.eval()
    with torch.no_grad():
        full = model(window)
        tokens = model.encode(window.flatten(0, 1)).unflatten(0, (2, frames))
        mid = model.decode_window(tokens, window, select=frames // 2)
    assert mid.shape == (2, 1, HM_H, HM_W)
    torch.testing.assert_close(mid[:, 0], full[:, frames // 2], rtol=1e-4, atol=1e-5)


def test_frames_mix_only_through_the_temporal_modules(tiny_dinov3):
    """Changing one frame of a window changes the other frames' heatmaps (T=3): they see it."""
    model = build_model(tiny_cfg(tiny_dinov3, "model.frames=3")).eval()
    window = torch.rand(1, 3, 3, IN_H, IN_W)
    other = window.clone()
    other[:, 2] = torch.rand(3, IN_H, IN_W)
    with torch.no_grad():
        a, b = model(window), model(other)
    assert not torch.allclose(a[:, 0], b[:, 0])


def test_detail_inputs_channels():
    frames = torch.rand(2, 3, 3, 8, 8)
    assert detail_inputs(frames, use_diff=False).shape == (2, 3, 3, 8, 8)
    diff = detail_inputs(frames, use_diff=True)
    assert diff.shape == (2, 3, 9, 8, 8)
    torch.testing.assert_close(diff[:, 1, 3:6], frames[:, 1] - frames[:, 0])  # t - (t-1)
    torch.testing.assert_close(diff[:, 1, 6:9], frames[:, 2] - frames[:, 1])  # (t+1) - t
    assert diff[:, 0, 3:6].abs().max() == 0  # no previous frame at the start
    with_bg = detail_inputs(frames, use_diff=True, background=torch.rand(2, 3, 8, 8))
    assert with_bg.shape == (2, 3, 15, 8, 8)


@pytest.mark.parametrize("background", [False, True])
def test_detail_path_of_one_selected_frame_matches_the_whole_window(background):
    torch.manual_seed(0)
    path = DetailPath(channels=8, scale=2, use_diff=True, background=background).eval()
    frames = torch.rand(2, 5, 3, 16, 16)
    bg = torch.rand(2, 3, 16, 16) if background else None
    with torch.no_grad():
        whole = path(frames, bg).unflatten(0, (2, 5))  # [B, T, Cd, 8, 8]
        for t in range(5):  # edges included: their missing neighbour is the frame itself
            torch.testing.assert_close(path(frames, bg, select=t), whole[:, t])


@pytest.mark.parametrize("background", [False, True])
def test_detail_path_normalises_raw_frames_itself(background):
    """Raw frames + mean/std give what normalised frames give, in both branches."""
    torch.manual_seed(0)
    path = DetailPath(channels=8, scale=2, use_diff=True, background=background).eval()
    mean, std = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.2, 0.25, 0.3])
    raw = torch.rand(2, 3, 3, 16, 16)
    bg = torch.rand(2, 3, 16, 16) if background else None

    def norm(x):
        return (x - mean.view(3, 1, 1)) / std.view(3, 1, 1)

    with torch.no_grad():
        whole = path(norm(raw), norm(bg) if background else None)
        torch.testing.assert_close(path(raw, bg, None, mean, std), whole, rtol=1e-5, atol=1e-5)
        for t in range(3):
            one = path(raw, bg, t, mean, std)
            torch.testing.assert_close(one, whole.unflatten(0, (2, 3))[:, t], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scale", [1, 2, 4])
@pytest.mark.parametrize("use_diff", [False, True])
@pytest.mark.parametrize("background", [False, True])
def test_detail_path_from_cached_stems_matches_the_frames(scale, use_diff, background):
    """Streaming's per-frame stems (the first convolution split by each frame's role) give the
    path's output from raw frames: every frame of a window and each one selected, borders
    included (the zero padding of normalised inputs is the padding of mean-removed frames)."""
    torch.manual_seed(0)
    path = DetailPath(channels=8, scale=scale, use_diff=use_diff, background=background).eval()
    for p in path.parameters():  # not the init's near-zero GroupNorm-friendly weights
        torch.nn.init.normal_(p, std=0.5)
    mean, std = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.2, 0.25, 0.3])
    raw = torch.rand(2, 3, 3, 16, 24)
    bg = torch.rand(2, 3, 16, 24) if background else None
    with torch.no_grad():
        stems = torch.stack([path.stem(raw[:, i], mean, std) for i in range(3)], dim=1)
        assert stems.shape[2] == path.net[0].out_channels * (3 if use_diff else 1)
        bg_stem = path.background_stem(bg, mean, std) if background else None
        assert (bg_stem is None) is (not background)
        expected = path(raw, bg, None, mean, std)
        torch.testing.assert_close(path.from_stems(stems, bg_stem), expected, rtol=1e-4, atol=1e-4)
        for t in range(3):
            one = path.from_stems(stems, bg_stem, select=t)
            torch.testing.assert_close(one, path(raw, bg, t, mean, std), rtol=1e-4, atol=1e-4)
    if background:
        with pytest.raises(ValueError, match="background_stem"):
            path.from_stems(stems, None)


def test_gelu_on_channels_last_maps_is_plain_gelu():
    x = torch.randn(2, 8, 5, 7)
    xc = x.contiguous(memory_format=torch.channels_last)
    out = GELU()(xc)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, torch.nn.functional.gelu(x))
    torch.testing.assert_close(GELU()(x), torch.nn.functional.gelu(x))
    assert isinstance(GELU(), torch.nn.GELU)


@pytest.mark.parametrize("fusion", ["attention1", "attention2", "concat"])
def test_fusion_of_one_selected_frame_matches_the_whole_window(fusion):
    """Streaming asks the fusion for one frame; it must equal that frame of the whole window."""
    torch.manual_seed(0)
    if fusion == "concat":
        module = TemporalConcat(16, 5)
        torch.nn.init.normal_(module.proj.weight, std=0.1)  # zero-initialised: make it count
    else:
        module = TemporalAttention(16, 5, layers=int(fusion[-1]), heads=2)
        torch.nn.init.normal_(module.time_embed, std=0.5)
    module.eval()
    grids = torch.randn(2, 5, 3, 4, 16)
    with torch.no_grad():
        whole = module(grids)
        for t in range(5):
            one = module(grids, select=t)
            assert one.shape == (2, 1, 3, 4, 16)
            torch.testing.assert_close(one[:, 0], whole[:, t], rtol=1e-5, atol=1e-5)
        # every frame of the window still reaches the selected one
        other = grids.clone()
        other[:, 4] = torch.randn(2, 3, 4, 16)  # (a constant shift would vanish in the norm)
        assert not torch.allclose(module(other, select=2), module(grids, select=2))


# --------------------------------------------------------------------------- the spec model
def test_single_frame_without_extras_reproduces_the_spec_modules(tiny_dinov3):
    cfg = tiny_cfg(tiny_dinov3)  # model.frames=1 and detail off are the defaults
    assert cfg.model.frames == 1 and not cfg.model.detail.enabled
    model = build_model(cfg).eval()
    assert isinstance(model, TrackNet) and model.temporal is None and model.detail is None

    # The spec's three modules, built on their own, given the same weights.
    d = cfg.model.decoder
    backbone = ViTBackbone(
        ViTBackboneConfig(
            pretrained_model_name=tiny_dinov3,
            device_map=None,
            local_files_only=True,
            patch_size=16,
        )
    )
    decoder = UpsamplingDecoder(
        channels=d.channels,
        upsample=d.upsample,
        out_size=wh_to_hw(cfg.model.heatmap.size),
        blocks_per_stage=d.blocks_per_stage,
        norm=d.norm,
        activation=d.activation,
        use_depthwise=d.use_depthwise,
        use_se=d.use_se,
    )
    head = HeatmapHead(d.channels[-1])
    for spec_part, part in (
        (backbone, model.backbone),
        (decoder, model.decoder),
        (head, model.head),
    ):
        spec_part.load_state_dict(part.state_dict())
        spec_part.eval()

    x = torch.rand(2, 3, IN_H, IN_W)
    mean = torch.tensor(backbone.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(backbone.image_std).view(1, 3, 1, 1)
    with torch.no_grad():
        tokens = backbone((x - mean) / std)  # [B, Hp, Wp, C]
        spec = head(decoder(tokens))  # [B, 1, Hh, Wh]
        ours_4d = model(x)
        ours_5d = model(x.unsqueeze(1))
    assert tokens.shape == (2, IN_H // 16, IN_W // 16, 32)
    assert spec.shape == (2, 1, HM_H, HM_W)
    torch.testing.assert_close(ours_4d, spec, rtol=0, atol=0)
    torch.testing.assert_close(ours_5d, spec, rtol=0, atol=0)
