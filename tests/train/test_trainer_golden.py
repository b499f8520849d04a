"""The trainer trains bit for bit as it did before it was split into seams (see
:mod:`tests.train.trainer_golden`): every tensor of the final model and optimizer, the step, the
best F1 and the logged losses and scores of three tiny CPU runs."""

from __future__ import annotations

import json

import pytest

from tests.train.trainer_golden import GOLDEN, SCENARIOS, environment, golden


@pytest.fixture(scope="module")
def recorded():
    expected = json.loads(GOLDEN.read_text())
    if expected["environment"] != environment():
        pytest.skip(
            f"{GOLDEN.name} was recorded with {expected['environment']}, this is "
            f"{environment()}: float kernels may differ (regenerate it with "
            "`python -m tests.train.trainer_golden` from the commit that wrote it)"
        )
    return expected


def test_training_matches_the_recorded_runs_bit_for_bit(recorded, tmp_path):
    got = golden(tmp_path)
    assert got["inputs"] == recorded["inputs"], (
        "the synthetic data or tiny ViT changed, not the trainer"
    )
    assert set(got["scenarios"]) == set(SCENARIOS)
    for name, expected in recorded["scenarios"].items():
        run = got["scenarios"][name]
        for part in ("step", "best_f1", "metrics", "optimizer"):
            assert run[part] == expected[part], f"{name}: {part} differs"
        differ = [k for k in expected["model"] if run["model"].get(k) != expected["model"][k]]
        assert not differ and run["model"].keys() == expected["model"].keys(), (
            f"{name}: {len(differ)} tensors differ, e.g. {differ[:3]}"
        )
