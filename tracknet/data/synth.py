"""Synthetic labelled ball footage in the three dataset layouts (tennis, shuttlecock, generic).

A clip is a little 3D scene seen through a pinhole camera: a textured court with perspective
lines and a net, a backdrop with advertising boards and a crowd, players whose limbs and rackets
move, bystanders, small fast distractors and static ball-coloured marks, and one ball on a
physically simulated rally (gravity, drag, hits, damped bounces). The ball is drawn as a motion
blur streak along its path during the exposure, camera shake, brightness flicker and sensor noise
are added, and the written files are lossy (JPEG or H.264), so a model has to learn what a ball
looks like and how it moves rather than find the only bright dot.

Conventions:
    * World coordinates in metres: ``x`` across the court (0 on the centre line), ``y`` along it
      (0 on the near baseline, ``length`` on the far one), ``z`` up (0 on the ground).
    * Image coordinates are pixels of the written frame, ``x`` right and ``y`` down, with pixel
      centres at integer coordinates: the pixel in column ``j`` and row ``i`` covers
      ``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]``. Labels are the exact ball centres in these
      coordinates (camera shake included), not rounded.
    * Visibility codes follow the datasets: 0 no ball or centre outside the frame, 1 clearly
      visible, 2 hard (heavily blurred, tiny or partly covered), 3 occluded (centre behind a
      player). Status (tennis): 0 flying, 1 hit, 2 bounce, on the frame nearest to the event.
    * Everything is drawn from one ``numpy.random.Generator``: the same seed gives the same
      labels and pixels. Clip ``k`` of :func:`synthesize` uses ``SeedSequence(seed,
      spawn_key=(k,))``, so adding clips does not change the earlier ones.

The pipeline is :func:`plan_clip` (all geometry and labels, small) then :func:`iter_clip` (frames
one at a time; memory does not grow with the clip length); :func:`render_clip` does both and
stacks the frames, for short clips and tests.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from tracknet.io.labels import TrackLabels, write_ball_csv, write_tennis_csv
from tracknet.io.video import VideoWriter

FORMATS = ("tennis", "shuttlecock", "generic")
DIFFICULTIES = ("normal", "hard")
GRAVITY = 9.81
SUBSTEPS = 4  # physics steps per frame; blur streaks are polylines through them
CLIPS_PER_GAME = 2  # tennis layout: clip k goes to game k // 2 + 1
RALLIES_PER_MATCH = 3  # shuttlecock layout: clip k goes to match k // 3 + 1
_REF_HEIGHT = 720.0  # pixel sizes below are given for 720-pixel-high frames and scaled
HARD_STRENGTH = 0.5  # a blur streak fainter than this (about 2 diameters long) is visibility 2


# --------------------------------------------------------------------------- presets
@dataclass(frozen=True)
class Difficulty:
    """How hard the footage is. Pixel sizes are for 720-pixel-high frames (scaled with height).

    Attributes:
        ball_near_px: ball diameter range at the near baseline.
        ball_min_px: smallest ball diameter (far away); never below 3 px in any frame size.
        exposure: range of the shutter-open fraction of a frame interval (blur streak length).
        occlusion_rate: chance that a shot reaching the near player passes behind their body.
        small_objects: range of the number of small fast distractors per clip.
        ball_marks: range of the number of static ball-coloured marks per clip.
        bystanders: range of the number of people standing around the court.
        noise_sigma: range of the sensor noise standard deviation (grey levels).
        shake_px: camera shake amplitude.
        flicker: brightness flicker amplitude (fraction of the brightness).
        jpeg_quality: range of JPEG qualities (image layouts).
        crf: H.264 constant rate factor (video layouts).
    """

    ball_near_px: tuple[float, float]
    ball_min_px: float
    exposure: tuple[float, float]
    occlusion_rate: float
    small_objects: tuple[int, int]
    ball_marks: tuple[int, int]
    bystanders: tuple[int, int]
    noise_sigma: tuple[float, float]
    shake_px: float
    flicker: float
    jpeg_quality: tuple[int, int]
    crf: int


DIFFICULTY_PRESETS = {
    "normal": Difficulty(
        ball_near_px=(8.0, 10.0),
        ball_min_px=4.0,
        exposure=(0.3, 0.7),
        occlusion_rate=0.3,
        small_objects=(2, 4),
        ball_marks=(2, 4),
        bystanders=(0, 2),
        noise_sigma=(1.5, 3.0),
        shake_px=1.0,
        flicker=0.02,
        jpeg_quality=(80, 90),
        crf=23,
    ),
    "hard": Difficulty(
        ball_near_px=(5.0, 7.0),
        ball_min_px=3.0,
        exposure=(0.6, 1.0),
        occlusion_rate=0.6,
        small_objects=(5, 9),
        ball_marks=(4, 8),
        bystanders=(1, 3),
        noise_sigma=(3.0, 5.0),
        shake_px=2.0,
        flicker=0.04,
        jpeg_quality=(70, 80),
        crf=28,
    ),
}


@dataclass(frozen=True)
class _Sport:
    """Court geometry (metres), ball look and physics of one sport."""

    length: float
    width: float
    singles_width: float
    service_from_net: float
    long_service_from_baseline: float  # badminton's doubles long service line; 0: none
    net_height: float
    net_post_height: float
    back_space: float  # run-off behind each baseline, up to the backdrop
    ball_colours: tuple[tuple[int, int, int], ...]
    bounces: bool
    restitution: float
    drag: float  # quadratic air drag (1/m): acceleration -drag * |v| * v
    serve_toss: bool
    hit_height: tuple[float, float]
    camera_height: tuple[float, float]
    camera_back: tuple[float, float]
    surfaces: tuple[str, ...]


_TENNIS = _Sport(
    length=23.77,
    width=10.97,
    singles_width=8.23,
    service_from_net=6.40,
    long_service_from_baseline=0.0,
    net_height=0.914,
    net_post_height=1.07,
    back_space=6.4,
    ball_colours=((214, 232, 72), (200, 225, 60), (225, 238, 95)),
    bounces=True,
    restitution=0.72,
    drag=0.004,
    serve_toss=True,
    hit_height=(0.5, 1.3),
    camera_height=(6.0, 9.0),
    camera_back=(8.0, 14.0),
    surfaces=("grass", "clay", "hard_blue", "hard_green"),
)
_SHUTTLECOCK = _Sport(
    length=13.4,
    width=6.1,
    singles_width=5.18,
    service_from_net=1.98,
    long_service_from_baseline=0.76,
    net_height=1.524,
    net_post_height=1.55,
    back_space=2.5,
    ball_colours=((244, 244, 238), (236, 238, 232)),
    bounces=False,
    restitution=0.0,
    drag=0.2,  # a shuttlecock's terminal speed is about 7 m/s
    serve_toss=False,
    hit_height=(0.8, 2.6),
    camera_height=(4.0, 6.0),
    camera_back=(3.0, 6.0),
    surfaces=("mat_green", "wood"),
)
_GENERIC = dataclasses.replace(
    _TENNIS,
    ball_colours=((214, 232, 72), (244, 244, 238), (250, 140, 35), (235, 90, 130)),
    surfaces=("grass", "clay", "hard_blue", "hard_green", "mat_green", "wood"),
)
_SPORTS = {"tennis": _TENNIS, "shuttlecock": _SHUTTLECOCK, "generic": _GENERIC}

# inside the court, outside it, texture kind
_SURFACES = {
    "grass": ((96, 142, 62), (88, 132, 56), "stripes"),
    "clay": ((188, 100, 62), (180, 96, 60), "blotches"),
    "hard_blue": ((42, 84, 140), (62, 118, 84), "fine"),
    "hard_green": ((62, 112, 82), (150, 72, 62), "fine"),
    "mat_green": ((34, 112, 84), (120, 84, 62), "fine"),
    "wood": ((186, 142, 92), (164, 122, 80), "planks"),
}
_LINE_COLOUR = np.array([236, 236, 230], dtype=np.float32)


# --------------------------------------------------------------------------- camera
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


def _make_camera(sport: _Sport, size: tuple[int, int], rng: np.random.Generator) -> Camera:
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


# --------------------------------------------------------------------------- ball physics
@dataclass
class _BallPath:
    """The ball at every physics step. Step ``s`` is at frame ``s / SUBSTEPS - 1``."""

    position: np.ndarray  # float [N, 3]; NaN where no ball is in play
    events: list[tuple[int, int]] = field(default_factory=list)  # (step, 1 hit | 2 bounce)
    hits: list[tuple[int, int, np.ndarray]] = field(default_factory=list)  # (step, side, xyz)


def _frame_of_step(step: int) -> int:
    return round(step / SUBSTEPS) - 1


def _acceleration(sport: _Sport, velocity: np.ndarray) -> np.ndarray:
    drag = -sport.drag * np.linalg.norm(velocity) * velocity
    return drag + np.array([0.0, 0.0, -GRAVITY])


def _clears_net(sport: _Sport, start: np.ndarray, velocity: np.ndarray, dt: float) -> bool:
    """Whether a flight from ``start`` crosses the net plane above the tape."""
    p, v = start.copy(), velocity.copy()
    half = sport.length / 2
    side = np.sign(half - p[1])
    for _ in range(4000):
        if np.sign(half - p[1]) != side:
            return p[2] > sport.net_height + 0.1
        if p[2] < 0:
            return False
        v = v + _acceleration(sport, v) * dt
        p = p + v * dt
    return False


def _shot_velocity(
    sport: _Sport, start: np.ndarray, to_far: bool, rng: np.random.Generator, dt: float
) -> np.ndarray:
    """Launch velocity of a shot from ``start`` into the opponent's half (sometimes out)."""
    half = sport.length / 2
    velocity = np.zeros(3)
    for _ in range(10):
        depth = rng.uniform(1.0, half - 0.8)
        if rng.random() < 0.06:  # a long ball, out behind the baseline
            depth = half + rng.uniform(0.5, 2.5)
        target_y = half + depth if to_far else half - depth
        target_x = rng.uniform(-0.45, 0.45) * sport.singles_width
        offset = np.array([target_x - start[0], target_y - start[1]])
        if sport.drag > 0.05:  # shuttlecock: pick speed and angle, let drag decide the length
            speed, angle = _shuttle_launch(start, rng)
            horizontal = offset / np.linalg.norm(offset)
            velocity = np.array([*(horizontal * np.cos(angle) * speed), np.sin(angle) * speed])
        else:  # a ball: solve the ballistic flight to the target for a sampled flight time
            lob = rng.random() < 0.15
            distance = float(np.linalg.norm(offset))
            flight = rng.uniform(1.3, 2.2) if lob else distance / rng.uniform(16.0, 34.0)
            vz = (0.5 * GRAVITY * flight**2 - start[2]) / flight
            velocity = np.array([*(offset / flight), vz])
        if _clears_net(sport, start, velocity, dt):
            break
    return velocity


