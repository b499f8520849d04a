"""What the trajectory stage costs next to the rest of ``tracknet predict``, per frame.

Every clip of a split is tracked once with the stage off (:func:`track_source`: decoding, the
model, heatmap decoding, the online tracker), timed per frame; then the stage alone
(:func:`run_stage`) runs on those same tracks ``--repeats`` times, timed per frame, once as
``--events`` runs it (positions kept) and once with ``enabled=true`` and ``fill=fit``. The stage
runs on the main thread after the video, so its share of the wall time is its time over the
track's. Medians; CPU time (``time.process_time``) and wall time both reported.

    python scripts/bench_trajectory.py --checkpoint RUN [--split test] [overrides ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time

from tracknet.data.dataset import load_split
from tracknet.infer.loading import load_run
from tracknet.infer.predictor import Predictor
from tracknet.infer.source import track_source
from tracknet.io.frames import FrameSource
from tracknet.track.trajectory_stage import run_stage


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="a trained run folder")
    p.add_argument("--split", default="test")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--json", help="also write the result here")
    p.add_argument("overrides", nargs="*")
    args = p.parse_args(argv)
    model, cfg = load_run(args.checkpoint, [*args.overrides, "predict.trajectory.enabled=false"])
    predictor = Predictor.from_config(model, cfg)
    clips = load_split(cfg, args.split)
    if not clips:
        p.error(f"split {args.split!r} has no clips")
    tracks, wall, cpu = [], 0.0, 0.0
    for clip in clips:
        source = FrameSource(clip.source)
        w0, c0 = time.perf_counter(), time.process_time()
        track = track_source(predictor, source, frame_size=tuple(clip.frame_size))
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        tracks.append((track, source.fps, clip.frame_size[1]))
    frames = sum(len(t) for t, _, _ in tracks)
    base = cfg.predict.trajectory
    settings = {
        "events": base,
        "enabled+fill": dataclasses.replace(base, enabled=True, fill="fit"),
    }
    result: dict = {
        "clips": len(clips),
        "frames": frames,
        "track_wall_ms_per_frame": 1e3 * wall / frames,
        "track_cpu_ms_per_frame": 1e3 * cpu / frames,
        "repeats": args.repeats,
    }
    for name, tcfg in settings.items():
        walls, cpus = [], []
        for _ in range(args.repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            for track, fps, height in tracks:
                run_stage(track.frame, track.visible, track.xy, track.score, tcfg, fps, height)
            walls.append(1e3 * (time.perf_counter() - w0) / frames)
            cpus.append(1e3 * (time.process_time() - c0) / frames)
        wall_ms, cpu_ms = statistics.median(walls), statistics.median(cpus)
        result[name] = {
            "wall_ms_per_frame": wall_ms,
            "cpu_ms_per_frame": cpu_ms,
            "share_of_wall": wall_ms / result["track_wall_ms_per_frame"],
        }
    print(
        f"{len(clips)} clips, {frames} frames: tracking {result['track_wall_ms_per_frame']:.2f} ms"
        f"/frame ({result['track_cpu_ms_per_frame']:.2f} CPU ms)"
    )
    for name in settings:
        r = result[name]
        print(
            f"  stage ({name}): {r['wall_ms_per_frame']:.3f} ms/frame "
            f"({r['cpu_ms_per_frame']:.3f} CPU ms), {100 * r['share_of_wall']:.2f} % of tracking"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
