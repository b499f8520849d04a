"""``tracknet cache DATA``: builds the frame caches, reports location and size; idempotent."""

from __future__ import annotations

from tests.data.helpers import write_video_clip
from tracknet.cli import main

OPTIONS = ["--input-size", "64x36"]  # options first: argparse takes DATA and overrides together
SIZES = ["model.heatmap.size=[32,18]"]


def test_cli_cache_builds_then_finds_the_caches(tmp_path, capsys):
    for k in range(2):
        write_video_clip(tmp_path / f"clip{k}.mp4", tmp_path / f"clip{k}_ball.csv", n=4, seed=k)
    assert main(["cache", *OPTIONS, str(tmp_path), *SIZES]) == 0
    out = capsys.readouterr().out
    assert "2 clip(s), 2 built" in out and f"location: {tmp_path / '.tracknet_cache'}" in out
    size = sum(p.stat().st_size for p in (tmp_path / ".tracknet_cache").glob("*.frames"))
    assert f"size: {size / 2**20:.1f} MiB for these clips" in out
    assert main(["cache", *OPTIONS, str(tmp_path), *SIZES]) == 0
    assert "0 built" in capsys.readouterr().out


def test_cli_cache_elsewhere_or_off(tmp_path, capsys):
    write_video_clip(tmp_path / "data" / "clip.mp4", tmp_path / "data" / "clip_ball.csv", n=3)
    elsewhere = tmp_path / "cache"
    assert main(["cache", *OPTIONS, str(tmp_path / "data"), *SIZES, f"data.cache={elsewhere}"]) == 0
    assert f"location: {elsewhere}" in capsys.readouterr().out
    assert len(list(elsewhere.glob("clip-*-64x36-stretch.frames"))) == 1
    assert main(["cache", *OPTIONS, str(tmp_path / "data"), *SIZES, "data.cache=off"]) == 0
    assert "data.cache is off" in capsys.readouterr().out


def test_cli_cache_missing_dataset(tmp_path, capsys):
    assert main(["cache", str(tmp_path / "nothing")]) == 2
    assert "tracknet cache: error:" in capsys.readouterr().err
