"""Typed config: defaults, YAML + dotted overrides, errors that name the key."""

from pathlib import Path

import pytest

from tracknet.config import Config, ConfigError, load_config, save_config, wh_to_hw

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_defaults_are_the_spec_setup():
    cfg = load_config()
    assert isinstance(cfg, Config)
    assert cfg.model.pretrained_model_name == "facebook/dinov3-vits16-pretrain-lvd1689m"
    assert cfg.model.decoder.channels == [384, 256, 128, 64]
    assert wh_to_hw(cfg.model.heatmap.size) == (144, 256)
    assert wh_to_hw(cfg.model.input_size) == (720, 1280)
    assert cfg.model.backbone.device_map == "auto" and cfg.model.backbone.local_files_only


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  frames: 3\n  decoder:\n    norm: bn\ntrain:\n  max_steps: 7\n")
    cfg = load_config(
        path,
        [
            "model.decoder.channels=[384,256,128,64]",
            "model.heatmap.size=[128,72]",
            "train.max_steps=9",
        ],
    )
    assert cfg.model.frames == 3 and cfg.model.decoder.norm == "bn"
    assert cfg.train.max_steps == 9
    assert cfg.model.heatmap.size == [128, 72]


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["model.decoder.chanels=[1,2]"], "model.decoder.chanels"),
        (["train.max_steps=many"], "train.max_steps"),
        (["model.backbone.freeze=maybe"], "model.backbone.freeze"),
        (["model.decoder.norm=ln"], "model.decoder.norm"),
        (["model.decoder.channels=[384,64]"], "model.decoder.channels"),
        (["model.heatmap.size=[256]"], "model.heatmap.size"),
    ],
)
def test_bad_keys_and_types_name_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", "\\.")):
        load_config(overrides=overrides)


def test_unknown_key_in_yaml_names_it(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  roots: /x\n")
    with pytest.raises(ConfigError, match="data\\.roots"):
        load_config(path)


def test_saved_config_reloads_identically(tmp_path):
    cfg = load_config(overrides=["model.frames=3", "data.root=/data/tennis"])
    save_config(cfg, tmp_path)
    assert load_config(tmp_path / "config.yaml") == cfg
    assert load_config(tmp_path) == cfg  # a run folder works too


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_shipped_configs_load(name):
    load_config(CONFIGS / name)
