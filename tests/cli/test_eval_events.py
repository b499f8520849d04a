"""``tracknet eval`` of hits and bounces: an events CSV against events, a tennis status column
or a ball CSV with its events beside it; and ``--checkpoint`` on clips whose labels carry events."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.cli.helpers import STUB, write_event_clips
from tests.infer.conftest import make_tiny_data, make_tiny_run, stub_loader
from tracknet.cli import main
from tracknet.io.events import Event, write_events_csv
from tracknet.io.labels import TrackLabels, write_ball_csv, write_tennis_csv

EVENT_KEYS = ("event_tp", "event_fp", "event_fn", "event_precision", "event_recall", "event_f1")

PRED = [Event(10, "hit", 1, 1, 0.9), Event(21, "bounce", 2, 2, 0.8), Event(40, "bounce", 3, 3)]
TRUTH = [Event(12, "hit"), Event(20, "bounce"), Event(60, "hit")]


def _json(tmp_path, *args) -> dict:
    out = tmp_path / "m.json"
    assert main(["eval", *map(str, args), "--json", str(out)]) == 0
    return json.loads(out.read_text())


@pytest.fixture
def pred_events(tmp_path):
    path = tmp_path / "clip_events.csv"
    write_events_csv(path, PRED)
    return path


def test_events_csv_against_events_csv(tmp_path, pred_events, capsys):
    gt = tmp_path / "gt" / "truth_events.csv"
    gt.parent.mkdir()
    write_events_csv(gt, TRUTH)
    result = _json(tmp_path, "--pred-events", pred_events, "--gt", gt)
    assert {k: result[k] for k in EVENT_KEYS[:3]} == dict(event_tp=2, event_fp=1, event_fn=1)
    assert result["event_f1"] == pytest.approx(2 / 3)
    assert result["by_kind"]["hit"]["event_tp"] == 1 and result["by_kind"]["hit"]["event_fn"] == 1
    assert result["by_kind"]["bounce"]["event_fp"] == 1
    assert result["event_tolerance"] == 2
    table = capsys.readouterr().out
    assert "events, +-2 frames" in table and "bounce" in table and "0.667" in table

    strict = _json(tmp_path, "--pred-events", pred_events, "--gt", gt, "--event-tolerance", "0")
    assert (strict["event_tp"], strict["event_tolerance"]) == (0, 0)  # 12 vs 10, 20 vs 21


def test_tennis_status_and_a_ball_csv_with_events_beside_it(tmp_path, pred_events):
    n = 70
    status = np.zeros(n, int)
    status[[12, 60]], status[20] = 1, 2
    labels = TrackLabels(np.arange(n), np.ones(n, int), np.full(n, 5.0), np.full(n, 5.0), status)
    tennis = tmp_path / "Label.csv"
    write_tennis_csv(tennis, labels, [f"{i:04d}.jpg" for i in range(n)])
    assert _json(tmp_path, "--pred-events", pred_events, "--gt", tennis)["event_tp"] == 2

    ball = tmp_path / "v" / "match_ball.csv"
    ball.parent.mkdir()
    write_ball_csv(ball, labels)
    write_events_csv(ball.with_name("match_events.csv"), TRUTH)
    assert _json(tmp_path, "--pred-events", pred_events, "--gt", ball)["event_fn"] == 1


def test_labels_without_events_and_usage_errors(tmp_path, pred_events, capsys):
    ball = tmp_path / "plain_ball.csv"
    write_ball_csv(ball, TrackLabels(np.arange(3), np.ones(3, int), np.ones(3), np.ones(3)))
    assert main(["eval", "--pred-events", str(pred_events), "--gt", str(ball)]) == 2
    assert "carries no events" in capsys.readouterr().err
    assert main(["eval", "--pred-events", str(pred_events)]) == 2
    with pytest.raises(SystemExit):  # argparse refuses it
        main(["eval", "--pred-events", str(pred_events), "--gt", str(ball), "--event-tolerance",
              "-1"])  # fmt: skip
    bad = tmp_path / "bad_events.csv"
    bad.write_text("Frame,Event\n3,serve\n")
    assert main(["eval", "--pred-events", str(bad), "--gt", str(pred_events)]) == 2
    assert "serve" in capsys.readouterr().err


def test_positions_and_events_together(tmp_path, pred_events):
    n = 70
    labels = TrackLabels(np.arange(n), np.ones(n, int), np.full(n, 5.0), np.full(n, 5.0))
    pred, gt = tmp_path / "p_ball.csv", tmp_path / "g" / "g_ball.csv"
    gt.parent.mkdir()
    write_ball_csv(pred, labels)
    write_ball_csv(gt, labels)
    write_events_csv(gt.with_name("g_events.csv"), TRUTH)
    out = tmp_path / "report"
    result = _json(tmp_path, "--pred", pred, "--pred-events", pred_events, "--gt", gt,
                   "--out", out)  # fmt: skip
    assert result["f1"] == 1.0 and result["event_tp"] == 2
    assert result["events"]["by_kind"]["bounce"]["event_tp"] == 1
    assert json.loads((out / "metrics.json").read_text())["event_tp"] == 2
    assert "events, +-2 frames" in (out / "events.txt").read_text()


# --------------------------------------------------------------------------- --checkpoint
def test_checkpoint_scores_events_on_a_tennis_split(tmp_path, tiny_dinov3, capsys):
    data = make_tiny_data(tmp_path / "data")
    run = make_tiny_run(tmp_path / "run", data, tiny_dinov3)
    out = tmp_path / "eval"
    result = _json(tmp_path, "--checkpoint", run, "--out", out)
    assert set(EVENT_KEYS) <= set(result) and result["events"]["event_tolerance"] == 2
    assert list(result["events"]["clips"]) == ["game2/Clip1"]  # the status column's clip
    assert "events, +-2 frames" in (out / "metrics.txt").read_text()
    assert "events, +-2 frames" in capsys.readouterr().out


def test_checkpoint_sums_event_counts_over_video_clips(tmp_path, tiny_run, monkeypatch):
    """A generic layout: two test videos with ``<stem>_events.csv`` beside their ball CSVs, a
    third without events (left out of event scoring); the stub model sees the bouncing ball."""
    monkeypatch.setattr("tracknet.evaluate.score.load_run", stub_loader())
    root = write_event_clips(tmp_path / "data")
    split = ["data.format=generic", "data.split.train=[t]", "data.split.val=[v]"]
    args = ["--checkpoint", tiny_run, f"data.root={root}", *split, "data.split.test=[a,b,c]"]
    result = _json(tmp_path, *args, *STUB)
    events = result["events"]
    assert sorted(events["clips"]) == ["a", "b"]
    assert events["clips"]["a"]["event_tp"] == 1 and events["clips"]["b"]["event_fn"] == 1
    assert events["event_tp"] == 1 and events["event_fn"] == 1
    assert events["event_fp"] == events["clips"]["a"]["event_fp"] + events["clips"]["b"]["event_fp"]
    assert result["event_recall"] == 0.5
