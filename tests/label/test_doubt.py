"""The review queue's ranking on synthetic suggestion sequences: confident mistakes first."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tests.label.helpers import SIZE, N, fill, rally
from tracknet.label.confirmed import make_label
from tracknet.label.doubt import REVIEW_NEED, Track, curve_distance, flight, rank, rival_score
from tracknet.label.source import open_source
from tracknet.label.suggest import Suggestions


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confident_mistakes_rank_before_unsure_right_frames(seed):
    track, mistakes, unsure = rally(seed)
    wrong = set().union(*mistakes.values())
    queue = rank(track, {})
    frames = [q["frame"] for q in queue]
    assert set(frames[: len(wrong)]) == wrong, queue  # every mistake, and first
    assert set(frames) - wrong <= unsure  # the rest: frames a person should look at anyway
    reasons = {q["frame"]: q["reason"] for q in queue}
    assert {reasons[f] for f in (11, 25, 26)} == {"off flight"}
    assert reasons[50] == "off flight" or reasons[50] == "isolated"
    assert {reasons[f] for f in (53, 54)} == {"short run"}
    assert {reasons[f] for f in (30, 31, 32)} == {"missed"}
    assert frames.index(11) < 4  # the 40-px outlier at 0.99 is near the top
    # the first ranking (the peak score) put right but unsure frames first and missed most
    first = [q["frame"] for q in rank(track, {}, ranking="peak")]
    assert len(set(first[: len(wrong)]) & wrong) <= 3
    assert not {25, 26, 53, 54, 30, 31, 32} & set(first)


def test_a_pair_of_wrong_positions_is_judged_by_the_flights_around_it():
    track, _, _ = rally(0)
    traj, params = flight(track, {})
    # the stage explains 25-27 as a flight of their own between two "hits" ...
    assert not traj.outlier[[25, 26]].any()
    # ... but the flights before and after, extended a few frames, put the ball 40 px away
    distance = curve_distance(traj, np.where(track.visible[:, None], track.xy, np.nan))
    assert distance[25] > 35 and distance[26] > 35 and distance[27] < 5
    right = np.flatnonzero(track.visible & (np.arange(N) < 42))
    right = np.setdiff1d(right, [11, 25, 26])
    assert np.nanmax(distance[right]) < params.outlier_px  # right positions stay close


def test_a_confirmed_label_settles_its_frame():
    track, _, _ = rally(0)
    truth = {11: (200 + 18 * 11, 600 - 30 * 11 + 0.9 * 121)}
    labels = {f: make_label("visible", x, y, 0, "ball", SIZE) for f, (x, y) in truth.items()}
    frames = [q["frame"] for q in rank(track, labels)]
    assert 11 not in frames and {25, 26} <= set(frames)


def test_a_second_candidate_close_in_score_raises_doubt():
    track, _, _ = rally(0)
    score, rival = track.score.copy(), track.rival.copy()
    score[20] = 0.7  # on the flight, a middling score: not queued on that alone
    assert 20 not in [q["frame"] for q in rank(Track(**{**track.__dict__, "score": score}), {})]
    rival[20] = 0.68  # another blob almost as strong: now it is
    queue = rank(Track(**{**track.__dict__, "score": score, "rival": rival}), {})
    entry = next(q for q in queue if q["frame"] == 20)
    assert entry["reason"] == "rival" and entry["need"] >= REVIEW_NEED
    assert entry["reasons"] == ["rival", "low confidence"]
    rival[20] = 0.4  # a weak one (under the threshold): no doubt from it
    queue = rank(Track(**{**track.__dict__, "score": score, "rival": rival}), {})
    assert 20 not in [q["frame"] for q in queue]
    # off the flight, a rival alone is enough (the model may have picked the wrong blob)
    score[50], rival[50] = 0.99, 0.97
    queue = rank(Track(**{**track.__dict__, "score": score, "rival": rival}), {})
    assert "rival" in next(q for q in queue if q["frame"] == 50)["reasons"]


def test_the_rival_is_the_best_candidate_away_from_the_suggested_one():
    cand_xy = np.array([[100.0, 100.0], [103.0, 100.0], [300.0, 50.0], [10.0, 10.0]])
    cand_score = np.array([0.9, 0.8, 0.6, 0.3])
    assert rival_score((100.0, 100.0), cand_xy, cand_score, apart=5.0) == 0.6  # 103: same ball
    assert rival_score((300.0, 50.0), cand_xy, cand_score, apart=5.0) == 0.9
    assert rival_score((1.0, 1.0), np.zeros((0, 2)), np.zeros(0), apart=5.0) == 0.0


def test_suggestions_keep_the_rival_of_each_frame(video):
    suggestions = Suggestions(open_source(video), "unused")
    pred = SimpleNamespace(
        index=3,
        ok=True,
        visible=True,
        x=100.0,
        y=50.0,
        score=0.9,
        candidates_xy=np.array([[100.0, 50.0], [250.0, 120.0]]),
        candidates_score=np.array([0.9, 0.7]),
    )
    suggestions._add(pred, tracker=None)
    fill(suggestions, {4: (False, 0.0, 0.0, 0.1)})
    track = suggestions.track()
    assert track.rival[3] == pytest.approx(0.7) and track.rival[4] == 0
    assert track.fps == 30.0 and track.frame_size == (320, 180)


def test_a_faint_peak_on_a_no_ball_frame_is_queued():
    track, _, _ = rally(0)
    frames = {q["frame"]: q["reason"] for q in rank(track, {})}
    assert frames.get(57) == "faint ball"  # 0.4 against a threshold of 0.5
    assert not {f for f in range(43, 60) if f not in (50, 53, 54, 57)} & set(frames)


def test_an_unknown_ranking_is_refused():
    track, _, _ = rally(0)
    with pytest.raises(ValueError, match="ranking must be one of"):
        rank(track, {}, ranking="score")
    empty = Track(*(np.zeros(0, bool),) * 2, np.zeros((0, 2)), *(np.zeros(0),) * 2, 0.5, SIZE)
    assert rank(empty, {}) == [] and rank(empty, {}, ranking="peak") == []
