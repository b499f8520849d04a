"""``tracknet predict VIDEO... --checkpoint RUN_DIR --out DIR [--overlay]``."""

from __future__ import annotations

import argparse
import os


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="VIDEO", help="videos or image folders")
    parser.add_argument("--checkpoint", required=True, metavar="RUN_DIR")
    parser.add_argument("--out", default="predictions", help="output folder")
    parser.add_argument("--overlay", action="store_true", help="also write <stem>_overlay.mp4")
    parser.add_argument("--details", action="store_true", help="also write <stem>_details.csv")
    parser.add_argument("--smooth", action="store_true", help="fill short gaps, drop outliers")
    parser.add_argument("--no-track", action="store_true", help="raw detections, no gating")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (default: auto)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--half", action="store_true", help="bf16/fp16 autocast")
    parser.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    parser.add_argument("overrides", nargs="*", default=[], help="e.g. predict.gate_px=200")
    parser.epilog = (
        "Under `torchrun` or `accelerate launch` the videos are shared out across the processes."
    )
    parser.set_defaults(run=run)


def _shard(items: list[str]) -> tuple[list[str], int, int]:
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    return items[rank::world], rank, world


def run(args: argparse.Namespace) -> int:
    from tracknet.data.codec import HeatmapCodec
    from tracknet.infer.loading import load_run
    from tracknet.infer.pipeline import predict_source
    from tracknet.infer.predictor import Predictor

    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"predict.device={args.device}")
    elif "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", 1)) > 1:
        overrides.append(f"predict.device=cuda:{os.environ['LOCAL_RANK']}")
    if args.batch_size:
        overrides.append(f"predict.batch_size={args.batch_size}")
    if args.half:
        overrides.append("predict.half=true")
    if args.smooth:
        overrides.append("predict.smooth=true")
    if args.no_track:
        overrides.append("predict.track=false")
    model, cfg = load_run(args.checkpoint, overrides)
    if args.backend == "onnx":
        from tracknet.infer.onnx_backend import OnnxModel

        model = OnnxModel.from_checkpoint(args.checkpoint, model)
    predictor = Predictor(model, HeatmapCodec.from_config(cfg), cfg.predict)
    inputs, rank, world = _shard(list(args.inputs))
    for path in inputs:
        res = predict_source(
            predictor,
            path,
            args.out,
            overlay=args.overlay,
            details=args.details,
            progress=rank == 0,
        )
        extra = f", overlay {res.overlay}" if res.overlay else ""
        bad = f", {res.undecodable} undecodable" if res.undecodable else ""
        print(
            f"{res.source}: {res.frames} frames ({res.fps:.1f} frames/s), ball in "
            f"{res.detected}{bad} -> {res.csv}{extra}"
        )
    if world > 1:
        print(f"[rank {rank}/{world}] predicted {len(inputs)} of {len(args.inputs)} inputs")
    return 0
