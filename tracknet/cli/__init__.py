"""The ``tracknet`` command line: a thin layer that parses arguments and calls the package.

Each subcommand lives in its own module under ``tracknet.cli`` with two functions:
``configure(parser)`` adds its arguments and ``run(args) -> int`` does the work. Only the chosen
subcommand's module is imported, so ``tracknet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback

from tracknet import __version__
from tracknet.errors import UserError

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("tracknet.cli.demo", "synthesise data, train, evaluate and predict, end to end"),
    "synth": ("tracknet.cli.synth", "write synthetic labelled ball footage in a dataset layout"),
    "train": ("tracknet.cli.train", "train a model (one CPU, one GPU or many under accelerate)"),
    "eval": ("tracknet.cli.eval", "score a checkpoint on a split, or a predicted CSV on labels"),
    "predict": ("tracknet.cli.predict", "track the ball in videos: CSV and overlay video"),
    "bench": ("tracknet.cli.bench", "measure data loading, model and predict throughput"),
    "export": ("tracknet.cli.export", "export a trained model to ONNX"),
}


def build_parser(chosen: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracknet",
        description="Track a small, fast ball in sports video with a DINOv3 ViT heatmap model.",
    )
    parser.add_argument("--version", action="version", version=f"tracknet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        p = sub.add_parser(name, help=summary, description=summary)
        p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
        if name == chosen:
            importlib.import_module(module).configure(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    chosen = chosen if chosen in COMMANDS else None
    parser = build_parser(chosen)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return int(args.run(args) or 0)
    except UserError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"tracknet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tracknet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
