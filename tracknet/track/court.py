"""Court geometry: image corners of a court of known size -> ground plane, bounce spots, km/h.

The user gives the four corners of the court's outer lines in the image, IN ORDER AROUND THE
COURT, starting at an end line: ``c1, c2`` one end line (its length is the court WIDTH), ``c3, c4``
the other end line (``c2 -> c3`` is a side line, its length the court LENGTH). Usually: near-left,
near-right, far-right, far-left. The ground frame, in metres, puts ``c1`` at ``(0, 0)``, ``c2`` at
``(W, 0)``, ``c3`` at ``(W, L)`` and ``c4`` at ``(0, L)``: ``x`` along the end lines, ``y`` along
the side lines, both on the ground (``z = 0``). Image pixels are those of the ORIGINAL frame.

:class:`Court` holds the homography (a plane-to-plane projective map, found by the normalised
direct linear transform from the four correspondences) and maps image points to the ground and
back. :func:`ground_speeds` turns consecutive bounces into an approximate speed in km/h.

LIMITS (one camera): a homography maps the GROUND plane only. A ball in the air is not on that
plane, so its ground position, and with it any speed in metres, is known only at a bounce (height
0). Speeds here are average horizontal speeds along the straight ground line between two bounces
(``distance / time``): when a hit lies between them (the usual bounce - hit - bounce) the ball
travelled further than that line, so the figure is a LOWER bound; the vertical motion and the speed
lost to drag are not counted either, so it is well below a radar's peak speed at the racket.
Lens distortion is ignored; corners off by a few pixels shift far-court positions by decimetres.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from tracknet.errors import UserError
from tracknet.io.events import Event

COURT_SIZES: dict[str, tuple[float, float]] = {
    "tennis-singles": (8.23, 23.77),
    "tennis-doubles": (10.97, 23.77),
    "badminton-doubles": (6.1, 13.4),
    "badminton-singles": (5.18, 13.4),
    "table-tennis": (1.525, 2.74),
}
"""Width (along the end lines) and length (along the side lines) in metres of the outer lines."""
COURT_ALIASES = {"tennis": "tennis-singles", "badminton": "badminton-doubles"}
"""Short names: a tennis singles court, a badminton court's outermost (doubles) lines."""

_MIN_AREA_PX = 100.0  # a court smaller than this in the image is degenerate
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


class CourtError(UserError, ValueError):
    """Court corners or size that cannot describe a court (the message says what to fix)."""


def court_size(spec: str | Sequence[float]) -> tuple[float, float]:
    """``(W, L)`` in metres from a name of :data:`COURT_SIZES` (or :data:`COURT_ALIASES`),
    ``"W,L"`` or a pair of numbers."""
    if isinstance(spec, str):
        key = spec.strip().lower().replace("_", "-").replace(" ", "-")
        key = COURT_ALIASES.get(key, key)
        if key in COURT_SIZES:
            return COURT_SIZES[key]
        values = _numbers(spec, 2, "the court size", "W,L in metres, e.g. 8.23,23.77")
    else:
        values = [float(v) for v in spec]
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        raise CourtError(
            f"the court size must be two positive lengths W,L in metres or one of "
            f"{', '.join([*COURT_ALIASES, *COURT_SIZES])}; got {spec!r}"
        )
    return values[0], values[1]


def parse_corners(text: str) -> np.ndarray:
    """``"x1,y1,x2,y2,x3,y3,x4,y4"`` -> ``[4, 2]`` pixels (order as the module docstring says)."""
    return np.asarray(
        _numbers(text, 8, "--court", "x1,y1,x2,y2,x3,y3,x4,y4 in pixels"), dtype=np.float64
    ).reshape(4, 2)


def _numbers(text: str, count: int, what: str, form: str) -> list[float]:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if len(parts) != count or not all(re.fullmatch(_NUMBER, p) for p in parts):
        raise CourtError(f"{what} must be {count} numbers {form}; got {text!r}")
    values = [float(p) for p in parts]
    if not all(math.isfinite(v) for v in values):
        raise CourtError(f"{what} must be finite numbers; got {text!r}")
    return values


