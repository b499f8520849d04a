"""Fixtures for training tests: a tiny synthetic dataset and a tiny-model config."""

from __future__ import annotations

import pytest

from tracknet.config import load_config


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """Three games of two short clips each, 320x180, tennis layout."""
    from tracknet.data.synth import synthesize

    root = tmp_path_factory.mktemp("data")
    synthesize(root, "tennis", clips=6, frames=12, size=(320, 180), seed=3, clips_per_game=2)
    return root


def tiny_overrides(data_root, backbone, run_dir, *extra):
    return [
        f"data.root={data_root}",
        "data.format=tennis",
        "data.num_workers=0",
        "data.augment.enabled=false",
        "data.split.train=[game1/*,game2/*]",
        "data.split.val=[game3/*]",
        "data.split.test=[game3/*]",
        f"model.pretrained_model_name={backbone}",
        "model.backbone.device_map=null",
        "model.input_size=[128,80]",
        "model.heatmap.size=[64,40]",
        "model.heatmap.sigma=1.5",
        "model.decoder.channels=[32,16,8]",
        "model.decoder.upsample=[2,2]",
        "train.batch_size=2",
        "train.max_steps=6",
        "train.warmup_steps=1",
        "train.eval_every=3",
        "train.save_every=2",
        "train.log_every=1",
        f"run.dir={run_dir}",
        *extra,
    ]


@pytest.fixture
def tiny_cfg(tiny_data, tiny_dinov3, tmp_path):
    def make(*extra, run_dir=None):
        return load_config(
            overrides=tiny_overrides(tiny_data, tiny_dinov3, run_dir or tmp_path / "run", *extra)
        )

    return make
