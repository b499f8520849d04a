"""``tracknet bench model``, ``predict`` and ``accuracy`` with tiny settings: what they write.

No timing assertions: only that the numbers are there, positive and consistent with each other.
"""

from __future__ import annotations

import json
import math
import statistics

import pytest
import yaml

from tests.conftest import tiny_temporal_overrides
from tracknet.bench.accuracy import default_preset
from tracknet.cli import main
from tracknet.config import load_config, save_config
from tracknet.models import build_model
from tracknet.models.serialization import save_model


def tiny_overrides(backbone: str) -> list[str]:
    return tiny_temporal_overrides(backbone)


UNET = (
    "model.type=unet model.unet.base_channels=4 model.input_size=[64,32] model.heatmap.size=[32,16]"
)


def _positive(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_bench_model_with_vs_writes_both_models_and_their_ratio(tmp_path, tiny_dinov3, capsys):
    out = tmp_path / "model.json"
    args = ["bench", "model", "--warmup", "1", "--repeats", "2", "--batch-size", "2"]
    args += ["--vs", f"{UNET} model.frames=8", "--json", str(out), *tiny_overrides(tiny_dinov3)]
    assert main(args) == 0
    result = json.loads(out.read_text())
    assert result["benchmark"] == "model"
    main_r, vs = result["results"]
    assert (main_r["model"], main_r["frames_per_window"]) == ("vit", 3)
    assert (vs["model"], vs["frames_per_window"]) == ("unet", 8)
    # the ViT is credited one frame per window (predict's protocol), the baseline T frames
    assert main_r["frames_per_call"] == 2 and vs["frames_per_call"] == 16
    for r in (main_r, vs):
        assert r["input_hw"] == [32, 64] and r["batch_size"] == 2 and r["dtype"] == "fp32"
        assert r["repeats"] == 2
        for key in ("fps_median", "fps_min", "fps_max", "seconds_median"):
            assert _positive(r[key]), (key, r[key])
        assert r["fps_min"] <= r["fps_median"] <= r["fps_max"]
        assert r["peak_memory_mb"] is None or _positive(r["peak_memory_mb"])
    assert result["ratio"] == pytest.approx(main_r["fps_median"] / vs["fps_median"])
    assert result["ratios"] == {"vs1": result["ratio"]}
    assert result["machine"]["nproc"] >= 1
    printed = capsys.readouterr().out
    assert "ratio main / vs1" in printed and "frames/s" in printed


def test_bench_model_input_size_and_bf16(tmp_path, tiny_dinov3):
    out = tmp_path / "model.json"
    args = ["bench", "model", "--warmup", "1", "--repeats", "1", "--dtype", "bf16"]
    args += ["--input-size", "96x48", "--json", str(out), *tiny_overrides(tiny_dinov3)]
    assert main(args) == 0
    (r,) = json.loads(out.read_text())["results"]
    assert r["input_hw"] == [48, 96] and r["dtype"] == "bf16"
    assert _positive(r["fps_median"])
    assert "ratio" not in json.loads(out.read_text())


def test_bench_predict_reports_model_and_end_to_end_rates(tmp_path, tiny_dinov3, capsys):
    out = tmp_path / "predict.json"
    args = ["bench", "predict", "--frames", "6", "--video-size", "128x72", "--batch-size", "4"]
    args += ["--repeats", "2", "--json", str(out), *tiny_overrides(tiny_dinov3)]
    assert main(args) == 0
    result = json.loads(out.read_text())
    for key in ("model_fps", "end_to_end_fps", "ratio", "decoded_fps", "decoded_ratio"):
        assert _positive(result[key]), (key, result[key])
    assert result["ratio"] == pytest.approx(result["end_to_end_fps"] / result["model_fps"])
    assert result["decoded_ratio"] == pytest.approx(result["decoded_fps"] / result["model_fps"])
    assert len(result["decoded_fps_runs"]) == 2
    runs = zip(result["model_fps_runs"], result["end_to_end_fps_runs"], strict=True)
    assert result["ratio_paired"] == pytest.approx(statistics.median(e / m for m, e in runs))
    runs = zip(result["model_fps_runs"], result["decoded_fps_runs"], strict=True)
    assert result["decoded_ratio_paired"] == pytest.approx(
        statistics.median(d / m for m, d in runs)
    )
    assert result["video_frames"] == 6 and result["video_size"] == [128, 72]
    assert result["frames_per_window"] == 3 and result["batch_size"] == 4
    assert len(result["model_fps_runs"]) == len(result["end_to_end_fps_runs"]) == 2
    printed = capsys.readouterr().out
    assert "end to end" in printed and "in memory" in printed


def test_bench_predict_from_a_checkpoint(tmp_path, tiny_dinov3):
    cfg = load_config(overrides=tiny_overrides(tiny_dinov3))
    run = tmp_path / "run"
    save_model(build_model(cfg), run)
    save_config(cfg, run)
    out = tmp_path / "predict.json"
    args = ["bench", "predict", "--checkpoint", str(run), "--frames", "5", "--repeats", "1"]
    assert main([*args, "--video-size", "96x64", "--batch-size", "2", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["weights"].startswith("checkpoint")
    assert result["ratio"] == pytest.approx(result["end_to_end_fps"] / result["model_fps"])


def test_bench_model_onnx_times_torch_and_onnxruntime_on_whole_windows(tmp_path):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "model.json"
    args = ["bench", "model", "--warmup", "1", "--repeats", "1", "--batch-size", "2", "--onnx"]
    assert main([*args, "--json", str(out), *UNET.split(), "model.frames=3"]) == 0
    result = json.loads(out.read_text())
    first, torch_r, onnx_r = result["results"]
    assert (first["backend"], torch_r["backend"], onnx_r["backend"]) == (
        "torch",
        "torch-window",
        "onnxruntime-window",
    )
    assert torch_r["frames_per_call"] == onnx_r["frames_per_call"] == 2  # one window per frame
    assert result["onnx_vs_torch"] == pytest.approx(onnx_r["fps_median"] / torch_r["fps_median"])
    assert result["ratios"] == {}


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
