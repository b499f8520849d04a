"""The online gate (distractors, jumps, re-acquisition), the offline smoothing, and the
per-video track they build."""

import numpy as np
import pytest

from tracknet.config import PredictConfig
from tracknet.track.builder import FramePrediction, TrackBuilder
from tracknet.track.smoothing import smooth_track
from tracknet.track.tracker import OnlineTracker, track_sequence


def _parabola(n=30):
    """A ball thrown across a 1280x720 frame: ~25 px per frame sideways."""
    t = np.arange(n, dtype=np.float64)
    return np.stack([100 + 25 * t, 600 - 40 * t + 1.4 * t**2], axis=1)  # [n, 2]


def test_keeps_the_ball_against_a_stronger_distractor_far_away():
    ball = _parabola()
    distractor = np.array([1100.0, 150.0])  # a court mark, always detected strongly
    xy = np.stack([ball, np.broadcast_to(distractor, ball.shape)], axis=1)  # [N, 2, 2]
    score = np.tile([0.6, 0.95], (len(ball), 1))
    score[0] = [0.99, 0.95]  # first frame: the ball is the strongest, the tracker locks on it
    visible, track, _ = track_sequence(xy, score, gate_px=300)
    assert visible.all()
    np.testing.assert_allclose(track, ball)


def test_prefers_the_candidate_on_the_trajectory_within_the_gate():
    ball = _parabola(12)
    tracker = OnlineTracker(gate_px=300)
    for p in ball[:10]:
        tracker.update(p[None], np.array([0.8]))
    # next frame: a stronger blob 150 px off the predicted point, the ball slightly weaker
    blob = ball[10] + [0.0, 150.0]
    visible, xy, score = tracker.update(np.stack([blob, ball[10]]), np.array([0.95, 0.7]))
    assert visible and np.allclose(xy, ball[10]) and score == pytest.approx(0.7)


def test_a_jump_beyond_the_gate_is_rejected():
    tracker = OnlineTracker(gate_px=100, max_lost=5)
    for x in (100.0, 110.0, 120.0):
        assert tracker.update(np.array([[x, 300.0]]), np.array([0.9]))[0]
    visible, xy, score = tracker.update(np.array([[600.0, 300.0]]), np.array([0.99]))
    assert not visible and np.isnan(xy).all() and score == 0.0
    # the ball again, where constant velocity puts it two frames later
    visible, xy, _ = tracker.update(
        np.array([[600.0, 300.0], [140.0, 301.0]]), np.array([0.99, 0.5])
    )
    assert visible and np.allclose(xy, [140.0, 301.0])


def test_reacquires_after_max_lost_frames():
    tracker = OnlineTracker(gate_px=100, max_lost=3)
    tracker.update(np.array([[100.0, 100.0]]), np.array([0.9]))  # a wrong early lock
    far = np.array([[900.0, 500.0]])
    outcomes = [tracker.update(far, np.array([0.9]))[0] for _ in range(5)]
    # three frames rejected by the gate, then the strongest candidate is taken and followed
    assert outcomes == [False, False, False, True, True]


def test_empty_and_zero_score_candidates_are_absent():
    tracker = OnlineTracker()
    assert not tracker.update(np.zeros((0, 2)), np.zeros(0))[0]
    assert not tracker.update(np.zeros((3, 2)), np.zeros(3))[0]
    visible, xy, _ = tracker.update(np.array([[0.0, 0.0], [50.0, 60.0]]), np.array([0.0, 0.4]))
    assert visible and np.allclose(xy, [50.0, 60.0])
    with pytest.raises(ValueError, match="scores"):
        tracker.update(np.zeros((2, 2)), np.zeros(3))


def test_track_sequence_shapes_and_nan_when_invisible():
    xy = np.zeros((4, 3, 2))
    score = np.zeros((4, 3))
    xy[1, 0], score[1, 0] = [10.0, 20.0], 0.7
    visible, track, s = track_sequence(xy, score)
    assert visible.tolist() == [False, True, False, False]
    assert track.shape == (4, 2) and np.isnan(track[[0, 2, 3]]).all()
    assert s.tolist() == [0.0, 0.7, 0.0, 0.0]


# --------------------------------------------------------------------------- smoothing
def test_fills_gaps_up_to_max_gap_between_detections_only():
    n = 20
    xy = np.stack([np.arange(n) * 10.0, np.full(n, 50.0)], axis=1)
    visible = np.ones(n, dtype=bool)
    visible[[0, 1]] = False  # leading gap: never extrapolated
    visible[5:8] = False  # gap of 3 <= 3: filled
    visible[10:14] = False  # gap of 4 > 3: left empty
    visible[18:] = False  # trailing gap: never extrapolated
    vis, out, interp = smooth_track(visible, np.where(visible[:, None], xy, 0.0), max_gap=3)
    assert interp.tolist() == [i in (5, 6, 7) for i in range(n)]
    np.testing.assert_allclose(out[5:8], xy[5:8])
    assert vis[5:8].all()
    for empty in (slice(0, 2), slice(10, 14), slice(18, n)):
        assert not vis[empty].any() and np.isnan(out[empty]).all()


def test_max_gap_zero_fills_nothing():
    visible = np.array([1, 0, 1], dtype=bool)
    vis, _, interp = smooth_track(visible, np.zeros((3, 2)), max_gap=0)
    assert vis.tolist() == [True, False, True] and not interp.any()


def test_isolated_outlier_is_removed_and_refilled():
    xy = _parabola(10)
    xy[5] = [1200.0, 40.0]  # a false detection in the middle of a flight
    vis, out, interp = smooth_track(np.ones(10, dtype=bool), xy, max_gap=2, outlier_px=100)
    assert vis.all() and interp.tolist() == [i == 5 for i in range(10)]
    np.testing.assert_allclose(out[5], (xy[4] + xy[6]) / 2)


def test_a_sharp_turn_is_not_an_outlier():
    # the ball is hit at frame 5 and flies back: 60 px per frame, both ways
    x = np.array([0, 60, 120, 180, 240, 300, 240, 180, 120, 60], dtype=np.float64)
    xy = np.stack([x, np.full(10, 100.0)], axis=1)
    vis, out, interp = smooth_track(np.ones(10, dtype=bool), xy, outlier_px=100)
    assert vis.all() and not interp.any()
    np.testing.assert_allclose(out, xy)


def test_outliers_can_be_kept():
    xy = _parabola(5)
    xy[2] = [1200.0, 40.0]
    vis, out, _ = smooth_track(np.ones(5, dtype=bool), xy, outlier_px=None)
    assert vis.all() and np.allclose(out, xy)


def test_nothing_is_invented_without_detections():
    vis, out, interp = smooth_track(np.zeros(12, dtype=bool), np.zeros((12, 2)), max_gap=5)
    assert not vis.any() and not interp.any() and np.isnan(out).all()
    vis, out, interp = smooth_track(np.zeros(0, dtype=bool), np.zeros((0, 2)))
    assert vis.shape == (0,) and out.shape == (0, 2)


def test_track_memory_per_frame_is_small():
    """The per-frame state kept for a video is a few hundred bytes (no frames, no heatmaps)."""
    builder = TrackBuilder(PredictConfig())
    for i in range(5000):
        builder.add(
            FramePrediction(
                i, True, True, float(i), 5.0, 0.9, np.full((5, 2), i, float), np.ones(5)
            )
        )
    track = builder.finish()
    assert len(track) == 5000 and track.visible.all()
    per_frame = sum(a.nbytes for a in builder._cols.data.values()) / 5000
    assert per_frame < 400
