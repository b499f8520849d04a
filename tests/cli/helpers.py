"""A bouncing ball on 320x180 frames and the stub model's sizes that detect it to the pixel, shared
by the tests of ``tracknet predict`` with the trajectory stage and of ``tracknet eval`` of
events."""

from __future__ import annotations

SIZE = (320, 180)
BOUNCE = 20
GAP = (10, 11, 12)  # frames where the ball is not seen
# the stub's heatmap at the frame's resolution: detections to the pixel
STUB = ("model.input_size=[320,176]", "model.heatmap.size=[320,180]")


def bouncing() -> list:
    """A ball flying right, falling to a bounce at frame BOUNCE and rising; unseen in GAP."""
    out: list = []
    for f in range(40):
        t = f if f <= BOUNCE else f - BOUNCE
        if f <= BOUNCE:
            x, y = 20 + 6 * t, 40 + 1.0 * t + 0.15 * t**2
        else:
            x, y = 20 + 6 * BOUNCE + 6 * t, 120 - 7.0 * t + 0.15 * t**2
        out.append(None if f in GAP else (x, y))
    return out
