"""Bad input: one clear line (what, which file/line, what to do), exit status 2, no traceback.

Most cases run ``tracknet.cli.main`` in this process; a few run ``python -m tracknet`` to prove
the real exit status and that no traceback reaches the terminal (``--debug`` shows one).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.reliability.conftest import assert_one_clear_line, cli, run_cli, tiny_overrides


@pytest.fixture
def data(tiny_data, tmp_path) -> Path:
    """A private copy of the tiny tennis dataset that a test may damage."""
    return Path(shutil.copytree(tiny_data, tmp_path / "data"))


def _train(capsys, data_root, backbone, run_dir, *extra):
    args = tiny_overrides(data_root, backbone, run_dir, "train.max_steps=1", *extra)
    return cli(capsys, "train", *args)


def _replace_line(path: Path, line_no: int, text: str | None) -> None:
    """Replace 1-based line ``line_no`` of ``path`` by ``text`` (None: delete it)."""
    lines = path.read_text().splitlines()
    if text is None:
        del lines[line_no - 1]
    else:
        lines[line_no - 1] = text
    path.write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- datasets
def test_corrupted_jpeg_strict_names_the_file(capsys, data, tiny_dinov3, tmp_path):
    bad = data / "game1" / "Clip1" / "0003.jpg"
    bad.write_bytes(bad.read_bytes()[:200])  # a copy that stopped early
    code, _, err = _train(capsys, data, tiny_dinov3, tmp_path / "run", "data.strict=true")
    line = assert_one_clear_line(code, err, str(bad), "data.strict=false")
    assert "image" in line


def test_corrupted_jpeg_lenient_skips_the_frame_with_one_warning(data, caplog):
    from tracknet.data.formats import load_clips

    bad = data / "game1" / "Clip1" / "0003.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    clips = load_clips(data, "tennis")
    clip = next(c for c in clips if c.name == "game1/Clip1")
    assert 3 not in clip.labels.frame.tolist(), "the corrupt frame must be unlabelled"
    assert len(clip.labels) == clip.num_frames - 1, "every other frame keeps its label"
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and str(bad) in warnings[0].getMessage()


LABEL_FAULTS = {
    # name: (line 3 replaced by, kind named in the message)
    "malformed_row": ("0001.jpg,1,abc", "malformed_row"),
    "nan": ("0001.jpg,1,nan,50,0", "nan"),
    "negative": ("0001.jpg,1,-3,50,0", "outside_frame"),
    "outside_frame": ("0001.jpg,1,100,181.5,0", "outside_frame"),
    "duplicate_frame": ("0000.jpg,0,,,0", "duplicate_frame"),
    "missing_frame": (None, "frames"),
}


@pytest.mark.parametrize("fault", sorted(LABEL_FAULTS))
def test_label_csv_faults_strict_name_file_and_line(capsys, data, tiny_dinov3, tmp_path, fault):
    text, kind = LABEL_FAULTS[fault]
    label = data / "game1" / "Clip1" / "Label.csv"
    _replace_line(label, 3, text)
    code, _, err = _train(capsys, data, tiny_dinov3, tmp_path / "run", "data.strict=true")
    where = str(label) if fault == "missing_frame" else f"{label}:3"
    assert_one_clear_line(code, err, where, kind, "data.strict=false")


@pytest.mark.parametrize("fault", sorted(LABEL_FAULTS))
def test_label_csv_faults_lenient_leave_the_frame_unlabelled(data, caplog, fault):
    from tracknet.data.formats import load_clips

    text, kind = LABEL_FAULTS[fault]
    label = data / "game1" / "Clip1" / "Label.csv"
    _replace_line(label, 3, text)
    clip = next(c for c in load_clips(data, "tennis") if c.name == "game1/Clip1")
    if fault == "duplicate_frame":  # the row of frame 1 was replaced by a second frame 0
        assert clip.labels.frame.tolist().count(0) == 1
    assert 1 not in clip.labels.frame.tolist(), "a bad row never becomes a 'no ball' label"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and kind in warnings[0] and str(label) in warnings[0]


def test_truncated_mp4_in_a_dataset_strict(capsys, tmp_path, tiny_dinov3):
    from tests.reliability.conftest import write_video

    root = tmp_path / "generic"
    root.mkdir()
    video = write_video(root / "clip.mp4", frames=8)
    (root / "clip_ball.csv").write_text(
        "Frame,Visibility,X,Y\n" + "".join(f"{i},0,0,0\n" for i in range(8))
    )
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    code, _, err = _train(
        capsys, root, tiny_dinov3, tmp_path / "run", "data.format=generic", "data.strict=true"
    )
    assert_one_clear_line(code, err, str(video), "truncated")


def test_empty_dataset_folder(capsys, tmp_path, tiny_dinov3):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _train(capsys, empty, tiny_dinov3, tmp_path / "run", "data.format=null")
    assert_one_clear_line(code, err, str(empty), "no labelled clips")


def test_split_that_matches_no_clip(capsys, data, tiny_dinov3, tmp_path):
    code, _, err = _train(capsys, data, tiny_dinov3, tmp_path / "run", "data.split.val=[game9/*]")
    assert_one_clear_line(code, err, "data.split.val", "game9/*", "matches none")


def test_split_without_training_windows(capsys, data, tiny_dinov3, tmp_path):
    # every frame unlabelled: the training split exists but holds no window
    for label in data.rglob("Label.csv"):
        label.write_text(label.read_text().splitlines()[0] + "\n")
    code, _, err = _train(capsys, data, tiny_dinov3, tmp_path / "run")
    assert_one_clear_line(code, err, "training split", "no labelled windows")


# --------------------------------------------------------------------------- configuration
def test_input_size_not_a_multiple_of_the_patch(capsys, data, tiny_dinov3, tmp_path):
    code, _, err = _train(capsys, data, tiny_dinov3, tmp_path / "run", "model.input_size=[130,80]")
    assert_one_clear_line(code, err, "model.input_size", "patch", "[144, 80]")


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("train.max_stepz=5", "train.max_stepz"),
        ("train.max_steps=many", "train.max_steps"),
        ("model.decoder.channels=oops", "model.decoder.channels"),
        ("train.loss=l2", "train.loss"),
        ("trainmax_steps", "key=value"),
    ],
)
def test_config_unknown_key_or_wrong_type(capsys, data, tiny_dinov3, tmp_path, override, needle):
    code, _, err = _train(capsys, data, tiny_dinov3, tmp_path / "run", override)
    assert_one_clear_line(code, err, needle)


def test_config_file_with_unknown_key_names_it(capsys, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("train:\n  max_steps: 10\n  learning_rate: 0.1\n")
    code, _, err = cli(capsys, "train", "--config", str(cfg))
    assert_one_clear_line(code, err, "train.learning_rate")


def test_config_file_not_yaml(capsys, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("train: [unclosed\n")
    code, _, err = cli(capsys, "train", "--config", str(cfg))
    assert_one_clear_line(code, err, str(cfg), "not valid YAML")


def test_missing_backbone_in_the_local_cache(capsys, data, tmp_path):
    code, _, err = _train(capsys, data, "nobody/no-such-dinov3", tmp_path / "run")
    assert_one_clear_line(code, err, "nobody/no-such-dinov3", "local Hugging Face cache")


def test_missing_backbone_of_a_checkpoint(capsys, tiny_dinov3, clean_video, tmp_path):
    from tracknet.config import load_config, save_config
    from tracknet.models import build_model
    from tracknet.models.serialization import save_model

    # A frozen backbone is not saved with the model: it must come from the local cache.
    run = tmp_path / "run"
    cfg = load_config(
        overrides=tiny_overrides(tmp_path, tiny_dinov3, run, "model.backbone.freeze=true")
    )
    save_model(build_model(cfg), run)
    save_config(cfg, run)
    meta_path = run / "model.json"
    meta = json.loads(meta_path.read_text())
    assert not meta["includes_backbone"]
    meta["model"]["pretrained_model_name"] = "nobody/no-such-dinov3"
    meta_path.write_text(json.dumps(meta))
    code, _, err = cli(
        capsys, "predict", str(clean_video), "--checkpoint", str(run), "--out", str(tmp_path)
    )
    assert_one_clear_line(code, err, "nobody/no-such-dinov3", "hf download")


# --------------------------------------------------------------------------- checkpoints
def test_checkpoint_from_an_incompatible_config(capsys, run_copy):
    config = run_copy / "config.yaml"
    config.write_text(config.read_text().replace("- 16\n    - 8\n", "- 24\n    - 8\n", 1))
    assert "- 24" in config.read_text()
    code, _, err = cli(capsys, "train", "--resume", str(run_copy))
    assert_one_clear_line(code, err, str(run_copy / "last"), "configuration")


def test_resume_of_a_folder_without_training_state(capsys, run_copy):
    shutil.rmtree(run_copy / "last")
    code, _, err = cli(capsys, "train", "--resume", str(run_copy))
    assert_one_clear_line(code, err, str(run_copy), "nothing to resume")


def test_predict_with_a_folder_that_is_no_checkpoint(capsys, clean_video, tmp_path):
    code, _, err = cli(
        capsys, "predict", str(clean_video), "--checkpoint", str(tmp_path), "--out", str(tmp_path)
    )
    assert_one_clear_line(code, err, str(tmp_path), "no model.json")


# --------------------------------------------------------------------------- videos and outputs
def test_zero_length_video(capsys, trained_run, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    code, _, err = cli(
        capsys, "predict", str(empty), "--checkpoint", str(trained_run), "--out", str(out)
    )
    assert_one_clear_line(code, err, str(empty), "empty (0 bytes)")
    assert not out.exists() or not any(out.iterdir())


def test_truncated_mp4_without_its_index(capsys, trained_run, clean_video, tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clean_video.read_bytes()[: clean_video.stat().st_size // 2])
    out = tmp_path / "out"
    code, _, err = cli(
        capsys, "predict", str(cut), "--checkpoint", str(trained_run), "--out", str(out)
    )
    assert_one_clear_line(code, err, str(cut), "truncated", "ffmpeg")
    assert not out.exists() or not any(out.iterdir())


def test_missing_video(capsys, trained_run, tmp_path):
    code, _, err = cli(
        capsys, "predict", str(tmp_path / "nope.mp4"), "--checkpoint", str(trained_run)
    )
    assert_one_clear_line(code, err, "nope.mp4", "no such")


def test_output_folder_that_cannot_be_written(capsys, trained_run, clean_video, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    for out in (blocker, blocker / "sub"):
        code, _, err = cli(
            capsys, "predict", str(clean_video), "--checkpoint", str(trained_run), "--out", str(out)
        )
        assert_one_clear_line(code, err, str(blocker), "cannot")
    assert blocker.read_text() == "not a folder"


def test_run_folder_that_cannot_be_written(capsys, data, tiny_dinov3, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, err = _train(capsys, data, tiny_dinov3, blocker / "run")
    assert_one_clear_line(code, err, str(blocker), "cannot")


# --------------------------------------------------------------------------- real processes
def test_real_process_exit_code_2_and_no_traceback(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    res = run_cli("predict", str(empty), "--checkpoint", str(tmp_path))
    assert_one_clear_line(res.returncode, res.stderr, "no model.json")
    res = run_cli("train", "train.max_stepz=3")
    assert_one_clear_line(res.returncode, res.stderr, "train.max_stepz")


def test_debug_shows_the_traceback(capsys):
    code, _, err = cli(capsys, "--debug", "train", "train.max_stepz=3")
    assert code == 2
    assert "Traceback (most recent call last)" in err and "ConfigError" in err
    code, _, err = cli(capsys, "train", "--debug", "train.max_stepz=3")
    assert code == 2 and "Traceback" in err
