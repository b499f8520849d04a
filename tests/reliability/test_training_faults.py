"""Training faults: SIGKILL at any step or inside a checkpoint write, a full disk.

Whatever happens, the user keeps a checkpoint that loads, and resuming costs nothing.
"""

from __future__ import annotations

import errno
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import tracknet_popen
from tests.reliability.conftest import ENV, assert_one_clear_line, cli, tiny_overrides
from tracknet.config import load_config, save_config
from tracknet.errors import StorageError, UserError
from tracknet.train.checkpoint import (
    STATE,
    find_resumable,
    load_training_state,
    save_training_state,
)

DRIVER = Path(__file__).with_name("ckpt_driver.py")
ROOT = Path(__file__).resolve().parents[2]


def _popen(*args: str) -> subprocess.Popen:
    return tracknet_popen(*args, env=ENV)


def _no_temporary_files(folder: Path) -> None:
    left = [p for p in folder.rglob(".*") if ".tmp" in p.name]
    assert not left, f"temporary files left behind: {left}"


# --------------------------------------------------------------------------- kill and resume
# long enough that a kill after step <= 4 plus up to 0.3 s always lands before the end, even on
# a fast idle machine (with 5 steps, a run finished before its kill there)
KILL_STEPS = 12


@pytest.fixture(scope="module")
def uninterrupted(tiny_data, tiny_dinov3, tmp_path_factory):
    """A config file and the weights of a run that never stopped."""
    tmp = tmp_path_factory.mktemp("kill")
    extra = (f"train.max_steps={KILL_STEPS}", "train.save_every=1", "train.eval_every=100")
    save_config(
        load_config(overrides=tiny_overrides(tiny_data, tiny_dinov3, tmp / "a", *extra)), tmp
    )
    config = tmp / "config.yaml"
    full = _popen("train", "--config", str(config))
    assert full.wait(timeout=600) == 0, full.stdout.read()
    return config, load_file(str(tmp / "a" / "model.safetensors"))


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_a_random_step_then_resume_matches(uninterrupted, tmp_path, seed):
    """Killed at a random moment after a random step, resumed: the same final weights."""
    config, expected = uninterrupted
    rng = random.Random(seed)
    kill_after, delay = rng.randint(1, 4), rng.uniform(0.0, 0.3)
    run = tmp_path / "b"
    killed = _popen("train", "--config", str(config), f"run.dir={run}")
    state = run / "last" / STATE
    deadline = time.time() + 300
    while time.time() < deadline and killed.poll() is None:
        try:
            if json.loads(state.read_text())["step"] >= kill_after:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    time.sleep(delay)  # anywhere: mid-step, mid-checkpoint, mid-validation
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    stopped_at = json.loads((find_resumable(run) / STATE).read_text())["step"]
    assert stopped_at < KILL_STEPS, "the run must be killed before its end"

    resumed = _popen("train", "--resume", str(run))
    assert resumed.wait(timeout=600) == 0, resumed.stdout.read()
    got = load_file(str(run / "model.safetensors"))
    assert got.keys() == expected.keys()
    for key in expected:
        assert torch.equal(got[key], expected[key]), f"{key} differs after resume (bitwise)"


