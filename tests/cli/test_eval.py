"""``tracknet eval``: any tool's CSV against labels (ball CSV, tennis Label.csv), input-space
tolerance, and a checkpoint on a dataset split (metrics.json, the per-clip table, plots)."""

from __future__ import annotations

import csv
import json
import math
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.infer.conftest import make_tiny_data, make_tiny_run, write_spot_video
from tracknet.cli import main
from tracknet.io.labels import TrackLabels, write_ball_csv, write_tennis_csv

KEYS = ("tp", "tn", "fp1", "fp2", "fn", "accuracy", "precision", "recall", "f1", "rmse")

# frame: (gt visibility, gx, gy, pred visibility, px, py) on a 1280x720 frame
CASES = [
    (1, 100, 100, 1, 103, 100),  # d = 3: TP
    (1, 200, 50, 1, 210, 50),  # d = 10: FP1
    (0, 0, 0, 1, 5, 5),  # FP2
    (1, 10, 10, 0, 0, 0),  # FN
    (0, 0, 0, 0, 0, 0),  # TN
    (1, 50, 50, 1, 50, 54),  # d = 4: FP1 under "d < 4", TP under "d <= 4"
    (2, 60, 60, 1, 60, 60),  # hard but visible, d = 0: TP
    (3, 70, 70, 0, 0, 0),  # occluded counts as not visible: TN
]


def _labels(visibility, x, y) -> TrackLabels:
    return TrackLabels(np.arange(len(visibility)), np.array(visibility), np.array(x), np.array(y))


@pytest.fixture
def csvs(tmp_path):
    gv, gx, gy, pv, px, py = (list(col) for col in zip(*CASES, strict=True))
    pred, gt = tmp_path / "tool_ball.csv", tmp_path / "gt" / "labels.csv"
    write_ball_csv(pred, _labels(pv, px, py))
    write_ball_csv(gt, _labels(gv, gx, gy))
    return pred, gt


