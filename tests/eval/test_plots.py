"""Training curves and trajectory plots are written as readable PNGs."""

import csv

import numpy as np
import pytest
from PIL import Image

from tracknet.eval.metrics import classify_frames
from tracknet.eval.plots import plot_training_curves, plot_trajectory

FIELDS = ["step", "split", "loss", "lr", "precision", "recall", "f1", "accuracy"]


def _check_png(path, min_w=500, min_h=400):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        w, h = im.size
        assert w >= min_w and h >= min_h
        pixels = np.asarray(im.convert("L"))
    assert pixels.std() > 5  # something was drawn, not a blank canvas


def _rows():
    rows = []
    for step in range(0, 101, 10):
        rows.append({"step": step, "split": "train", "loss": 2.0 / (1 + step), "lr": 1e-3})
        if step % 50 == 0 and step:
            f1 = step / 120
            rows.append(
                {"step": step, "split": "val", "loss": 3.0 / (1 + step), "precision": f1 + 0.1,
                 "recall": f1 - 0.1, "f1": f1, "accuracy": ""}
            )  # fmt: skip
    return rows


def test_training_curves_from_the_trainers_csv(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        for row in _rows():
            writer.writerow({k: row.get(k, "") for k in FIELDS})
    out = plot_training_curves(csv_path, tmp_path / "plots" / "curves.png")
    assert out == tmp_path / "plots" / "curves.png"
    _check_png(out)
    assert [p.name for p in (tmp_path / "plots").iterdir()] == ["curves.png"]  # no temp left


@pytest.mark.parametrize(
    "rows",
    [
        [],  # a run that has not logged yet
        [{"step": 1, "split": "train", "loss": "nan"}, {"step": 2, "split": "train", "loss": 0}],
        [{"step": 5, "split": "val", "f1": 0.5, "precision": "", "recall": None}],
    ],
)
def test_training_curves_tolerate_missing_values(tmp_path, rows):
    _check_png(plot_training_curves(rows, tmp_path / "curves.png"))


def test_training_curves_without_a_csv_yet(tmp_path):
    _check_png(plot_training_curves(tmp_path / "missing.csv", tmp_path / "curves.png"))


def test_trajectory_plot(tmp_path):
    n = 120
    t = np.arange(n)
    gt = np.stack([200 + 8 * t, 500 - 12 * t + 0.1 * t**2], axis=1).astype(np.float64)
    gt_visible = (t % 40) < 34
    rng = np.random.default_rng(0)
    pred = gt + rng.normal(0, 2, gt.shape)
    pred_visible = gt_visible.copy()
    pred_visible[[10, 11, 50]] = False  # misses
    pred_visible[[36, 37]] = True  # false alarms
    pred[[36, 37]] = [600, 100]
    pred[70] += 80  # one too far
    outcomes = classify_frames(pred_visible, pred, gt_visible, gt, tolerance_px=10)
    out = plot_trajectory(
        t + 1000, pred_visible, pred, gt_visible, gt, tmp_path / "traj" / "game8__Clip1.png",
        title="game8/Clip1", outcomes=outcomes,
    )  # fmt: skip
    _check_png(out, min_w=900, min_h=500)
    # without outcomes, and with an empty clip
    _check_png(plot_trajectory(t, pred_visible, pred, gt_visible, gt, tmp_path / "b.png"))
    empty = np.zeros(0)
    _check_png(
        plot_trajectory(empty, empty, np.zeros((0, 2)), empty, np.zeros((0, 2)), tmp_path / "c.png")
    )