def check_corners(corners: np.ndarray) -> np.ndarray:
    """Validate four image corners; returns them as ``float [4, 2]``.

    Raises:
        CourtError: not 4 finite points, repeated points, three in a line, sides that cross
            (corners not in order around the court), a corner inside the others' triangle
            (not convex), or an area under 100 px².
    """
    c = np.asarray(corners, dtype=np.float64)
    if c.shape != (4, 2) or not np.isfinite(c).all():
        raise CourtError(f"a court needs 4 finite corners (x, y); got shape {c.shape}")
    edges = np.roll(c, -1, axis=0) - c
    turns = (
        edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, 0)[:, 0]
    )
    area = 0.5 * abs(float(np.sum(c[:, 0] * np.roll(c[:, 1], -1) - np.roll(c[:, 0], -1) * c[:, 1])))
    scale = float(np.max(np.hypot(*edges.T)))
    order = "give them in order around the court: c1, c2 one end line, c3, c4 the other"
    if scale == 0 or np.any(np.abs(turns) <= 1e-9 * scale**2):
        raise CourtError(f"court corners {c.tolist()} repeat a point or have three in a line")
    if _sides_cross(c):
        raise CourtError(f"court sides cross each other: {c.tolist()}; {order}")
    if not (np.all(turns > 0) or np.all(turns < 0)):
        raise CourtError(f"court corners {c.tolist()} are not convex (a corner lies inside)")
    if area < _MIN_AREA_PX:
        raise CourtError(f"court corners {c.tolist()} enclose only {area:.1f} px²")
    return c


