"""Drawing the ball track on video frames: a ring on the ball and a fading trail.

Frames are RGB ``uint8`` arrays ``(H, W, 3)``; positions are ``(x, y)`` pixels of that frame, NaN
where the ball was not seen. Pure numpy: each shape is alpha-blended inside its own small bounding
box with a one-pixel soft edge (cheap anti-aliasing); the rest of the frame is only copied, so a
1280x720 frame with a 10-point trail takes about a millisecond.

The ring is red on a detected ball, cyan on one interpolated by smoothing, and white and dashed
on a position the trajectory stage filled in from the flight (``--fill``). The trail is orange:
each segment joins two consecutive positions, older segments thinner and more transparent (the
joints show as slightly brighter beads, one per frame); a NaN position breaks the trail, and the
trail stops at the ring so the ball itself stays visible. Events (``--events``) stay marked for
:data:`EVENT_FRAMES` frames from their frame: a hit is a magenta cross, a bounce a green ripple
(a ring that widens as it fades) over a short ground line. The input frame is never modified.

:func:`write_overlay` is the overlay video of ``tracknet predict --overlay``: a second pass over
the source, each frame drawn with its track position and written to an H.264 MP4 of the same
size and frame rate (an undecodable frame repeats the last picture, so the timeline is kept).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tracknet.io.events import Event
from tracknet.io.frames import FrameSource
from tracknet.io.video.writer import VideoWriter
from tracknet.track.result import Track

DETECTED_RGB = (255, 40, 40)
INTERPOLATED_RGB = (0, 210, 255)
FILLED_RGB = (255, 255, 255)
TRAIL_RGB = (255, 170, 0)
HIT_RGB = (255, 0, 220)
BOUNCE_RGB = (40, 255, 80)
EVENT_FRAMES = 8  # frames an event stays marked, its own included
_DASHES = 6  # dashes around the ring of a filled position


def _ring_radius(height: int, width: int) -> float:
    # About 12 px at 720p, never smaller than 6 px.
    return max(6.0, min(height, width) / 60.0)


def _blend(image: np.ndarray, y0: int, x0: int, coverage: np.ndarray, rgb, alpha: float) -> None:
    """Blend ``rgb`` into ``image[y0:, x0:]`` with per-pixel weight ``alpha * coverage``."""
    h, w = coverage.shape
    # Only the shape's own box is converted to float: the frame itself stays uint8.
    region = image[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
    weight = (alpha * coverage)[..., None]  # [h, w, 1]
    region += weight * (np.asarray(rgb, dtype=np.float32) - region)
    image[y0 : y0 + h, x0 : x0 + w] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _clipped_box(x_lo, x_hi, y_lo, y_hi, width: int, height: int):
    x0, x1 = max(int(math.floor(x_lo)), 0), min(int(math.ceil(x_hi)) + 1, width)
    y0, y1 = max(int(math.floor(y_lo)), 0), min(int(math.ceil(y_hi)) + 1, height)
    return (x0, x1, y0, y1) if x0 < x1 and y0 < y1 else None


def _draw_segment(
    image: np.ndarray, p, q, half_width: float, rgb, alpha: float, clear=None
) -> None:
    """A thick line from ``p`` to ``q`` with round caps (a dot when ``p == q``).

    ``clear = (x, y, r)`` keeps the disk of radius ``r`` around ``(x, y)`` untouched.
    """
    height, width = image.shape[:2]
    pad = half_width + 1.0
    box = _clipped_box(
        min(p[0], q[0]) - pad,
        max(p[0], q[0]) + pad,
        min(p[1], q[1]) - pad,
        max(p[1], q[1]) + pad,
        width,
        height,
    )
    if box is None:
        return
    x0, x1, y0, y1 = box
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    direction = np.subtract(q, p, dtype=np.float32)
    length_sq = float(direction @ direction)
    if length_sq > 0:
        t = ((xs - p[0]) * direction[0] + (ys - p[1]) * direction[1]) / length_sq
        t = np.clip(t, 0.0, 1.0)
    else:
        t = np.zeros_like(xs)
    distance = np.hypot(xs - (p[0] + t * direction[0]), ys - (p[1] + t * direction[1]))
    coverage = np.clip(half_width + 0.5 - distance, 0.0, 1.0)
    if clear is not None:
        cx, cy, clear_radius = clear
        coverage *= np.clip(np.hypot(xs - cx, ys - cy) - clear_radius + 0.5, 0.0, 1.0)
    _blend(image, y0, x0, coverage, rgb, alpha)


def _draw_ring(
    image: np.ndarray, centre, radius: float, thickness: float, rgb, alpha=1.0, dashed=False
) -> None:
    height, width = image.shape[:2]
    pad = radius + thickness + 1.0
    box = _clipped_box(
        centre[0] - pad, centre[0] + pad, centre[1] - pad, centre[1] + pad, width, height
    )
    if box is None:
        return
    x0, x1, y0, y1 = box
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    off_ring = np.abs(np.hypot(xs - centre[0], ys - centre[1]) - radius)
    coverage = np.clip(thickness / 2 + 0.5 - off_ring, 0.0, 1.0)
    if dashed:
        angle = np.arctan2(ys - centre[1], xs - centre[0])
        coverage *= np.cos(_DASHES * angle) > -0.2
    _blend(image, y0, x0, coverage, rgb, alpha)


def _draw_event(image: np.ndarray, event: Event, age: int, radius: float, thickness: float):
    """A hit's cross or a bounce's ripple, ``age`` frames after the event (0: its frame)."""
    fade = 1.0 - age / EVENT_FRAMES
    x, y = event.x, event.y
    if event.kind == "hit":
        r = 1.3 * radius
        for dx, dy in ((r, r), (r, -r)):
            _draw_segment(image, (x - dx, y - dy), (x + dx, y + dy), thickness / 2, HIT_RGB, fade)
        return
    r = radius * (1.0 + 0.25 * age)
    _draw_ring(image, (x, y), r, thickness / 2 + 1, BOUNCE_RGB, fade)
    bar = (x - 1.5 * r, y + r + thickness), (x + 1.5 * r, y + r + thickness)
    _draw_segment(image, *bar, thickness / 2, BOUNCE_RGB, fade)


def _draw_trail(image: np.ndarray, trail: np.ndarray, base_half_width: float, clear=None) -> None:
    n = len(trail)
    for i in range(1, n):
        p, q = trail[i - 1], trail[i]
        if not (np.isfinite(p).all() and np.isfinite(q).all()):
            continue  # a missing position breaks the trail
        age = (i / (n - 1)) if n > 1 else 1.0  # 1 = newest segment
        _draw_segment(
            image, p, q, base_half_width * (0.35 + 0.65 * age), TRAIL_RGB, 0.2 + 0.6 * age, clear
        )
    if n and np.isfinite(trail[-1]).all() and (n == 1 or not np.isfinite(trail[-2]).all()):
        # a lone newest point still shows as a dot
        _draw_segment(image, trail[-1], trail[-1], base_half_width, TRAIL_RGB, 0.8, clear)


def draw_overlay(
    frame_rgb: np.ndarray,
    trail_xy: Sequence[Sequence[float]] | np.ndarray,
    current: tuple[bool, float, float],
    interpolated: bool = False,
    filled: bool = False,
    events: Sequence[tuple[Event, int]] = (),
) -> np.ndarray:
    """Draw the trail, the ball marker and recent events on a copy of ``frame_rgb``.

    Args:
        frame_rgb: ``(H, W, 3)`` uint8 RGB frame (left untouched).
        trail_xy: recent positions, oldest first, ``(x, y)`` or NaN where the ball was not seen;
            may include the current position as its last entry.
        current: ``(visible, x, y)`` of the ball in this frame.
        interpolated: the current position was filled in by smoothing (cyan ring).
        filled: the current position was filled in from the flight (dashed white ring).
        events: ``(event, age)`` of the events to mark (age: frames since the event; events
            without a position are skipped).

    Returns:
        A new ``(H, W, 3)`` uint8 frame.
    """
    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    trail = np.asarray(trail_xy, dtype=np.float32).reshape(-1, 2)
    visible, x, y = current
    show_ball = bool(visible) and math.isfinite(x) and math.isfinite(y)
    events = [(e, a) for e, a in events if math.isfinite(e.x) and math.isfinite(e.y)]
    if not show_ball and not events and not np.isfinite(trail).all(axis=1).any():
        return frame.copy()
    height, width = frame.shape[:2]
    radius = _ring_radius(height, width)
    thickness = max(2.0, radius / 4)
    # The trail stops at the ring so the ball itself stays visible inside it.
    clear = (float(x), float(y), radius - thickness / 2) if show_ball else None
    image = frame.copy()
    _draw_trail(image, trail, base_half_width=thickness, clear=clear)
    for event, age in events:
        _draw_event(image, event, age, radius, thickness)
    if show_ball:
        rgb = FILLED_RGB if filled else INTERPOLATED_RGB if interpolated else DETECTED_RGB
        _draw_ring(image, (float(x), float(y)), radius, thickness, rgb, dashed=filled)
    return image


class TrailOverlay:
    """Remembers the last ``trail`` positions and draws them with the current ball.

    Args:
        trail: number of positions in the fading trail (the current one included); 0 for none.
    """

    def __init__(self, trail: int = 10) -> None:
        if trail < 0:
            raise ValueError(f"trail must be >= 0, got {trail}")
        self.trail = int(trail)
        self._positions: deque[tuple[float, float]] = deque(maxlen=max(self.trail, 1))

    def reset(self) -> None:
        """Forget the trail (start of a new video)."""
        self._positions.clear()

    def __call__(
        self,
        frame: np.ndarray,
        visible: bool,
        x: float,
        y: float,
        interpolated: bool = False,
        filled: bool = False,
        events: Sequence[tuple[Event, int]] = (),
    ) -> np.ndarray:
        """Record this frame's position and return the frame with the overlay drawn."""
        seen = bool(visible) and math.isfinite(x) and math.isfinite(y)
        self._positions.append((float(x), float(y)) if seen else (math.nan, math.nan))
        trail = list(self._positions) if self.trail else []
        return draw_overlay(frame, trail, (seen, x, y), interpolated, filled, events)


