"""tracknet: find a small, fast ball in every frame of a sports video.

Conventions used throughout the package:

- tensors are ``B, T, C, H, W`` (batch, frames of a window, channels, height, width);
- coordinates are pixels ``(x, y)`` of the ORIGINAL video frame unless a name says otherwise;
- sizes are ``[W, H]`` in configuration files and ``(H, W)`` in tensors
  (:func:`tracknet.config.wh_to_hw` converts).
"""

__version__ = "0.1.0"
