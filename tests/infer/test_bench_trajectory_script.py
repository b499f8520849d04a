"""scripts/bench_trajectory.py: the trajectory stage's time next to tracking, on a run's clips."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_trajectory.py"


def test_times_the_stage_on_the_tracks_of_a_split(tiny_run, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_trajectory", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "cost.json"
    assert script.main(["--checkpoint", str(tiny_run), "--repeats", "2", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["clips"] == 1 and result["frames"] == 8  # game2's one clip of 8 frames
    assert result["track_wall_ms_per_frame"] > 0
    for name in ("events", "enabled+fill"):
        r = result[name]
        assert r["wall_ms_per_frame"] > 0 and math.isfinite(r["share_of_wall"])
        assert r["share_of_wall"] == r["wall_ms_per_frame"] / result["track_wall_ms_per_frame"]
    assert "% of tracking" in capsys.readouterr().out
