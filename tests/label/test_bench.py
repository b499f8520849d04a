"""``tracknet bench label``'s measurement on a small clip (the figures themselves are in
docs/benchmarks.md)."""

from __future__ import annotations

from tracknet.label.bench import measure


def test_frame_latency_is_measured_through_the_real_server(video):
    result = measure(video, steps=6, seeks=4, pause=0.0)
    assert result["size"] == "320x180" and result["frames"] == 20 and result["video"]
    for key, n in (("step_ms", 6), ("play_ms", 6), ("seek_ms", 4)):
        summary = result[key]
        assert summary["n"] == n and 0 < summary["median"] <= summary["p90"] <= summary["max"]
    assert result["first_ms"] > 0 and "cpu" in result["machine"]
    assert not video.with_name("clip_0000_ball.csv").exists()  # nothing written beside SOURCE
