"""UpsamplingDecoder over every option combination, its argument checks, and the head."""

import itertools

import pytest
import torch

from tracknet.models import HeatmapHead, UpsamplingDecoder

OPTIONS = list(
    itertools.product(
        ["gn", "bn"], ["gelu", "relu", "silu"], [True, False], [False, True], [1, 2], [0.0, 0.2]
    )
)


@pytest.mark.parametrize(("norm", "act", "depthwise", "se", "blocks", "dropout"), OPTIONS)
def test_decoder_shapes_finite_and_gradients(norm, act, depthwise, se, blocks, dropout):
    torch.manual_seed(0)
    decoder = UpsamplingDecoder(
        channels=[32, 24, 16],
        upsample=[2, 2],
        out_size=(10, 14),
        blocks_per_stage=blocks,
        norm=norm,
        activation=act,
        use_depthwise=depthwise,
        use_se=se,
        se_reduction=4,
        dropout=dropout,
    ).train()
    tokens = torch.randn(2, 3, 4, 32, requires_grad=True)  # [B, Hp, Wp, C]
    features = decoder(tokens)
    assert features.shape == (2, 16, 10, 14)
    assert torch.isfinite(features).all()
    features.square().mean().backward()
    assert torch.isfinite(tokens.grad).all() and tokens.grad.abs().sum() > 0
    assert all(p.grad is not None for p in decoder.parameters() if p.requires_grad)


def test_decoder_without_out_size_upsamples_by_the_product():
    decoder = UpsamplingDecoder(channels=[16, 16, 8], upsample=[2, 4])
    assert decoder(torch.randn(1, 3, 5, 16)).shape == (1, 8, 24, 40)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(channels=[32, 16], upsample=[2, 2]), "len\\(upsample\\) \\+ 1"),
        (dict(channels=[32, 16], upsample=[2], norm="ln"), "norm must be one of gn, bn"),
        (dict(channels=[32, 16], upsample=[2], activation="tanh"), "gelu, relu, silu"),
        (dict(channels=[32, 12], upsample=[2]), "multiple of 8; got 12"),
        (dict(channels=[32, 16], upsample=[0]), "must be positive"),
    ],
)
def test_decoder_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        UpsamplingDecoder(**kwargs)


def test_decoder_rejects_channels_first_tokens():
    decoder = UpsamplingDecoder(channels=[32, 16], upsample=[2])
    with pytest.raises(ValueError, match="channels-last tokens \\[B, Hp, Wp, 32\\]"):
        decoder(torch.randn(1, 32, 3, 4))


def test_decoder_fuses_detail_features():
    decoder = UpsamplingDecoder(channels=[32, 16], upsample=[2], detail_channels=8)
    out = decoder(torch.randn(1, 3, 4, 32), detail=torch.randn(1, 8, 12, 16))
    assert out.shape == (1, 16, 6, 8)
    with pytest.raises(ValueError, match="pass detail="):
        decoder(torch.randn(1, 3, 4, 32))


def test_head_maps_features_to_one_logit_channel():
    head = HeatmapHead(16)
    logits = head(torch.randn(2, 16, 9, 11))
    assert logits.shape == (2, 1, 9, 11)
    # Starts near the prior probability, so early losses are not swamped by background pixels.
    assert torch.sigmoid(logits).mean().item() < 0.1
    with pytest.raises(ValueError, match="expected features \\[B, 16, H, W\\]"):
        head(torch.randn(2, 8, 9, 11))
