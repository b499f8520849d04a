"""``tracknet synth OUT``: write synthetic labelled ball footage in a dataset layout."""

from __future__ import annotations

import argparse

from tracknet.data.synth import DIFFICULTIES, FORMATS, run_synth


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="dataset root to write (created if missing)")
    parser.add_argument("--format", choices=FORMATS, default="tennis", help="dataset layout")
    parser.add_argument("--clips", type=int, default=4, help="number of clips (default 4)")
    parser.add_argument("--frames", type=int, default=150, help="frames per clip (default 150)")
    parser.add_argument("--size", default="1280x720", help="frame size WxH (default 1280x720)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files (default 0)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (default 30)")
    parser.add_argument(
        "--difficulty", choices=DIFFICULTIES, default="normal", help="normal or hard footage"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="processes rendering clips (default: CPUs)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    run_synth(
        args.out,
        args.format,
        args.clips,
        args.frames,
        size=args.size,
        seed=args.seed,
        fps=args.fps,
        difficulty=args.difficulty,
        workers=args.workers,
    )
    return 0
