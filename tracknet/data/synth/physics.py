"""The ball's flight: rallies of serves and shots under gravity and drag, with damped bounces.

The ball is simulated :data:`SUBSTEPS` times per frame; physics step ``s`` is at frame
``s / SUBSTEPS - 1``, so the blur streak of a frame is a polyline through the steps its
exposure covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracknet.data.synth.presets import Sport

GRAVITY = 9.81
SUBSTEPS = 4  # physics steps per frame; blur streaks are polylines through them


@dataclass
class BallPath:
    """The ball at every physics step. Step ``s`` is at frame ``s / SUBSTEPS - 1``."""

    position: np.ndarray  # float [N, 3]; NaN where no ball is in play
    events: list[tuple[int, int]] = field(default_factory=list)  # (step, 1 hit | 2 bounce)
    hits: list[tuple[int, int, np.ndarray]] = field(default_factory=list)  # (step, side, xyz)


def frame_of_step(step: int) -> int:
    """The frame nearest to physics step ``step``."""
    return round(step / SUBSTEPS) - 1


def _acceleration(sport: Sport, velocity: np.ndarray) -> np.ndarray:
    drag = -sport.drag * np.linalg.norm(velocity) * velocity
    return drag + np.array([0.0, 0.0, -GRAVITY])


def _clears_net(sport: Sport, start: np.ndarray, velocity: np.ndarray, dt: float) -> bool:
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
    sport: Sport, start: np.ndarray, to_far: bool, rng: np.random.Generator, dt: float
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


def simulate_ball(sport: Sport, frames: int, fps: float, rng: np.random.Generator) -> BallPath:
    """Rallies with pauses between them, until the clip is full."""
    dt = 1.0 / (fps * SUBSTEPS)
    n_steps = (frames + 2) * SUBSTEPS + 1
    path = BallPath(np.full((n_steps, 3), np.nan))
    step = int(rng.integers(0, max(1, int(0.8 * fps * SUBSTEPS))))
    while step < n_steps:
        step = _play_rally(sport, path, step, dt, rng)
        step += int(rng.uniform(0.3, 1.2) * fps * SUBSTEPS)  # the ball is picked up
    return path


def _play_rally(
    sport: Sport, path: BallPath, step: int, dt: float, rng: np.random.Generator
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
    sport: Sport, path: BallPath, step: int, hitter: int, dt: float, rng: np.random.Generator
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
    sport: Sport,
    path: BallPath,
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
