"""Event scoring with hand-made cases: tolerance edges, double predictions, kinds kept apart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracknet.eval.events import (
    EventScores,
    match_event_frames,
    score_event_lists,
    score_events,
    sum_event_results,
)
from tracknet.io.events import Event


def _score(pred, gt, tolerance=2):
    """``pred``/``gt``: lists of (frame, kind)."""
    return score_events(
        np.array([f for f, _ in pred], dtype=int),
        [k for _, k in pred],
        np.array([f for f, _ in gt], dtype=int),
        [k for _, k in gt],
        tolerance,
    )


def test_exact_matches_score_one():
    events = [(10, "hit"), (25, "bounce"), (40, "hit")]
    result = _score(events, events)
    assert (result.tp, result.fp, result.fn) == (3, 0, 0)
    assert result.precision == result.recall == result.f1 == 1.0
    assert result.mean_abs_offset == 0.0
    assert result.by_kind["hit"].tp == 2
    assert result.by_kind["bounce"].tp == 1
    json.dumps(result.as_dict())  # plain python types only


def test_tolerance_is_inclusive_and_one_more_frame_misses():
    gt = [(50, "bounce")]
    assert _score([(52, "bounce")], gt).tp == 1
    assert _score([(48, "bounce")], gt).tp == 1
    off = _score([(53, "bounce")], gt)
    assert (off.tp, off.fp, off.fn) == (0, 1, 1)
    assert off.f1 == 0.0
    assert _score([(50, "bounce")], [(51, "bounce")], tolerance=0).tp == 0


def test_two_predictions_for_one_label_give_one_tp_and_one_fp():
    result = _score([(30, "hit"), (31, "hit")], [(30, "hit")])
    assert (result.tp, result.fp, result.fn) == (1, 1, 0)
    assert result.precision == 0.5 and result.recall == 1.0
    assert result.f1 == pytest.approx(2 / 3)


def test_kinds_never_cross():
    result = _score([(30, "hit")], [(30, "bounce")])
    assert (result.tp, result.fp, result.fn) == (0, 1, 1)
    assert result.by_kind["hit"].fp == 1
    assert result.by_kind["bounce"].fn == 1


def test_the_matching_is_maximal_where_greedy_by_distance_can_strand_a_label():
    # labels 10 and 12, predictions 11 and 13, tolerance 1: pairing 11-12 first would leave
    # 10 and 13 unmatched; the best matching pairs 11-10 and 13-12.
    pairs = match_event_frames(np.array([11, 13]), np.array([10, 12]), tolerance=1)
    assert pairs.tolist() == [[0, 0], [1, 1]]
    result = _score([(11, "hit"), (13, "hit")], [(10, "hit"), (12, "hit")], tolerance=1)
    assert result.tp == 2 and result.mean_abs_offset == 1.0


def test_unordered_input_and_empty_sides():
    pairs = match_event_frames(np.array([90, 10, 50]), np.array([49, 91, 12]), tolerance=2)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (1, 2), (2, 0)]
    none = _score([], [(5, "hit")])
    assert (none.tp, none.fn, none.precision) == (0, 1, 0.0)
    assert none.mean_abs_offset is None
    nothing = _score([], [])
    assert nothing.f1 == 0.0 and nothing.tolerance == 2


def test_per_kind_and_overall_counts_add_up():
    gt = [(10, "hit"), (20, "bounce"), (30, "hit"), (40, "bounce"), (50, "hit")]
    pred = [(11, "hit"), (19, "bounce"), (36, "hit"), (40, "hit"), (52, "hit")]
    result = _score(pred, gt)
    hit, bounce = result.by_kind["hit"], result.by_kind["bounce"]
    assert (hit.tp, hit.fp, hit.fn) == (2, 2, 1)
    assert (bounce.tp, bounce.fp, bounce.fn) == (1, 0, 1)
    for key in ("tp", "fp", "fn"):
        assert getattr(result, key) == getattr(hit, key) + getattr(bounce, key)
    assert result.precision == pytest.approx(3 / 5)
    assert result.recall == pytest.approx(3 / 5)


def test_event_lists_and_bad_input():
    pred = [Event(10, "hit"), Event(20, "bounce")]
    assert score_event_lists(pred, pred, tolerance=0).f1 == 1.0
    with pytest.raises(ValueError, match="kind"):
        _score([(1, "serve")], [])
    with pytest.raises(ValueError, match="tolerance"):
        _score([], [], tolerance=-1)
    with pytest.raises(ValueError, match="integers"):
        score_events(np.array([1.5]), ["hit"], np.array([1]), ["hit"])
    with pytest.raises(ValueError, match="kinds"):
        score_events(np.array([1, 2]), ["hit"], np.array([1]), ["hit"])


def test_counts_summed_over_clips_give_the_pooled_scores():
    clips = [_score([(10, "hit")], [(10, "hit"), (30, "bounce")]), _score([(5, "bounce")], [])]
    total = [sum(getattr(c, k) for c in clips) for k in ("tp", "fp", "fn")]
    pooled = EventScores.from_counts(*total)
    assert (pooled.precision, pooled.recall) == (0.5, 0.5)
    summed = sum_event_results(clips)
    assert (summed.tp, summed.fp, summed.fn, summed.f1) == (1, 1, 1, 0.5)
    assert summed.by_kind["bounce"].fp == 1 and summed.mean_abs_offset == 0.0


def test_as_dict_gives_the_json_keys_in_order():
    result = _score([(10, "hit"), (21, "bounce")], [(11, "hit"), (40, "bounce")])
    keys = ["event_tp", "event_fp", "event_fn", "event_precision", "event_recall", "event_f1"]
    keys.append("event_mean_abs_offset")
    as_dict = result.as_dict()
    assert list(as_dict) == [*keys, "event_tolerance", "by_kind"]
    assert list(as_dict["by_kind"]) == ["hit", "bounce"]
    assert list(as_dict["by_kind"]["bounce"]) == keys
    assert as_dict["by_kind"]["hit"]["event_mean_abs_offset"] == 1.0
    assert as_dict["by_kind"]["bounce"]["event_mean_abs_offset"] is None
