"""BatchNorm folded into the convolutions for inference (tracknet.infer.fold): same logits, fewer
modules, and the detail path's stems still computed from its unfolded first convolution."""

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import tiny_vit
from tests.infer.test_model_in_predictor import IN_H, IN_W, tiny_cfg
from tracknet.config import PredictConfig
from tracknet.data.codec import HeatmapCodec
from tracknet.infer.fold import fold_batch_norms, fold_input_normalisation
from tracknet.infer.predictor import Predictor
from tracknet.models import build_model


def _bn_model(backbone: str, *extra: str):
    cfg = tiny_cfg(
        backbone,
        "model.frames=3",
        "model.temporal.fusion=concat",
        "model.decoder.norm=bn",
        "model.decoder.activation=relu",
        "model.detail.enabled=true",
        "model.detail.background=true",
        *extra,
    )
    model = build_model(cfg)
    torch.manual_seed(0)
    for m in model.modules():  # statistics and affines far from the identity
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.normal_(m.weight, 1.0, 0.3)
            nn.init.normal_(m.bias, 0.0, 0.3)
    return cfg, model.eval()


def _norms(model) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_folding_keeps_the_logits(tiny_dinov3):
    cfg, model = _bn_model(tiny_dinov3)
    frames = torch.rand(2, 3, 3, IN_H, IN_W)
    background = torch.rand(2, 3, IN_H, IN_W)
    with torch.no_grad():
        before = model(frames, background)
    n = _norms(model)
    detail = model.detail
    folded = fold_batch_norms(model, keep=[detail.first_conv])
    assert folded == n - 1  # all but the norm after the detail path's first convolution
    assert _norms(model) == 1 and detail.first_conv.bias is None
    with torch.no_grad():
        after = model(frames, background)
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)
    assert fold_batch_norms(model) == 1  # now the kept one, since nothing is kept any more
    with torch.no_grad():
        torch.testing.assert_close(model(frames, background), before, atol=1e-4, rtol=1e-4)


def test_group_norm_models_and_training_mode_are_left_alone(tiny_dinov3):
    model = build_model(tiny_cfg(tiny_dinov3, "model.frames=3", "model.detail.enabled=true"))
    assert model.training
    with pytest.raises(ValueError, match="evaluation mode"):
        fold_batch_norms(model)
    assert fold_batch_norms(model.eval()) == 0  # norm: gn (the default) has nothing to fold


def test_the_predictor_runs_the_folded_model_with_the_same_predictions(tiny_dinov3, monkeypatch):
    """prepare_for_inference folds (what tracknet predict runs): the predictions through the
    cached stems equal those of the unfolded model building its inputs per window."""
    cfg, model = _bn_model(tiny_dinov3)
    reference = _bn_model(tiny_dinov3)[1]
    reference.load_state_dict(model.state_dict())
    rng = np.random.default_rng(3)
    stream = [(i, rng.integers(0, 256, (IN_H, IN_W, 3), dtype=np.uint8)) for i in range(6)]
    codec = HeatmapCodec.from_config(cfg)
    unfolded = _norms(reference)
    assert unfolded > 3
    out = []
    for m, fold in ((reference, False), (model, True)):
        with monkeypatch.context() as patch:
            if not fold:
                patch.setattr("tracknet.infer.device.fold_batch_norms", lambda m, keep=(): 0)
            pcfg = PredictConfig(batch_size=4, device="cpu", detail_stems=fold)
            predictor = Predictor(m, codec, pcfg)
        assert _norms(predictor.model) == (1 if fold else unfolded)
        bg = predictor.make_background([f for _, f in stream], (IN_W, IN_H))
        out.append(list(predictor.run(iter(stream), (IN_W, IN_H), None, bg)))
    for a, b in zip(*out, strict=True):
        assert abs(a.score - b.score) < 1e-4
        np.testing.assert_allclose(a.candidates_score, b.candidates_score, atol=1e-4)


@pytest.mark.parametrize("kind", ["dinov3", "dinov2"])
def test_the_input_normalisation_folds_into_the_patch_embedding(kind, tmp_path):
    folder = tiny_vit(tmp_path, kind=kind, patch=16, num_register_tokens=4)
    model = build_model(tiny_cfg(str(folder), "model.frames=3")).eval()
    model.image_mean.copy_(torch.tensor([0.2, 0.5, 0.7]).view(1, 3, 1, 1))  # far from 0 and 1
    model.image_std.copy_(torch.tensor([0.1, 0.3, 0.6]).view(1, 3, 1, 1))
    images = torch.rand(2, 3, IN_H, IN_W)
    with torch.no_grad():
        before = model.encode(images)
        assert fold_input_normalisation(model)
        assert not model.normalise_input
        after = model.encode(images)
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)
    assert not fold_input_normalisation(model)  # once only
    with torch.no_grad():
        torch.testing.assert_close(model.encode(images), before, atol=1e-4, rtol=1e-4)


def test_the_unet_baseline_has_no_patch_embedding_to_fold():
    from tracknet.config import load_config

    cfg = load_config(overrides=["model.type=unet", "model.input_size=[64,32]"])
    model = build_model(cfg).eval()
    assert not fold_input_normalisation(model)
