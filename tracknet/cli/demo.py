"""``tracknet demo [--out DIR] [--quick]``: the whole pipeline on synthetic footage."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="demo folder (default: runs/demo)")
    parser.add_argument("--quick", action="store_true", help="a one-minute smoke version")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("overrides", nargs="*", default=[], help="e.g. train.max_steps=200")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tracknet.demo import format_summary, run_demo  # start-up time: torch is heavy for --help

    summary = run_demo(args.out, quick=args.quick, seed=args.seed, overrides=args.overrides)
    print(format_summary(summary))
    return 0
