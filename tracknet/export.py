"""ONNX export of a trained model (the dynamo exporter, opset 18).

The exported graph takes ``frames [B, T, 3, H, W]`` in [0, 1] (normalisation included) and returns
``logits [B, T, Hh, Wh]``; batch, height and width are dynamic (H and W must stay multiples of the
patch size). ``model.json`` and ``config.yaml`` of the run stay the description of the geometry.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from tracknet.config import wh_to_hw
from tracknet.utils import atomic_path

log = logging.getLogger("tracknet.export")


def export_onnx(model: torch.nn.Module, out: str | Path, opset: int = 18) -> Path:
    """Export ``model`` (built by ``build_model``) to ``out``; returns the path."""
    cfg = model.model_config
    h, w = wh_to_hw(cfg.input_size)
    example = torch.rand(1, cfg.frames, 3, h, w)
    dims = {
        0: torch.export.Dim("batch", min=1, max=1024),
        3: torch.export.Dim("height", min=1, max=8192),
        4: torch.export.Dim("width", min=1, max=8192),
    }
    model = model.eval().float()
    out = Path(out)
    with atomic_path(out, suffix=".tmp.onnx") as tmp:
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            dynamo=True,
            opset_version=opset,
            input_names=["frames"],
            output_names=["logits"],
            dynamic_shapes={"frames": dims},
            external_data=False,
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
