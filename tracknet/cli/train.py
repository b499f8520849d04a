"""``tracknet train --config FILE [key=value ...]`` and ``tracknet train --resume RUN_DIR``."""

from __future__ import annotations

import argparse

from tracknet.errors import UserError
from tracknet.utils import launcher_rank


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="a YAML config, or a run folder's config.yaml")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped run")
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.max_steps=500")
    parser.epilog = (
        "Several GPUs or nodes: run the same command under `accelerate launch` or `torchrun`."
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # start-up time: the trainer loads torch and accelerate, too heavy for `tracknet --help`
    from tracknet.train.trainer import train

    if args.config and args.resume:
        raise UserError("give either --config or --resume (a resumed run keeps its own config)")
    run_dir = train(args.config, args.overrides, resume=args.resume)
    if launcher_rank()[0] == 0:
        print(f"run folder: {run_dir}")
    return 0