def events_at(events: Sequence[Event], frame: int) -> list[tuple[Event, int]]:
    """``(event, age)`` of the events still marked at ``frame`` (``0 <= age < EVENT_FRAMES``);
    ``events`` sorted by frame (a binary search: any number of events)."""
    lo = bisect.bisect_left(events, frame - EVENT_FRAMES + 1, key=lambda e: e.frame)
    hi = bisect.bisect_right(events, frame, key=lambda e: e.frame)
    return [(e, frame - e.frame) for e in events[lo:hi]]


def write_overlay(
    source: FrameSource, track: Track, path: str | Path, trail: int, events: bool = False
) -> None:
    """Write ``source`` with ``track`` drawn on it (``trail`` positions) as a video at ``path``.

    ``events``: also mark the hits and bounces of ``track.trajectory``. The video is written to
    a temporary name and renamed when complete.
    """
    draw = TrailOverlay(trail=trail)
    marked = track.trajectory.events if events and track.trajectory is not None else []
    marked = sorted(marked, key=lambda e: e.frame)
    filled = track.filled
    order = np.argsort(track.frame, kind="stable")  # rows by frame number (already sorted)
    frames = track.frame[order]
    with VideoWriter(path, fps=source.fps, size=source.size) as writer:
        last = None
        for index, frame in source:
            if frame is None:  # keep the timeline: repeat the last picture
                frame = last if last is not None else np.zeros((*source.size[::-1], 3), np.uint8)
            last = frame
            at = int(np.searchsorted(frames, index))
            if at >= len(frames) or frames[at] != index:
                writer.write(frame)
                continue
            i = int(order[at])
            writer.write(
                draw(
                    frame,
                    bool(track.visible[i]),
                    float(track.xy[i, 0]),
                    float(track.xy[i, 1]),
                    bool(track.interpolated[i]),
                    bool(filled[i]),
                    events_at(marked, index),
                )
            )
