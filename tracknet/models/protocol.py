"""The interface of a window model: what the predictor, the trainer, the export and the ONNX
backend rely on.

:class:`~tracknet.models.TrackNet` (ViT), :class:`~tracknet.models.unet.TrackNetV2UNet` (the
baseline) and :class:`~tracknet.infer.onnx_backend.OnnxModel` speak it without a common base
class; :class:`WindowModel` states it once, and ``isinstance(model, WindowModel)`` checks that
every member is there (not their signatures).

A window is ``T = frames`` consecutive frames ``[B, T, 3, H, W]`` in ``[0, 1]``. Streaming
inference encodes every frame once (:meth:`WindowModel.encode`) and decodes windows of the cached
tokens (:meth:`WindowModel.decode_window`); training and the export call the whole model
(``forward``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from tracknet.config import ModelConfig


@runtime_checkable
class WindowModel(Protocol):
    """A model that turns windows of frames into heatmap logits, one heatmap per frame."""

    frames: int
    """``T``: the frames of a window (1 for the single-frame model)."""

    config: ModelConfig | None
    """The configuration the model was built from (``model.json`` holds it beside the weights);
    ``None`` for a model assembled by hand."""

    @property
    def size_multiple(self) -> int:
        """H and W of an input must be multiples of it (the ViT's patch size, 8 for the
        baseline); read-only here, so a property, a class attribute or an attribute all do."""
        ...

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Per-frame features to cache: ``[N, 3, H, W]`` in [0, 1] -> tokens ``[N, ...]``."""
        ...

    def decode_window(
        self,
        tokens: torch.Tensor,
        frames: torch.Tensor | None = None,
        background: torch.Tensor | None = None,
        select: int | None = None,
    ) -> torch.Tensor:
        """Logits ``[B, T, Hh, Wh]`` of windows of cached tokens ``[B, T, ...]``.

        ``frames`` ``[B, T, 3, H, W]`` and ``background`` ``[B, 3, H, W]`` are the raw inputs for
        models that need them; ``select``: decode only that frame of each window
        (``[B, 1, Hh, Wh]``).
        """
        ...

    def forward(self, frames: torch.Tensor, background: torch.Tensor | None = None) -> torch.Tensor:
        """The whole model: ``[B, T, 3, H, W]`` -> ``[B, T, Hh, Wh]`` logits."""
        ...
