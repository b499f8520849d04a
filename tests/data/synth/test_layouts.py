"""The written datasets: each layout's files where the readers expect them, labels matching."""

from __future__ import annotations

import csv

from tracknet.data.synth import clip_rng, plan_clip, synthesize
from tracknet.io.label_columns import BALL_CSV_HEADER, TENNIS_CSV_HEADER
from tracknet.io.video.probe import probe_video
from tracknet.io.video.reader import VideoReader

SIZE = (320, 180)


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


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
