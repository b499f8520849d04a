"""``tracknet bench model`` and ``tracknet bench predict`` with tiny settings: the JSON they write.

No timing assertions: only that the numbers are there, positive and consistent with each other.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.conftest import tiny_temporal_overrides
from tracknet.cli import main


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
    for key in ("model_fps", "end_to_end_fps", "ratio"):
        assert _positive(result[key]), (key, result[key])
    assert result["ratio"] == pytest.approx(result["end_to_end_fps"] / result["model_fps"])
    assert result["video_frames"] == 6 and result["video_size"] == [128, 72]
    assert result["frames_per_window"] == 3 and result["batch_size"] == 4
    assert len(result["model_fps_runs"]) == len(result["end_to_end_fps_runs"]) == 2
    assert "end to end" in capsys.readouterr().out


def test_bench_predict_from_a_checkpoint(tmp_path, tiny_dinov3):
    from tracknet.config import load_config, save_config
    from tracknet.models import build_model

    cfg = load_config(overrides=tiny_overrides(tiny_dinov3))
    run = tmp_path / "run"
    build_model(cfg).save_pretrained(run)
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
