"""``tracknet bench accuracy`` end to end with a tiny budget: the table and JSON are written."""

import json
from pathlib import Path

import yaml

from tracknet.bench_accuracy import default_preset, load_preset
from tracknet.cli import main


def test_the_shipped_preset_is_complete():
    preset = load_preset()
    assert preset["synth"]["difficulty"] == "hard"
    assert preset["default_variants"] == ["t1", "t3", "unet3"]
    for path in preset["variants"].values():
        assert path.endswith(".yaml")
    t1 = yaml.safe_load(Path(preset["variants"]["t1"]).read_text())["model"]
    assert t1["frames"] == 1 and not t1["detail"]["enabled"]  # the spec's model


def test_accuracy_cli_writes_a_side_by_side_table(tmp_path, capsys):
    bench_dir = default_preset().parent
    preset = {
        "synth": {
            "fmt": "tennis",
            "clips": 8,
            "clips_per_game": 1,  # games 1-6 train, 7 val, 8 test, as in the variant configs
            "frames": 4,
            "size": [96, 64],
            "fps": 30,
            "seed": 3,
            "difficulty": "hard",
        },
        "backbone": {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "seed": 0},
        "budget": {"max_steps": 50, "batch_size": 2},
        "variants": {n: str(bench_dir / f"{n}.yaml") for n in ("t1", "t3", "unet3")},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(preset))
    out = tmp_path / "out"
    code = main(
        [
            "bench",
            "accuracy",
            "--preset",
            str(path),
            "--variants",
            "t1,t3,unet3",
            "--steps",
            "1",
            "--out",
            str(out),
            "model.input_size=[64,32]",
            "model.heatmap.size=[32,16]",
            "model.decoder.channels=[32,16,8]",
            "model.decoder.upsample=[2,2]",
            "model.temporal.heads=2",
            "model.detail.channels=8",
            "model.unet.base_channels=4",
            "train.crop=[32,32]",
            "data.num_workers=0",
            "predict.batch_size=4",
        ]
    )
    assert code == 0
    result = json.loads((out / "results.json").read_text())
    assert [r["variant"] for r in result["variants"]] == ["t1", "t3", "unet3"]
    assert result["budget"] == {"steps": 1, "batch_size": 2}  # --steps wins over the preset
    for row in result["variants"]:
        assert {"f1", "precision", "recall"} <= set(row["metrics"])
        assert 0.0 <= row["metrics"]["f1"] <= 1.0 and row["train_s"] >= 0
    assert [r["frames"] for r in result["variants"]] == [1, 3, 3]
    table = (out / "results.md").read_text().splitlines()
    assert table[0].startswith("| variant | frames | F1 | precision | recall")
    assert [line.split("|")[1].strip() for line in table[2:]] == ["t1", "t3", "unet3"]
    assert "| t3 | 3 |" in capsys.readouterr().out  # also printed

    # --cost-only times the trained runs (no training) and writes its own table
    assert main(["bench", "accuracy", "--cost-only", "--variants", "t1,t3", "--out", str(out)]) == 0
    cost = json.loads((out / "cost.json").read_text())["variants"]
    assert set(cost) == {"t1", "t3"}
    assert all(c["total_ms"] > 0 and c["encode_ms"] > 0 for c in cost.values())
    assert (out / "cost.md").read_text().startswith("| variant | encode ms/frame")
