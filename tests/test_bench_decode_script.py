"""scripts/bench_decode.py with tiny settings: its synthetic heatmaps are what they say, and
every row is printed (no timing assertions)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tracknet.data.codec import HeatmapCodec

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_decode.py"


@pytest.fixture(scope="module")
def bench_decode():
    spec = importlib.util.spec_from_file_location("bench_decode", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_prints_every_row(bench_decode, capsys):
    bench_decode.main(["--batch", "2", "--frames", "3", "--repeats", "1"])
    out = capsys.readouterr().out
    for row in ("one ball", "noisy", "empty", "saturated", "FrameSource", "to_ndarray"):
        assert row in out
    assert "RgbConverter" in out
