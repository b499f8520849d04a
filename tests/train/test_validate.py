"""Validation during training measures what ``tracknet eval`` measures, letterbox included.

A stub model turns a position written into the frames into logits; validation decodes them with
the run's codec and classifies the frames. Under ``eval.tolerance_space=input`` the distances go
through the codec's frame -> input map, as the checkpoint evaluation's do
(:func:`tracknet.eval.metrics.evaluate_clips` with ``to_input=codec.frame_to_input``).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from torch import nn

from tracknet.config import load_config
from tracknet.data.codec import HeatmapCodec
from tracknet.eval.metrics import COUNT_KEYS, evaluate_clips
from tracknet.train.validate import validate_windows

FRAME = (320, 320)  # a square frame in a 128x80 input: letterbox and stretch maps differ
T = 3


class OneCpu:
    """The part of ``accelerate.Accelerator`` that validation uses, for one CPU process."""

    process_index, num_processes, device = 0, 1, torch.device("cpu")

    def autocast(self):
        return contextlib.nullcontext()

    def reduce(self, tensor, reduction="sum"):
        raise AssertionError("a single process reduces nothing")


class PointModel(nn.Module):
    """Logits with one Gaussian blob at the input-pixel position written in each frame.

    Frame ``[3, H, W]`` carries the position in ``[0, 0, :2]`` and the visibility in ``[1, 0, 0]``.
    """

    def __init__(self, codec: HeatmapCodec) -> None:
        super().__init__()
        self.codec = codec

    def forward(self, frames: torch.Tensor) -> torch.Tensor:  # [B, T, 3, H, W] -> [B, T, Hh, Wh]
        xy = frames[:, :, 0, 0, :2].double().numpy()
        visible = frames[:, :, 1, 0, 0].numpy() > 0
        heat = torch.from_numpy(self.codec.encode(xy, visible))
        return torch.logit(heat.clamp(1e-4, 1 - 1e-4))


def _cases() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Truth and predictions in frame pixels: every outcome, and offsets along x of 4, 12 and 20
    frame pixels (1, 3 and 5 input pixels under letterbox, 1.6, 4.8 and 8 under stretch)."""
    gt_xy = np.array(
        [[160, 100], [100, 200], [220, 60], [160, 160], [40, 250], [0, 0]] * 2, dtype=np.float64
    )
    gt_vis = np.array([1, 1, 1, 1, 0, 0] * 2, dtype=bool)
    offsets = np.array([4, 12, 20, 12, 0, 0, 12, 4, 12, 20, 0, 0], dtype=np.float64)
    pred_xy = gt_xy + np.stack([offsets, np.zeros_like(offsets)], axis=1)
    pred_vis = np.array([1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0], dtype=bool)
    return gt_vis, gt_xy, pred_vis, pred_xy


def _windows(codec: HeatmapCodec, gt_vis, gt_xy, pred_vis, pred_xy) -> list[dict]:
    w_in, h_in = codec.input_size
    pred_in = codec.frame_to_input(pred_xy, FRAME)
    windows = []
    for start in range(0, len(gt_vis), T):
        frames = torch.zeros(T, 3, h_in, w_in)
        part = slice(start, start + T)
        frames[:, 0, 0, :2] = torch.from_numpy(pred_in[part]).float()
        frames[:, 1, 0, 0] = torch.from_numpy(pred_vis[part]).float()
        windows.append(
            {
                "frames": frames,
                "heatmaps": torch.from_numpy(
                    codec.encode(codec.frame_to_input(gt_xy[part], FRAME), gt_vis[part])
                ),
                "visible": torch.from_numpy(gt_vis[part]),
                "xy": torch.from_numpy(gt_xy[part].astype(np.float32)),
                "frame_size": torch.tensor(FRAME, dtype=torch.int64),
            }
        )
    return windows


def _counts(scores: dict) -> dict[str, int]:
    return {key: scores[key] for key in COUNT_KEYS}


@pytest.mark.parametrize("resize", ["letterbox", "stretch"])
def test_validation_scores_as_the_checkpoint_evaluation_does(resize):
    cfg = load_config(
        overrides=[
            "model.input_size=[128,80]",
            "model.heatmap.size=[64,40]",
            "model.heatmap.sigma=1.5",
            f"data.resize={resize}",
            "eval.tolerance_space=input",
            "eval.tolerance_px=4",
            "train.batch_size=2",
        ]
    )
    codec = HeatmapCodec.from_config(cfg)
    gt_vis, gt_xy, pred_vis, pred_xy = _cases()
    windows = _windows(codec, gt_vis, gt_xy, pred_vis, pred_xy)
    model = PointModel(codec)

    result = validate_windows(OneCpu(), model, windows, codec, cfg)

    # What `tracknet eval` computes from the same decoded predictions.
    frames = torch.stack([w["frames"] for w in windows])
    det = codec.decode(model(frames), frame_size=FRAME)
    decoded_vis = det.visible.reshape(-1).numpy()
    decoded_xy = det.xy.reshape(-1, 2).numpy()
    assert np.array_equal(decoded_vis, pred_vis)
    np.testing.assert_allclose(decoded_xy[pred_vis], pred_xy[pred_vis], atol=2.0)
    clip = {"clip": (decoded_vis, decoded_xy, gt_vis, gt_xy, FRAME)}
    evaluated = evaluate_clips(
        clip, tolerance_px=4, tolerance_space="input", to_input=codec.frame_to_input
    ).overall.as_dict()
    assert _counts(result.as_dict()) == _counts(evaluated)
    assert result.f1 == evaluated["f1"]
    assert min(_counts(result.as_dict()).values()) > 0, "every outcome must occur"

    # The plain stretch map that validation used before: the same under stretch, other counts
    # under letterbox (12 frame pixels are 3 input pixels there, 4.8 with a stretch).
    stretched = evaluate_clips(
        clip, tolerance_px=4, tolerance_space="input", input_size=codec.input_size
    ).overall.as_dict()
    if resize == "stretch":
        assert _counts(result.as_dict()) == _counts(stretched)

    else:
        assert result.tp == stretched["tp"] + 3 and result.fp1 == stretched["fp1"] - 3
