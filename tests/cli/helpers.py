"""A bouncing ball on 320x180 frames and the stub model's sizes that detect it to the pixel, shared
by the tests of ``tracknet predict`` with the trajectory stage and of ``tracknet eval`` of
events."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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


def write_event_clips(root: Path) -> Path:
    """Five videos of :func:`bouncing` under ``root`` (``a b c`` test, ``t`` train, ``v`` val)
    with their ``<stem>_ball.csv``; ``a`` and ``b`` also with a ``<stem>_events.csv`` (a bounce
    at BOUNCE; a hit at 5 the stub never sees), ``c`` without events. Returns ``root``."""
    from tests.infer.conftest import write_spot_video
    from tracknet.io.events import Event, write_events_csv
    from tracknet.io.labels import TrackLabels, write_ball_csv

    positions = bouncing()
    n = len(positions)
    vis = np.array([p is not None for p in positions], int)
    xy = np.array([p if p is not None else (0, 0) for p in positions], float)
    for stem in ("a", "b", "c", "t", "v"):
        video = write_spot_video(root / f"{stem}.mp4", positions, size=SIZE, fps=30)
        write_ball_csv(
            video.with_name(f"{stem}_ball.csv"), TrackLabels(np.arange(n), vis, xy[:, 0], xy[:, 1])
        )
        truth = [Event(BOUNCE, "bounce")] if stem == "a" else [Event(5, "hit")]
        if stem in "ab":
            write_events_csv(video.with_name(f"{stem}_events.csv"), truth)
    return root
