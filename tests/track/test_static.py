"""Static distractors (``predict.static``, :mod:`tracknet.track.static`): a spot the detector
fires on in a large share of the frames is dropped and the video tracked again; a moving ball
and a ball resting for a short while are kept."""

from __future__ import annotations

import dataclasses

import numpy as np

from tests.track.helpers import track_candidates
from tracknet.config import PredictConfig, StaticConfig
from tracknet.track.static import mask_hotspots, static_hotspots

LAMP = (330.0, 173.0)  # a light that looks like a shuttle, in every frame


def _rally(n: int = 120, lamp_score: float = 0.9, rest: int = 0):
    """Per frame ``(ball xy or None, candidates [K, 3])``: a ball flying left to right (after
    ``rest`` frames lying still at its start), and the lamp, stronger than the ball."""
    frames = []
    for i in range(n):
        if i < rest:
            ball = (600.0, 500.0)
        else:
            j = i - rest
            ball = (600.0 + 4.0 * j, 500.0 - 6.0 * j + 0.05 * j * j)
        visible = i % 40 < 30  # the ball leaves the picture for 10 frames of 40
        cands = [(*LAMP, lamp_score)]
        if visible:
            cands.append((*ball, 0.6))
        frames.append((ball if visible else None, np.array(cands + [(0, 0, 0)] * (5 - len(cands)))))
    return frames


def _track(frames, static: StaticConfig):
    cfg = dataclasses.replace(PredictConfig(), static=static)
    return track_candidates((c for _, c in frames), cfg)


def test_the_hotspot_is_found_and_the_ball_is_not():
    frames = _rally(rest=10)
    cands = np.stack([c for _, c in frames])
    hotspots = static_hotspots(cands, radius=3.0, min_share=0.2)
    assert hotspots.shape == (1, 2) and np.allclose(hotspots[0], LAMP)
    masked = mask_hotspots(cands, hotspots, radius=3.0)
    assert (masked[:, 0, 2] == 0).all() and (masked[:, 1:, 2] == cands[:, 1:, 2]).all()
    assert static_hotspots(cands[:, 1:], radius=3.0, min_share=0.2).shape == (0, 2)
    assert static_hotspots(np.zeros((0, 5, 3)), 3.0, 0.2).shape == (0, 2)


def test_the_tracker_no_longer_holds_the_lamp_and_finds_the_ball():
    frames = _rally()
    off = _track(frames, StaticConfig(enabled=False))
    on = _track(frames, StaticConfig(enabled=True))
    truth = [b for b, _ in frames]
    on_lamp = [np.allclose(off.xy[i], LAMP) for i in range(len(frames)) if off.visible[i]]
    assert np.mean(on_lamp) > 0.9  # without it the lamp wins (stronger, in every frame)
    for i, ball in enumerate(truth):
        if ball is None:
            assert not on.visible[i], i  # the ball is out: no ball, not the lamp
        else:
            assert on.visible[i] and np.allclose(on.xy[i], ball, atol=1e-3), i


def test_a_ball_resting_less_than_the_share_is_kept_and_no_hotspot_changes_nothing():
    frames = _rally(rest=15, lamp_score=0.0)  # no lamp: only the ball, still for 15 of 120
    off = _track(frames, StaticConfig(enabled=False))
    on = _track(frames, StaticConfig(enabled=True))
    assert np.array_equal(off.visible, on.visible) and np.array_equal(off.xy, on.xy)
    assert on.visible[:10].all() and np.allclose(on.xy[:10], (600.0, 500.0))


def test_the_radius_follows_the_frame_height():
    frames = _rally()
    jitter = np.random.default_rng(0).uniform(-3.5, 3.5, size=(len(frames), 2))

    def lamp_frames(height: int) -> int:
        cfg = StaticConfig(enabled=True, radius_px=3.0)  # 3 px at 720, 6 px at 1440
        wobbling = []
        for i, (_, c) in enumerate(frames):
            c = c.copy()
            c[0, :2] += jitter[i]  # the lamp wobbles by up to 5 px
            c[1:, 2] = 0  # and it is alone: whatever of it survives is tracked
            wobbling.append(c)
        track = track_candidates(wobbling, dataclasses.replace(PredictConfig(), static=cfg), height)
        return sum(
            bool(v) and np.hypot(*(xy - LAMP)) < 8
            for v, xy in zip(track.visible, track.xy, strict=True)
        )

    assert lamp_frames(1440) == 0  # every wobble within the scaled radius
    assert lamp_frames(720) > 0  # at 3 px some of the lamp's detections stay
