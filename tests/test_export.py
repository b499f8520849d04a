"""ONNX export (dynamo exporter) checked against onnxruntime, and ``predict --backend onnx``."""

from __future__ import annotations

import csv
import os

import pytest
import torch

from tests.conftest import tiny_temporal_overrides
from tracknet.bench.predict import synthetic_video
from tracknet.cli import main
from tracknet.config import load_config, save_config
from tracknet.errors import UserError
from tracknet.infer.export import export_onnx, onnx_for_run
from tracknet.infer.loading import load_run
from tracknet.infer.onnx_backend import OnnxModel
from tracknet.models import WindowModel, build_model
from tracknet.models.serialization import save_model

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # the dynamo exporter needs it


def tiny_overrides(backbone: str) -> list[str]:
    return tiny_temporal_overrides(
        backbone, "model.detail.enabled=true", "model.detail.channels=8", "predict.device=cpu"
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_dinov3):
    """A run folder with a tiny temporal model whose heatmaps have blobs above the threshold."""
    cfg = load_config(overrides=tiny_overrides(tiny_dinov3))
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():  # untrained heads say "no ball" everywhere; make them say something
        model.head.out.weight.mul_(20.0)
        model.head.out.bias.fill_(0.0)
    run = tmp_path_factory.mktemp("run")
    save_model(model, run)
    save_config(cfg, run)
    return run


def test_export_matches_onnxruntime_with_dynamic_batch_and_size(tiny_run, tmp_path, capsys):
    out = tiny_run / "model.onnx"  # where ``predict --backend onnx`` looks for it
    assert main(["export", "--checkpoint", str(tiny_run), "--out", str(out), "--check"]) == 0
    assert "max |onnxruntime - pytorch|" in capsys.readouterr().out
    model, _ = load_run(tiny_run)
    model.eval()
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "frames" and inp.shape[1:3] == [3, 3]
    assert all(isinstance(d, str) for d in (inp.shape[0], inp.shape[3], inp.shape[4]))
    torch.manual_seed(1)
    for shape in [(2, 3, 3, 32, 64), (1, 3, 3, 48, 96), (3, 3, 3, 64, 32)]:
        frames = torch.rand(shape)
        with torch.inference_mode():
            expected = model(frames)
        got = torch.from_numpy(session.run(None, {"frames": frames.numpy()})[0])
        assert got.shape == expected.shape
        assert (got - expected).abs().max().item() <= 1e-4, shape


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_predict_onnx_backend_csv_matches_torch(tiny_run, tmp_path):
    video = synthetic_video(tmp_path / "clip.mp4", frames=9, size=(128, 72))
    common = ["predict", str(video), "--checkpoint", str(tiny_run), "--batch-size", "4"]
    assert main([*common, "--out", str(tmp_path / "torch")]) == 0
    assert main([*common, "--out", str(tmp_path / "onnx"), "--backend", "onnx"]) == 0
    assert (tiny_run / "model.onnx").exists()  # exported on first use (or by the test above)
    ref, got = (
        _rows(tmp_path / "torch" / "clip_ball.csv"),
        _rows(tmp_path / "onnx" / "clip_ball.csv"),
    )
    assert ref[0] == got[0] == ["Frame", "Visibility", "X", "Y"]
    assert len(ref) == len(got) == 10
    assert sum(r[1] == "1" for r in ref[1:]) >= 3  # the comparison is about real detections
    for a, b in zip(ref[1:], got[1:], strict=True):
        assert a[:2] == b[:2]
        assert float(a[2]) == pytest.approx(float(b[2]), abs=0.02)
        assert float(a[3]) == pytest.approx(float(b[3]), abs=0.02)


def test_onnx_model_speaks_the_window_model_interface(tiny_run):
    model, _ = load_run(tiny_run)
    model.eval()
    onnx = OnnxModel.for_model(onnx_for_run(tiny_run, model), model)
    assert isinstance(model, WindowModel) and isinstance(onnx, WindowModel)
    assert (onnx.frames, onnx.config, onnx.size_multiple) == (3, model.config, 16)
    frames = torch.rand(2, 3, 3, 32, 64, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        expected = model(frames)
        centre = onnx.decode_window(onnx.encode(frames), frames, select=1)
        torch.testing.assert_close(onnx(frames), expected, rtol=0, atol=1e-4)
    torch.testing.assert_close(centre[:, 0], expected[:, 1], rtol=0, atol=1e-4)


def test_onnx_for_run_exports_again_when_the_weights_are_newer(tiny_run):
    model, _ = load_run(tiny_run)
    path = onnx_for_run(tiny_run, model)  # written by an earlier test or now
    written = path.stat().st_mtime_ns
    assert onnx_for_run(tiny_run, model) == path and path.stat().st_mtime_ns == written
    os.utime(path, ns=(written, (tiny_run / "model.json").stat().st_mtime_ns - 10**9))
    onnx_for_run(tiny_run, model)
    assert path.stat().st_mtime >= (tiny_run / "model.json").stat().st_mtime


def test_the_baseline_exports_with_its_own_size_multiple(tmp_path):
    cfg = load_config(
        overrides=[
            "model.type=unet",
            "model.frames=3",
            "model.unet.base_channels=4",
            "model.input_size=[64,32]",
            "model.heatmap.size=[32,16]",
        ]
    )
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    path = export_onnx(model, tmp_path / "unet.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 3, 32, 64), (2, 3, 3, 40, 24)]:  # 40x24: multiples of 8, not of 16
        frames = torch.rand(shape)
        with torch.inference_mode():
            expected = model(frames)
        got = torch.from_numpy(session.run(None, {"frames": frames.numpy()})[0])
        assert got.shape == expected.shape == (shape[0], 3, shape[3] // 2, shape[4] // 2)
        assert (got - expected).abs().max().item() <= 1e-4, shape


def test_a_model_that_takes_the_clip_background_is_refused(tiny_dinov3, tmp_path):
    cfg = load_config(
        overrides=[
            *tiny_overrides(tiny_dinov3),
            "model.detail.enabled=true",
            "model.detail.background=true",
        ]
    )
    with pytest.raises(UserError, match="background"):
        export_onnx(build_model(cfg), tmp_path / "bg.onnx")
    assert not (tmp_path / "bg.onnx").exists()
