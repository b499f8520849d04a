"""Bundled models (:mod:`tracknet.models.zoo`), with a tiny run bundled into a temporary root the
way ``scripts/bundle_model.py`` bundles the shipped ones: resolved by name before a path, loaded
by every command that takes ``--checkpoint``, fine-tuned from by name, listed by ``tracknet
models``; a name that is neither is a one-line error naming the bundled models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.conftest import load_script
from tests.infer.conftest import make_tiny_data, make_tiny_run, write_spot_video
from tracknet.cli import main
from tracknet.errors import CheckpointError
from tracknet.models import zoo

CARD = {
    "summary": "a tiny test model",
    "sport": "tennis",
    "figures": {"held_out": {"accuracy": 0.5, "f1": 0.25}},
}


@pytest.fixture(scope="module")
def bundled(tmp_path_factory, tiny_dinov3):
    """A tiny run bundled as ``tiny`` into a temporary root; ``(root, run, data)``."""
    base = tmp_path_factory.mktemp("zoo")
    data = make_tiny_data(base / "data")
    run = make_tiny_run(base / "run", data, tiny_dinov3)
    root = base / "bundled"
    script = load_script("bundle_model")
    script.bundle(run, "tiny", CARD, root, ["predict.static.enabled=true"])
    return root, run, data


@pytest.fixture
def zoo_root(bundled, monkeypatch):
    root, run, data = bundled
    monkeypatch.setattr(zoo, "BUNDLED_ROOT", root)
    return bundled


def test_the_bundle_holds_a_self_contained_model_and_its_card(zoo_root):
    root, run, _ = zoo_root
    folder = root / "tiny"
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {
        "model.safetensors",
        "model.json",
        "config.yaml",
        "card.json",
        "backbone/config.json",
        "backbone/model.safetensors",
        "backbone/preprocessor_config.json",
    } <= names
    card = json.loads((folder / "card.json").read_text())
    assert card["name"] == "tiny" and card["parameters"] > 0 and card["sport"] == "tennis"
    config = (folder / "config.yaml").read_text()
    assert str(run) not in config and "pretrained_model_name: tiny" in config
    assert "static:\n    enabled: true" in config
    assert zoo.bundled_path("tiny") == folder and zoo.bundled_path("./tiny") is None


def test_a_bundled_name_resolves_before_a_folder_of_that_name(zoo_root, tmp_path, monkeypatch):
    from tracknet.infer.loading import load_run

    root, run, _ = zoo_root
    (tmp_path / "tiny").mkdir()  # a folder of the same name in the working directory
    monkeypatch.chdir(tmp_path)
    model, _ = load_run("tiny")
    original, _ = load_run(run)
    for a, b in zip(model.state_dict().values(), original.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_an_unknown_name_is_one_line_listing_the_bundled_models(zoo_root, tmp_path, capsys):
    from tracknet.infer.loading import load_run

    with pytest.raises(CheckpointError, match=r"not a bundled model \(bundled: tiny\)"):
        load_run(tmp_path / "nowhere")
    code = main(["predict", str(tmp_path / "x.mp4"), "--checkpoint", "tinny"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "bundled: tiny" in err


def test_predict_and_the_python_api_run_a_bundled_model_by_name(zoo_root, tmp_path):
    from tracknet import Tracker

    positions = [(20 + 3 * i, 30) for i in range(10)]
    video = write_spot_video(tmp_path / "clip.mp4", positions)
    assert main(["predict", str(video), "--checkpoint", "tiny", "--out", str(tmp_path)]) == 0
    rows = (tmp_path / "clip_ball.csv").read_text().splitlines()
    assert rows[0].startswith("Frame,Visibility,X,Y") and len(rows) == 1 + len(positions)
    track = Tracker.from_pretrained("tiny", device="cpu").track(video)
    assert len(track) == len(positions) and np.asarray(track.xy).shape == (len(positions), 2)


def test_eval_scores_a_bundled_model_on_a_dataset(zoo_root, tmp_path):
    _, _, data = zoo_root
    js = tmp_path / "m.json"
    overrides = [f"data.root={data}", "data.format=tennis", "data.split.test=[game2/*]"]
    args = ["eval", "--checkpoint", "tiny", "--split", "test", "--json", str(js)]
    assert main([*args, *overrides]) == 0
    assert "f1" in json.loads(js.read_text())["overall"]


def test_fine_tuning_starts_from_a_bundled_model_by_name(zoo_root, tmp_path):
    from tracknet.config import load_config
    from tracknet.infer.loading import load_run
    from tracknet.models import build_model
    from tracknet.train.init_from import init_from

    _, _, data = zoo_root
    cfg = load_config(
        zoo.bundled_path("tiny") / "config.yaml",
        [f"data.root={data}", "train.init_from=tiny", f"run.dir={tmp_path / 'ft'}"],
    )
    model = build_model(cfg.model)  # the backbone named "tiny": the bundled one's shape
    init_from(model, cfg.train.init_from, strict=True)
    bundled_model, _ = load_run("tiny")
    for a, b in zip(model.state_dict().values(), bundled_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_tracknet_models_lists_the_bundled_models_with_their_figures(zoo_root, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "0.500" in out and "a tiny test model" in out
    assert main(["models", "tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tiny"]["sport"] == "tennis"
    assert main(["models", "nope"]) == 2
    assert "bundled: tiny" in capsys.readouterr().err


def test_the_labelling_tool_suggests_with_a_bundled_model_by_name(zoo_root, tmp_path):
    import time

    from tracknet.label.server import open_session

    video = write_spot_video(tmp_path / "clip.mp4", [(20 + 3 * i, 30) for i in range(8)])
    session = open_session(video, checkpoint="tiny", disk_cache=False)
    try:
        deadline = time.monotonic() + 60
        while session.suggestions.state not in ("done", "error"):
            assert time.monotonic() < deadline, session.suggestions.state
            time.sleep(0.05)
        assert session.suggestions.state == "done"
    finally:
        session.close()
    with pytest.raises(CheckpointError, match="bundled: tiny"):
        open_session(video, checkpoint="tinny", disk_cache=False)


# ----------------------------------------------------------------------------- the shipped model
@pytest.mark.parametrize("name", ["badminton", "badminton-fast"])
def test_the_shipped_badminton_models_run_by_name_on_a_synthetic_clip(tmp_path, name):
    """What a user gets from a fresh clone: ``--checkpoint badminton`` (and the fast one) with
    nothing trained."""
    shipped = zoo.bundled_models()
    assert name in shipped, shipped
    card = shipped[name].card
    assert card["sport"] == "badminton" and 0 < card["figures"]["held_out"]["accuracy"] <= 1
    assert shipped[name].size_bytes < 8e6  # small enough to live in the repository
    positions = [(200 + 20 * i, 300 - 8 * i) for i in range(12)]
    video = write_spot_video(tmp_path / "rally.mp4", positions, size=(320, 180))
    code = main(["predict", str(video), "--checkpoint", name, "--out", str(tmp_path)])
    assert code == 0
    rows = (tmp_path / "rally_ball.csv").read_text().splitlines()
    assert len(rows) == 1 + len(positions)


def test_the_fast_model_runs_without_its_batch_norms():
    """badminton-fast is built for the CPU: every BatchNorm but the one after the detail path's
    first convolution (its stems) folds away when it is set up for inference."""
    from tracknet.infer.device import prepare_for_inference
    from tracknet.infer.loading import load_run

    model, _ = load_run("badminton-fast")
    norms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert norms > 5
    prepare_for_inference(model, torch.device("cpu"))
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 1
    assert not model.normalise_input  # folded into the patch embedding
