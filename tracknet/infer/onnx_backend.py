"""Run an exported ONNX model with onnxruntime behind the predictor's model interface.

The ONNX graph is the whole model, so each window goes through the backbone again (no token
reuse); it is the path for machines without PyTorch's fast kernels, and a check of the export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


class OnnxModel(torch.nn.Module):
    """``encode`` passes frames through; ``decode_window`` runs the ONNX graph on the window."""

    def __init__(self, onnx_path: str | Path, frames: int, providers: list[str] | None = None):
        super().__init__()
        import onnxruntime as ort

        self.session = ort.InferenceSession(
            str(onnx_path), providers=providers or ["CPUExecutionProvider"]
        )
        self.frames = frames

    @classmethod
    def from_checkpoint(cls, run_dir: str | Path, model: torch.nn.Module) -> OnnxModel:
        """The run's ``model.onnx`` (exported now from ``model`` when missing or older than the
        weights)."""
        from tracknet.export import export_onnx
        from tracknet.infer.loading import resolve_checkpoint

        weights, _ = resolve_checkpoint(run_dir)
        path = weights / "model.onnx"
        sources = [*weights.glob("*.safetensors"), weights / "model.json"]
        newest = max((p.stat().st_mtime for p in sources if p.exists()), default=0.0)
        if not path.exists() or path.stat().st_mtime < newest:
            export_onnx(model, path)
        return cls(path, model.model_config.frames)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def decode_window(self, tokens, frames=None, background=None, select: int | None = None):
        logits = torch.from_numpy(
            self.session.run(None, {"frames": np.ascontiguousarray(tokens.float().cpu().numpy())})[
                0
            ]
        ).to(tokens.device)
        return logits if select is None else logits[:, select : select + 1]

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.decode_window(frames)