def _shuttle_launch(start: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """Launch speed (m/s) and elevation (radians) of a smash, a clear or a drive/drop."""
    if start[2] > 2.0 and rng.random() < 0.5:  # smash: fast and downward
        return rng.uniform(24, 34), np.radians(rng.uniform(-15, -5))
    if rng.random() < 0.4:  # clear: high and deep
        return rng.uniform(18, 26), np.radians(rng.uniform(35, 55))
    return rng.uniform(10, 18), np.radians(rng.uniform(5, 25))


def _simulate_ball(sport: _Sport, frames: int, fps: float, rng: np.random.Generator) -> _BallPath:
    """Rallies with pauses between them, until the clip is full."""
    dt = 1.0 / (fps * SUBSTEPS)
    n_steps = (frames + 2) * SUBSTEPS + 1
    path = _BallPath(np.full((n_steps, 3), np.nan))
    step = int(rng.integers(0, max(1, int(0.8 * fps * SUBSTEPS))))
    while step < n_steps:
        step = _play_rally(sport, path, step, dt, rng)
        step += int(rng.uniform(0.3, 1.2) * fps * SUBSTEPS)  # the ball is picked up
    return path


def _play_rally(
    sport: _Sport, path: _BallPath, step: int, dt: float, rng: np.random.Generator
) -> int:
    """Simulate one rally from ``step``: a serve, then shots until one is not returned.

    Returns the step after the rally ended.
    """
    hitter = int(rng.integers(2))  # 0: near player, 1: far player
    step, p = _serve(sport, path, step, hitter, dt, rng)
    while step < len(path.position):
        path.events.append((step, 1))
        path.hits.append((step, hitter, p.copy()))
        v = _shot_velocity(sport, p, hitter == 0, rng, dt)
        step, p, returned = _fly(sport, path, step, p, v, hitter == 0, dt, rng)
        if not returned:
            break
        hitter = 1 - hitter
    return step


def _serve(
    sport: _Sport, path: _BallPath, step: int, hitter: int, dt: float, rng: np.random.Generator
) -> tuple[int, np.ndarray]:
    """The ball's position when the server hits it (after a toss, for tennis)."""
    baseline = -0.4 if hitter == 0 else sport.length + 0.4
    p = np.array([rng.uniform(-0.35, 0.35) * sport.singles_width, baseline, 1.0])
    if sport.serve_toss:  # up from the hand to the hitting point
        p[2], vz = 1.7, np.sqrt(2 * GRAVITY * rng.uniform(0.8, 1.3))
        while step < len(path.position) and vz > 0:
            path.position[step] = p
            p[2] += vz * dt
            vz -= GRAVITY * dt
            step += 1
    return step, p


def _fly(
    sport: _Sport,
    path: _BallPath,
    step: int,
    p: np.ndarray,
    v: np.ndarray,
    to_far: bool,
    dt: float,
    rng: np.random.Generator,
) -> tuple[int, np.ndarray, bool]:
    """Fly one shot until the receiver plays it or the ball is dead.

    Returns the step, the ball position, and whether the receiver hit it.
    """
    length, half = sport.length, sport.length / 2
    returned = rng.random() > 0.2
    hit_height = rng.uniform(*sport.hit_height)
    reach = rng.uniform(-0.5, 2.5)  # how far behind the baseline the receiver plays the ball
    hit_line = length + reach if to_far else -reach
    bounces, dead_since = 0, None
    while step < len(path.position):
        path.position[step] = p
        step += 1
        v = v + _acceleration(sport, v) * dt
        p = p + v * dt
        if p[2] < 0 and v[2] < 0:
            if not sport.bounces:  # a shuttlecock lands and lies there
                p[2] = 0.0
                rest = int(rng.uniform(0.4, 1.2) / dt)
                path.position[step : step + rest] = p
                return step + rest, p, False
            p[2], v[2] = -p[2] * sport.restitution, -v[2] * sport.restitution
            v[:2] *= 0.8  # friction with the court
            path.events.append((step, 2))
            bounces += 1
        in_receiver_half = (p[1] > half) if to_far else (p[1] < half)
        playable = returned and in_receiver_half and (bounces == 1 or not sport.bounces)
        dropping = v[2] < 0 and p[2] < hit_height
        reached = p[1] > hit_line if to_far else p[1] < hit_line
        if playable and (dropping or (reached and sport.bounces)) and abs(p[0]) < sport.width:
            return step, p, True
        if dead_since is None and bounces >= 1 and (not returned or bounces >= 2):
            dead_since = step  # nobody will play this ball: let it roll on for a while
        out_of_play = abs(p[0]) > sport.width + 4 or not -8 < p[1] < length + sport.back_space
        if out_of_play or (dead_since is not None and step - dead_since > 1.5 / dt):
            return step, p, False
    return step, p, False


# --------------------------------------------------------------------------- players
@dataclass
class _Figure:
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
) -> _Figure:
    ends = np.stack([np.stack([a, b], axis=1) for a, b, _ in parts], axis=1)  # [M, P, 2, 3]
    uv, depth = camera.project(ends)  # [M, P, 2, 2], [M, P, 2]
    world_radius = np.array([r for _, _, r in parts])
    radius = camera.focal * world_radius[None, :] / np.maximum(depth.mean(axis=2), 0.5)
    torso = slots.index("shirt")
    alpha = np.array([0.55 if s == "strings" else 1.0 for s in slots])
    return _Figure(
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


def _plan_figures(
    sport: _Sport,
    camera: Camera,
    ball: _BallPath,
    times: np.ndarray,
    fps: float,
    preset: Difficulty,
    rng: np.random.Generator,
) -> list[_Figure]:
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


# --------------------------------------------------------------------------- distractors
@dataclass
class _SmallObjects:
    """Small fast things (birds, insects, debris): image-space parabolas, drawn like the ball."""

    start: np.ndarray  # int [K] first frame
    stop: np.ndarray  # int [K] last frame + 1
    origin: np.ndarray  # float [K, 2] pixels at the first frame
    velocity: np.ndarray  # float [K, 2] pixels per frame
    accel: np.ndarray  # float [K, 2] pixels per frame^2
    diameter: np.ndarray  # float [K]
    colours: np.ndarray  # float [K, 3]

    def points(self, k: int, frame_time: float) -> np.ndarray:
        t = frame_time - self.start[k]
        return self.origin[k] + self.velocity[k] * t + 0.5 * self.accel[k] * t * t


def _plan_small_objects(
    size: tuple[int, int],
    frames: int,
    scale: float,
    ball_colour: np.ndarray,
    preset: Difficulty,
    hard: bool,
    rng: np.random.Generator,
) -> _SmallObjects:
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
    return _SmallObjects(start, stop, origin, velocity, accel, diameter, colours)


# --------------------------------------------------------------------------- the plan
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
    sport: _Sport = field(repr=False)
    surface: str = field(repr=False)
    camera: Camera = field(repr=False)
    scene_seed: int = field(repr=False)
    ball_uv: np.ndarray = field(repr=False)  # float [N, 2] per physics step, NaN: no ball
    exposure: float = field(repr=False)  # frames
    shake: np.ndarray = field(repr=False)  # int [M, 2] image shift (dx, dy)
    gain_index: np.ndarray = field(repr=False)  # int [M] brightness level 0..2
    noise_index: np.ndarray = field(repr=False)  # int [M] noise field 0..1
    figures: list[_Figure] = field(repr=False)
    objects: _SmallObjects = field(repr=False)
    ball_distance: np.ndarray = field(repr=False)  # float [M] horizontal, from the camera
    marks: int = field(repr=False)
    noise_sigma: float = field(repr=False)
    flicker: float = field(repr=False)

    @property
    def frames(self) -> int:
        return len(self.labels)


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


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
    _check_choice("fmt", fmt, FORMATS)
    _check_choice("difficulty", difficulty, DIFFICULTIES)
    if frames < 1 or min(size) < 16 or fps <= 0:
        raise ValueError(
            f"need frames >= 1, a size of at least 16x16 and fps > 0; got {frames}, {size}, {fps}"
        )
    sport, preset = _SPORTS[fmt], DIFFICULTY_PRESETS[difficulty]
    width, height = int(size[0]), int(size[1])
    scale = height / _REF_HEIGHT
    camera = _make_camera(sport, (width, height), rng)
    ball = _simulate_ball(sport, frames, fps, rng)
    ball_uv, ball_depth = camera.project(ball.position)  # NaN stays NaN
    times = np.arange(frames) / fps
    figures = _plan_figures(sport, camera, ball, times, fps, preset, rng)

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
        objects=_plan_small_objects(
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


def _streak(plan: ClipPlan, frame: int) -> np.ndarray:
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
    ball: _BallPath,
    ball_depth: np.ndarray,
    size_at_unit_depth: float,
    floor: float,
    near: float,
    scale: float,
) -> None:
    """Fill visibility, coordinates, status, diameter and blur of every frame."""
    labels = plan.labels
    width, height = plan.size
    distance = np.linalg.norm(ball.position[:, :2] - plan.camera.position[:2], axis=1)
    for step, code in ball.events:
        frame = _frame_of_step(step)
        if 0 <= frame < plan.frames:
            labels.status[frame] = max(labels.status[frame], code)
    for f in range(plan.frames):
        step = (f + 1) * SUBSTEPS
        uv = plan.ball_uv[step]
        if np.isnan(uv).any() or ball_depth[step] <= 0.5:
            continue
        centre = uv + plan.shake[f]
        diameter = float(np.clip(size_at_unit_depth / ball_depth[step], floor, near))
        streak = _streak(plan, f)
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
        elif touched or _strength(diameter, blur) < HARD_STRENGTH or diameter / scale < 3.5:
            labels.visibility[f] = 2
        else:
            labels.visibility[f] = 1
    labels.status[labels.visibility == 0] = 0


def _occlusion(
    figures: list[_Figure], frame: int, uv: np.ndarray, distance: float, radius: float
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


def _strength(diameter: float, blur: float) -> float:
    """Opacity of a blur streak: the share of the exposure a pixel on the path sees the ball.

    No loss while the streak is shorter than half a diameter; a long streak fades.
    """
    return float(np.clip((diameter / (diameter + max(blur - 0.5 * diameter, 0.0))) ** 0.7, 0.2, 1))


# --------------------------------------------------------------------------- drawing
def _bounds(
    segments: np.ndarray, radii: np.ndarray, height: int, width: int
) -> tuple[int, int, int, int] | None:
    """Pixel box ``(x0, x1, y0, y1)`` (end exclusive) around capsules, clipped; None if empty."""
    pad = float(radii.max()) + 1.0
    x0 = max(int(np.floor(segments[..., 0].min() - pad)), 0)
    x1 = min(int(np.ceil(segments[..., 0].max() + pad)) + 1, width)
    y0 = max(int(np.floor(segments[..., 1].min() - pad)), 0)
    y1 = min(int(np.ceil(segments[..., 1].max() + pad)) + 1, height)
    return (x0, x1, y0, y1) if x0 < x1 and y0 < y1 else None


def _capsule_cover(xs: np.ndarray, ys: np.ndarray, segment: np.ndarray, radius: float):
    """Anti-aliased coverage ``[h, w]`` of a capsule on pixel centres ``xs [1, w]``, ``ys [h, 1]``.

    A pixel whose centre lies within ``radius - 0.5`` of the segment is fully covered.
    """
    ax, ay, bx, by = (float(v) for v in segment.reshape(4))
    dx, dy = bx - ax, by - ay
    px, py = xs - ax, ys - ay
    length2 = dx * dx + dy * dy
    if length2 > 1e-9:
        t = (px * dx + py * dy) * (1.0 / length2)
        np.minimum(np.maximum(t, 0.0, out=t), 1.0, out=t)
        px, py = px - t * dx, py - t * dy
    cover = (radius + 0.5) - np.sqrt(px * px + py * py)
    return np.minimum(np.maximum(cover, 0.0, out=cover), 1.0, out=cover)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Round and saturate a float image (in place) to ``uint8``."""
    image += 0.5
    np.maximum(image, 0, out=image)
    np.minimum(image, 255, out=image)
    return image.astype(np.uint8)


def _write_patch(canvas: np.ndarray, box: tuple[int, int, int, int], patch: np.ndarray) -> None:
    x0, x1, y0, y1 = box
    if canvas.dtype == np.uint8:
        canvas[y0:y1, x0:x1] = _to_uint8(patch)
    else:
        canvas[y0:y1, x0:x1] = patch


def _blend_capsules(
    canvas: np.ndarray,
    segments: np.ndarray,
    radius: np.ndarray | float,
    colour: np.ndarray,
    alpha: float,
    noise: np.ndarray | None = None,
) -> None:
    """Alpha-blend the union of capsules ``segments [K, 2, 2]`` (pixel end points) in place.

    Used for one-colour shapes (the ball's blur streak, distractors, marks). Only the shapes'
    bounding box is touched, so the cost follows the shape, not the frame. ``noise`` (same
    layout as ``canvas``) is added to the colour, as a sensor would.
    """
    radii = np.broadcast_to(np.asarray(radius, dtype=np.float32), (len(segments),))
    box = _bounds(segments, radii, *canvas.shape[:2])
    if box is None:
        return
    x0, x1, y0, y1 = box
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    cover = _capsule_cover(xs, ys, segments[0], float(radii[0]))
    for segment, r in zip(segments[1:], radii[1:], strict=True):
        np.maximum(cover, _capsule_cover(xs, ys, segment, float(r)), out=cover)
    patch = canvas[y0:y1, x0:x1].astype(np.float32)
    target = colour.astype(np.float32)
    if noise is not None:
        target = target + noise[y0:y1, x0:x1]
    patch += (alpha * cover)[..., None] * (target - patch)
    _write_patch(canvas, box, patch)


def _blend_parts(
    canvas: np.ndarray,
    segments: np.ndarray,
    radii: np.ndarray,
    colours: np.ndarray,
    alphas: np.ndarray,
    noise: np.ndarray | None = None,
) -> None:
    """Paint capsules ``segments [P, 2, 2]`` one over the other (a figure's parts, in order).

    The figure's bounding box is converted to float once; each part touches only its own box.
    """
    box = _bounds(segments, radii, *canvas.shape[:2])
    if box is None:
        return
    x0, x1, y0, y1 = box
    patch = canvas[y0:y1, x0:x1].astype(np.float32)
    noise_patch = noise[y0:y1, x0:x1] if noise is not None else None
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    for segment, r, colour, alpha in zip(segments, radii, colours, alphas, strict=True):
        part = _bounds(segment[None], np.array([r]), *canvas.shape[:2])
        if part is None:
            continue
        px0, px1, py0, py1 = part[0] - x0, part[1] - x0, part[2] - y0, part[3] - y0
        cover = _capsule_cover(xs[:, px0:px1], ys[py0:py1], segment, float(r))
        sub = patch[py0:py1, px0:px1]
        target = colour if noise_patch is None else colour + noise_patch[py0:py1, px0:px1]
        sub += (alpha * cover)[..., None] * (target - sub)
    _write_patch(canvas, box, patch)


def _polyline_segments(points: np.ndarray) -> np.ndarray:
    """``[P, 2]`` points -> ``[max(P-1, 1), 2, 2]`` segments (a dot for one point)."""
    if len(points) == 1:
        return np.stack([points, points], axis=1)
    return np.stack([points[:-1], points[1:]], axis=1)


def _smooth_noise(shape: tuple[int, int], cells: tuple[int, int], rng: np.random.Generator):
    """Low-frequency noise in ``[-1, 1]``: a coarse random grid, bilinearly upsampled."""
    grid = rng.uniform(-1, 1, (cells[0] + 1, cells[1] + 1))
    rows = np.linspace(0, cells[0], shape[0])
    cols = np.linspace(0, cells[1], shape[1])
    along_rows = np.stack(
        [np.interp(rows, np.arange(cells[0] + 1), grid[:, c]) for c in range(cells[1] + 1)], axis=1
    )
    return np.stack([np.interp(cols, np.arange(cells[1] + 1), r) for r in along_rows]).astype(
        np.float32
    )


def _line_cover(offset: np.ndarray, footprint: np.ndarray, half_width: float) -> np.ndarray:
    """Share of a pixel (box of ``footprint`` metres) covered by a line of ``2 * half_width``."""
    lo = np.maximum(offset - footprint / 2, -half_width)
    hi = np.minimum(offset + footprint / 2, half_width)
    return np.clip(hi - lo, 0, None) / footprint


def _court_lines(sport: _Sport) -> list[tuple[str, float, float, float]]:
    """Court lines as ``(axis, position, start, end)``: ``"y"`` lines run across the court."""
    length, half = sport.length, sport.length / 2
    w, s = sport.width / 2, sport.singles_width / 2
    lines = [("y", 0.0, -w, w), ("y", length, -w, w)]
    lines += [("x", -w, 0.0, length), ("x", w, 0.0, length)]
    lines += [("x", -s, 0.0, length), ("x", s, 0.0, length)]
    svc = sport.service_from_net
    lines += [("y", half - svc, -s, s), ("y", half + svc, -s, s)]
    if sport.long_service_from_baseline:  # badminton: centre line to the baselines
        lb = sport.long_service_from_baseline
        lines += [("y", lb, -w, w), ("y", length - lb, -w, w)]
        lines += [("x", 0.0, 0.0, half - svc), ("x", 0.0, half + svc, length)]
    else:  # tennis: centre service line and centre marks
        lines += [("x", 0.0, half - svc, half + svc), ("x", 0.0, 0.0, 0.15)]
        lines += [("x", 0.0, length - 0.15, length)]
    return lines


def _render_background(plan: ClipPlan, margin: int, rng: np.random.Generator) -> np.ndarray:
    """The static scene as float RGB ``[H + 2m, W + 2m, 3]``; pixel ``(i, j)`` is ``(i-m, j-m)``."""
    width, height = plan.size
    cam, sport = plan.camera, plan.sport
    hp, wp = height + 2 * margin, width + 2 * margin
    a = (np.arange(wp, dtype=np.float32) - margin - cam.centre[0]) / cam.focal
    b = (np.arange(hp, dtype=np.float32) - margin - cam.centre[1]) / cam.focal
    rot = cam.rotation.astype(np.float32)
    ray = a[None, :, None] * rot[0] + b[:, None, None] * rot[1] + rot[2]  # [Hp, Wp, 3] world dirs
    px, py, pz = (float(c) for c in cam.position)
    dz = ray[..., 2]
    looks_down = dz < -1e-6
    # rays that never meet the ground get a far-away point beyond the backdrop
    t_ground = np.where(looks_down, -pz / np.where(looks_down, dz, -1.0), 1e4)
    gx = px + t_ground * ray[..., 0]
    gy = py + t_ground * ray[..., 1]
    back_y = sport.length + sport.back_space
    ground = looks_down & (gy < back_y)

    image = _ground_colour(plan, gx, gy, rng)
    image = _draw_lines(image, sport, gx, gy, ground)
    # the backdrop and the net only cover some rows: compute them there only
    sky = np.flatnonzero((~ground).any(axis=1))
    top = int(sky.max()) + 1 if len(sky) else 0
    backdrop = _backdrop_colour(ray[:top], cam.position, back_y, rng)
    image[:top] = np.where(ground[:top, :, None], image[:top], backdrop)
    net_rows = _net_rows(plan, margin, hp)
    _draw_net(image[net_rows], plan, ray[net_rows], gy[net_rows], ground[net_rows])
    _draw_posts(image, plan, margin)
    # lighting: a vertical gradient and a vignette
    rows = np.linspace(-1, 1, hp, dtype=np.float32)[:, None]
    cols = np.linspace(-1, 1, wp, dtype=np.float32)[None, :]
    light = (1 + rng.uniform(-0.08, 0.08) * rows) * (
        1 - rng.uniform(0.05, 0.2) * (rows**2 + cols**2) / 2
    )
    image *= light[..., None]
    _draw_marks(image, plan, margin, rng)
    return image


def _ground_colour(plan: ClipPlan, gx: np.ndarray, gy: np.ndarray, rng: np.random.Generator):
    sport = plan.sport
    inner, outer, texture = _SURFACES[plan.surface]
    jitter = rng.uniform(0.9, 1.1, 3)
    inside = (np.abs(gx) <= sport.width / 2 + 0.3) & (gy >= -0.3) & (gy <= sport.length + 0.3)
    image = np.where(inside[..., None], np.float32(inner) * jitter, np.float32(outer) * jitter)
    shade = 1 + 0.05 * _smooth_noise(gx.shape, (6, 10), rng)
    finite_y = np.nan_to_num(gy, posinf=0.0, neginf=0.0)
    finite_x = np.nan_to_num(gx, posinf=0.0, neginf=0.0)
    if texture == "stripes":  # mowing bands across the court
        shade *= 1 + 0.05 * np.sign(np.sin(np.pi * finite_y / 2.4))
    elif texture == "blotches":
        shade *= 1 + 0.08 * _smooth_noise(gx.shape, (30, 50), rng)
    elif texture == "planks":
        shade *= 1 + 0.04 * np.sign(np.sin(np.pi * finite_x / 0.12))
    return image * shade[..., None].astype(np.float32)


def _draw_lines(image: np.ndarray, sport: _Sport, gx: np.ndarray, gy: np.ndarray, ground):
    half_width = 0.025
    foot_x = np.maximum(np.abs(np.gradient(gx, axis=1)), 1e-3)
    foot_y = np.maximum(np.abs(np.gradient(gy, axis=0)), 1e-3)
    cover = np.zeros(gx.shape, dtype=np.float32)
    for axis, position, start, end in _court_lines(sport):
        if axis == "y":
            along, offset, foot = gx, gy - position, foot_y
        else:
            along, offset, foot = gy, gx - position, foot_x
        within = (along >= start - half_width) & (along <= end + half_width)
        np.maximum(cover, np.where(within, _line_cover(offset, foot, half_width), 0), out=cover)
    cover = np.where(ground, np.nan_to_num(cover), 0)[..., None]
    return image + cover * (_LINE_COLOUR - image)


def _backdrop_colour(ray: np.ndarray, position: np.ndarray, back_y: float, rng):
    """Advertising boards, a wall and a crowd on a vertical plane behind the court."""
    dy = np.where(ray[..., 1] > 1e-6, ray[..., 1], 1e-6)
    t = (back_y - position[1]) / dy
    wx = np.clip(position[0] + t * ray[..., 0], -1e4, 1e4)
    wz = np.clip(position[2] + t * ray[..., 2], -1e4, 1e4)
    board_colours = rng.integers(20, 240, (16, 3)).astype(np.float32)
    board = board_colours[(np.floor(np.nan_to_num(wx) / 4.0).astype(int)) % 16]
    wall = np.float32(rng.integers(20, 90, 3))
    crowd_colours = rng.integers(30, 220, (97, 3)).astype(np.float32)
    cell = (
        np.floor(np.nan_to_num(wx) / 0.45).astype(int) * 31
        + np.floor(np.nan_to_num(wz) / 0.5).astype(int) * 17
    )
    crowd = crowd_colours[cell % 97] * 0.7
    image = np.where((wz < 1.0)[..., None], board, np.where((wz < 3.0)[..., None], wall, crowd))
    return image.astype(np.float32)


def _net_rows(plan: ClipPlan, margin: int, rows: int) -> slice:
    """The image rows (padded image) that the net can cover."""
    sport = plan.sport
    post_x = sport.width / 2 + 0.5
    corners = [
        [x, sport.length / 2, z] for x in (-post_x, post_x) for z in (0.0, sport.net_post_height)
    ]
    uv, _ = plan.camera.project(np.array(corners))
    lo = int(np.clip(np.floor(uv[:, 1].min()) + margin - 2, 0, rows))
    hi = int(np.clip(np.ceil(uv[:, 1].max()) + margin + 3, lo, rows))
    return slice(lo, hi)


def _draw_net(image: np.ndarray, plan: ClipPlan, ray: np.ndarray, gy: np.ndarray, ground):
    """Net mesh and tape, in place, on rows whose rays are given."""
    sport, cam = plan.sport, plan.camera
    half = sport.length / 2
    post_x = sport.width / 2 + 0.5
    dy = np.where(ray[..., 1] > 1e-6, ray[..., 1], 1e-6)
    t = (half - cam.position[1]) / dy
    nx = cam.position[0] + t * ray[..., 0]
    nz = cam.position[2] + t * ray[..., 2]
    top = sport.net_height + (sport.net_post_height - sport.net_height) * (nx / post_x) ** 2
    in_front = ~ground | (gy > half)  # the net plane is nearer than the ground behind it
    net = in_front & (ray[..., 1] > 1e-6) & (np.abs(nx) <= post_x) & (nz >= 0) & (nz <= top)
    alpha = np.where(nz > top - 0.07, 0.85, 0.45) * net
    colour = np.where((nz > top - 0.07)[..., None], _LINE_COLOUR, np.float32(20))
    image += alpha[..., None].astype(np.float32) * (colour - image)


def _draw_posts(image: np.ndarray, plan: ClipPlan, margin: int) -> None:
    sport, cam = plan.sport, plan.camera
    half = sport.length / 2
    post_x = sport.width / 2 + 0.5
    for sign in (-1.0, 1.0):
        ends, depth = cam.project(
            np.array([[sign * post_x, half, 0.0], [sign * post_x, half, sport.net_post_height]])
        )
        radius = cam.focal * 0.05 / max(float(depth.mean()), 0.5)
        _blend_capsules(image, (ends + margin)[None], radius, np.array([50.0, 50, 50]), 1.0)


def _draw_marks(image: np.ndarray, plan: ClipPlan, margin: int, rng: np.random.Generator):
    """Static ball-coloured blobs: logos and marks on the court, balls lying by the boards."""
    sport, cam = plan.sport, plan.camera
    for _ in range(plan.marks):
        point = np.array(
            [rng.uniform(-0.5, 0.5) * (sport.width + 4), rng.uniform(-2, sport.length + 2), 0.0]
        )
        uv, depth = cam.project(point)
        near = plan.ball_diameter.max() if plan.ball_diameter.any() else 6.0
        diameter = max(3.0, near * rng.uniform(0.5, 1.2) * (cam.project(np.zeros(3))[1] / depth))
        _blend_capsules(
            image, (uv + margin)[None, None].repeat(2, 1), diameter / 2, plan.ball_colour, 0.9
        )


class _Renderer:
    """Draws the frames of a plan: a cropped noisy background plus the moving things."""

    def __init__(self, plan: ClipPlan) -> None:
        self.plan = plan
        self.margin = int(np.abs(plan.shake).max()) + 1
        rng = np.random.default_rng(plan.scene_seed)
        background = _render_background(plan, self.margin, rng)
        self.gains = (1 - plan.flicker, 1.0, 1 + plan.flicker)
        self.noise = [
            rng.standard_normal(background.shape, dtype=np.float32) * np.float32(plan.noise_sigma)
            for _ in range(2)
        ]
        # every (brightness, noise) combination, precomputed: a frame starts as a plain copy
        self.backgrounds = [
            _to_uint8(background * np.float32(gain) + noise)
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
        things = [(fig.distance[index], fig) for fig in plan.figures]
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
        streak = _streak(plan, index)
        if len(streak) == 0:
            return
        diameter = plan.ball_diameter[index]
        strength = _strength(diameter, plan.blur_px[index])
        segments = _polyline_segments(streak + shift)
        _blend_capsules(frame, segments, diameter / 2, plan.ball_colour * gain, strength, noise)

    def _draw_figure(self, frame, fig: _Figure, index, shift, gain, noise) -> None:
        segments = fig.segments[index] + shift
        _blend_parts(frame, segments, fig.radius[index], fig.colours * gain, fig.alpha, noise)

    def _draw_objects(self, frame, index, shift, gain, noise) -> None:
        plan, objects = self.plan, self.plan.objects
        half = plan.exposure / 2
        for k in np.flatnonzero((objects.start <= index) & (index < objects.stop)):
            times = np.linspace(index - half, index + half, 3)
            points = np.stack([objects.points(k, t) for t in times]) + shift
            blur = float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())
            strength = _strength(objects.diameter[k], blur)
            segments = _polyline_segments(points)
            _blend_capsules(
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


# --------------------------------------------------------------------------- dataset layouts
def clip_destination(
    out_dir: Path, fmt: str, index: int, clips_per_game: int = CLIPS_PER_GAME
) -> Path:
    """Where clip ``index`` (0-based) goes: a frame folder (tennis) or a video file."""
    if fmt == "tennis":
        game, clip = index // clips_per_game + 1, index % clips_per_game + 1
        return out_dir / f"game{game}" / f"Clip{clip}"
    if fmt == "shuttlecock":
        match, rally = index // RALLIES_PER_MATCH + 1, index % RALLIES_PER_MATCH + 1
        return out_dir / "Professional" / f"match{match}" / "video" / f"1_{rally:02d}_00.mp4"
    return out_dir / f"clip_{index:04d}.mp4"


def ball_csv_path(video: Path) -> Path:
    """The label CSV beside a video, as each layout expects it."""
    parent = video.parent
    if parent.name == "video" and parent.parent.name.startswith("match"):
        # shuttlecock: matchN/csv/<rally>_ball.csv
        return video.parent.parent / "csv" / f"{video.stem}_ball.csv"
    return video.with_name(f"{video.stem}_ball.csv")


def _write_frame_folder(plan: ClipPlan, folder: Path) -> None:
    """JPEG frames and ``Label.csv``, built in a hidden folder and renamed when complete."""
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    names = [f"{i:04d}.jpg" for i in range(plan.frames)]
    try:
        # JPEG encoding releases the GIL: overlap it with drawing the next frame
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending: list[Future] = []
            for name, frame in zip(names, iter_clip(plan), strict=True):
                image = Image.fromarray(frame)
                pending.append(pool.submit(image.save, tmp / name, quality=plan.jpeg_quality))
                if len(pending) > 4:  # bound the frames in flight
                    pending.pop(0).result()
            for job in pending:
                job.result()
        write_tennis_csv(tmp / "Label.csv", plan.labels, names)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_video(plan: ClipPlan, video: Path) -> None:
    gop = max(1, round(plan.fps))  # one keyframe a second keeps random access quick
    with VideoWriter(video, plan.fps, plan.size, crf=plan.crf, gop=gop) as writer:
        for frame in iter_clip(plan):
            writer.write(frame)
    write_ball_csv(ball_csv_path(video), plan.labels)


def clip_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of clip ``index``: independent of how many clips are made."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


@dataclass(frozen=True)
class _ClipJob:
    out_dir: Path
    fmt: str
    index: int
    frames: int
    size: tuple[int, int]
    seed: int
    fps: float
    difficulty: str
    clips_per_game: int


def _write_clip(job: _ClipJob) -> tuple[Path, TrackLabels]:
    """Plan, render and write one clip (runs in a worker process when there are several)."""
    rng = clip_rng(job.seed, job.index)
    plan = plan_clip(job.frames, job.size, rng, job.fmt, job.difficulty, job.fps)
    target = clip_destination(job.out_dir, job.fmt, job.index, job.clips_per_game)
    if job.fmt == "tennis":
        _write_frame_folder(plan, target)
    else:
        _write_video(plan, target)
    return target, plan.labels


def iter_synthesize(
    out_dir: str | Path,
    fmt: str,
    clips: int,
    frames: int,
    size: tuple[int, int] = (1280, 720),
    seed: int = 0,
    fps: float = 30.0,
    difficulty: str = "normal",
    clips_per_game: int = CLIPS_PER_GAME,
    workers: int | None = None,
) -> Iterator[tuple[Path, TrackLabels]]:
    """Write clips (see :func:`synthesize`), yielding each path and its labels in clip order."""
    _check_choice("fmt", fmt, FORMATS)
    _check_choice("difficulty", difficulty, DIFFICULTIES)
    if clips < 1 or frames < 1 or clips_per_game < 1:
        raise ValueError(
            f"need clips, frames and clips_per_game >= 1; got {clips}, {frames}, {clips_per_game}"
        )
    size = (int(size[0]), int(size[1]))
    jobs = [
        _ClipJob(Path(out_dir), fmt, k, frames, size, seed, fps, difficulty, clips_per_game)
        for k in range(clips)
    ]
    workers = min(workers or os.cpu_count() or 1, clips)
    if workers <= 1:
        yield from map(_write_clip, jobs)
        return
    # Clips are independent: render and encode them side by side. "fork" (where it exists)
    # needs no importable __main__, so it also works from notebooks and `python -m tracknet`.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_write_clip, jobs)


def synthesize(
    out_dir: str | Path,
    fmt: str,
    clips: int,
    frames: int,
    size: tuple[int, int] = (1280, 720),
    seed: int = 0,
    fps: float = 30.0,
    difficulty: str = "normal",
    clips_per_game: int = CLIPS_PER_GAME,
    workers: int | None = None,
) -> list[Path]:
    """Write a synthetic dataset in one of the layouts of ``field_facts.md`` section 1.

    Layouts:
        * ``tennis``: ``OUT/gameG/ClipC/0000.jpg ...`` and ``Label.csv``; clip ``k`` (0-based)
          is ``game{k // clips_per_game + 1}/Clip{k % clips_per_game + 1}``.
        * ``shuttlecock``: ``OUT/Professional/matchK/video/1_RR_00.mp4`` and
          ``OUT/Professional/matchK/csv/1_RR_00_ball.csv`` (3 rallies per match).
        * ``generic``: ``OUT/clip_NNNN.mp4`` and ``OUT/clip_NNNN_ball.csv``.

    Args:
        out_dir: the dataset root (created if needed; clips of the same name are replaced).
        fmt: ``"tennis"``, ``"shuttlecock"`` or ``"generic"``.
        clips: number of clips.
        frames: frames per clip.
        size: ``(W, H)`` of the frames.
        seed: the same seed writes the same labels and pixels.
        fps: frame rate.
        difficulty: ``"normal"`` or ``"hard"`` (see :data:`DIFFICULTY_PRESETS`).
        clips_per_game: tennis layout only.
        workers: processes rendering clips side by side (default: one per CPU, at most
            ``clips``); the output does not depend on it.

    Returns:
        The clip folders (tennis) or videos, in clip order.
    """
    return [
        path
        for path, _ in iter_synthesize(
            out_dir, fmt, clips, frames, size, seed, fps, difficulty, clips_per_game, workers
        )
    ]
