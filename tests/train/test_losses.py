"""The heatmap losses against their formulas (naive float64), and their numerical safety."""

import pytest
import torch

from tracknet.train.losses import bce, focal, heatmap_loss, wbce


def _sample(seed=0, shape=(2, 3, 6, 7)):
    """Random logits and a Gaussian-like target with a few exact 1.0 peaks and an empty frame."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=g) * 3
    target = torch.rand(shape, generator=g) * 0.9
    target[0, 0, 2, 3] = 1.0
    target[1, 2, 4, 1] = 1.0
    target[0, 1, 0, 0] = 1.0 - 5e-5  # its heatmap's peak: a positive
    target[1, 1] = 0.0  # a frame without ball
    return logits, target


def _naive(logits, target, kind, pos_weight=1.0, alpha=2.0, beta=4.0):
    z, y = logits.double(), target.double()
    p = 1 / (1 + torch.exp(-z))
    if kind == "bce":
        return (-(pos_weight * y * torch.log(p) + (1 - y) * torch.log(1 - p))).mean()
    if kind == "wbce":
        return (-((1 - p) ** 2 * y * torch.log(p) + p**2 * (1 - y) * torch.log(1 - p))).mean()
    peak = y.amax(dim=(-2, -1), keepdim=True)
    pos = (y >= peak * (1 - 1e-4)) & (peak > 0)  # each ball heatmap's peak pixel
    pos_loss = ((1 - p) ** alpha * torch.log(p))[pos].sum()
    neg_loss = ((1 - y) ** beta * p**alpha * torch.log(1 - p))[~pos].sum()
    return -(pos_loss + neg_loss) / max(int(pos.sum()), 1)


@pytest.mark.parametrize("kind", ["bce", "wbce", "focal"])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_the_formula(kind, seed):
    logits, target = _sample(seed)
    got = heatmap_loss(logits, target, kind=kind)
    assert got.shape == () and got.dtype == torch.float32
    assert got.item() == pytest.approx(_naive(logits, target, kind).item(), rel=1e-5)


def test_parameters_are_used():
    logits, target = _sample(2)
    got = heatmap_loss(logits, target, "bce", pos_weight=7.0)
    assert got.item() == pytest.approx(
        _naive(logits, target, "bce", pos_weight=7.0).item(), rel=1e-5
    )
    got = heatmap_loss(logits, target, "focal", alpha=1.5, beta=3.0)
    want = _naive(logits, target, "focal", alpha=1.5, beta=3.0)
    assert got.item() == pytest.approx(want.item(), rel=1e-5)
    assert heatmap_loss(logits, target, "bce").item() == pytest.approx(bce(logits, target).item())
    assert heatmap_loss(logits, target, "wbce").item() == pytest.approx(wbce(logits, target).item())
    assert heatmap_loss(logits, target).item() == pytest.approx(focal(logits, target).item())


def test_focal_normalises_by_positives_in_the_batch():
    logits, target = _sample(3)
    one_frame = focal(logits[:1], target[:1])
    peak = target[:1].amax(dim=(-2, -1), keepdim=True)
    pos = (target[:1] >= peak * (1 - 1e-4)).sum().item()
    assert pos == 3  # one peak per heatmap of the first window
    assert one_frame.item() == pytest.approx(
        _naive(logits[:1], target[:1], "focal").item(), rel=1e-5
    )


@pytest.mark.parametrize("kind", ["bce", "wbce", "focal"])
@pytest.mark.parametrize("scale", [1e2, 1e4])
def test_finite_values_and_gradients_at_extreme_logits(kind, scale):
    logits, target = _sample(4)
    extreme = (torch.sign(logits) * scale).requires_grad_(True)
    loss = heatmap_loss(extreme, target, kind=kind)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(extreme.grad).all()
    # confidently wrong logits are punished, confidently right ones are not
    right = torch.where(target >= 1 - 1e-4, scale, -scale).requires_grad_(True)
    assert heatmap_loss(right, target, kind=kind).item() < loss.item()


@pytest.mark.parametrize("kind", ["bce", "wbce", "focal"])
def test_all_zero_targets(kind):
    logits = torch.randn(2, 1, 5, 5, requires_grad=True)
    target = torch.zeros(2, 1, 5, 5)
    loss = heatmap_loss(logits, target, kind=kind)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    assert torch.isfinite(logits.grad).all()
    assert loss.item() == pytest.approx(_naive(logits.detach(), target, kind).item(), rel=1e-5)
    # with no ball, lowering every logit lowers the loss
    assert heatmap_loss(logits.detach() - 3, target, kind=kind).item() < loss.item()


def test_half_precision_logits_give_a_float32_loss():
    logits, target = _sample(5)
    loss = heatmap_loss(logits.to(torch.bfloat16), target, "focal")
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


def test_bad_arguments():
    logits, target = _sample()
    with pytest.raises(ValueError, match="unknown loss"):
        heatmap_loss(logits, target, kind="mse")
    with pytest.raises(ValueError, match="same shape"):
        heatmap_loss(logits, target[:1])


def test_wbce_sum_is_trackv2s_summed_loss():
    """``wbce_sum`` is TrackNetV2's loss: the same terms summed over every pixel of the batch."""
    logits, target = _sample(4)
    got = heatmap_loss(logits, target, "wbce_sum")
    want = _naive(logits, target, "wbce") * target.numel()
    assert got.dtype == torch.float32 and got.item() == pytest.approx(want.item(), rel=1e-5)
    assert wbce(logits, target, reduction="sum").item() == pytest.approx(got.item())
    with pytest.raises(ValueError, match="reduction"):
        wbce(logits, target, reduction="max")
