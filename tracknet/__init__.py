"""tracknet: find a small, fast ball in every frame of a sports video.

``from tracknet import Tracker`` is the Python API (:mod:`tracknet.predict.api`, docs/python_api.md); it is
imported on first use, so ``import tracknet`` stays light (no torch).

Conventions used throughout the package:

- tensors are ``B, T, C, H, W`` (batch, frames of a window, channels, height, width);
- coordinates are pixels ``(x, y)`` of the ORIGINAL video frame unless a name says otherwise;
- sizes are ``[W, H]`` in configuration files and ``(H, W)`` in tensors
  (:func:`tracknet.config.wh_to_hw` converts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Tracker", "__version__"]

if TYPE_CHECKING:
    from tracknet.predict.api import Tracker


def __getattr__(name: str) -> Any:
    if name == "Tracker":
        from tracknet.predict.api import (
            Tracker,  # start-up time: torch is heavy for `import tracknet`
        )

        return Tracker
    raise AttributeError(f"module 'tracknet' has no attribute {name!r}")
