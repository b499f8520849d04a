"""The trajectory stage on synthetic flights with known breakpoints, gaps and outliers."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tracknet.track.event_kinds import bounce_evidence, label_events
from tracknet.track.trajectory import (
    DETECTED,
    FITTED,
    INTERPOLATED,
    NONE,
    TrajectoryParams,
    fit_trajectory,
)

GRAVITY = 1.2  # px / frame², image y down


def _rally(n: int, p0, v0, kinks: dict[int, tuple[float, float]]) -> np.ndarray:
    """``[n, 2]`` positions of a ball under image 'gravity' whose velocity is set anew at the
    frames of ``kinks`` (frame -> new velocity): piecewise parabolas with known breakpoints."""
    out = np.zeros((n, 2))
    p, v, since = np.asarray(p0, float), np.asarray(v0, float), 0
    for f in range(n):
        dt = f - since
        out[f] = p + v * dt + 0.5 * np.array([0.0, GRAVITY]) * dt**2
        if f in kinks:
            p, v, since = out[f].copy(), np.asarray(kinks[f], float), f
    return out


# a serve-like rally: hit up and right, bounce at 30, hit back left at 45, bounce at 75
KINKS = {30: (5.0, -20.0), 45: (-14.0, -10.0), 75: (-11.0, -14.0)}
KINDS = {30: "bounce", 45: "hit", 75: "bounce"}


def _track(noise: float = 0.3, n: int = 95, seed: int = 0):
    xy = _rally(n, (200.0, 600.0), (6.0, -16.0), KINKS)
    rng = np.random.default_rng(seed)
    return np.arange(n), np.ones(n, bool), xy + rng.normal(0, noise, xy.shape), xy


def test_the_synthetic_flight_is_what_the_tests_assume():
    _, _, _, xy = _track(noise=0)
    v = np.diff(xy, axis=0)
    assert v[29, 1] > 0 > v[30, 1]  # falling into the bounce, rising after it
    assert v[44, 0] > 0 > v[45, 0]  # the hit sends the ball back


@pytest.mark.parametrize("noise", [0.0, 0.3, 1.0])
def test_hits_and_bounces_are_found_within_one_frame(noise):
    frames, vis, xy, _ = _track(noise)
    traj = fit_trajectory(frames, vis, xy)
    found = {e.frame: e.kind for e in traj.events}
    assert len(found) == len(KINKS), found
    for frame, kind in KINDS.items():
        near = [f for f in found if abs(f - frame) <= 1]
        assert near and found[near[0]] == kind, (frame, kind, found)
    for event in traj.events:
        truth = _track(0)[3][event.frame]
        assert np.hypot(event.x - truth[0], event.y - truth[1]) < 6
        assert 0.5 <= event.score < 1
    assert len(traj.segments) == len(KINKS) + 1
    assert not traj.outlier.any()


def test_a_smooth_flight_has_no_event():
    n = 60
    xy = _rally(n, (100.0, 500.0), (12.0, -30.0), {})
    traj = fit_trajectory(
        np.arange(n), np.ones(n), xy + np.random.default_rng(1).normal(0, 1, xy.shape)
    )
    assert traj.events == []
    assert len(traj.segments) == 1 and traj.segments[0].rms_px < 2


def test_a_gap_inside_a_flight_is_filled_from_its_curve_and_flagged():
    frames, vis, xy, truth = _track()
    vis[10:14] = False  # four missed frames in the middle of the first flight
    traj = fit_trajectory(frames, vis, xy)
    assert (traj.source[10:14] == FITTED).all()
    assert not traj.visible[10:14].any()  # filled is never 'visible'
    assert traj.filled[10:14].all() and traj.filled.sum() == 4
    assert np.hypot(*(traj.xy[10:14] - truth[10:14]).T).max() < 2.0
    assert (traj.segment[10:14] == traj.segment[9]).all() and traj.segment[9] == traj.segment[14]
    assert (traj.source[vis] == DETECTED).all()
    np.testing.assert_array_equal(traj.xy[vis], xy[vis])  # detections are kept as they were


def test_linear_fill_is_flagged_interpolated_and_none_fills_nothing():
    frames, vis, xy, _ = _track()
    vis[10:14] = False
    linear = fit_trajectory(frames, vis, xy, params=TrajectoryParams(fill="linear"))
    assert (linear.source[10:14] == INTERPOLATED).all()
    expected = xy[9] + (np.arange(1, 5) / 5)[:, None] * (xy[14] - xy[9])
    np.testing.assert_allclose(linear.xy[10:14], expected)
    nothing = fit_trajectory(frames, vis, xy, params=TrajectoryParams(fill="none"))
    assert (nothing.source[10:14] == NONE).all() and np.isnan(nothing.xy[10:14]).all()


def test_gaps_are_never_filled_across_segments_or_beyond_their_ends():
    frames, vis, xy, _ = _track()
    vis[43:48] = False  # the hit at 45 is hidden (behind the player)
    vis[:3] = False  # the track starts late
    vis[-4:] = False  # and ends early
    traj = fit_trajectory(frames, vis, xy)
    hit = [e for e in traj.events if e.kind == "hit"]
    assert len(hit) == 1 and abs(hit[0].frame - 45) <= 1  # still timed inside the gap
    assert (traj.source[43:48] == NONE).all() and (traj.segment[43:48] == -1).all()
    assert (traj.source[:3] == NONE).all() and (traj.source[-4:] == NONE).all()
    for seg in traj.segments:  # each filled frame lies strictly inside its own segment
        rows = np.flatnonzero(traj.segment == seg.id)
        assert rows.min() == seg.start and rows.max() == seg.end


def test_a_long_gap_ends_the_flight_and_is_not_filled():
    n = 60
    xy = _rally(n, (100.0, 500.0), (12.0, -30.0), {})
    vis = np.ones(n, bool)
    vis[20:35] = False  # 15 frames > max_gap
    traj = fit_trajectory(np.arange(n), vis, xy, params=TrajectoryParams(max_gap=8))
    assert len(traj.segments) == 2 and traj.events == []
    assert (traj.source[20:35] == NONE).all()
    filled = fit_trajectory(np.arange(n), vis, xy, params=TrajectoryParams(max_gap=20))
    assert len(filled.segments) == 1 and (filled.source[20:35] == FITTED).all()


def test_injected_outliers_are_rejected_and_their_frames_filled():
    frames, vis, xy, truth = _track(noise=0.5)
    bad = [8, 20, 21, 52, 88]  # isolated ones and a pair (a head detected twice)
    xy[bad] += [[90.0, -60.0], [-120.0, 40.0], [-118.0, 42.0], [70.0, 70.0], [0.0, 150.0]]
    traj = fit_trajectory(frames, vis, xy)
    np.testing.assert_array_equal(np.flatnonzero(traj.outlier), bad)
    assert not traj.visible[bad].any()
    assert (traj.source[bad] == FITTED).all()
    assert np.hypot(*(traj.xy[bad] - truth[bad]).T).max() < 3
    assert sorted(e.frame for e in traj.events) == pytest.approx(sorted(KINKS), abs=1)


def test_speed_of_a_segment_in_pixels_per_second():
    n = 40
    xy = np.stack([100 + 6.0 * np.arange(n), 300 + 8.0 * np.arange(n)], axis=1)  # 10 px/frame
    traj = fit_trajectory(np.arange(n), np.ones(n), xy, fps=25.0)
    (seg,) = traj.segments
    assert seg.speed_px_s == pytest.approx(250.0, rel=1e-6)
    assert seg.max_speed_px_s == pytest.approx(250.0, rel=1e-6)
    np.testing.assert_allclose(seg.position([0, 39]), xy[[0, 39]], atol=1e-6)
    np.testing.assert_allclose(seg.velocity([5]), [[6.0, 8.0]], atol=1e-9)


def test_frames_need_not_start_at_zero_or_be_contiguous():
    frames, vis, xy, _ = _track()
    keep = np.ones(len(frames), bool)
    keep[[5, 6, 60]] = False  # rows missing from the input entirely
    traj = fit_trajectory(frames[keep] + 1000, vis[keep], xy[keep])
    assert sorted(e.frame - 1000 for e in traj.events) == pytest.approx(sorted(KINKS), abs=1)
    assert len(traj.frames) == keep.sum()


def test_empty_single_and_invisible_tracks_give_clear_results():
    empty = fit_trajectory(np.zeros(0, int), np.zeros(0, bool), np.zeros((0, 2)))
    assert len(empty.frames) == 0 and empty.segments == [] and empty.events == []

    one = fit_trajectory([7], [1], [[10.0, 20.0]], score=[0.9])
    assert one.source.tolist() == [DETECTED] and one.segment.tolist() == [-1]
    assert one.visible.tolist() == [True] and one.score.tolist() == [0.9]
    assert one.segments == [] and one.events == []

    blind = fit_trajectory(np.arange(5), np.zeros(5), np.full((5, 2), np.nan))
    assert (blind.source == NONE).all() and np.isnan(blind.xy).all() and blind.segments == []

    two = fit_trajectory([0, 3], [1, 1], [[0.0, 0.0], [30.0, 0.0]])
    assert len(two.segments) == 1 and two.segments[0].degree == 1
    assert (two.source == DETECTED).all()  # only the input rows: frames 1-2 are not in it


def test_a_visible_row_without_coordinates_counts_as_missing():
    frames, vis, xy, _ = _track()
    xy[12] = np.nan
    traj = fit_trajectory(frames, vis, xy)
    assert traj.source[12] == FITTED and np.isfinite(traj.xy[12]).all()


def test_bad_input_raises_value_errors():
    with pytest.raises(ValueError, match="strictly increasing"):
        fit_trajectory([0, 2, 1], [1, 1, 1], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="lengths differ"):
        fit_trajectory([0, 1], [1, 1, 1], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="integers"):
        fit_trajectory([0.5, 1.0], [1, 1], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="fps"):
        fit_trajectory([0], [1], [[0.0, 0.0]], fps=0)
    with pytest.raises(ValueError, match="fill"):
        TrajectoryParams(fill="spline")
    with pytest.raises(ValueError, match="window"):
        TrajectoryParams(window=2)


def test_bounce_evidence_and_the_rally_rhythm():
    before = np.array([[5.0, 20.0], [5.0, 20.0], [0.0, -10.0]])
    after = np.array([[4.5, -10.0], [-15.0, -20.0], [0.0, -30.0]])
    evidence = bounce_evidence(before, after)
    assert evidence[0] > 0  # turned up, x kept: a bounce
    assert evidence[1] < 0  # sent back sideways: a hit
    assert evidence[2] < 0  # rising before: a hit
    # two weak 'hits' between clear bounces become bounce - hit - bounce - hit with the rhythm
    weak = np.array([1.0, -0.1, -0.1, -1.0])
    assert label_events(weak, np.zeros(4), 0.0).tolist() == [True, False, False, False]
    assert label_events(weak, np.zeros(4), 1.0).tolist() == [True, False, True, False]
    assert label_events(weak, np.arange(4), 1.0).tolist() == [True, False, False, False]


def test_a_long_track_is_fast():
    n = 3000
    kinks = {f: ((-1) ** (f // 40) * 9.0, -22.0) for f in range(40, n, 40)}
    xy = _rally(n, (300.0, 600.0), (9.0, -22.0), kinks)
    xy += np.random.default_rng(0).normal(0, 1.0, xy.shape)
    vis = np.random.default_rng(1).random(n) > 0.1
    fit_trajectory(np.arange(n), vis, xy)  # warm up
    start = time.process_time()
    traj = fit_trajectory(np.arange(n), vis, xy)
    elapsed = time.process_time() - start
    assert elapsed < 0.5, elapsed  # measured ~0.03 s on a loaded 2-core machine
    assert len(traj.events) > 0.8 * len(kinks)


def test_settings_scale_to_another_video():
    base = TrajectoryParams()
    big = base.for_video(frame_height=1440, fps=60)
    assert big.outlier_px == 2 * base.outlier_px and big.noise_px == 2 * base.noise_px
    assert big.min_turn_px == base.min_turn_px  # twice the pixels in half the time per frame
    assert big.max_gap == 2 * base.max_gap and big.window == base.window
    assert base.for_video(720, 30) == base
    with pytest.raises(ValueError):
        base.for_video(0, 30)
