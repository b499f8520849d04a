"""The whole training loop learns: a tiny model over-fits a handful of synthetic clips."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from tests.train.conftest import tiny_overrides
from tracknet.config import load_config
from tracknet.data.dataset import ClipWindowDataset
from tracknet.train.trainer import Trainer
from tracknet.train.validate import validate_windows


@pytest.fixture(scope="module")
def overfit_data(tmp_path_factory):
    """Two games of two 16-frame clips; game1 holds one clip with the ball and one without."""
    from tracknet.data.synth import synthesize

    root = tmp_path_factory.mktemp("overfit")
    synthesize(root, "tennis", clips=4, frames=16, size=(320, 180), seed=5, clips_per_game=2)
    return root


@pytest.fixture(scope="module")
def overfit_run(overfit_data, tmp_path_factory):
    from tracknet.models.backbones.random_vit import save_random_vit

    work = tmp_path_factory.mktemp("overfit_run")
    backbone = save_random_vit(work / "vit", kind="dinov3", hidden_size=32, num_heads=2)
    cfg = load_config(
        overrides=tiny_overrides(
            overfit_data,
            backbone,
            work / "run",
            "data.split.train=[game1/*]",
            "data.split.val=[game2/*]",
            "data.split.test=[game2/*]",
            "model.input_size=[320,176]",
            "model.heatmap.size=[160,88]",
            "model.frames=3",
            "model.detail.enabled=true",
            "model.detail.channels=8",
            "train.lr=3e-3",
            "train.warmup_steps=5",
            "train.max_steps=60",
            "train.batch_size=4",
            "train.eval_every=1000",
            "train.save_every=1000",
            "train.log_every=20",
            "train.loss=focal",
        )
    )
    trainer = Trainer(cfg)
    trainer.fit()
    return trainer, cfg


def test_tiny_model_overfits_a_few_clips_to_f1_one(overfit_run):
    trainer, cfg = overfit_run
    windows = ClipWindowDataset.from_config(cfg, "train", augment=None, stride=None)
    result = validate_windows(trainer.acc, trainer.model, windows, trainer.codec, cfg)
    assert result.tp > 0 and result.tn > 0, "the clips must hold frames with and without ball"
    assert result.f1 == 1.0, result
    assert result.fp1 == result.fp2 == result.fn == 0


def test_run_folder_loads_in_a_fresh_process_with_the_same_logits(overfit_run, tmp_path):
    trainer, cfg = overfit_run
    torch.manual_seed(0)
    x = torch.rand(1, 3, 3, 176, 320)
    torch.save(x, tmp_path / "x.pt")  # test-side fixture only; the run folder holds no pickle
    model = trainer.acc.unwrap_model(trainer.model).eval()
    with torch.no_grad():
        expected = model(x)
    code = (
        "import sys, torch\n"
        "torch.set_num_threads(int(sys.argv[4]))\n"  # the parent's: same summation order
        "from tracknet.models.serialization import load_model\n"
        "m = load_model(sys.argv[1]).eval()\n"
        "x = torch.load(sys.argv[2])\n"
        "with torch.no_grad():\n"
        "    torch.save(m(x), sys.argv[3])\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(cfg.run.dir),
            str(tmp_path / "x.pt"),
            str(tmp_path / "y.pt"),
            str(torch.get_num_threads()),
        ],
        check=True,
        timeout=300,
    )
    got = torch.load(tmp_path / "y.pt")
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