def _sides_cross(c: np.ndarray) -> bool:
    """Whether side c1-c2 crosses c3-c4 or side c2-c3 crosses c4-c1 (a bow tie)."""

    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    def intersect(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> bool:
        d1, d2 = cross(q1, q2, p1), cross(q1, q2, p2)
        d3, d4 = cross(p1, p2, q1), cross(p1, p2, q2)
        return d1 * d2 < 0 and d3 * d4 < 0

    return intersect(c[0], c[1], c[2], c[3]) or intersect(c[1], c[2], c[3], c[0])


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 ``H`` (``H[2, 2] = 1``) mapping ``src [N, 2]`` onto ``dst [N, 2]`` (``N >= 4``),
    by the direct linear transform on Hartley-normalised points (least squares for ``N > 4``).

    Raises:
        CourtError: a degenerate configuration (no unique plane-to-plane map).
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ts, tn = _normaliser(src), _normaliser(dst)
    s, d = _apply(ts, src), _apply(tn, dst)
    rows = []
    for (x, y), (u, v) in zip(s, d, strict=True):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, sv, vt = np.linalg.svd(np.asarray(rows))
    if sv[-2] < 1e-10 * sv[0]:
        raise CourtError("the court corners do not define a unique ground plane")
    h = np.linalg.inv(tn) @ vt[-1].reshape(3, 3) @ ts
    if abs(h[2, 2]) < 1e-12:
        raise CourtError("the court homography is degenerate (the horizon runs through a corner)")
    normalised: np.ndarray = h / h[2, 2]
    return normalised


def _normaliser(points: np.ndarray) -> np.ndarray:
    centre = points.mean(axis=0)
    spread = np.mean(np.hypot(*(points - centre).T))
    k = math.sqrt(2) / spread if spread > 0 else 1.0
    return np.array([[k, 0, -k * centre[0]], [0, k, -k * centre[1]], [0, 0, 1.0]])


def _apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    q = pts @ h[:, :2].T + h[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        mapped: np.ndarray = q[:, :2] / q[:, 2:3]
    return mapped


@dataclass(frozen=True)
class Court:
    """A court seen by one camera: image corners, size and the image <-> ground homographies.

    Build it with :meth:`from_corners`. ``image_to_ground`` maps original-frame pixels to metres
    on the ground (module docstring: frame and limits); ``ground_to_image`` is its inverse.
    """

    corners: np.ndarray  # [4, 2] pixels
    width_m: float
    length_m: float
    image_to_ground: np.ndarray  # [3, 3]
    ground_to_image: np.ndarray  # [3, 3]

    @classmethod
    def from_corners(
        cls, corners: np.ndarray, size: str | Sequence[float] = "tennis-singles"
    ) -> Court:
        """Validate the corners (:func:`check_corners`) and the size (:func:`court_size`)."""
        c = check_corners(corners)
        w, length = court_size(size)
        ground = np.array([[0.0, 0.0], [w, 0.0], [w, length], [0.0, length]])
        h = homography(c, ground)
        return cls(c, w, length, h, np.linalg.inv(h) / np.linalg.inv(h)[2, 2])

    def to_ground(self, xy: np.ndarray) -> np.ndarray:
        """``[N, 2]`` ground metres of image points ``[N, 2]`` (right only for points on the
        ground; NaN for points on or above the horizon, which no ground point maps to)."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        h = self.image_to_ground
        side = pts @ h[2, :2] + h[2, 2]  # the homogeneous scale: its sign flips at the horizon
        court_side = np.sign(np.mean(self.corners @ h[2, :2] + h[2, 2]))
        out = _apply(h, pts)
        out[~(side * court_side > 0)] = np.nan
        return out

    def to_image(self, ground: np.ndarray) -> np.ndarray:
        """``[N, 2]`` image pixels of ground points ``[N, 2]`` in metres."""
        return _apply(self.ground_to_image, ground)

    def inside(self, ground: np.ndarray, margin_m: float = 0.0) -> np.ndarray:
        """``bool [N]``: ground points within the court's outer lines (plus ``margin_m``)."""
        g = np.asarray(ground, dtype=np.float64).reshape(-1, 2)
        lo, hi = -margin_m, np.array([self.width_m, self.length_m]) + margin_m
        inside: np.ndarray = np.all((g >= lo) & (g <= hi), axis=1)
        return inside


@dataclass(frozen=True)
class GroundSpeed:
    """Average horizontal speed between two consecutive bounces (a LOWER bound, see module).

    Attributes:
        start_frame, end_frame: frames of the two bounces.
        start_m, end_m: their ground positions ``(x, y)`` in metres.
        distance_m: straight ground distance between them.
        speed_kmh: ``distance_m / time * 3.6``.
        hits_between: hit events between them (0: one flight, the figure is the flight's mean
            horizontal speed; more: the ball went further than the straight line).
    """

    start_frame: int
    end_frame: int
    start_m: tuple[float, float]
    end_m: tuple[float, float]
    distance_m: float
    speed_kmh: float
    hits_between: int


def bounce_positions(court: Court, events: Iterable[Event]) -> list[tuple[Event, np.ndarray]]:
    """Each bounce with a known image position and its ground position ``[2]`` in metres."""
    bounces = [
        e for e in events if e.kind == "bounce" and math.isfinite(e.x) and math.isfinite(e.y)
    ]
    if not bounces:
        return []
    ground = court.to_ground(np.array([[e.x, e.y] for e in bounces]))
    return [(e, g) for e, g in zip(bounces, ground, strict=True) if np.isfinite(g).all()]


def ground_speeds(
    court: Court, events: Iterable[Event], fps: float, max_frames: int | None = None
) -> list[GroundSpeed]:
    """Approximate speeds between consecutive bounces (module docstring: why a lower bound).

    Args:
        court: the court.
        events: hits and bounces (any order); bounces need an image position.
        fps: frames per second.
        max_frames: pairs of bounces further apart than this are skipped (another rally);
            None: ``3 * fps`` (three seconds).

    Raises:
        ValueError: ``fps <= 0``.
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    events = sorted(events, key=lambda e: e.frame)
    limit = 3 * fps if max_frames is None else max_frames
    hits = np.array([e.frame for e in events if e.kind == "hit"], dtype=np.int64)
    located = bounce_positions(court, events)
    out = []
    for (a, ga), (b, gb) in zip(located[:-1], located[1:], strict=True):
        frames = b.frame - a.frame
        if frames <= 0 or frames > limit:
            continue
        distance = float(np.hypot(*(gb - ga)))
        out.append(
            GroundSpeed(
                a.frame,
                b.frame,
                (float(ga[0]), float(ga[1])),
                (float(gb[0]), float(gb[1])),
                distance,
                distance / (frames / fps) * 3.6,
                int(np.count_nonzero((hits > a.frame) & (hits < b.frame))),
            )
        )
    return out
