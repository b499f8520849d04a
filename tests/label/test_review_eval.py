"""``scripts/review_queue_eval.py``: the share of wrong suggestions the review queue shows first,
on a synthetic suggestion sequence (exact counts) and end to end with a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import load_script
from tests.label.helpers import N, rally
from tracknet.io.labels import TrackLabels, read_ball_csv


@pytest.fixture(scope="module")
def script():
    return load_script("review_queue_eval")


def rally_truth() -> TrackLabels:
    t = np.arange(N, dtype=np.float64)
    ball = t < 42
    return TrackLabels(
        frame=np.arange(N),
        visibility=ball.astype(np.int64),
        x=np.where(ball, 200 + 18 * t, 0.0),
        y=np.where(ball, 600 - 30 * t + 0.9 * t * t, 0.0),
    )


def test_the_counts_on_a_synthetic_rally(script):
    track, mistakes, _ = rally(0)
    result = script.evaluate(track, rally_truth(), first=(3, 9, 30))
    assert result["frames"] == N and result["wrong"] == {
        "off": 3,
        "phantom": 3,
        "missed": 3,
        "all": 9,
    }
    wrong = script.wrong_suggestions(track, rally_truth())
    assert set(wrong["frames"][wrong["off"]]) == mistakes["outlier"] | mistakes["pair"]
    flight, peak = result["rankings"]["flight"], result["rankings"]["peak"]
    assert flight["caught"] == [3, 9, 9] and flight["caught_in_queue"] == 9
    assert flight["caught_by_kind"] == {"off": 3, "phantom": 3, "missed": 3}
    assert peak["caught"][1] <= 3 and peak["caught_in_queue"] == 2  # frames 11 and 50 only
    text = script.table(result, "rally")
    assert "9 wrong suggestions (3 off by more than the tolerance" in text
    assert "flight   10     3/9 (33%)  9/9 (100%)  9/9 (100%)  9/9 (100%)" in text, text
    assert "peak     5      1/9 (11%)  2/9 (22%)" in text, text
    # a tolerance wider than the 40-px outliers forgives them
    assert script.evaluate(track, rally_truth(), tolerance=50.0)["wrong"]["off"] == 0


def test_frames_without_a_label_row_are_left_out(script):
    track, _, _ = rally(0)
    truth = rally_truth()
    rows = np.setdiff1d(np.arange(N), [11, 50, 30])
    part = TrackLabels(truth.frame[rows], truth.visibility[rows], truth.x[rows], truth.y[rows])
    result = script.evaluate(track, part, first=(9,))
    assert result["frames"] == N - 3 and result["wrong"]["all"] == 6


def test_end_to_end_with_a_tiny_model(script, data, tiny_run, tmp_path, capsys):
    video = data["generic"] / "clip_0000.mp4"
    labels = data["generic"] / "clip_0000_ball.csv"
    out = tmp_path / "eval.json"
    args = [str(video), str(labels), "--checkpoint", str(tiny_run), "--first", "5,10"]
    assert script.main([*args, "--json", str(out), "predict.device=cpu"]) == 0
    text = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["frames"] == 20 and result["first"] == [5, 10]
    truth = read_ball_csv(labels)
    assert result["wrong"]["all"] <= 20
    assert result["wrong"]["missed"] + result["wrong"]["off"] <= int((truth.visibility > 0).sum())
    for ranking in ("peak", "flight"):
        r = result["rankings"][ranking]
        assert r["caught"][0] <= r["caught"][1] <= r["caught_in_queue"] <= result["wrong"]["all"]
        assert r["caught"][1] <= 10 and r["queue"] <= 20
        assert sum(r["caught_by_kind"].values()) == r["caught_in_queue"]
        assert any(line.startswith(ranking) for line in text.splitlines())
    assert "clip_0000.mp4: 20 labelled frames with a suggestion" in text
    assert not labels.with_name(".clip_0000_ball.csv.journal").exists()  # nothing was written


def test_bad_arguments(script, data, tmp_path, capsys):
    video = data["generic"] / "clip_0000.mp4"
    labels = data["generic"] / "clip_0000_ball.csv"
    for first in ("a,b", "0"):
        with pytest.raises(SystemExit):
            script.main([str(video), str(labels), "--checkpoint", "x", "--first", first])
    assert "--first" in capsys.readouterr().err
    assert script.main([str(video), str(labels), "--checkpoint", str(tmp_path)]) == 1
    assert "the model did not finish (error)" in capsys.readouterr().err
