"""The pinhole camera of a clip: projection of world points, and a broadcast-like placement.

World coordinates are metres (``x`` across the court, ``y`` along it, ``z`` up); image
coordinates are pixels of the written frame with pixel centres at integer coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tracknet.data.synth.presets import Sport


@dataclass(frozen=True)
class Camera:
    """A pinhole camera. ``rotation`` rows are the camera's right, down and forward axes."""

    position: np.ndarray  # (3,) metres
    rotation: np.ndarray  # (3, 3)
    focal: float  # pixels
    centre: tuple[float, float]  # principal point (cx, cy), pixels

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points ``[..., 3]`` -> image points ``[..., 2]`` and depths ``[...]``."""
        cam = (np.asarray(points, dtype=np.float64) - self.position) @ self.rotation.T
        depth = cam[..., 2]
        safe = np.maximum(depth, 1e-3)
        u = self.centre[0] + self.focal * cam[..., 0] / safe
        v = self.centre[1] + self.focal * cam[..., 1] / safe
        return np.stack([u, v], axis=-1), depth


def make_camera(sport: Sport, size: tuple[int, int], rng: np.random.Generator) -> Camera:
    """A broadcast-like camera behind and above the near baseline, looking down the court.

    Focal length and principal point are solved so that the near baseline lands at 84-92 % of
    the frame height and the far baseline at 22-32 %.
    """
    width, height = size
    position = np.array(
        [
            rng.uniform(-0.6, 0.6),
            -rng.uniform(*sport.camera_back),
            rng.uniform(*sport.camera_height),
        ]
    )
    target = np.array([0.0, sport.length * rng.uniform(0.36, 0.46), 0.0])
    forward = (target - position) / np.linalg.norm(target - position)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])

    def normalised_v(point: Sequence[float]) -> float:
        cam = rotation @ (np.asarray(point) - position)
        return cam[1] / cam[2]

    v_near = height * rng.uniform(0.84, 0.92)
    v_far = height * rng.uniform(0.22, 0.32)
    q_near, q_far = normalised_v([0, 0, 0]), normalised_v([0, sport.length, 0])
    focal = (v_near - v_far) / (q_near - q_far)
    cx = width * (0.5 + rng.uniform(-0.03, 0.03))
    return Camera(position, rotation, float(focal), (float(cx), float(v_near - focal * q_near)))
