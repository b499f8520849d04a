"""Run an exported ONNX model with onnxruntime behind the predictor's model interface.

The ONNX graph is the whole model, so each window goes through the backbone again (no token
reuse); it is the path for machines without PyTorch's fast kernels, and a check of the export.
:func:`tracknet.infer.export.onnx_for_run` finds (or writes) a run's ``model.onnx``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tracknet.config import ModelConfig
from tracknet.models.protocol import WindowModel


class OnnxModel(torch.nn.Module):
    """``encode`` passes frames through; ``decode_window`` runs the ONNX graph on the window.

    A :class:`~tracknet.models.protocol.WindowModel`: ``frames``, ``config`` and
    ``size_multiple`` are those of the model the graph was exported from.
    """

    def __init__(
        self,
        onnx_path: str | Path,
        frames: int,
        providers: list[str] | None = None,
        *,
        config: ModelConfig | None = None,
        size_multiple: int = 1,
    ):
        super().__init__()
        import onnxruntime as ort  # optional dependency (the ``onnx`` extra)

        self.session = ort.InferenceSession(
            str(onnx_path), providers=providers or ["CPUExecutionProvider"]
        )
        self.frames = frames
        self.config = config
        self.size_multiple = size_multiple

    @classmethod
    def for_model(
        cls, onnx_path: str | Path, model: WindowModel, providers: list[str] | None = None
    ) -> OnnxModel:
        """The ONNX export ``onnx_path`` of ``model``, with ``model``'s window and geometry."""
        return cls(
            onnx_path,
            model.frames,
            providers,
            config=model.config,
            size_multiple=model.size_multiple,
        )

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def decode_window(self, tokens, frames=None, background=None, select: int | None = None):
        logits = torch.from_numpy(
            self.session.run(None, {"frames": np.ascontiguousarray(tokens.float().cpu().numpy())})[
                0
            ]
        ).to(tokens.device)
        return logits if select is None else logits[:, select : select + 1]

    def forward(self, frames: torch.Tensor, background: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode_window(frames)
