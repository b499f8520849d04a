"""The plan of a clip: every random choice, all geometry and the labels, before any pixel.

:func:`plan_clip` draws the camera, the rally, the people, the distractors, camera shake and
flicker from one generator, then labels every frame: the exact ball centre (shake included),
visibility 0-3 (none, visible, hard, occluded) and the tennis status (flying, hit, bounce).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracknet.data.synth.camera import Camera, make_camera
from tracknet.data.synth.distractors import SmallObjects, plan_small_objects
from tracknet.data.synth.figures import Figure, plan_figures
from tracknet.data.synth.physics import SUBSTEPS, BallPath, frame_of_step, simulate_ball
from tracknet.data.synth.presets import (
    DIFFICULTIES,
    DIFFICULTY_PRESETS,
    FORMATS,
    REF_HEIGHT,
    SPORTS,
    Sport,
    check_choice,
)
from tracknet.io.labels import TrackLabels

HARD_STRENGTH = 0.5  # a blur streak fainter than this (about 2 diameters long) is visibility 2


@dataclass
class ClipPlan:
    """Everything needed to render a clip, and its labels (computed before any pixel).

    Attributes:
        labels: the ball labels of every frame (frame numbers from 0).
        size: ``(W, H)`` of the frames.
        fps: frame rate.
        fmt: ``"tennis"``, ``"shuttlecock"`` or ``"generic"``.
        difficulty: the preset name.
        blur_px: ``float [M]`` length of the ball's blur streak in pixels (0 without a ball).
        ball_diameter: ``float [M]`` drawn ball diameter in pixels (0 without a ball).
        ball_colour: ``(3,)`` RGB of the ball before lighting.
        jpeg_quality: JPEG quality for image layouts.
        crf: H.264 quality for video layouts.
    """

    labels: TrackLabels
    size: tuple[int, int]
    fps: float
    fmt: str
    difficulty: str
    blur_px: np.ndarray
    ball_diameter: np.ndarray
    ball_colour: np.ndarray
    jpeg_quality: int
    crf: int
    # rendering internals
    sport: Sport = field(repr=False)
    surface: str = field(repr=False)
    camera: Camera = field(repr=False)
    scene_seed: int = field(repr=False)
    ball_uv: np.ndarray = field(repr=False)  # float [N, 2] per physics step, NaN: no ball
    exposure: float = field(repr=False)  # frames
    shake: np.ndarray = field(repr=False)  # int [M, 2] image shift (dx, dy)
    gain_index: np.ndarray = field(repr=False)  # int [M] brightness level 0..2
    noise_index: np.ndarray = field(repr=False)  # int [M] noise field 0..1
    figures: list[Figure] = field(repr=False)
    objects: SmallObjects = field(repr=False)
    ball_distance: np.ndarray = field(repr=False)  # float [M] horizontal, from the camera
    marks: int = field(repr=False)
    noise_sigma: float = field(repr=False)
    flicker: float = field(repr=False)

    @property
    def frames(self) -> int:
        return len(self.labels)


def plan_clip(
    frames: int,
    size: tuple[int, int],
    rng: np.random.Generator,
    fmt: str = "tennis",
    difficulty: str = "normal",
    fps: float = 30.0,
) -> ClipPlan:
    """Plan a clip: camera, rally, people, distractors, shake, and the labels.

    Args:
        frames: number of frames.
        size: ``(W, H)`` in pixels.
        rng: the only source of randomness.
        fmt: ``"tennis"``, ``"shuttlecock"`` or ``"generic"`` (look and physics).
        difficulty: ``"normal"`` or ``"hard"`` (see :data:`DIFFICULTY_PRESETS`).
        fps: frame rate (sets the physics time step).

    Returns:
        The :class:`ClipPlan`; render it with :func:`iter_clip`.
    """
    check_choice("fmt", fmt, FORMATS)
    check_choice("difficulty", difficulty, DIFFICULTIES)
    if frames < 1 or min(size) < 16 or fps <= 0:
        raise ValueError(
            f"need frames >= 1, a size of at least 16x16 and fps > 0; got {frames}, {size}, {fps}"
        )
    sport, preset = SPORTS[fmt], DIFFICULTY_PRESETS[difficulty]
    width, height = int(size[0]), int(size[1])
    scale = height / REF_HEIGHT
    camera = make_camera(sport, (width, height), rng)
    ball = simulate_ball(sport, frames, fps, rng)
    ball_uv, ball_depth = camera.project(ball.position)  # NaN stays NaN
    times = np.arange(frames) / fps
    figures = plan_figures(sport, camera, ball, times, fps, preset, rng)

    # ball size: inversely proportional to depth, between a floor and the near-baseline size
    near_depth = float(camera.project(np.array([0.0, 0.0, 1.0]))[1])
    floor = max(3.0, preset.ball_min_px * scale)
    near = max(floor, rng.uniform(*preset.ball_near_px) * scale)
    ball_colour = np.array(sport.ball_colours[rng.integers(len(sport.ball_colours))], float)
    exposure = rng.uniform(*preset.exposure)
    shake = _smooth_walk(rng, frames, preset.shake_px * scale)
    flicker_walk = _smooth_walk(rng, frames, 1.0, round_to_int=False)
    gain_index = np.clip(np.rint(flicker_walk), -1, 1).astype(int) + 1
    plan = ClipPlan(
        labels=TrackLabels(
            frame=np.arange(frames),
            visibility=np.zeros(frames, dtype=int),
            x=np.zeros(frames),
            y=np.zeros(frames),
            status=np.zeros(frames, dtype=int),
        ),
        size=(width, height),
        fps=float(fps),
        fmt=fmt,
        difficulty=difficulty,
        blur_px=np.zeros(frames),
        ball_diameter=np.zeros(frames),
        ball_colour=ball_colour,
        jpeg_quality=int(rng.integers(preset.jpeg_quality[0], preset.jpeg_quality[1] + 1)),
        crf=preset.crf,
        sport=sport,
        surface=str(rng.choice(sport.surfaces)),
        camera=camera,
        scene_seed=int(rng.integers(2**31)),
        ball_uv=ball_uv,
        exposure=exposure,
        shake=shake,
        gain_index=gain_index,
        noise_index=rng.integers(0, 2, frames),
        figures=figures,
        objects=plan_small_objects(
            (width, height), frames, scale, ball_colour, preset, difficulty == "hard", rng
        ),
        ball_distance=np.zeros(frames),
        marks=int(rng.integers(preset.ball_marks[0], preset.ball_marks[1] + 1)),
        noise_sigma=float(rng.uniform(*preset.noise_sigma)),
        flicker=preset.flicker,
    )
    _label_frames(plan, ball, ball_depth, near * near_depth, floor, near, scale)
    return plan


def _smooth_walk(
    rng: np.random.Generator, frames: int, amplitude: float, round_to_int: bool = True
) -> np.ndarray:
    """A slowly wandering signal in ``[-amplitude, amplitude]`` (2 columns when rounded)."""
    columns = 2 if round_to_int else 1
    raw = rng.normal(size=(frames + 16, columns))
    kernel = np.hanning(15)
    smooth = np.stack([np.convolve(raw[:, c], kernel, "same") for c in range(columns)], axis=1)
    smooth = smooth[8 : 8 + frames]
    smooth *= amplitude / max(float(np.abs(smooth).max()), 1e-9)
    return np.rint(smooth).astype(int) if round_to_int else smooth[:, 0]


def ball_streak(plan: ClipPlan, frame: int) -> np.ndarray:
    """The ball's image path during the exposure of ``frame`` (``[P, 2]``, shake excluded)."""
    centre = (frame + 1) * SUBSTEPS
    half = plan.exposure * SUBSTEPS / 2
    lo, hi = centre - half, centre + half
    steps = np.arange(int(np.floor(lo)), int(np.ceil(hi)) + 1)
    steps = steps[(steps >= 0) & (steps < len(plan.ball_uv))]
    uv = plan.ball_uv[steps].copy()
    if len(steps) >= 2:  # trim the first and last step to the exact exposure limits
        uv[0] = np.interp(lo, steps[:2], uv[:2, 0]), np.interp(lo, steps[:2], uv[:2, 1])
        uv[-1] = np.interp(hi, steps[-2:], uv[-2:, 0]), np.interp(hi, steps[-2:], uv[-2:, 1])
    return uv[~np.isnan(uv).any(axis=1)]


