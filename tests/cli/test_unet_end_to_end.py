"""``model.type=unet`` through the command line: ``tracknet train``, ``eval`` and ``predict``.

(Moved from tests/models/test_unet.py: tests/models stays below the layers that use the models.)"""

import json
from pathlib import Path

from tracknet.cli import main
from tracknet.data.synth import synthesize


def test_unet_trains_evaluates_and_predicts_through_the_cli(tmp_path):
    """``model.type=unet`` goes through ``tracknet train``, ``eval`` and ``predict`` unchanged."""
    data = synthesize(
        tmp_path / "data", "tennis", clips=2, frames=8, size=(160, 96), seed=1, clips_per_game=1
    )
    assert data
    run = tmp_path / "run"
    overrides = [
        f"data.root={tmp_path / 'data'}",
        "data.format=tennis",
        "data.num_workers=0",
        "data.augment.enabled=false",
        "data.split.train=[game1/*]",
        "data.split.val=[game2/*]",
        "data.split.test=[game2/*]",
        "model.type=unet",
        "model.frames=3",
        "model.unet.base_channels=4",
        "model.input_size=[64,48]",
        "model.heatmap.size=[64,48]",
        "train.batch_size=2",
        "train.max_steps=3",
        "train.warmup_steps=1",
        "train.eval_every=3",
        "train.save_every=3",
        "predict.device=cpu",
        f"run.dir={run}",
    ]
    assert main(["train", *overrides]) == 0
    assert (run / "config.yaml").exists()
    metrics = tmp_path / "metrics.json"
    assert main(["eval", "--checkpoint", str(run), "--split", "test", "--json", str(metrics)]) == 0
    assert 0.0 <= json.loads(metrics.read_text())["f1"] <= 1.0
    clip = tmp_path / "data" / "game2" / "Clip1"
    assert main(["predict", str(clip), "--checkpoint", str(run), "--out", str(tmp_path / "p")]) == 0
    rows = (tmp_path / "p" / "Clip1_ball.csv").read_text().splitlines()
    assert rows[0] == "Frame,Visibility,X,Y" and len(rows) == 9


def test_the_trackv2_preset_trains_through_the_cli(tmp_path):
    """configs/unet_tracknetv2.yaml (Adadelta, summed weighted BCE, disk targets) trains, shrunk."""
    preset = Path(__file__).resolve().parents[2] / "configs" / "unet_tracknetv2.yaml"
    synthesize(
        tmp_path / "data", "tennis", clips=2, frames=8, size=(160, 96), seed=1, clips_per_game=1
    )
    run = tmp_path / "run"
    overrides = [
        f"data.root={tmp_path / 'data'}",
        "data.format=tennis",
        "data.num_workers=0",
        "data.split.train=[game1/*]",
        "data.split.val=[game2/*]",
        "data.split.test=[game2/*]",
        "model.unet.base_channels=4",
        "model.input_size=[64,48]",
        "model.heatmap.size=[64,48]",
        "train.batch_size=2",
        "train.max_steps=2",
        "train.eval_every=2",
        "train.save_every=2",
        "train.log_every=1",
        f"run.dir={run}",
    ]
    assert main(["train", "--config", str(preset), *overrides]) == 0
    rows = (run / "metrics.csv").read_text().splitlines()
    train_rows = [r.split(",") for r in rows[1:] if ",train," in r]
    assert len(train_rows) == 2 and float(train_rows[0][2]) > 100  # a sum over 2x3x64x48 pixels
    assert "optimizer: adadelta" in (run / "config.yaml").read_text()
