"""Synthetic footage: deterministic, correctly laid out, and labelled where the ball really is."""

from __future__ import annotations

import csv
import hashlib

import numpy as np
import pytest

from tracknet.cli import main
from tracknet.data.synth import (
    FORMATS,
    clip_rng,
    iter_clip,
    plan_clip,
    render_clip,
    synthesize,
)
from tracknet.io.labels import BALL_CSV_HEADER, TENNIS_CSV_HEADER
from tracknet.io.video import VideoReader, probe_video

SIZE = (320, 180)


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_seed_same_pixels_and_labels(fmt):
    a_frames, a_labels = render_clip(6, SIZE, np.random.default_rng(5), fmt=fmt)
    b_frames, b_labels = render_clip(6, SIZE, np.random.default_rng(5), fmt=fmt)
    assert digest(a_frames) == digest(b_frames)
    for name in ("frame", "visibility", "x", "y", "status"):
        np.testing.assert_array_equal(getattr(a_labels, name), getattr(b_labels, name))
    c_frames, _ = render_clip(6, SIZE, np.random.default_rng(6), fmt=fmt)
    assert digest(c_frames) != digest(a_frames)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("difficulty", ["normal", "hard"])
def test_labels_are_consistent(fmt, difficulty):
    plan = plan_clip(200, SIZE, clip_rng(1, 0), fmt=fmt, difficulty=difficulty)
    labels = plan.labels
    assert len(labels) == 200 and labels.frame.tolist() == list(range(200))
    shown = labels.visibility > 0
    assert shown.any()
    assert set(np.unique(labels.visibility)) <= {0, 1, 2, 3}
    assert (labels.x[shown] >= 0).all() and (labels.x[shown] <= SIZE[0] - 1).all()
    assert (labels.y[shown] >= 0).all() and (labels.y[shown] <= SIZE[1] - 1).all()
    assert (labels.x[~shown] == 0).all() and (labels.y[~shown] == 0).all()
    assert (labels.status[~shown] == 0).all()
    assert (plan.ball_diameter[shown] >= 3).all()  # never below 3 px


def test_visible_unblurred_balls_are_ball_coloured():
    plan = plan_clip(90, SIZE, clip_rng(0, 0), fmt="tennis")
    frames = np.stack(list(iter_clip(plan)))
    sharp = (plan.labels.visibility == 1) & (plan.blur_px < plan.ball_diameter / 2)
    assert sharp.sum() >= 5
    for f in np.flatnonzero(sharp):
        x, y = int(round(plan.labels.x[f])), int(round(plan.labels.y[f]))
        # brightness flicker and sensor noise allowed for
        assert np.abs(frames[f, y, x].astype(float) - plan.ball_colour).max() < 40, f


def test_long_clips_have_occluded_and_missing_stretches():
    visibility = np.concatenate(
        [plan_clip(300, SIZE, clip_rng(0, k), fmt="tennis").labels.visibility for k in range(3)]
    )
    assert (visibility == 0).sum() >= 10
    assert (visibility == 3).sum() >= 1
    assert (visibility == 1).sum() > len(visibility) // 2


def test_tennis_status_marks_hits_and_bounces():
    status = plan_clip(300, SIZE, clip_rng(0, 2), fmt="tennis").labels.status
    assert (status == 1).sum() >= 2 and (status == 2).sum() >= 2


def test_hard_is_harder():
    normal = plan_clip(300, (1280, 720), clip_rng(4, 0), difficulty="normal")
    hard = plan_clip(300, (1280, 720), clip_rng(4, 0), difficulty="hard")
    shown = (normal.ball_diameter > 0) & (hard.ball_diameter > 0)
    assert hard.ball_diameter[shown].mean() < normal.ball_diameter[shown].mean()
    assert hard.exposure > normal.exposure
    assert len(hard.objects.start) > len(normal.objects.start)
    assert (hard.labels.visibility == 2).sum() > (normal.labels.visibility == 2).sum()


def test_bad_arguments():
    with pytest.raises(ValueError, match="fmt"):
        plan_clip(4, SIZE, np.random.default_rng(0), fmt="cricket")
    with pytest.raises(ValueError, match="difficulty"):
        plan_clip(4, SIZE, np.random.default_rng(0), difficulty="extreme")


def test_tennis_layout(tmp_path):
    paths = synthesize(tmp_path, "tennis", clips=3, frames=4, size=SIZE, seed=1, workers=1)
    assert paths == [tmp_path / "game1/Clip1", tmp_path / "game1/Clip2", tmp_path / "game2/Clip1"]
    for clip in paths:
        names = sorted(p.name for p in clip.iterdir())
        assert names == ["0000.jpg", "0001.jpg", "0002.jpg", "0003.jpg", "Label.csv"]
        rows = read_csv(clip / "Label.csv")
        assert tuple(rows[0]) == TENNIS_CSV_HEADER
        assert [r[0] for r in rows[1:]] == names[:4]
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary folders left


def test_shuttlecock_layout(tmp_path):
    paths = synthesize(tmp_path, "shuttlecock", clips=2, frames=5, size=SIZE, seed=1, workers=1)
    match = tmp_path / "Professional" / "match1"
    assert paths == [match / "video/1_01_00.mp4", match / "video/1_02_00.mp4"]
    for video in paths:
        rows = read_csv(match / "csv" / f"{video.stem}_ball.csv")
        assert tuple(rows[0]) == BALL_CSV_HEADER
        assert [int(r[0]) for r in rows[1:]] == list(range(5))
        info = probe_video(video)
        assert (info.width, info.height, info.frame_count) == (*SIZE, 5)


def test_generic_layout_and_labels_match_the_video(tmp_path):
    (video,) = synthesize(tmp_path, "generic", clips=1, frames=6, size=SIZE, seed=2, workers=1)
    assert video == tmp_path / "clip_0000.mp4"
    rows = read_csv(tmp_path / "clip_0000_ball.csv")
    assert tuple(rows[0]) == BALL_CSV_HEADER and len(rows) == 7
    plan = plan_clip(6, SIZE, clip_rng(2, 0), fmt="generic")
    assert [int(r[1]) for r in rows[1:]] == plan.labels.visibility.tolist()
    with VideoReader(video) as reader:
        assert [i for i, _ in reader] == list(range(6))


def test_files_do_not_depend_on_workers(tmp_path):
    one = synthesize(tmp_path / "a", "tennis", clips=2, frames=3, size=SIZE, seed=9, workers=1)
    two = synthesize(tmp_path / "b", "tennis", clips=2, frames=3, size=SIZE, seed=9, workers=2)
    for left, right in zip(one, two, strict=True):
        for name in ("0000.jpg", "0002.jpg", "Label.csv"):
            assert (left / name).read_bytes() == (right / name).read_bytes()


def test_cli_synth(tmp_path, capsys):
    out = tmp_path / "data"
    args = ["synth", str(out), "--format", "generic", "--clips", "1", "--frames", "4"]
    assert main([*args, "--size", "160x96", "--seed", "3"]) == 0
    assert (out / "clip_0000.mp4").exists() and (out / "clip_0000_ball.csv").exists()
    assert "wrote 1 generic clip" in capsys.readouterr().out


@pytest.mark.parametrize("size", ["1280", "axb", "10x10", "1280x-720"])
def test_cli_rejects_bad_sizes(tmp_path, capsys, size):
    assert main(["synth", str(tmp_path), "--size", size]) == 2
    assert "--size" in capsys.readouterr().err
