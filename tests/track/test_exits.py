"""The ball out through the top of the picture (``predict.exits``, :mod:`tracknet.track.exits`):
the detections made while it is out are dropped and nothing is filled there; a ball that stays
in the picture, or a new rally after ``max_frames``, keeps every detection."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.track.helpers import track_candidates
from tracknet.config import ExitConfig, PredictConfig, TrajectoryConfig
from tracknet.track.exits import TopExitGate

HEAD = (640.0, 420.0)  # what the detector finds while the shuttle is out


def _lob(out_frames: int = 25, n_after: int = 20, scale: float = 1.0):
    """Per frame the detection ``(x, y)`` or None and the truth (ball in the picture or not):
    the shuttle rises out of the top, a head is detected while it is out, then it falls back in
    through the top."""
    rows = []
    for j in range(20):  # rising: y 300 -> 15
        y = 300.0 - 15.0 * j
        rows.append(((400.0 + 5 * j, y * scale), True))
    for j in range(out_frames):  # out: the head, except in a few frames
        rows.append(((HEAD[0], HEAD[1] * scale) if j % 5 else None, False))
    for j in range(n_after):  # back in: y 20 -> 400
        rows.append(((700.0 + 3 * j, (20.0 + 19.0 * j) * scale), True))
    return rows


def _track(rows, exits: ExitConfig, height: float = 720.0, fill: str = "none"):
    cfg = dataclasses.replace(
        PredictConfig(), exits=exits, trajectory=dataclasses.replace(TrajectoryConfig(), fill=fill)
    )
    empty = np.zeros((5, 3))
    frames = [
        empty if d is None else np.array([(*d, 0.8)] + [(0.0, 0.0, 0.0)] * 4) for d, _ in rows
    ]
    return track_candidates(frames, cfg, height)


def test_the_detections_while_the_shuttle_is_out_are_dropped():
    rows = _lob()
    off = _track(rows, ExitConfig(enabled=False))
    on = _track(rows, ExitConfig(enabled=True))
    truth = np.array([t for _, t in rows])
    head_frames = np.array([d is not None and not t for d, t in rows])
    # without the stage the head is the ball (after the online gate lets it in)
    assert off.visible[head_frames].mean() > 0.7
    assert not on.visible[~truth].any()  # with it: no ball while the shuttle is out
    assert on.visible[truth].all()  # every real detection kept, on the way out and back in
    detected = np.array([d for d, t in rows if t])
    assert np.allclose(on.xy[truth], detected)


def test_nothing_is_filled_while_the_shuttle_is_out():
    rows = [(d if t else None, t) for d, t in _lob(out_frames=6)]  # no head: a plain gap
    filled = _track(rows, ExitConfig(enabled=False), fill="linear")
    kept = _track(rows, ExitConfig(enabled=True), fill="linear")
    truth = np.array([t for _, t in rows])
    assert filled.visible[~truth].any()  # the gap between the two top positions is bridged
    assert not kept.visible[~truth].any() and not kept.filled[~truth].any()
    assert kept.visible[truth].all()


def _rows(ys):
    """Detections at ``(100 + 5 i, y)``; NaN: no detection."""
    return [
        (None if np.isnan(y) else (100.0 + 5.0 * i, float(y)), not np.isnan(y))
        for i, y in enumerate(ys)
    ]


def test_a_ball_that_stays_in_the_picture_keeps_everything():
    # rises to 40 px below the top (outside the 30-px edge), is missed for 3 frames, falls again
    ys = [300.0 - 26.0 * j for j in range(11)] + [np.nan] * 3 + [60.0 + 20.0 * j for j in range(10)]
    on = _track(_rows(ys), ExitConfig(enabled=True))
    off = _track(_rows(ys), ExitConfig(enabled=False))
    assert np.array_equal(on.visible, off.visible) and np.array_equal(on.xy, off.xy)
    # a spot near the top that does not rise (a scoreboard light), then a detection below
    ys = [20.0] * 10 + [np.nan] * 2 + [250.0] * 5
    on = _track(_rows(ys), ExitConfig(enabled=True))
    assert on.visible[:10].all() and on.visible[12:].all()


def test_an_exit_ends_after_max_frames_and_at_a_candidate_near_the_top():
    rows = _lob(out_frames=40, n_after=0) + [((500.0, 450.0), True)] * 10  # a new rally, low
    on = _track(rows, ExitConfig(enabled=True, max_frames=30))
    assert on.visible[:20].all() and not on.visible[20:50].any()
    assert on.visible[51:55].all() and on.visible[60:].all()  # after 30 frames: whatever is there
    gate = TopExitGate(max_frames=30)
    head = np.array([[*HEAD, 0.9], [700.0, 50.0, 0.3], [0.0, 0.0, 0.0]])
    for i, y in enumerate([100.0, 60.0, 20.0]):  # rising to the top
        cand, out = gate.filter(i, np.array([[400.0, y, 0.9]]))
        assert not out and cand[0, 2] == 0.9
        gate.observe(i, True, y)
    cand, out = gate.filter(3, head[[0, 2]])  # only the head: the ball has left
    assert out and (cand[:, 2] == 0).all()
    cand, out = gate.filter(4, head)  # the head and a weak candidate near the top: back in
    assert not out and cand[0, 2] == 0.0 and cand[1, 2] == 0.3
    gate.observe(4, True, 50.0)
    cand, out = gate.filter(5, head)  # not rising any more: no gating
    assert not out and np.array_equal(cand, head)


@pytest.mark.parametrize("height", [720.0, 1080.0])
def test_the_pixels_follow_the_frame_height(height):
    rows = _lob(scale=height / 720.0)
    on = _track(rows, ExitConfig(enabled=True), height=height)
    truth = np.array([t for _, t in rows])
    assert not on.visible[~truth].any() and on.visible[truth].all()
    gate = TopExitGate(frame_height=height)
    assert (gate.edge, gate.entry) == (30.0 * height / 720.0, 60.0 * height / 720.0)


def test_max_frames_must_be_positive():
    with pytest.raises(ValueError, match="max_frames must be at least 1"):
        TopExitGate(max_frames=0)
