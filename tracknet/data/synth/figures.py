"""People on and around the court: players who run to the ball and swing, and bystanders.

A person is a set of capsules (legs, torso, arms, head, racket) posed per frame in world
coordinates and projected to image pixels; the near player can be placed so that the ball
passes behind their body (the occluded frames of the labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracknet.data.synth.camera import Camera
from tracknet.data.synth.physics import SUBSTEPS, BallPath
from tracknet.data.synth.presets import Difficulty, Sport


@dataclass
class Figure:
    """A person drawn as capsules, per frame, in image pixels (camera shake not included)."""

    segments: np.ndarray  # float [M, P, 2, 2]: the two image end points of each part
    radius: np.ndarray  # float [M, P] pixels
    distance: np.ndarray  # float [M] horizontal distance of the hips from the camera (metres)
    colours: np.ndarray  # float [P, 3]
    alpha: np.ndarray  # float [P]
    occludes: np.ndarray  # bool [P]: parts that hide the ball (not the racket strings)


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _player_track(
    hits: list[tuple[float, np.ndarray]],
    home: np.ndarray,
    facing: float,
    handed: float,
    times: np.ndarray,
    occlusion_rate: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Feet positions ``[M, 2]`` that bring the player to each hit in time."""
    side_x = facing * handed
    keys_t, keys_xy = [times[0] - 1.0], [home.copy()]
    for t_hit, ball in hits:
        if facing > 0 and rng.random() < occlusion_rate:  # the ball will pass behind the body
            body = np.array([ball[0] + rng.uniform(-0.1, 0.1), ball[1] - 0.45])
        else:
            body = np.array([ball[0] - side_x * 0.95, ball[1] - facing * 0.2])
        keys_t += [t_hit - 0.35, t_hit, t_hit + 0.9]
        recover = home + np.array([rng.uniform(-1.0, 1.0), rng.uniform(-0.5, 0.5)])
        keys_xy += [body, body, recover]
    order = np.argsort(keys_t, kind="stable")
    kt, kxy = np.asarray(keys_t)[order], np.asarray(keys_xy)[order]
    return np.stack([np.interp(times, kt, kxy[:, 0]), np.interp(times, kt, kxy[:, 1])], axis=1)


def _pose_parts(
    feet: np.ndarray,
    times: np.ndarray,
    facing: float,
    handed: float,
    hits: list[tuple[float, np.ndarray]],
    racket: bool,
) -> tuple[list[tuple[np.ndarray, np.ndarray, float]], list[str]]:
    """World capsules ``(A [M,3], B [M,3], radius)`` of a person, and the colour slot of each."""
    m = len(times)
    z = np.zeros(m)
    side = np.stack([np.full(m, facing * handed), z, z], axis=1)
    ahead = np.stack([z, np.full(m, facing), z], axis=1)
    up = np.stack([z, z, np.ones(m)], axis=1)
    base = np.stack([feet[:, 0], feet[:, 1], z], axis=1)
    # walking: the legs swing with the distance covered
    step_len = np.r_[0.0, np.linalg.norm(np.diff(feet, axis=0), axis=1)]
    phase = np.cumsum(step_len) * (2 * np.pi / 1.3)
    frame_time = float(times[1] - times[0]) if m > 1 else 1 / 30
    speed = np.clip(step_len / frame_time / 2.0, 0, 1)[:, None]  # full stride from 2 m/s
    moving = np.where(
        step_len[:, None] > 1e-4,
        _normalise(np.c_[np.r_[0.0, np.diff(feet[:, 0])], np.r_[0.0, np.diff(feet[:, 1])], z]),
        ahead,
    )
    hip, neck, head = base + 0.95 * up, base + 1.47 * up, base + 1.68 * up
    parts: list[tuple[np.ndarray, np.ndarray, float]] = []
    slots: list[str] = []
    for sign in (-1.0, 1.0):
        hip_side = hip + sign * 0.1 * side
        swing = sign * np.sin(phase)[:, None] * 0.28 * speed
        foot = base + sign * 0.13 * side + swing * moving + 0.06 * up
        knee = 0.5 * (hip_side + foot) + 0.06 * ahead
        parts += [(hip_side, knee, 0.075), (knee, foot, 0.06), (foot, foot + 0.14 * ahead, 0.055)]
        slots += ["skin", "skin", "shoes"]
    parts += [(hip - 0.05 * up, hip + 0.12 * up, 0.17), (hip + 0.1 * up, neck, 0.18)]
    slots += ["shorts", "shirt"]
    shoulder_off, shoulder_arm = neck - 0.2 * side - 0.03 * up, neck + 0.2 * side - 0.03 * up
    sway = np.sin(phase)[:, None] * 0.25 * speed
    off_dir = _normalise(-0.3 * side + sway * ahead - 0.9 * up)
    parts.append((shoulder_off, shoulder_off + 0.6 * off_dir, 0.05))
    slots.append("skin")
    parts.append((head, head, 0.12))
    slots.append("skin")
    arm_dir = _arm_directions(times, shoulder_arm, side, ahead, up, handed, hits)
    hand = shoulder_arm + 0.6 * arm_dir
    parts.append((shoulder_arm, hand, 0.05))
    slots.append("skin")
    if racket:
        parts += [
            (hand, hand + 0.3 * arm_dir, 0.016),
            (hand + 0.42 * arm_dir, hand + 0.58 * arm_dir, 0.11),
        ]
        slots += ["racket", "strings"]
    return parts, slots


