"""HeatmapCodec: coordinate maps, frame resizing, Gaussian encoding and blob decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tracknet.config import load_config
from tracknet.data.codec import HeatmapCodec


def _logits(heat: np.ndarray, eps: float = 1e-6) -> torch.Tensor:
    """Logits whose sigmoid is the (clamped) heatmap."""
    h = np.clip(heat.astype(np.float64), eps, 1 - eps)
    return torch.from_numpy(np.log(h) - np.log1p(-h)).float()


def _random_heatmap_points(rng, n: int, w: int, h: int) -> np.ndarray:
    """Sub-pixel positions in heatmap pixels, a third of them within 3 px of an edge."""
    xy = np.stack([rng.uniform(-0.5, w - 0.5, n), rng.uniform(-0.5, h - 0.5, n)], axis=1)
    k = n // 6
    xy[:k, 0] = rng.uniform(-0.5, 2.5, k)
    xy[k : 2 * k, 0] = rng.uniform(w - 3.5, w - 0.5, k)
    xy[2 * k : 3 * k, 1] = rng.uniform(-0.5, 2.5, k)
    xy[3 * k : 4 * k, 1] = rng.uniform(h - 3.5, h - 0.5, k)
    return xy


@pytest.mark.parametrize(
    ("input_size", "heatmap_size", "sigma"),
    [((512, 288), (256, 144), 2.5), ((128, 80), (64, 40), 1.5), ((96, 64), (96, 64), 4.0)],
)
def test_round_trip_within_a_quarter_heatmap_pixel(input_size, heatmap_size, sigma):
    codec = HeatmapCodec(input_size, heatmap_size, sigma=sigma)
    rng = np.random.default_rng(0)
    hxy = _random_heatmap_points(rng, 120, *heatmap_size)
    heat = codec.encode(codec.heatmap_to_input(hxy), np.ones(len(hxy), bool))
    det = codec.decode(_logits(heat))
    assert det.visible.all()
    decoded = codec.input_to_heatmap(det.xy.double().numpy())
    assert np.abs(decoded - hxy).max() < 0.25


@pytest.mark.parametrize("resize", ["stretch", "letterbox"])
def test_round_trip_in_frame_pixels(resize):
    codec = HeatmapCodec((256, 256), (128, 128), sigma=2.0, resize=resize)
    frame_size = (1280, 720)
    rng = np.random.default_rng(1)
    xy = np.stack([rng.uniform(0, 1279, 64), rng.uniform(0, 719, 64)], axis=1)
    heat = codec.encode(xy, np.ones(64, bool), frame_size=frame_size)
    det = codec.decode(_logits(heat), frame_size=frame_size)
    scale = max(1280 / 128, 720 / 128) if resize == "stretch" else 1280 / 128
    assert np.abs(det.xy.double().numpy() - xy).max() < 0.25 * scale


def test_encode_peak_is_one_and_invisible_is_zero():
    codec = HeatmapCodec((64, 48), (32, 24), sigma=2.0)
    xy = np.array([[20.3, 10.7], [5.0, 5.0], [np.nan, np.nan]])
    heat = codec.encode(xy, np.array([True, True, False]))
    assert heat.shape == (3, 24, 32) and heat.dtype == np.float32
    assert heat[0].max() == 1.0 and heat[1].max() == 1.0
    assert not heat[2].any()
    assert np.isfinite(heat).all()
    # The brightest pixel is the one nearest the sub-pixel centre (input 20.3 -> heatmap 9.9).
    row, col = np.unravel_index(heat[0].argmax(), heat[0].shape)
    hx, hy = codec.input_to_heatmap(xy[0])
    assert (col, row) == (round(hx), round(hy))


def test_encode_batches_any_leading_shape():
    codec = HeatmapCodec((64, 48), (32, 24))
    xy = np.full((2, 3, 2), 10.0)
    heat = codec.encode(xy, np.ones((2, 3), bool))
    assert heat.shape == (2, 3, 24, 32)


def test_invisible_heatmap_decodes_as_not_visible():
    codec = HeatmapCodec((64, 48), (32, 24))
    heat = codec.encode(np.zeros((4, 2)), np.zeros(4, bool))
    det = codec.decode(_logits(heat), frame_size=(640, 480), top_k=3)
    assert not det.visible.any()
    assert (det.score == 0).all() and (det.xy == 0).all()
    assert (det.candidates_score == 0).all() and det.candidates_xy.shape == (4, 3, 2)


def test_all_background_batch_and_extreme_logits_give_no_nan():
    codec = HeatmapCodec((512, 288), (256, 144))
    logits = torch.full((2, 3, 144, 256), -20.0)
    logits[1, 2] = 1e4  # everything above threshold: one blob covering the whole heatmap
    logits[1, 1, :, :10] = float("-inf")
    det = codec.decode(logits, frame_size=(1280, 720))
    assert det.visible.shape == (2, 3)
    assert det.visible.tolist() == [[False] * 3, [False, False, True]]
    for value in (det.xy, det.score, det.candidates_xy, det.candidates_score):
        assert torch.isfinite(value).all()
    assert abs(det.xy[1, 2, 0].item() - 639.5) < 1 and abs(det.xy[1, 2, 1].item() - 359.5) < 1


def test_more_candidates_than_pixels():
    codec = HeatmapCodec((4, 4), (2, 2), sigma=1.0)
    det = codec.decode(torch.tensor([[[5.0, -5.0], [-5.0, -5.0]]]), top_k=8)
    assert det.candidates_score.shape == (1, 8) and det.visible.item()
    assert (det.candidates_score[0, 1:] == 0).all()
    assert det.xy[0].tolist() == [0.5, 0.5]  # heatmap pixel (0, 0) in the 4x4 input


def test_two_blobs_pick_the_stronger_and_rank_candidates():
    codec = HeatmapCodec((128, 96), (64, 48), sigma=2.0)
    strong = codec.encode(np.array([[30.0, 40.0]]), np.array([True]))[0]
    weak = 0.7 * codec.encode(np.array([[100.0, 20.0]]), np.array([True]))[0]
    det = codec.decode(_logits(np.maximum(strong, weak))[None], top_k=4)
    assert det.visible.item()
    assert np.allclose(det.xy[0].numpy(), [30.0, 40.0], atol=0.5)
    assert np.allclose(det.candidates_xy[0, 1].numpy(), [100.0, 20.0], atol=0.5)
    assert det.candidates_mass[0, 0] > det.candidates_mass[0, 1] > 0
    assert det.score[0].item() == pytest.approx(1.0, abs=1e-3)
    assert det.candidates_score[0, 1].item() == pytest.approx(0.7, abs=0.02)
    assert (det.candidates_score[0, 2:] == 0).all()
    numpy_det = det.numpy()
    assert isinstance(numpy_det.xy, np.ndarray) and numpy_det.candidates_xy.shape == (1, 4, 2)


def test_decode_per_item_frame_sizes():
    codec = HeatmapCodec((64, 64), (32, 32), sigma=1.5)
    sizes = torch.tensor([[[640, 640], [320, 320]]])  # [B=1, T=2, 2]
    xy_frame = np.array([[[100.0, 200.0], [50.0, 100.0]]])
    heat = codec.encode(xy_frame, np.ones((1, 2), bool), frame_size=sizes.numpy())
    det = codec.decode(_logits(heat), frame_size=sizes)
    assert det.xy.shape == (1, 2, 2)
    assert np.allclose(det.xy.numpy(), xy_frame, atol=0.25 * 10)


@pytest.mark.parametrize("resize", ["stretch", "letterbox"])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_maps_are_inverse(resize, backend):
    codec = HeatmapCodec((512, 288), (256, 144), resize=resize)
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 700, (5, 4, 2))
    sizes = np.array([[1280, 720], [720, 1280], [640, 640], [1920, 1080]])  # per column
    if backend == "torch":
        xy, sizes = torch.from_numpy(xy), torch.from_numpy(sizes)
    back = codec.input_to_frame(codec.frame_to_input(xy, sizes), sizes)
    assert np.allclose(np.asarray(back), np.asarray(xy), atol=1e-9)
    back = codec.heatmap_to_frame(codec.frame_to_heatmap(xy, (1280, 720)), (1280, 720))
    assert np.allclose(np.asarray(back), np.asarray(xy), atol=1e-9)


def test_pixel_centre_convention_and_letterbox_geometry():
    stretch = HeatmapCodec((512, 288), (256, 144))
    # The frame's edges (-0.5 and W - 0.5) land on the input's edges.
    edges = stretch.frame_to_input(np.array([[-0.5, -0.5], [1279.5, 719.5]]), (1280, 720))
    assert np.allclose(edges, [[-0.5, -0.5], [511.5, 287.5]])
    assert np.allclose(stretch.input_to_heatmap(np.array([1.0, 1.0])), [0.25, 0.25])
    box = HeatmapCodec((512, 512), (256, 256), resize="letterbox")
    assert box.scaled_size((1280, 720)) == ((512, 288), (0, 112))
    top_left = box.frame_to_input(np.array([-0.5, -0.5]), (1280, 720))
    assert np.allclose(top_left, [-0.5, 111.5])


@pytest.mark.parametrize("resize", ["stretch", "letterbox"])
def test_resized_frames_agree_with_the_maps(resize):
    codec = HeatmapCodec((160, 160), (80, 80), resize=resize)
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[118:122, 48:52] = 255  # a 4x4 bright square centred on (49.5, 119.5)
    resized = codec.resize_frame(frame)
    assert resized.shape == (160, 160, 3) and resized.dtype == np.uint8
    weights = resized[..., 0].astype(np.float64)
    ys, xs = np.mgrid[: weights.shape[0], : weights.shape[1]]
    centroid = [(weights * xs).sum() / weights.sum(), (weights * ys).sum() / weights.sum()]
    expected = codec.frame_to_input(np.array([49.5, 119.5]), (320, 180))
    assert np.allclose(centroid, expected, atol=0.05)
    if resize == "letterbox":
        assert not resized[:35].any() and not resized[-35:].any()  # (160 - 90) / 2 rows of pad
    # The batched torch path gives the same pixels, for either channel order.
    batch = torch.from_numpy(np.stack([frame, frame]))
    as_float = codec.resize_frames_torch(batch)
    assert as_float.shape == (2, 3, 160, 160) and as_float.dtype == torch.float32
    assert torch.equal(as_float, codec.resize_frames_torch(batch.permute(0, 3, 1, 2)))
    as_uint8 = codec.resize_frames_torch(batch, as_uint8=True)
    assert torch.equal(as_uint8[0].permute(1, 2, 0), torch.from_numpy(resized))
    assert torch.allclose(as_float, as_uint8.float() / 255)


def test_resize_of_a_reduced_decode_uses_the_original_geometry():
    codec = HeatmapCodec((100, 100), (50, 50), resize="letterbox")
    full = np.full((90, 160, 3), 200, np.uint8)
    half = full[::2, ::2]  # a JPEG draft decode at 1/2 scale
    assert np.array_equal(codec.resize_frame(half, (160, 90)), codec.resize_frame(full))


def test_from_config():
    cfg = load_config(
        overrides=[
            "model.input_size=[512,288]",
            "model.heatmap.size=[128,72]",
            "model.heatmap.sigma=3.0",
            "eval.threshold=0.4",
            "data.resize=letterbox",
        ]
    )
    codec = HeatmapCodec.from_config(cfg)
    assert codec.input_size == (512, 288) and codec.heatmap_size == (128, 72)
    assert (codec.sigma, codec.threshold, codec.resize) == (3.0, 0.4, "letterbox")


@pytest.mark.parametrize(
    ("input_size", "heatmap_size", "stride"),
    [((512, 288), (256, 144), 2), ((1280, 720), (256, 144), 5), ((96, 64), (96, 64), 1)],
)
def test_stride_is_the_input_to_heatmap_ratio(input_size, heatmap_size, stride):
    codec = HeatmapCodec(input_size, heatmap_size)
    assert codec.stride == stride
    # one heatmap pixel spans `stride` input pixels: the maps agree
    a, b = codec.input_to_heatmap(np.array([[0.0, 0.0], [float(stride), float(stride)]]))
    np.testing.assert_allclose(b - a, [1.0, 1.0])


def test_heatmap_size_for_other_inputs_keeps_the_ratio():
    codec = HeatmapCodec((512, 288), (256, 144))
    assert codec.heatmap_size_for((512, 288)) == (256, 144)
    assert codec.heatmap_size_for((256, 160)) == (128, 80)  # a training crop
    assert codec.heatmap_size_for((1280, 720)) == (640, 360)
    assert codec.heatmap_size_for((255, 161)) == (128, 81)  # rounded half up
    assert all(isinstance(v, int) for v in codec.heatmap_size_for((100, 50)))
    wide = HeatmapCodec((1280, 720), (256, 144))
    assert wide.heatmap_size_for((640, 360)) == (128, 72)
    assert wide.heatmap_size_for((256, 160)) == (51, 32)  # 51.2 and 32


def test_disk_target_is_trackv2s_binary_disk():
    """``target="disk"``: 1 within ``sigma`` heatmap pixels of the ball, 0 elsewhere."""
    codec = HeatmapCodec((64, 48), (64, 48), sigma=2.5, target="disk")
    heat = codec.encode(np.array([[20.0, 10.0], [np.nan, np.nan]]), np.array([True, False]))
    assert heat.shape == (2, 48, 64) and heat.dtype == np.float32
    assert set(np.unique(heat[0])) == {0.0, 1.0} and not heat[1].any()
    rows, cols = np.nonzero(heat[0])
    assert ((cols - 20.0) ** 2 + (rows - 10.0) ** 2 <= 6.25).all() and len(rows) == 21
    assert "target='disk'" in repr(codec) and "target" not in repr(HeatmapCodec())
    with pytest.raises(ValueError, match="target"):
        HeatmapCodec(target="cross")
    cfg = load_config(overrides=["model.heatmap.target=disk"])
    assert HeatmapCodec.from_config(cfg).target == "disk"