def _eval_json(tmp_path, *args) -> dict:
    out = tmp_path / "metrics.json"
    assert main(["eval", *map(str, args), "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_pred_against_ball_csv(tmp_path, csvs, capsys):
    pred, gt = csvs
    result = _eval_json(tmp_path, "--pred", pred, "--gt", gt)
    assert set(KEYS) <= set(result)
    assert {k: result[k] for k in ("tp", "tn", "fp1", "fp2", "fn")} == dict(
        tp=2, tn=2, fp1=2, fp2=1, fn=1
    )
    assert result["accuracy"] == pytest.approx(4 / 8)
    assert result["precision"] == pytest.approx(2 / 5)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(2 * 0.4 * (2 / 3) / (0.4 + 2 / 3))
    assert result["rmse"] == pytest.approx(math.sqrt((9 + 0) / 2))
    assert result["overall"]["f1"] == result["f1"]
    assert "overall" in capsys.readouterr().out  # the table is printed

    looser = _eval_json(tmp_path, "--pred", pred, "--gt", gt, "--tolerance-px", "5")
    assert (looser["tp"], looser["fp1"]) == (3, 1)
    assert looser["rmse"] == pytest.approx(math.sqrt((9 + 16 + 0) / 3))


def test_tennis_label_csv_as_ground_truth(tmp_path, csvs):
    pred, _ = csvs
    gv, gx, gy = ([c[i] for c in CASES] for i in range(3))
    names = [f"{i:04d}.jpg" for i in range(len(CASES))]
    gt = tmp_path / "clip" / "Label.csv"
    write_tennis_csv(gt, _labels(gv, gx, gy), names)
    assert gt.read_text().startswith("file name,visibility,x-coordinate,y-coordinate,status")
    result = _eval_json(tmp_path, "--pred", pred, "--gt", gt)
    assert {k: result[k] for k in ("tp", "tn", "fp1", "fp2", "fn")} == dict(
        tp=2, tn=2, fp1=2, fp2=1, fn=1
    )

    # input-space tolerance: the frame size comes from the images beside the Label.csv
    Image.new("RGB", (1280, 720)).save(gt.parent / names[0])
    result = _eval_json(
        tmp_path,
        "--pred",
        pred,
        "--gt",
        gt,
        "--tolerance-space",
        "input",
        "--input-size",
        "640x360",
    )
    assert (result["tp"], result["fp1"]) == (3, 1)
    assert result["settings"]["frame_size"] == [1280, 720]


def test_input_space_tolerance(tmp_path, csvs, capsys):
    pred, gt = csvs
    # 1280x720 -> 640x360 halves every distance; TP iff d <= 4 input pixels (8 frame pixels)
    args = ["--pred", pred, "--gt", gt, "--tolerance-space", "input", "--input-size", "640x360"]
    result = _eval_json(tmp_path, *args, "--frame-size", "1280x720")
    assert {k: result[k] for k in ("tp", "tn", "fp1", "fp2", "fn")} == dict(
        tp=3, tn=2, fp1=1, fp2=1, fn=1
    )
    assert result["settings"]["tolerance_space"] == "input"
    assert result["settings"]["input_size"] == [640, 360]
    assert result["rmse"] == pytest.approx(math.sqrt((9 + 16 + 0) / 3))  # original pixels
    assert "(input pixels, 640x360 grid" in capsys.readouterr().out

    # no frame size anywhere: a clear error
    assert main(["eval", *map(str, args)]) == 2
    assert "--frame-size" in capsys.readouterr().err
    # ... until the labels' video lies beside them (labels.csv -> labels.mp4)
    write_spot_video(gt.parent / "labels.mp4", [None, None], size=(1280, 720))
    assert _eval_json(tmp_path, *args)["tp"] == 3
    # no input size: a clear error
    assert main(["eval", "--pred", str(pred), "--gt", str(gt), "--tolerance-space", "input"]) == 2
    assert "--input-size" in capsys.readouterr().err


def test_pred_with_out_writes_a_report(tmp_path, csvs):
    pred, gt = csvs
    out = tmp_path / "report"
    assert main(["eval", "--pred", str(pred), "--gt", str(gt), "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["fn"] == 1
    with Image.open(out / "trajectories" / "tool_ball.png") as im:
        assert im.format == "PNG"


def test_missing_prediction_rows_count_as_no_ball(tmp_path, csvs):
    pred, gt = csvs
    lines = pred.read_text().splitlines()
    short = tmp_path / "short.csv"
    short.write_text("\n".join(lines[:2]) + "\n")  # only frame 0 predicted
    result = _eval_json(tmp_path, "--pred", short, "--gt", gt)
    assert (result["tp"], result["fn"], result["tn"]) == (1, 4, 3)
    assert result["settings"]["missing_prediction_rows"] == 7


def test_usage_errors(tmp_path, csvs, capsys):
    pred, gt = csvs
    assert main(["eval", "--pred", str(pred)]) == 2
    assert main(["eval"]) == 2
    assert main(["eval", "--pred", str(pred), "--gt", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err


# --------------------------------------------------------------------------- --checkpoint
@pytest.fixture(scope="module")
def run_and_data(tmp_path_factory, tiny_dinov3):
    data = make_tiny_data(tmp_path_factory.mktemp("eval-data"))
    return make_tiny_run(tmp_path_factory.mktemp("eval-run"), data, tiny_dinov3), data


def test_checkpoint_on_a_split_writes_metrics_table_and_plots(tmp_path, run_and_data, capsys):
    run, data = run_and_data
    out = tmp_path / "eval"
    js = tmp_path / "m.json"
    rc = main(["eval", "--checkpoint", str(run), "--out", str(out), "--json", str(js)])
    assert rc == 0
    assert "game2/Clip1" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == json.loads(js.read_text())
    assert set(KEYS) <= set(metrics)
    assert metrics["frames"] == 8  # every labelled frame of the test clip
    assert list(metrics["clips"]) == ["game2/Clip1"]
    assert metrics["settings"]["split"] == "test"
    assert "game2/Clip1" in (out / "metrics.txt").read_text()
    with open(out / "clips.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["clip"] for r in rows] == ["game2/Clip1", "overall"]
    assert int(rows[0]["frames"]) == 8
    with Image.open(out / "trajectories" / "game2__Clip1.png") as im:
        assert im.format == "PNG" and im.size[0] > 100


def test_checkpoint_with_overrides_and_split(tmp_path, run_and_data):
    run, data = run_and_data
    moved = tmp_path / "moved"
    shutil.copytree(data, moved)
    js = tmp_path / "m.json"
    args = ["eval", "--checkpoint", str(run), "--split", "train", "--json", str(js)]
    assert main([*args, f"data.root={moved}", "--tolerance-space", "input"]) == 0
    result = json.loads(js.read_text())
    assert result["settings"]["data_root"] == str(moved)
    assert list(result["clips"]) == ["game1/Clip1"]
    assert result["settings"]["tolerance_space"] == "input"
    assert result["settings"]["input_size"] == [64, 48]  # the run's model input
    assert main(["eval", "--checkpoint", str(run), "--split", "bogus"]) == 2


def test_a_checkpoint_run_at_another_input_size_is_scored_on_its_own_grid(tmp_path, run_and_data):
    """model.input_size=... runs the model smaller (faster), but the input-space tolerance stays
    on the run's trained grid (not the smaller, more lenient one); --input-size names another."""
    run, _ = run_and_data
    js = tmp_path / "m.json"
    args = ["eval", "--checkpoint", str(run), "--json", str(js), "--tolerance-space", "input"]
    assert main([*args, "model.input_size=[96,64]"]) == 0
    settings = json.loads(js.read_text())["settings"]
    assert settings["input_size"] == [64, 48] and settings["input_map"] == "custom"  # its codec
    assert main([*args, "model.input_size=[96,64]", "--input-size", "128x96"]) == 0
    assert json.loads(js.read_text())["settings"]["input_size"] == [128, 96]
    assert main([*args, "--input-size", "128x96"]) == 0  # honoured without an override too
    assert json.loads(js.read_text())["settings"]["input_size"] == [128, 96]


def test_checkpoint_gives_the_input_grid_for_a_csv(tmp_path, run_and_data, csvs):
    run, _ = run_and_data
    pred, gt = csvs
    args = ["--pred", pred, "--gt", gt, "--checkpoint", run, "--tolerance-space", "input"]
    result = _eval_json(tmp_path, *args, "--frame-size", "1280x720")
    # 1280x720 -> 64x48 (x / 20, y / 15): every visible pair is within 4 input pixels
    assert (result["tp"], result["fp1"]) == (4, 0)
    assert result["settings"]["input_map"] == "custom"  # the checkpoint's codec map
