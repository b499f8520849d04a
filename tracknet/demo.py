"""The end-to-end demo: synthetic footage -> training -> evaluation -> prediction with overlay.

Nothing is downloaded: the footage is synthesised, and the backbone is a small DINOv3-shaped ViT
from random init, written into the demo folder and loaded through the same
``from_pretrained(..., local_files_only=True)`` path as real weights.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tracknet.config import Config, load_config
from tracknet.constants import ball_csv_name
from tracknet.data.synth import synthesize
from tracknet.evaluate.events import evaluate_events_csv
from tracknet.evaluate.score import evaluate_checkpoint, evaluate_csv
from tracknet.infer.loading import load_run
from tracknet.infer.predictor import Predictor
from tracknet.models.backbones.random_vit import save_random_vit
from tracknet.predict.pipeline import predict_source
from tracknet.train.trainer import Trainer

log = logging.getLogger("tracknet.demo")


@dataclass
class DemoPlan:
    """How much the demo does (the full run fits in 10 minutes on a 2-core CPU)."""

    games: int = 8  # games 1-6 train, 7 val, 8 test (see tracknet/configs/demo.yaml)
    clips_per_game: int = 4
    frames_per_clip: int = 60
    size: tuple[int, int] = (640, 360)
    video_frames: int = 150  # the separate match video that `predict` runs on
    max_steps: int | None = None  # None: the config's
    vit_hidden: int = 96
    vit_layers: int = 2
    vit_heads: int = 4


QUICK = DemoPlan(
    games=8,
    clips_per_game=1,
    frames_per_clip=16,
    video_frames=24,
    max_steps=6,
    vit_hidden=32,
    vit_layers=1,
    vit_heads=2,
)


def demo_config_path() -> Path:
    return Path(str(resources.files("tracknet") / "configs" / "demo.yaml"))


def build_demo_config(out: Path, plan: DemoPlan, overrides=()) -> Config:
    extra = [
        f"data.root={out / 'data'}",
        f"run.dir={out / 'run'}",
        f"model.pretrained_model_name={out / 'backbone'}",
        f"model.decoder.channels=[{plan.vit_hidden},64,32,16]",
    ]
    if plan.max_steps is not None:
        every = max(1, plan.max_steps // 2)
        extra += [
            f"train.max_steps={plan.max_steps}",
            f"train.eval_every={every}",
            f"train.save_every={every}",
            "train.warmup_steps=2",
            "train.log_every=2",
        ]
    return load_config(demo_config_path(), [*extra, *overrides])


def run_demo(
    out: str | Path = "runs/demo", quick: bool = False, seed: int = 0, overrides=()
) -> dict:
    """Run the whole demo into ``out`` and return its summary (also written as summary.json)."""
    plan = QUICK if quick else DemoPlan()
    out = Path(out)
    for stale in ("data", "run", "backbone", "video"):
        shutil.rmtree(out / stale, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}

    t0 = time.perf_counter()
    log.info(
        "[1/5] synthesising %d clips of %d frames (%dx%d)",
        plan.games * plan.clips_per_game,
        plan.frames_per_clip,
        *plan.size,
    )
    synthesize(
        out / "data",
        "tennis",
        clips=plan.games * plan.clips_per_game,
        frames=plan.frames_per_clip,
        size=plan.size,
        seed=seed,
        clips_per_game=plan.clips_per_game,
    )
    synthesize(
        out / "video",
        "generic",
        clips=1,
        frames=plan.video_frames,
        size=plan.size,
        seed=seed + 1000,
    )
    save_random_vit(
        out / "backbone",
        hidden_size=plan.vit_hidden,
        num_layers=plan.vit_layers,
        num_heads=plan.vit_heads,
        patch_size=16,
        num_register_tokens=4,
        seed=seed,
    )
    times["synthesise"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cfg = build_demo_config(out, plan, overrides)
    log.info("[2/5] training %d steps on %s", cfg.train.max_steps, cfg.data.root)
    run_dir = Trainer(cfg).fit()
    times["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log.info("[3/5] evaluating on the held-out test clips")
    model, run_cfg = load_run(run_dir)
    metrics = evaluate_checkpoint(model, run_cfg, "test", out)
    times["evaluate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log.info("[4/5] predicting a match video with an overlay")
    video = next((out / "video").glob("*.mp4"))
    predictor = Predictor.from_config(model, run_cfg)
    result = predict_source(predictor, video, out, overlay=True, events=True)
    # events=True: the stage ran and wrote its files
    assert result.trajectory is not None and result.trajectory.events is not None

    video_labels = video.with_name(ball_csv_name(video.stem))
    video_metrics = evaluate_csv(result.csv, video_labels, frame_size=plan.size)
    tolerance = run_cfg.eval.event_tolerance
    video_events = evaluate_events_csv(result.trajectory.events, video_labels, tolerance)
    times["predict"] = time.perf_counter() - t0

    log.info("[5/5] writing the summary")
    if (run_dir / "curves.png").exists():
        shutil.copy2(run_dir / "curves.png", out / "curves.png")
    overall, video_overall = metrics.overall.as_dict(), video_metrics.overall.as_dict()
    # the test clips' hits and bounces (status labels)
    events = metrics.events.scores.as_dict() if metrics.events is not None else {}
    video_scores = video_events.scores
    summary = {
        "test": {k: overall[k] for k in ("f1", "precision", "recall", "accuracy", "rmse")},
        "video": {k: video_overall[k] for k in ("f1", "precision", "recall")},
        "test_events": {k: events.get(f"event_{k}") for k in ("f1", "precision", "recall")},
        "video_events": {k: getattr(video_scores, k) for k in ("f1", "precision", "recall")},
        "event_tolerance": tolerance,
        "video_fps": result.fps,
        "seconds": times,
        "total_seconds": sum(times.values()),
        "files": {
            "metrics": str(out / "metrics.json"),
            "table": str(out / "metrics.txt"),
            "trajectories": str(out / "trajectories"),
            "csv": str(result.csv),
            "events": str(result.trajectory.events),
            "overlay": str(result.overlay),
            "curves": str(out / "curves.png"),
            "run": str(run_dir),
        },
        "quick": quick,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _event_f1(scores: dict) -> str:
    return "-" if scores.get("f1") is None else f"{scores['f1']:.3f}"


def format_summary(summary: dict) -> str:
    t, f = summary["test"], summary["files"]
    tol = summary.get("event_tolerance", 2)
    test_ev, video_ev = summary.get("test_events", {}), summary.get("video_events", {})
    lines = [
        "",
        f"tracknet demo {'(quick) ' if summary['quick'] else ''}done in "
        f"{summary['total_seconds']:.0f} s",
        f"  test clips : F1 {t['f1']:.3f}  precision {t['precision']:.3f}  recall "
        f"{t['recall']:.3f}  (4 px in the original frame); event F1 {_event_f1(test_ev)} "
        f"(hits and bounces, +-{tol} frames)",
        f"  match video: F1 {summary['video']['f1']:.3f}, event F1 {_event_f1(video_ev)}, "
        f"predicted at {summary['video_fps']:.1f} frames/s",
        f"  metrics    : {f['metrics']}  (table: {f['table']})",
        f"  trajectory : {f['trajectories']}/",
        f"  predictions: {f['csv']}",
        f"  events     : {f['events']}",
        f"  overlay    : {f['overlay']}",
        f"  curves     : {f['curves']}",
        f"  model      : {f['run']}  (tracknet predict VIDEO --checkpoint {f['run']})",
    ]
    return "\n".join(lines)
