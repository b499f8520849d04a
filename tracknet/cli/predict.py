"""``tracknet predict VIDEO... --checkpoint RUN_DIR --out DIR [--overlay]``."""

from __future__ import annotations

import argparse

from tracknet.cli.options import PREDICT_OPTIONS, add_options, settings_of
from tracknet.constants import DETAILS_CSV_SUFFIX, OVERLAY_SUFFIX, ball_csv_name


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
    add_options(parser, PREDICT_OPTIONS, group=True)
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
        settings=settings_of(args, PREDICT_OPTIONS),
        overlay=args.overlay,
        details=args.details,
        skip_done=args.skip_done,
        backend=args.backend,
        progress=not args.no_progress,
        events=args.events,
        court=args.court,
        court_size=args.court_size,
    )