def _arm_directions(
    times: np.ndarray,
    shoulder: np.ndarray,
    side: np.ndarray,
    ahead: np.ndarray,
    up: np.ndarray,
    handed: float,
    hits: list[tuple[float, np.ndarray]],
) -> np.ndarray:
    """The racket arm: hanging by default, swinging through the ball around each hit."""
    direction = _normalise(0.35 * side + 0.45 * ahead - 0.75 * up)
    for t_hit, ball in hits:
        u = (times - t_hit) / 0.35
        near = np.abs(u) < 1
        if not near.any():
            continue
        at_hit = int(np.argmin(np.abs(times - t_hit)))
        to_ball = _normalise(ball - shoulder[at_hit])
        angle = 1.6 * u[near] * handed  # backswing behind, follow-through across the body
        cos, sin = np.cos(angle), np.sin(angle)
        swing = np.stack(
            [
                to_ball[0] * cos - to_ball[1] * sin,
                to_ball[0] * sin + to_ball[1] * cos,
                np.full(near.sum(), to_ball[2]),
            ],
            axis=1,
        )
        weight = np.clip((1 - np.abs(u[near])) / 0.3, 0, 1)[:, None]
        direction[near] = _normalise((1 - weight) * direction[near] + weight * swing)
    return direction


def _make_figure(
    camera: Camera,
    parts: list[tuple[np.ndarray, np.ndarray, float]],
    slots: list[str],
    palette: dict[str, np.ndarray],
) -> Figure:
    ends = np.stack([np.stack([a, b], axis=1) for a, b, _ in parts], axis=1)  # [M, P, 2, 3]
    uv, depth = camera.project(ends)  # [M, P, 2, 2], [M, P, 2]
    world_radius = np.array([r for _, _, r in parts])
    radius = camera.focal * world_radius[None, :] / np.maximum(depth.mean(axis=2), 0.5)
    torso = slots.index("shirt")
    alpha = np.array([0.55 if s == "strings" else 1.0 for s in slots])
    return Figure(
        segments=uv.astype(np.float32),
        radius=radius.astype(np.float32),
        distance=np.linalg.norm(ends[:, torso, 0, :2] - camera.position[:2], axis=1),
        colours=np.stack([palette[s] for s in slots]).astype(np.float32),
        alpha=alpha,
        occludes=np.array([s not in ("racket", "strings") for s in slots]),
    )


def _palette(rng: np.random.Generator) -> dict[str, np.ndarray]:
    skin = np.array([[236, 190, 160], [200, 150, 115], [150, 100, 70], [95, 65, 45]])
    shirt = rng.integers(20, 250, 3)
    return {
        "skin": skin[rng.integers(len(skin))].astype(float),
        "shirt": shirt.astype(float),
        "shorts": rng.integers(20, 250, 3).astype(float),
        "shoes": np.array([235.0, 235, 235]) if rng.random() < 0.6 else rng.integers(20, 120, 3),
        "racket": rng.integers(10, 120, 3).astype(float),
        "strings": np.array([200.0, 200, 190]),
    }


def plan_figures(
    sport: Sport,
    camera: Camera,
    ball: BallPath,
    times: np.ndarray,
    fps: float,
    preset: Difficulty,
    rng: np.random.Generator,
) -> list[Figure]:
    """The two players (who play the ball's hits) and the bystanders of a clip."""
    figures = []
    for side in (0, 1):
        facing = 1.0 if side == 0 else -1.0
        handed = 1.0 if rng.random() < 0.85 else -1.0
        home = np.array(
            [rng.uniform(-1.0, 1.0), -0.8 if side == 0 else sport.length + 0.8], dtype=float
        )
        hits = [(s / (fps * SUBSTEPS) - 1 / fps, xyz) for s, who, xyz in ball.hits if who == side]
        rate = preset.occlusion_rate if side == 0 else 0.0
        feet = _player_track(hits, home, facing, handed, times, rate, rng)
        parts, slots = _pose_parts(feet, times, facing, handed, hits, racket=True)
        figures.append(_make_figure(camera, parts, slots, _palette(rng)))
    for _ in range(int(rng.integers(preset.bystanders[0], preset.bystanders[1] + 1))):
        x = rng.choice([-1, 1]) * (sport.width / 2 + rng.uniform(1.5, 3.0))
        y = rng.uniform(-1.0, sport.length + 1.0)
        sway = 0.15 * np.sin(times * rng.uniform(0.3, 1.0) + rng.uniform(0, 6))
        feet = np.stack([x + sway, np.full(len(times), y)], axis=1)
        facing = 1.0 if rng.random() < 0.5 else -1.0
        parts, slots = _pose_parts(feet, times, facing, 1.0, [], racket=False)
        figures.append(_make_figure(camera, parts, slots, _palette(rng)))
    return figures