# --------------------------------------------------------------------------- kill inside a save
def _drive(run: Path, *saves: str) -> int:
    res = subprocess.run(
        [sys.executable, str(DRIVER), str(run), *saves],
        env={**ENV, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode in (0, -signal.SIGKILL), res.stderr
    return res.returncode


def _build():
    from tests.reliability.ckpt_driver import build

    return build()


def _load(run: Path) -> int:
    """Load the resumable state of ``run`` into a fresh model; returns its step."""
    model, optimizer = _build()
    state = load_training_state(find_resumable(run), model, optimizer)
    first = next(iter(model.parameters()))
    assert round(float(first.detach().mean())) == state["step"], "weights of another step"
    return int(state["step"])


@pytest.mark.parametrize("point", ["model", "optimizer", "state", "swap", "cleanup"])
def test_sigkill_inside_a_checkpoint_write_keeps_a_loadable_one(tmp_path, point):
    run = tmp_path / "run"
    assert _drive(run, "1:none", f"2:{point}") == -signal.SIGKILL
    step = _load(run)
    # the new state counts only once it is complete and in place
    assert step == (2 if point == "cleanup" else 1)
    # the next save (what a resumed run does) cleans up and completes
    model, optimizer = _build()
    save_training_state(run, model, optimizer, {"step": 3, "best_f1": -1.0})
    assert (run / "last" / STATE).exists()
    assert sorted(p.name for p in run.iterdir()) == ["last"]
    _no_temporary_files(run)


def test_two_crashes_in_a_row_between_the_renames(tmp_path):
    """Killed between the two renames twice: ``last.old/`` must survive the second save."""
    run = tmp_path / "run"
    assert _drive(run, "1:none", "2:swap") == -signal.SIGKILL
    assert not (run / "last").exists() and (run / "last.old" / STATE).exists()
    assert _drive(run, "3:swap") == -signal.SIGKILL
    assert _load(run) == 1


# --------------------------------------------------------------------------- disk full
class DiskFull:
    """A safetensors writer that fills the disk at its ``fail_at``-th call (1-based)."""

    def __init__(self, real, fail_at: int):
        self.real, self.fail_at, self.calls = real, fail_at, 0

    def __call__(self, tensors, path, *a, **k):
        self.calls += 1
        if self.calls == self.fail_at:
            Path(path).write_bytes(b"\0" * 100)  # what fitted before the disk filled
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.real(tensors, path, *a, **k)


# save_file calls per checkpoint: last.new/model, optimizer, rng, then the run folder's model.
@pytest.mark.parametrize(("fail_at", "what"), [(5, "model"), (6, "optimizer"), (8, "run-model")])
def test_disk_full_stops_with_a_clear_message_and_keeps_the_last_checkpoint(
    capsys, monkeypatch, tiny_data, tiny_dinov3, tmp_path, fail_at, what
):
    import tracknet.models.serialization as serialization
    import tracknet.train.checkpoint as checkpoint

    full = DiskFull(checkpoint.save_file, fail_at)
    monkeypatch.setattr(checkpoint, "save_file", full)
    monkeypatch.setattr(serialization, "save_file", full)
    run = tmp_path / "run"
    extra = ("train.max_steps=3", "train.save_every=1", "train.eval_every=100")
    code, _, err = cli(capsys, "train", *tiny_overrides(tiny_data, tiny_dinov3, run, *extra))
    line = assert_one_clear_line(code, err, "no space left on device", "disk is full")
    if what != "run-model":
        assert "step 1" in line and "intact" in line and "--resume" in line
    assert not (run / "last.new").exists()
    _no_temporary_files(run)
    monkeypatch.undo()
    # the last good checkpoint loads, and the run resumes from it
    state = json.loads((run / "last" / STATE).read_text())
    assert state["step"] == (2 if what == "run-model" else 1)
    code, _, err = cli(capsys, "train", "--resume", str(run))
    assert code == 0, err
    assert json.loads((run / "last" / STATE).read_text())["step"] == 3


def test_disk_full_in_library_use_raises_a_user_error(
    monkeypatch, tiny_data, tiny_dinov3, tmp_path
):
    import tracknet.train.checkpoint as checkpoint
    from tracknet.train.trainer import Trainer

    monkeypatch.setattr(checkpoint, "save_file", DiskFull(checkpoint.save_file, 1))
    cfg = load_config(
        overrides=tiny_overrides(tiny_data, tiny_dinov3, tmp_path / "run", "train.max_steps=2")
    )
    with pytest.raises(StorageError, match="disk is full") as info:
        Trainer(cfg).fit()
    assert isinstance(info.value, UserError) and isinstance(info.value, OSError)
    assert info.value.errno == errno.ENOSPC
    assert "no earlier checkpoint" in str(info.value)
