"""Options declared once (:mod:`tracknet.cli.options`): each flag of the table is an alias of a
configuration key, its help shows the key and the default, and the flag, the Python API's keyword
and ``tracknet label``'s option all give the same configuration."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from tracknet.cli import build_parser, main
from tracknet.cli.options import DEVICE, PREDICT_OPTIONS, Option, settings_of, show
from tracknet.config import Config, load_config
from tracknet.errors import UserError
from tracknet.settings import config_default, config_overrides

# A value each valued flag is given in the tests, as typed and as read: none is the default.
SAMPLES: dict[str, tuple[str, Any]] = {
    "--max-gap": ("3", 3),
    "--gate-px": ("120.5", 120.5),
    "--device": ("cuda:1", "cuda:1"),
    "--batch-size": ("4", 4),
    "--precision": ("bf16", "bf16"),
    "--input-size": ("384x224", [384, 224]),
}


def _typed(option: Option) -> tuple[list[str], Any]:
    """The words of ``option`` on a command line and the value they set."""
    if option.sets is not None:
        return [option.flag], option.sets
    if option.const is not None:
        return [option.flag], option.const
    text, value = SAMPLES[option.flag]
    return [option.flag, text], value


def _key_of(cfg: Config, key: str) -> Any:
    value: Any = cfg
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _parse(command: str, *words: str) -> argparse.Namespace:
    return build_parser(command).parse_args([command, *words])


def _config(settings: dict[str, Any]) -> Config:
    return load_config(None, config_overrides(settings))


def _keyword(key: str, value: Any) -> dict[str, Any]:
    """The Python API's keyword for a ``predict.*`` key: ``predict.trajectory.fill`` ->
    ``trajectory={"fill": value}``; another key is given whole (``**{"model.input_size": v}``)."""
    if not key.startswith("predict."):
        return {key: value}
    first, *rest = key.removeprefix("predict.").split(".")
    for part in reversed(rest):
        value = {part: value}
    return {first: value}


def test_every_option_names_a_key_of_the_configuration():
    flags = [o.flag for o in PREDICT_OPTIONS]
    assert len(flags) == len(set(flags))
    assert set(flags) >= {  # the flags predict had before the table: none may go
        "--smooth", "--max-gap", "--no-track", "--gate-px", "--device", "--batch-size",
        "--half", "--precision", "--compile", "--fill",
    }  # fmt: skip
    for option in PREDICT_OPTIONS:
        config_default(option.key)  # raises KeyError when there is no such key
        # predict's settings, and the model's input size (the speed/accuracy trade-off)
        assert option.key.startswith("predict.") or option.key == "model.input_size"
    assert set(SAMPLES) == {o.flag for o in PREDICT_OPTIONS if o.sets is None and not o.const}
    with pytest.raises(KeyError, match="no configuration key 'predict.nope'"):
        config_default("predict.nope")


@pytest.mark.parametrize("option", PREDICT_OPTIONS, ids=lambda o: o.flag)
def test_the_help_shows_the_key_and_its_default(option, capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # the help as one line
    key = option.key if option.sets is None else f"{option.key}={show(option.sets)}"
    assert f"{option.flag}" in text
    default = option.default_text or show(_key_of(Config(), option.key))
    assert f"({key}, default {default})" in text


def test_the_help_words_a_few_options_as_the_configuration_does(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "bf16/fp16 autocast (predict.half=true, default false)" in text
    assert "(predict.track=false, default true)" in text
    assert "(predict.batch_size, default 8)" in text
    assert "(predict.trajectory.fill, default none)" in text


@pytest.mark.parametrize("option", PREDICT_OPTIONS, ids=lambda o: o.flag)
def test_each_flag_sets_its_key(option):
    words, value = _typed(option)
    assert value != config_default(option.key)  # else the test would not see it
    args = _parse("predict", "v.mp4", "--checkpoint", "run", *words)
    settings = settings_of(args, PREDICT_OPTIONS)
    assert settings == {option.key: value}
    cfg = _config(settings)
    assert _key_of(cfg, option.key) == value
    changed = Config()
    path, _, last = option.key.rpartition(".")
    setattr(_key_of(changed, path), last, value)
    assert cfg == changed  # that key and no other


def test_options_not_given_leave_the_run_s_values():
    args = _parse("predict", "v.mp4", "--checkpoint", "run", "predict.top_k=8")
    assert settings_of(args, PREDICT_OPTIONS) == {}
    assert args.inputs == ["v.mp4", "predict.top_k=8"]


@pytest.mark.parametrize("option", PREDICT_OPTIONS, ids=lambda o: o.flag)
def test_the_api_keyword_and_the_flag_give_the_same_configuration(option):
    words, value = _typed(option)
    args = _parse("predict", "v.mp4", "--checkpoint", "run", *words)
    from_flag = _config(settings_of(args, PREDICT_OPTIONS))
    from_keyword = _config(_keyword(option.key, value))
    assert from_flag == from_keyword
    assert config_overrides(_keyword(option.key, value)) == config_overrides({option.key: value})


def test_all_flags_at_once_give_the_configuration_of_the_keywords():
    words, keywords = [], {}
    for option in PREDICT_OPTIONS:
        typed, value = _typed(option)
        words += typed
        keywords.update(_keyword(option.key, value))
    args = _parse("predict", "v.mp4", "--checkpoint", "run", *words)
    assert _config(settings_of(args, PREDICT_OPTIONS)) == _config(keywords)


def test_predict_hands_the_settings_to_the_run_over_the_key_value_items(tmp_path, monkeypatch):
    (tmp_path / "v.mp4").write_bytes(b"")
    seen = {}

    def load_run(path, overrides=(), device_map=None):
        seen["overrides"] = list(overrides)
        raise UserError("stop here")

    monkeypatch.setattr("tracknet.predict.command.load_run", load_run)
    video, words = str(tmp_path / "v.mp4"), ["--checkpoint", "run", "--no-progress"]
    items = ["predict.half=false", "predict.top_k=8"]
    assert main(["predict", video, *items, *words, "--half", "--fill", "--max-gap", "3"]) == 2
    cfg = load_config(None, seen["overrides"])
    assert cfg.predict.half is True  # the flag wins over the item
    assert (cfg.predict.top_k, cfg.predict.max_gap, cfg.predict.trajectory.fill) == (8, 3, "fit")
    assert cfg.predict.device == "auto" and cfg.predict.track is True


def test_label_takes_the_device_option_of_predict(monkeypatch, capsys):
    seen = {}

    def serve(source, overrides=(), **kwargs):
        seen["overrides"] = list(overrides)
        return 0

    monkeypatch.setattr("tracknet.label.server.serve", serve)
    assert main(["label", "clip.mp4", "--device", "cuda:1"]) == 0
    assert load_config(None, seen["overrides"]).predict.device == "cuda:1"
    assert seen["overrides"] == config_overrides({DEVICE.key: "cuda:1"})
    assert main(["label", "clip.mp4"]) == 0
    assert seen["overrides"] == []
    with pytest.raises(SystemExit):
        main(["label", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(predict.device, default auto)" in text


@pytest.mark.parametrize("command", ["eval", "cache", "bench"])
def test_every_command_reads_width_by_height_alike(command, capsys):
    words = {"eval": ["eval"], "cache": ["cache", "data"], "bench": ["bench", "model"]}[command]
    with pytest.raises(SystemExit) as exit_info:
        main([*words, "--input-size", "512"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --input-size: expected WIDTHxHEIGHT such as 512x288, got '512'" in err
