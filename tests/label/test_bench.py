"""``tracknet bench label``'s measurement on a small clip, through the real server and the CLI (the
figures themselves are in docs/benchmarks.md)."""

from __future__ import annotations

import json

from tracknet.bench.label import measure
from tracknet.cli import main


def check_summary(summary, n):
    assert summary["n"] == n and 0 < summary["median"] <= summary["p90"] <= summary["max"]


def test_without_the_pass_every_frame_is_decoded_on_request(video, frame_cache_home):
    result = measure(video, steps=6, seeks=4, pause=0.0, disk_cache=False)
    assert result["size"] == "320x180" and result["frames"] == 20 and result["video"]
    before = result["before_pass"]
    for key, n in (("step_ms", 6), ("play_ms", 6), ("seek_ms", 4)):
        check_summary(before[key], n)
    assert result["background_pass"] == {"ran": False} and result["after_pass"] == {}
    assert result["first_ms"] > 0 and "cpu" in result["machine"]
    assert not video.with_name("clip_0000_ball.csv").exists()  # nothing written beside SOURCE
    assert not frame_cache_home.exists() or not any(frame_cache_home.iterdir())


def test_the_pass_is_waited_for_and_measured_after(video, frame_cache_home):
    result = measure(video, steps=6, seeks=4, pause=0.0)
    passed = result["background_pass"]
    assert passed["ran"] and passed["done"] and passed["frames"] == 20 and passed["disk_mb"] >= 0
    check_summary(result["before_pass"]["step_ms"], 6)
    check_summary(result["before_pass"]["seek_ms"], 4)
    check_summary(result["after_pass"]["step_ms"], 6)
    check_summary(result["after_pass"]["seek_ms"], 4)
    assert not any(frame_cache_home.iterdir())  # the session's frames went with it


def test_bench_label_cli_prints_and_writes_json(video, tmp_path, capsys):
    out = tmp_path / "label.json"
    args = ["bench", "label", str(video), "--steps", "4", "--seeks", "2", "--json", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "tracknet label: frame arrival, 320x180, 20 frames" in printed
    assert "after the pass: random seek" in printed and "background pass" in printed
    result = json.loads(out.read_text())
    assert result["benchmark"] == "label" and result["background_pass"]["done"]
    assert result["after_pass"]["seek_ms"]["n"] == 2
    assert main([*args[:3], "--no-pass", "--steps", "3", "--seeks", "2"]) == 0
    assert "before the pass" not in capsys.readouterr().out
