"""ONNX export of a trained model (the dynamo exporter, opset 18).

The exported graph takes ``frames [B, T, 3, H, W]`` in [0, 1] (normalisation included) and returns
``logits [B, T, Hh, Wh]``; batch, height and width are dynamic (H and W must stay multiples of the
patch size). ``model.json`` and ``config.yaml`` of the run stay the description of the geometry.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np
import torch

from tracknet.config import wh_to_hw
from tracknet.utils import atomic_path

log = logging.getLogger("tracknet.export")


def _integer_heatmap_size(model: torch.nn.Module):
    """``TrackNet.heatmap_size_for`` in integer arithmetic (round half up), which ONNX can express.

    It differs from Python's ``round`` only on exact ties, which the usual sizes never produce.
    """
    cfg = model.model_config
    in_h, in_w = wh_to_hw(cfg.input_size)
    hm_h, hm_w = wh_to_hw(cfg.heatmap.size)
    p = model.backbone.patch_size

    def heatmap_size_for(tokens: torch.Tensor) -> tuple[int, int]:
        h, w = tokens.shape[-3] * p, tokens.shape[-2] * p
        return (2 * h * hm_h + in_h) // (2 * in_h), (2 * w * hm_w + in_w) // (2 * in_w)

    return heatmap_size_for


@contextlib.contextmanager
def _exportable(model: torch.nn.Module):
    patched = hasattr(model, "heatmap_size_for") and model.model_config is not None
    if patched:
        model.heatmap_size_for = _integer_heatmap_size(model)
    try:
        yield model
    finally:
        if patched:
            del model.heatmap_size_for


def export_onnx(model: torch.nn.Module, out: str | Path, opset: int = 18) -> Path:
    """Export ``model`` (built by ``build_model``) to ``out``; returns the path."""
    cfg = model.model_config
    h, w = wh_to_hw(cfg.input_size)
    example = torch.rand(2, cfg.frames, 3, h, w)
    # H and W are multiples of the patch size (8 for the baseline's three poolings)
    step = int(getattr(getattr(model, "backbone", None), "patch_size", 8))
    dims = {
        0: torch.export.Dim("batch", min=1, max=1024),
        3: step * torch.export.Dim("height_steps", min=2, max=8192 // step),
        4: step * torch.export.Dim("width_steps", min=2, max=8192 // step),
    }
    model = model.eval().float()
    # torch.export first (shape guards), then the ONNX translation of that program: letting
    # torch.onnx.export capture the model itself turns the guards into runtime asserts, which
    # fails on the heatmap-size arithmetic (``round(h * Hh / H)``).
    with _exportable(model):
        program = torch.export.export(
            model, (example,), dynamic_shapes={"frames": dims}, strict=False
        )
    out = Path(out)
    with atomic_path(out, suffix=".tmp.onnx") as tmp:
        torch.onnx.export(
            program,
            dynamo=True,
            f=str(tmp),
            opset_version=opset,
            input_names=["frames"],
            output_names=["logits"],
            external_data=False,
            verbose=False,
        )
    return out


def max_abs_difference(
    model: torch.nn.Module, onnx_path: str | Path, frames: torch.Tensor
) -> float:
    """Largest |PyTorch - onnxruntime| over the logits of ``frames``."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model.eval()(frames).numpy()
    got = session.run(None, {"frames": frames.numpy()})[0]
    return float(np.abs(got - expected).max())
