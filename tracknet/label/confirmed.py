"""One confirmed frame label of ``tracknet label``: :class:`Label`, its kinds (visible,
occluded, none), the visibility code each kind gets in each layout (:mod:`tracknet.label.store`
says which), and :func:`make_label`, which validates one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tracknet.label.source import TENNIS_LAYOUT

KINDS = ("visible", "occluded", "none")
STATUS_NAMES = {0: "flying", 1: "hit", 2: "bounce"}


@dataclass(frozen=True)
class Label:
    """One confirmed frame label.

    Attributes:
        kind: ``visible``, ``occluded`` or ``none`` (no ball in the frame).
        x, y: ball centre in original-frame pixels (0 for ``none``).
        status: tennis trajectory status: 0 flying, 1 hit, 2 bounce.
        code: the visibility code written to the file.
    """

    kind: str
    x: float
    y: float
    status: int
    code: int

    def to_json(self) -> dict:
        return {
            "visibility": self.kind,
            "x": self.x,
            "y": self.y,
            "status": self.status,
            "code": self.code,
        }


def kind_of(code: int) -> str:
    """The kind of a dataset visibility code (0 none, 1 visible, 2 hard, 3 occluded)."""
    return "none" if code == 0 else "visible" if code == 1 else "occluded"


def code_of(kind: str, layout: str) -> int:
    """The visibility code a new label of ``kind`` gets in ``layout`` (module docstring)."""
    if kind == "none":
        return 0
    if kind == "occluded" and layout == TENNIS_LAYOUT:
        return 2
    return 1


def codes_of(kind: str, layout: str) -> tuple[int, ...]:
    """The visibility codes a label of ``kind`` may carry in ``layout`` (new or read)."""
    if kind == "none":
        return (0,)
    if kind == "visible":
        return (1,)
    return (1, 2, 3) if layout != TENNIS_LAYOUT else (2, 3)


def make_label(
    kind: str,
    x: float,
    y: float,
    status: int,
    layout: str,
    frame_size: tuple[int, int],
    code: int | None = None,
) -> Label:
    """A validated :class:`Label`.

    Args:
        code: the visibility code to write; None: the code a new label of ``kind`` gets.

    Raises:
        ValueError: an unknown kind or status, a code that does not fit the kind, or a
            position outside the frame (pixel centres ``0 .. W-1``, ``0 .. H-1``); the message
            says which.
    """
    if kind not in KINDS:
        raise ValueError(f"visibility must be one of {', '.join(KINDS)}, got {kind!r}")
    if code is not None and code not in codes_of(kind, layout):
        allowed = ", ".join(map(str, codes_of(kind, layout)))
        raise ValueError(f"visibility code {code!r} does not fit {kind!r} (use {allowed})")
    if status not in STATUS_NAMES:
        raise ValueError(f"status must be 0 (flying), 1 (hit) or 2 (bounce), got {status!r}")
    if kind == "none":
        if status:
            raise ValueError("an event (hit, bounce) needs the ball: label its position first")
        return Label("none", 0.0, 0.0, 0, 0)
    w, h = frame_size
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"coordinates must be finite numbers, got ({x}, {y})")
    if not (0 <= x <= w - 1 and 0 <= y <= h - 1):
        raise ValueError(
            f"({x:g}, {y:g}) lies outside the {w}x{h} frame (x 0..{w - 1}, y 0..{h - 1})"
        )
    code = code_of(kind, layout) if code is None else code
    return Label(kind, round(float(x), 3), round(float(y), 3), int(status), int(code))


def same_label(a: Label | None, b: Label | None) -> bool:
    """Whether two labels (None: unlabelled) say the same: kind, position and event (the
    visibility code aside, which a tab never chooses)."""
    if a is None or b is None:
        return a is b
    return (a.kind, a.x, a.y, a.status) == (b.kind, b.x, b.y, b.status)
