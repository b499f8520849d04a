"""ONNX export of a trained model (the dynamo exporter, opset 18).

The exported graph takes ``frames [B, T, 3, H, W]`` in [0, 1] (normalisation included) and returns
``logits [B, T, Hh, Wh]``; batch, height and width are dynamic (H and W must stay multiples of the
model's ``size_multiple``: the patch size). The models compute their heatmap size for an input
size in integer arithmetic (:func:`tracknet.data.codec.heatmap_size_for_input`), which the graph
keeps for every size. ``model.json`` and ``config.yaml`` of the run stay the description of the
geometry.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from tracknet.config import wh_to_hw
from tracknet.errors import UserError
from tracknet.infer.loading import load_run, resolve_checkpoint
from tracknet.models.protocol import WindowModel
from tracknet.models.serialization import META
from tracknet.utils import atomic_path

log = logging.getLogger("tracknet.export")

ONNX_NAME = "model.onnx"
"""The file name of a run's export, beside its weights (where ``predict --backend onnx`` looks)."""


def export_onnx(model: WindowModel, out: str | Path, opset: int = 18) -> Path:
    """Export ``model`` (built by ``build_model``) to ``out``; returns the path.

    Raises:
        UserError: a model with ``model.detail.background``: its export would take the frames
            only and silently swap the clip's background for the window median.
    """
    if getattr(getattr(model, "detail", None), "background", False):
        raise UserError(
            "this model takes the clip's background frame (model.detail.background), which the "
            "ONNX export does not carry; use the torch backend for it"
        )
    h, w = wh_to_hw(model.config.input_size)
    example = torch.rand(2, model.frames, 3, h, w)
    step = int(model.size_multiple)  # H and W: the patch size, 8 for the baseline's poolings
    dims = {
        0: torch.export.Dim("batch", min=1, max=1024),
        3: step * torch.export.Dim("height_steps", min=2, max=8192 // step),
        4: step * torch.export.Dim("width_steps", min=2, max=8192 // step),
    }
    assert isinstance(model, torch.nn.Module)  # an ONNX model is exported already
    model = model.eval().float()
    # torch.export first (shape guards), then the ONNX translation of that program: letting
    # torch.onnx.export capture the model itself turns the guards into runtime asserts.
    program = torch.export.export(model, (example,), dynamic_shapes={"frames": dims}, strict=False)
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


def onnx_for_run(run_dir: str | Path, model: WindowModel) -> Path:
    """The run's ``model.onnx`` beside its weights, exported now from ``model`` (the run's model)
    when it is missing or older than the weights."""
    weights, _ = resolve_checkpoint(run_dir)
    path = weights / ONNX_NAME
    sources = [*weights.glob("*.safetensors"), weights / META]
    newest = max((p.stat().st_mtime for p in sources if p.exists()), default=0.0)
    if not path.exists() or path.stat().st_mtime < newest:
        export_onnx(model, path)
    return path


def max_abs_difference(model: WindowModel, onnx_path: str | Path, frames: torch.Tensor) -> float:
    """Largest |PyTorch - onnxruntime| over the logits of ``frames``."""
    import onnxruntime as ort  # optional dependency (the ``onnx`` extra)

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert isinstance(model, torch.nn.Module)
    with torch.no_grad():
        expected = model.eval()(frames).numpy()

    got = session.run(None, {"frames": frames.numpy()})[0]
    return float(np.abs(got - expected).max())


def run_export(checkpoint: str | Path, out: str | Path, check: bool = False) -> int:
    """``tracknet export``: write a run's model as ONNX; with ``check``, compare with onnxruntime."""
    model, cfg = load_run(checkpoint)
    path = export_onnx(model, out)
    print(f"wrote {path} (frames [B, {cfg.model.frames}, 3, H, W] -> logits; B, H, W dynamic)")
    if check:
        h, w = wh_to_hw(cfg.model.input_size)
        diff = max_abs_difference(model, path, torch.rand(2, cfg.model.frames, 3, h, w))
        print(f"max |onnxruntime - pytorch| on random frames: {diff:.2e}")
    return 0
