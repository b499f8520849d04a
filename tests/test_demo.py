"""``tracknet demo --quick``: the README's main job, end to end, in about a minute."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tracknet.cli import main
from tracknet.io.video.probe import probe_video

METRIC_KEYS = {"tp", "tn", "fp1", "fp2", "fn", "accuracy", "precision", "recall", "f1", "rmse"}


def test_quick_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tracknet demo (quick) done" in printed and str(out) in printed

    summary = json.loads((out / "summary.json").read_text())
    files = summary["files"]
    assert printed.count("event F1") == 2  # next to the test clips' and the video's F1
    assert set(summary["video_events"]) == {"f1", "precision", "recall"}
    assert Path(files["events"]).name.endswith("_events.csv")
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["overall"]) >= METRIC_KEYS, metrics["overall"].keys()
    counts = [metrics["overall"][k] for k in ("tp", "tn", "fp1", "fp2", "fn")]
    assert sum(counts) > 0 and all(c >= 0 for c in counts)

    # the predictions: one row per frame of the match video, with the exact header
    rows = list(csv.reader(Path(files["csv"]).read_text().splitlines()))
    assert rows[0] == ["Frame", "Visibility", "X", "Y"]
    video = next((out / "video").glob("*.mp4"))
    info = probe_video(video)
    assert [int(r[0]) for r in rows[1:]] == list(range(info.frame_count))

    # the overlay: same frame count, fps and size as the source
    overlay = probe_video(files["overlay"])
    assert overlay.frame_count == info.frame_count
    assert abs(overlay.fps - info.fps) < 1e-3
    assert (overlay.width, overlay.height) == (info.width, info.height)

    # the pictures and the run folder that predict / eval --checkpoint accept
    assert (out / "curves.png").stat().st_size > 0
    assert any(p.suffix == ".png" for p in (out / "trajectories").iterdir())
    run = out / "run"
    for name in ("config.yaml", "model.safetensors", "model.json"):
        assert (run / name).exists(), name

    assert main(["eval", "--checkpoint", str(run), "--out", str(tmp_path / "eval")]) == 0
    again = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert again["overall"]["f1"] == metrics["overall"]["f1"]
