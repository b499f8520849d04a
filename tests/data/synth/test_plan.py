"""Clip plans: consistent labels, occlusions and events, harder footage when asked."""

from __future__ import annotations

import numpy as np
import pytest

from tracknet.data.synth import FORMATS, clip_rng, plan_clip

SIZE = (320, 180)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("difficulty", ["normal", "hard"])
def test_labels_are_consistent(fmt, difficulty):
    plan = plan_clip(200, SIZE, clip_rng(1, 0), fmt=fmt, difficulty=difficulty)
    labels = plan.labels
    assert len(labels) == 200 and labels.frame.tolist() == list(range(200))
    shown = labels.visibility > 0
    assert shown.any()
    assert set(np.unique(labels.visibility)) <= {0, 1, 2, 3}
    assert (labels.x[shown] >= 0).all() and (labels.x[shown] <= SIZE[0] - 1).all()
    assert (labels.y[shown] >= 0).all() and (labels.y[shown] <= SIZE[1] - 1).all()
    assert (labels.x[~shown] == 0).all() and (labels.y[~shown] == 0).all()
    assert (labels.status[~shown] == 0).all()
    assert (plan.ball_diameter[shown] >= 3).all()  # never below 3 px


def test_long_clips_have_occluded_and_missing_stretches():
    visibility = np.concatenate(
        [plan_clip(300, SIZE, clip_rng(0, k), fmt="tennis").labels.visibility for k in range(3)]
    )
    assert (visibility == 0).sum() >= 10
    assert (visibility == 3).sum() >= 1
    assert (visibility == 1).sum() > len(visibility) // 2


def test_tennis_status_marks_hits_and_bounces():
    status = plan_clip(300, SIZE, clip_rng(0, 2), fmt="tennis").labels.status
    assert (status == 1).sum() >= 2 and (status == 2).sum() >= 2


def test_hard_is_harder():
    normal = plan_clip(300, (1280, 720), clip_rng(4, 0), difficulty="normal")
    hard = plan_clip(300, (1280, 720), clip_rng(4, 0), difficulty="hard")
    shown = (normal.ball_diameter > 0) & (hard.ball_diameter > 0)
    assert hard.ball_diameter[shown].mean() < normal.ball_diameter[shown].mean()
    assert hard.exposure > normal.exposure
    assert len(hard.objects.start) > len(normal.objects.start)
    assert (hard.labels.visibility == 2).sum() > (normal.labels.visibility == 2).sum()


def test_bad_arguments():
    with pytest.raises(ValueError, match="fmt"):
        plan_clip(4, SIZE, np.random.default_rng(0), fmt="cricket")
    with pytest.raises(ValueError, match="difficulty"):
        plan_clip(4, SIZE, np.random.default_rng(0), difficulty="extreme")
