"""The accuracy benchmark's preset and table, without training (the CLI run: tests/cli)."""

from pathlib import Path

import yaml

from tracknet.bench.accuracy import format_markdown, load_preset


def test_the_shipped_preset_is_complete():
    preset = load_preset()
    assert preset["synth"]["difficulty"] == "hard"
    assert preset["default_variants"] == ["t1", "t3", "unet3"]
    for path in preset["variants"].values():
        assert path.endswith(".yaml")
    t1 = yaml.safe_load(Path(preset["variants"]["t1"]).read_text())["model"]
    assert t1["frames"] == 1 and not t1["detail"]["enabled"]  # the spec's model


def test_the_markdown_table_has_one_row_per_variant():
    metrics = {"f1": 0.5, "precision": 0.25, "recall": 1.0, "accuracy": 0.75, "rmse": None}
    row = {"variant": "t3", "frames": 3, "params": 1_500_000, "train_s": 12.4, "eval_s": 3.6}
    lines = format_markdown([{**row, "metrics": metrics}]).splitlines()
    assert lines[0].startswith("| variant | frames | F1 | precision | recall")
    assert lines[2] == "| t3 | 3 | 0.500 | 0.250 | 1.000 | 0.750 | - | 1.50 M | 12 | 4 |"
