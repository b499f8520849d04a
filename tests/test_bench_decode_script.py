"""scripts/bench_decode.py with tiny settings: its synthetic heatmaps are what they say, and
every row is printed (no timing assertions)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import load_script, tiny_temporal_overrides
from tracknet.config import load_config, save_config
from tracknet.data.codec import HeatmapCodec
from tracknet.models import build_model
from tracknet.models.serialization import save_model


@pytest.fixture(scope="module")
def bench_decode():
    return load_script("bench_decode")


def test_heatmap_kinds(bench_decode):
    codec = HeatmapCodec((512, 288), (256, 144))
    rng = np.random.default_rng(1)
    found = {
        kind: codec.decode(bench_decode.heatmaps(kind, 6, rng), top_k=5)
        for kind in ("one ball", "noisy", "empty", "saturated")
    }
    assert found["one ball"].visible.all() and (found["one ball"].candidates_mass[:, 1] == 0).all()
    assert found["noisy"].visible.all() and (found["noisy"].candidates_mass[:, 1] > 0).any()
    assert not found["empty"].visible.any()
    assert found["saturated"].visible.all()
    mass = found["saturated"].candidates_mass[:, 0].numpy()
    np.testing.assert_allclose(mass, 144 * 256, rtol=1e-3)  # one blob: the whole heatmap


def test_prints_every_row(bench_decode, capsys, tmp_path, tiny_dinov3):
    cfg = load_config(overrides=tiny_temporal_overrides(tiny_dinov3, "predict.device=cpu"))
    run = tmp_path / "run"
    save_model(build_model(cfg), run)
    save_config(cfg, run)
    args = ["--batch", "2", "--frames", "3", "--repeats", "1", "--checkpoint", str(run)]
    bench_decode.main(args)
    out = capsys.readouterr().out
    rows = ("one ball", "noisy", "empty", "saturated", "FrameSource", "to_ndarray", "JPEGs")
    for row in rows:
        assert row in out
    assert "RgbConverter" in out and "decoded at 640x360" in out
    assert "open_source" in out and "same visibility: " in out
