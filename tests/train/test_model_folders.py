"""Model folders written whole: ``best/`` is swapped in, stale temporaries are cleaned up."""

from __future__ import annotations

import json

import pytest
import torch

import tracknet.models.serialization as serialization
from tests.conftest import tiny_temporal_overrides
from tracknet.config import load_config
from tracknet.infer.loading import resolve_checkpoint
from tracknet.models import build_model
from tracknet.models.serialization import load_model, save_model
from tracknet.train.checkpoint import save_model_folder, swap_in
from tracknet.utils import remove_stale_temporaries


def _models(backbone: str):
    cfg = load_config(overrides=tiny_temporal_overrides(backbone))
    torch.manual_seed(0)
    first = build_model(cfg)
    torch.manual_seed(1)
    second = build_model(cfg)
    second.head.out.bias.data += 1.0  # differ in a weight that is always saved
    return cfg, first, second


def _bias(folder) -> float:
    return float(load_model(folder).head.out.bias.detach())


def test_a_failed_save_leaves_the_previous_folder_whole(tiny_dinov3, tmp_path, monkeypatch):
    _, first, second = _models(tiny_dinov3)
    best = tmp_path / "run" / "best"
    save_model_folder(first, best, extra={"metrics.json": json.dumps({"step": 1})})
    assert json.loads((best / "metrics.json").read_text()) == {"step": 1}
    expected = _bias(best)

    real = serialization.atomic_write_text

    def die_on_meta(*args):  # the weights are written, their model.json never is
        raise KeyboardInterrupt("killed between model.safetensors and model.json")

    monkeypatch.setattr(serialization, "atomic_write_text", die_on_meta)
    with pytest.raises(KeyboardInterrupt):
        save_model_folder(second, best, extra={"metrics.json": json.dumps({"step": 2})})
    monkeypatch.setattr(serialization, "atomic_write_text", real)
    assert not best.with_name("best.new").exists()
    assert _bias(best) == pytest.approx(expected)  # the old pair, still matching
    assert json.loads((best / "metrics.json").read_text()) == {"step": 1}

    save_model_folder(second, best, extra={"metrics.json": json.dumps({"step": 2})})
    assert _bias(best) == pytest.approx(expected + 1.0)  # the second model now
    assert json.loads((best / "metrics.json").read_text()) == {"step": 2}
    assert sorted(p.name for p in best.parent.iterdir()) == ["best"]


def test_a_kill_between_the_renames_falls_back_to_the_old_folder(tiny_dinov3, tmp_path):
    cfg, first, second = _models(tiny_dinov3)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model: {}\n")
    save_model_folder(first, run / "best")
    save_model(second, run)  # the run folder's own (latest) weights, file by file
    # what swap_in leaves when killed after its first rename
    (run / "best").rename(run / "best.old")
    weights, config = resolve_checkpoint(run)
    assert weights == run / "best.old" and config == run / "config.yaml"
    assert _bias(weights) == pytest.approx(
        float(first.head.out.bias.detach())
    )  # not the run's latest
    assert _bias(run) == pytest.approx(float(second.head.out.bias.detach()))
    # the next save replaces it with a whole new best/
    save_model_folder(second, run / "best")
    assert resolve_checkpoint(run)[0] == run / "best"
    assert not (run / "best.old").exists()


def test_swap_in_replaces_a_folder_and_removes_the_old_one(tmp_path):
    final, new = tmp_path / "best", tmp_path / "best.new"
    final.mkdir()
    (final / "a").write_text("old")
    new.mkdir()
    (new / "a").write_text("new")
    swap_in(new, final)
    assert (final / "a").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    stale = [
        tmp_path / ".model.safetensors.k2j4x9.tmp.safetensors",
        tmp_path / ".model.json.a1b2c3.tmp.json",
    ]
    kept = [
        tmp_path / "model.safetensors",
        tmp_path / "model.json",
        tmp_path / ".metrics.csv.abc.tmp.csv",  # not one of the names asked for
        tmp_path / "notes.tmp",
    ]
    for path in stale + kept:
        path.write_text("x")
    removed = remove_stale_temporaries(tmp_path, ("model.safetensors", "model.json"))
    assert sorted(removed) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)
