"""What a clip can look like: the dataset formats, the difficulty presets and the sports.

A :class:`Difficulty` sets how hard the footage is (ball size, blur, occlusion, distractors,
noise, compression); a :class:`Sport` holds the court geometry, the ball's look and its physics
for one format; :data:`SURFACES` the court colours and textures. Pixel sizes are given for
:data:`REF_HEIGHT`-pixel-high frames and scaled with the frame height.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FORMATS = ("tennis", "shuttlecock", "generic")
DIFFICULTIES = ("normal", "hard")
REF_HEIGHT = 720.0  # pixel sizes below are given for 720-pixel-high frames and scaled


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
class Sport:
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


_TENNIS = Sport(
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
_SHUTTLECOCK = Sport(
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
SPORTS = {"tennis": _TENNIS, "shuttlecock": _SHUTTLECOCK, "generic": _GENERIC}

# inside the court, outside it, texture kind
SURFACES = {
    "grass": ((96, 142, 62), (88, 132, 56), "stripes"),
    "clay": ((188, 100, 62), (180, 96, 60), "blotches"),
    "hard_blue": ((42, 84, 140), (62, 118, 84), "fine"),
    "hard_green": ((62, 112, 82), (150, 72, 62), "fine"),
    "mat_green": ((34, 112, 84), (120, 84, 62), "fine"),
    "wood": ((186, 142, 92), (164, 122, 80), "planks"),
}
LINE_COLOUR = np.array([236, 236, 230], dtype=np.float32)


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    """A :class:`ValueError` naming ``name`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
