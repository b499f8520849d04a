"""Frames of a planned clip: the noisy background, then distractors, people and the ball.

People and the ball are painted far to near, the ball as a motion-blur streak along its path
during the exposure; frames come one at a time, so memory does not grow with the clip length.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tracknet.data.synth.figures import Figure
from tracknet.data.synth.plan import ClipPlan, ball_streak, plan_clip, streak_strength
from tracknet.data.synth.raster import blend_capsules, blend_parts, polyline_segments, to_uint8
from tracknet.data.synth.scene import render_background
from tracknet.io.labels import TrackLabels


class _Renderer:
    """Draws the frames of a plan: a cropped noisy background plus the moving things."""

    def __init__(self, plan: ClipPlan) -> None:
        self.plan = plan
        self.margin = int(np.abs(plan.shake).max()) + 1
        rng = np.random.default_rng(plan.scene_seed)
        background = render_background(plan, self.margin, rng)
        self.gains = (1 - plan.flicker, 1.0, 1 + plan.flicker)
        self.noise = [
            rng.standard_normal(background.shape, dtype=np.float32) * np.float32(plan.noise_sigma)
            for _ in range(2)
        ]
        # every (brightness, noise) combination, precomputed: a frame starts as a plain copy
        self.backgrounds = [
            to_uint8(background * np.float32(gain) + noise)
            for gain in self.gains
            for noise in self.noise
        ]

    def frame(self, index: int) -> np.ndarray:
        plan, m = self.plan, self.margin
        width, height = plan.size
        dx, dy = (int(v) for v in plan.shake[index])
        gain = self.gains[plan.gain_index[index]]
        which = plan.gain_index[index] * 2 + plan.noise_index[index]
        crop = (slice(m - dy, m - dy + height), slice(m - dx, m - dx + width))
        frame = self.backgrounds[which][crop].copy()
        noise = self.noise[plan.noise_index[index]][crop]
        shift = np.array([dx, dy], dtype=np.float32)
        self._draw_objects(frame, index, shift, gain, noise)
        things: list[tuple[float, Figure | None]] = [
            (fig.distance[index], fig) for fig in plan.figures
        ]
        if plan.ball_diameter[index] > 0:
            things.append((plan.ball_distance[index], None))
        for _, thing in sorted(things, key=lambda item: -item[0]):  # far to near
            if thing is None:
                self._draw_ball(frame, index, shift, gain, noise)
            else:
                self._draw_figure(frame, thing, index, shift, gain, noise)
        return frame

    def _draw_ball(self, frame, index, shift, gain, noise) -> None:
        plan = self.plan
        streak = ball_streak(plan, index)
        if len(streak) == 0:
            return
        diameter = plan.ball_diameter[index]
        strength = streak_strength(diameter, plan.blur_px[index])
        segments = polyline_segments(streak + shift)
        blend_capsules(frame, segments, diameter / 2, plan.ball_colour * gain, strength, noise)

    def _draw_figure(self, frame, fig: Figure, index, shift, gain, noise) -> None:
        segments = fig.segments[index] + shift
        blend_parts(frame, segments, fig.radius[index], fig.colours * gain, fig.alpha, noise)

    def _draw_objects(self, frame, index, shift, gain, noise) -> None:
        plan, objects = self.plan, self.plan.objects
        half = plan.exposure / 2
        for k in np.flatnonzero((objects.start <= index) & (index < objects.stop)):
            times = np.linspace(index - half, index + half, 3)
            points = np.stack([objects.points(int(k), t) for t in times]) + shift
            blur = float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())
            strength = streak_strength(objects.diameter[k], blur)
            segments = polyline_segments(points)
            blend_capsules(
                frame, segments, objects.diameter[k] / 2, objects.colours[k] * gain, strength, noise
            )


def iter_clip(plan: ClipPlan) -> Iterator[np.ndarray]:
    """Render the frames of ``plan`` one at a time (``uint8 [H, W, 3]`` RGB, uncompressed)."""
    renderer = _Renderer(plan)
    for index in range(plan.frames):
        yield renderer.frame(index)


def render_clip(
    frames: int,
    size: tuple[int, int],
    rng: np.random.Generator,
    fmt: str = "tennis",
    difficulty: str = "normal",
    fps: float = 30.0,
) -> tuple[np.ndarray, TrackLabels]:
    """Plan and render a whole clip in memory (short clips and tests; see :func:`iter_clip`).

    Returns:
        ``uint8 [M, H, W, 3]`` uncompressed frames and their :class:`TrackLabels`.
    """
    plan = plan_clip(frames, size, rng, fmt=fmt, difficulty=difficulty, fps=fps)
    return np.stack(list(iter_clip(plan))), plan.labels
