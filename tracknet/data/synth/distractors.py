"""Small fast distractors (birds, insects, debris): image-space parabolas drawn like the ball."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracknet.data.synth.presets import Difficulty


@dataclass
class SmallObjects:
    """Small fast things (birds, insects, debris): image-space parabolas, drawn like the ball."""

    start: np.ndarray  # int [K] first frame
    stop: np.ndarray  # int [K] last frame + 1
    origin: np.ndarray  # float [K, 2] pixels at the first frame
    velocity: np.ndarray  # float [K, 2] pixels per frame
    accel: np.ndarray  # float [K, 2] pixels per frame^2
    diameter: np.ndarray  # float [K]
    colours: np.ndarray  # float [K, 3]

    def points(self, k: int, frame_time: float) -> np.ndarray:
        """Image position of object ``k`` at (fractional) frame ``frame_time``."""
        t = frame_time - self.start[k]
        return self.origin[k] + self.velocity[k] * t + 0.5 * self.accel[k] * t * t


def plan_small_objects(
    size: tuple[int, int],
    frames: int,
    scale: float,
    ball_colour: np.ndarray,
    preset: Difficulty,
    hard: bool,
    rng: np.random.Generator,
) -> SmallObjects:
    """Draw the distractors of a clip; with ``hard``, some take the ball's colour."""
    width, height = size
    k = int(rng.integers(preset.small_objects[0], preset.small_objects[1] + 1))
    start = rng.integers(-frames // 3, max(1, frames), k)
    stop = start + rng.integers(10, max(11, frames), k)
    origin = np.stack([rng.uniform(0, width, k), rng.uniform(0, height * 0.8, k)], axis=1)
    speed = rng.uniform(4, 25, k) * scale
    angle = rng.uniform(0, 2 * np.pi, k)
    velocity = np.stack([np.cos(angle), np.sin(angle)], axis=1) * speed[:, None]
    accel = np.stack([np.zeros(k), rng.uniform(-0.3, 0.6, k) * scale], axis=1)
    palette = np.array([[40, 40, 40], [235, 235, 235], [120, 90, 60], [20, 20, 30]], dtype=float)
    colours = palette[rng.integers(len(palette), size=k)]
    if hard:  # some distractors share the ball's colour
        lookalike = rng.random(k) < 0.3
        colours[lookalike] = ball_colour
    diameter = np.maximum(rng.uniform(2.0, 5.0, k) * scale, 1.5)
    return SmallObjects(start, stop, origin, velocity, accel, diameter, colours)
