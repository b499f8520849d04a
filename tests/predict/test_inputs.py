"""What ``tracknet predict`` makes of its command line: overrides, folders of videos, output
names, and this process's share under a launcher."""

from __future__ import annotations

import pytest

from tracknet.errors import UserError
from tracknet.predict.inputs import (
    expand_inputs,
    output_names,
    shard,
    split_overrides,
)
from tracknet.utils import launcher_rank


def test_overrides_are_told_from_paths(tmp_path):
    existing = tmp_path / "a.b=c"
    existing.mkdir()
    items = ["v.mp4", "predict.top_k=8", str(existing), "x=1", "model.frames=3"]
    assert split_overrides(items) == (
        ["v.mp4", str(existing), "x=1"],
        ["predict.top_k=8", "model.frames=3"],
    )


def test_a_folder_of_videos_stands_for_its_videos(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("b.MP4", "a.webm", "notes.txt"):
        (videos / name).write_bytes(b"")
    frames = tmp_path / "frames"
    frames.mkdir()
    for name in ("0.jpg", "x.mp4"):
        (frames / name).write_bytes(b"")
    got = expand_inputs([str(videos), str(frames), "missing.mp4"])
    assert got == [str(videos / "a.webm"), str(videos / "b.MP4"), str(frames), "missing.mp4"]


def test_clashing_stems_get_their_folder_name(tmp_path):
    a, b = tmp_path / "game1" / "Clip1", tmp_path / "game2" / "Clip1"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    assert output_names([str(a), str(b), "x/v.mp4"]) == ["game1_Clip1", "game2_Clip1", "v"]
    with pytest.raises(UserError, match="would both write game1_Clip1_ball.csv"):
        output_names([str(a), str(a)])


def test_launcher_rank_and_shard(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("PMI_RANK", raising=False)
    monkeypatch.delenv("PMI_SIZE", raising=False)
    assert launcher_rank() == (0, 1)
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "3")
    assert launcher_rank() == (1, 3)
    monkeypatch.setenv("RANK", "5")  # torchrun's variables come first, but rank >= world
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert launcher_rank() == (1, 3)
    assert shard(list(range(7)), 1, 3) == [1, 4]
