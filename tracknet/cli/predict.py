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
        help="videos, image folders or folders of videos, or one live source (an rtsp/rtmp/http/"
        "udp URL, /dev/videoN, or - for a stream on standard input); key=value overrides of the "
        "run's configuration (e.g. predict.top_k=8, predict.live.drop=none) may follow them",
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
    parser.add_argument(
        "--no-track", action="store_true", help="raw detections: no gate, no trajectory stage"
    )
    parser.add_argument(
        "--gate-px", type=float, help="reject a jump farther than this from the predicted position"
    )
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (default: auto)")
    parser.add_argument("--batch-size", type=_positive_int)
    parser.add_argument("--half", action="store_true", help="bf16/fp16 autocast")
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16", "fp16"],
        help="autocast without --half (default: the run's predict.precision; auto = bf16 on "
        "CUDA, fp32 elsewhere)",
    )
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile the model (slow first batches)"
    )
    parser.add_argument(
        "--skip-done",
        action="store_true",
        help="leave out the inputs whose outputs all exist already (resuming a stopped run)",
    )
    parser.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    parser.add_argument(
        "--events",
        action="store_true",
        help="also write <stem>_events.csv (Frame,Event,X,Y,Score: hits and bounces found in the "
        "geometry of the fitted flights) and mark them on the overlay",
    )
    parser.add_argument(
        "--fill",
        nargs="?",
        const="fit",
        choices=["fit", "linear"],
        help="also write the gap positions filled in inside a flight (fit: from its curve, the "
        "default; linear), flagged 1 in a fifth column Filled; without it Visibility 1 means seen",
    )
    parser.add_argument(
        "--court",
        metavar="X1,Y1,...,X4,Y4",
        help="the court's four corners in the image, in order around it (c1, c2 one end line, "
        "c3, c4 the other): also write <stem>_court.csv (bounces on the ground, km/h)",
    )
    parser.add_argument(
        "--court-size",
        metavar="SIZE",
        help="the court the corners outline: tennis (singles), tennis-doubles, badminton (outer "
        "lines), badminton-singles, table-tennis, or W,L in metres (default tennis)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.epilog = (
        f"Writes {ball_csv_name('<stem>')} (Frame,Visibility,X,Y) per input; with "
        "predict.trajectory.enabled=true the detections no fitted flight explains are written as "
        "no ball. Under "
        "`torchrun` or `accelerate launch` the inputs are shared out across the processes "
        "(balanced by size, largest first) and the main process writes OUT/manifest.json "
        "(docs/predict_at_scale.md); a live source's rows are written as they come "
        "(predict.live.*). Court limits: one camera sees the ball's height only "
        "when it bounces, so ground positions are those of bounces, and km/h is the average "
        "horizontal speed between two bounces along a straight line: a lower bound, well below "
        "a radar's speed at the racket; one --court applies to every input."
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tracknet.predict.command import run_predict  # start-up time: torch is heavy for --help

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
        precision=args.precision,
        compile=args.compile,
        skip_done=args.skip_done,
        backend=args.backend,
        progress=not args.no_progress,
        events=args.events,
        fill=args.fill,
        court=args.court,
        court_size=args.court_size,
    )
