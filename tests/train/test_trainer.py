"""The trainer: run folder, kill-and-resume equality, 2-process equality, non-finite losses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import tracknet_popen
from tests.train.conftest import tiny_overrides
from tracknet.config import save_config
from tracknet.errors import UserError
from tracknet.models.tracknet import TrackNet
from tracknet.train.trainer import Trainer

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "model.safetensors"))


def _tracknet(*args: str, **kw) -> subprocess.Popen:
    return tracknet_popen(*args, env=ENV, **kw)


def test_run_folder_has_everything(tiny_cfg, tmp_path):
    run = Trainer(tiny_cfg()).fit()
    for name in ("config.yaml", "model.safetensors", "model.json", "metrics.csv", "curves.png"):
        assert (run / name).exists(), name
    assert (run / "best" / "model.json").exists() and (run / "best" / "metrics.json").exists()
    state = json.loads((run / "last" / "trainer_state.json").read_text())
    assert state["step"] == 6
    assert any((run / "tensorboard").iterdir())
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("step,split,loss,lr")
    assert sum(",val," in r for r in rows) == 2  # eval_every=3 over 6 steps
    # no pickle anywhere in the run folder
    assert not list(run.rglob("*.pt")) and not list(run.rglob("*.bin"))


def test_sigkill_then_resume_matches_uninterrupted_run(tiny_data, tiny_dinov3, tmp_path):
    extra = ("train.max_steps=8", "train.save_every=1", "train.eval_every=100")
    cfg_a = tmp_path / "a.yaml"
    from tracknet.config import load_config

    save_config(
        load_config(overrides=tiny_overrides(tiny_data, tiny_dinov3, tmp_path / "a", *extra)),
        tmp_path,
    )
    (tmp_path / "config.yaml").rename(cfg_a)
    full = _tracknet("train", "--config", str(cfg_a))
    assert full.wait(timeout=600) == 0, full.stdout.read()

    killed = _tracknet("train", "--config", str(cfg_a), f"run.dir={tmp_path / 'b'}")
    state = tmp_path / "b" / "last" / "trainer_state.json"
    deadline = time.time() + 300
    while time.time() < deadline:
        if state.exists() and json.loads(state.read_text())["step"] >= 3:
            break
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    stopped_at = json.loads(state.read_text())["step"]
    assert 3 <= stopped_at < 8, "the run must be killed mid-way"

    resumed = _tracknet("train", "--resume", str(tmp_path / "b"))
    assert resumed.wait(timeout=600) == 0, resumed.stdout.read()
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume (bitwise)"


def test_two_processes_match_one_with_the_same_global_batch(tiny_data, tiny_dinov3, tmp_path):
    common = ("train.max_steps=4", "train.eval_every=2", "train.loss=bce", "train.save_every=4")
    one = tiny_overrides(tiny_data, tiny_dinov3, tmp_path / "one", *common, "train.batch_size=4")
    two = tiny_overrides(tiny_data, tiny_dinov3, tmp_path / "two", *common, "train.batch_size=2")
    p1 = _tracknet("train", *one)
    assert p1.wait(timeout=600) == 0, p1.stdout.read()
    p2 = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port=29517",
            "-m",
            "tracknet",
            "train",
            *two,
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert p2.returncode == 0, p2.stdout[-3000:] + p2.stderr[-3000:]
    # one run folder, written by the main process only
    assert len(list((tmp_path / "two").glob("config.yaml"))) == 1
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    # AdamW divides by sqrt(v): on near-zero gradients it turns the summation-order noise of the
    # all-reduce into ~1e-5 differences; a wrong split of the batch moves weights by ~1e-3.
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-4, msg=key)
    val_rows = [
        r for r in (tmp_path / "two" / "metrics.csv").read_text().splitlines() if ",val," in r
    ]
    assert len(val_rows) == 2


class NaNLoss(Trainer):
    """A trainer whose loss is never finite."""

    def build_loss(self):
        return lambda logits, target: logits.sum() * float("nan")


def test_nonfinite_losses_skip_then_stop_with_state_saved(tiny_cfg, caplog):
    trainer = NaNLoss(tiny_cfg("train.max_nonfinite=3"))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(UserError, match="3 non-finite losses in a row"):
        trainer.fit()
    assert "non-finite loss, skipped" in caplog.text
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "no update from a NaN loss"
    assert (trainer.run_dir / "last" / "trainer_state.json").exists()


def test_training_and_validation_feed_the_clip_background(tiny_cfg, monkeypatch):
    """model.detail.background: every training and validation batch hands the model its
    clips' median frames (not the window-median stand-in)."""
    seen: list[tuple[bool, tuple[int, ...] | None]] = []
    real_forward = TrackNet.forward

    def recording_forward(self, frames, background=None):
        seen.append((self.training, None if background is None else tuple(background.shape)))
        return real_forward(self, frames, background)

    monkeypatch.setattr(TrackNet, "forward", recording_forward)
    cfg = tiny_cfg(
        "model.frames=3",
        "model.detail.enabled=true",
        "model.detail.channels=8",
        "model.detail.background=true",
        "model.temporal.heads=2",
        "train.max_steps=3",
    )
    Trainer(cfg).fit()
    train_calls = [shape for training, shape in seen if training]
    val_calls = [shape for training, shape in seen if not training]
    assert len(train_calls) == 3 and val_calls
    assert all(shape is not None and shape[1:] == (3, 80, 128) for shape in train_calls + val_calls)
    assert train_calls[0][0] == 2  # one background per window of the batch