def _label_frames(
    plan: ClipPlan,
    ball: BallPath,
    ball_depth: np.ndarray,
    size_at_unit_depth: float,
    floor: float,
    near: float,
    scale: float,
) -> None:
    """Fill visibility, coordinates, status, diameter and blur of every frame."""
    labels = plan.labels
    assert labels.status is not None  # the plan's labels carry one (tennis status)
    width, height = plan.size
    distance = np.linalg.norm(ball.position[:, :2] - plan.camera.position[:2], axis=1)
    for step, code in ball.events:
        frame = frame_of_step(step)
        if 0 <= frame < plan.frames:
            labels.status[frame] = max(labels.status[frame], code)
    for f in range(plan.frames):
        step = (f + 1) * SUBSTEPS
        uv = plan.ball_uv[step]
        if np.isnan(uv).any() or ball_depth[step] <= 0.5:
            continue
        centre = uv + plan.shake[f]
        diameter = float(np.clip(size_at_unit_depth / ball_depth[step], floor, near))
        streak = ball_streak(plan, f)
        blur = (
            float(np.linalg.norm(np.diff(streak, axis=0), axis=1).sum()) if len(streak) > 1 else 0.0
        )
        plan.ball_diameter[f], plan.blur_px[f], plan.ball_distance[f] = (
            diameter,
            blur,
            distance[step],
        )
        inside = 0 <= centre[0] <= width - 1 and 0 <= centre[1] <= height - 1
        if not inside:
            continue
        labels.x[f], labels.y[f] = centre
        covered, touched = _occlusion(plan.figures, f, uv, distance[step], diameter / 2)
        if covered:
            labels.visibility[f] = 3
        elif touched or streak_strength(diameter, blur) < HARD_STRENGTH or diameter / scale < 3.5:
            labels.visibility[f] = 2
        else:
            labels.visibility[f] = 1
    labels.status[labels.visibility == 0] = 0


def _occlusion(
    figures: list[Figure], frame: int, uv: np.ndarray, distance: float, radius: float
) -> tuple[bool, bool]:
    """(centre hidden by a nearer person, ball partly covered by one)."""
    covered = touched = False
    for fig in figures:
        if fig.distance[frame] >= distance:  # a person behind the ball hides nothing
            continue
        seg = fig.segments[frame][fig.occludes]  # [P, 2, 2]
        r = fig.radius[frame][fig.occludes]
        a, b = seg[:, 0], seg[:, 1]
        ab = b - a
        t = np.clip(((uv - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-9), 0, 1)
        dist = np.linalg.norm(uv - (a + t[:, None] * ab), axis=1)
        covered |= bool((dist < r - 0.5).any())
        touched |= bool((dist < r + radius).any())
    return covered, touched


def streak_strength(diameter: float, blur: float) -> float:
    """Opacity of a blur streak: the share of the exposure a pixel on the path sees the ball.

    No loss while the streak is shorter than half a diameter; a long streak fades.
    """
    return float(np.clip((diameter / (diameter + max(blur - 0.5 * diameter, 0.0))) ** 0.7, 0.2, 1))
