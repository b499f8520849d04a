"""The streaming predictor: the attention kernel it picks, the heatmap each frame gets from the
overlapping windows (centre or weighted), and the memory layout of its weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tracknet.config import PredictConfig, load_config
from tracknet.data.codec import HeatmapCodec
from tracknet.infer.device import use_inference_attention
from tracknet.infer.predictor import Predictor
from tracknet.models.serialization import load_model


def test_cpu_inference_uses_eager_attention_with_the_same_logits(tiny_run):
    """``predict.attention=auto`` picks eager attention on a CPU in bf16; the function is unchanged."""
    model = load_model(tiny_run).eval()
    hf = model.backbone.model
    frames = torch.rand(2, 3, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert use_inference_attention(model, torch.device("cpu"), "sdpa") == "sdpa"
        assert hf.config._attn_implementation == "sdpa"
        fused = model(frames)
        assert use_inference_attention(model, torch.device("cuda"), "auto") == "sdpa"
        assert use_inference_attention(model, torch.device("cpu"), "auto") == "sdpa"  # fp32
        assert model.backbone.eager_max_tokens is None
        assert (
            use_inference_attention(model, torch.device("cpu"), "auto", torch.bfloat16) == "eager"
        )
        assert hf.config._attn_implementation == "eager"
        eager = model(frames)
    torch.testing.assert_close(eager, fused, atol=1e-5, rtol=1e-5)

    # auto on the CPU: eager up to a number of patches, SDPA above, decided at each call
    assert model.backbone.eager_max_tokens is not None
    model.backbone.eager_max_tokens = 4  # 48x64 is 3x4 = 12 patches of 16 px; 16x32 is 2
    with torch.inference_mode():
        large = model(frames)
        assert hf.config._attn_implementation == "sdpa"
        model(frames[..., :16, :32])
        assert hf.config._attn_implementation == "eager"
    torch.testing.assert_close(large, fused, atol=1e-5, rtol=1e-5)

    codec = HeatmapCodec.from_config(load_config(tiny_run / "config.yaml"))
    Predictor(model, codec, PredictConfig(device="cpu", attention="sdpa"))
    assert model.backbone.eager_max_tokens is None  # an explicit choice holds for every size
    assert hf.config._attn_implementation == "sdpa"
    Predictor(model, codec, PredictConfig(device="cpu"))
    assert hf.config._attn_implementation == "sdpa"  # fp32
    Predictor(model, codec, PredictConfig(device="cpu", half=True))
    assert hf.config._attn_implementation == "eager"


@pytest.mark.parametrize("combine", ["centre", "weighted"])
@pytest.mark.parametrize("count", [1, 2, 7])
def test_overlapping_windows_give_each_frame_the_right_heatmap(tiny_run, combine, count):
    """Streaming equals whole windows: centre frames, or each frame's windows averaged 1:2:1."""

    cfg = load_config(tiny_run / "config.yaml", [f"predict.combine={combine}"])
    cfg.predict.batch_size = 2  # several batches of reads and of windows
    model = load_model(tiny_run).eval()
    codec = HeatmapCodec.from_config(cfg)
    seen: list[torch.Tensor] = []
    decode = codec.decode

    def spy(logits, **kwargs):
        seen.append(logits.clone())
        return decode(logits, **kwargs)

    codec.decode = spy
    predictor = Predictor.from_config(model, cfg, codec=codec)
    assert predictor.window_weights() == [1.0, 2.0, 1.0]
    rng = np.random.default_rng(count)
    images = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(count)]
    preds = list(predictor.run(enumerate(images), (64, 48)))
    assert [p.index for p in preds] == list(range(count))
    got = torch.cat(seen)

    x = predictor._prepare(images)  # [n, 3, H, W] model input
    weights = predictor.window_weights()
    total = torch.zeros(count, *got.shape[-2:])
    norm = torch.zeros(count)
    centres = []
    with torch.inference_mode():
        tokens = model.encode(x)
        for q in range(count):
            idx = [min(max(p, 0), count - 1) for p in range(q - 1, q + 2)]
            logits = model.decode_window(tokens[idx][None], x[idx][None])[0]  # [3, Hh, Wh]
            centres.append(logits[1])
            for o in range(3):
                if 0 <= q - 1 + o < count:
                    total[q - 1 + o] += weights[o] * torch.sigmoid(logits[o])
                    norm[q - 1 + o] += weights[o]
    if combine == "centre":
        expected = torch.stack(centres)
    else:
        expected = torch.logit(total / norm[:, None, None], eps=1e-6)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_channels_last_weights_give_the_same_heatmaps(tiny_run):
    """``predict.channels_last`` (the default) changes the memory layout only, not the output."""

    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(5)]
    heatmaps = {}
    for layout in (False, True):
        cfg = load_config(tiny_run / "config.yaml", [f"predict.channels_last={layout}"])
        model = load_model(tiny_run).eval()
        codec = HeatmapCodec.from_config(cfg)
        seen: list[torch.Tensor] = []
        decode = codec.decode

        def spy(logits, _seen=seen, _decode=decode, **kwargs):
            _seen.append(logits.clone())
            return _decode(logits, **kwargs)

        codec.decode = spy
        list(Predictor.from_config(model, cfg, codec).run(enumerate(images), (64, 48)))
        head = model.head.conv.weight
        assert head.is_contiguous(memory_format=torch.channels_last) == layout
        heatmaps[layout] = torch.cat(seen)
    assert heatmaps[True].shape == (5, *heatmaps[False].shape[1:])
    torch.testing.assert_close(heatmaps[True], heatmaps[False], atol=1e-5, rtol=1e-5)
