"""``tracknet predict VIDEO... --checkpoint RUN_DIR --out DIR [--overlay]``."""

from __future__ import annotations

import argparse

from tracknet.constants import DETAILS_CSV_SUFFIX, OVERLAY_SUFFIX, ball_csv_name


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="VIDEO",
        help="videos, image folders or folders of videos; key=value overrides of the run's "
        "configuration (e.g. predict.top_k=8) may follow them",
    )
    parser.add_argument("--checkpoint", required=True, metavar="RUN_DIR")
    parser.add_argument("--out", default="predictions", help="output folder")
    parser.add_argument("--overlay", action="store_true", help=f"also write <stem>{OVERLAY_SUFFIX}")
    parser.add_argument(
        "--details",
        action="store_true",
        help=f"also write <stem>{DETAILS_CSV_SUFFIX} (score, interpolated flag, raw detection, "
        "candidates)",
    )
    parser.add_argument(
        "--smooth", action="store_true", help="drop isolated outliers, fill gaps <= --max-gap"
    )
    parser.add_argument("--max-gap", type=int, metavar="K", help="longest gap --smooth fills")
    parser.add_argument("--no-track", action="store_true", help="raw detections, no gating")
    parser.add_argument(
        "--gate-px", type=float, help="reject a jump farther than this from the predicted position"
    )
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (default: auto)")
    parser.add_argument("--batch-size", type=_positive_int)
    parser.add_argument("--half", action="store_true", help="bf16/fp16 autocast")
    parser.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.epilog = (
        f"Writes {ball_csv_name('<stem>')} (Frame,Visibility,X,Y) per input. Under `torchrun` or "
        "`accelerate launch` the inputs are shared out across the processes (rank r takes "
        "inputs r, r + world, ...)."
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tracknet.predict import run_predict  # start-up time: torch is heavy for --help

    return run_predict(
        args.inputs,
        args.checkpoint,
        args.out,
        overlay=args.overlay,
        details=args.details,
        smooth=args.smooth,
        max_gap=args.max_gap,
        track=not args.no_track,
        gate_px=args.gate_px,
        device=args.device,
        batch_size=args.batch_size,
        half=args.half,
        backend=args.backend,
        progress=not args.no_progress,
    )
