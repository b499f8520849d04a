"""The ``tracknet`` command line: a thin layer that parses arguments and calls the package.

Each subcommand lives in its own module under ``tracknet.cli`` with two functions:
``configure(parser)`` adds its arguments and ``run(args) -> int`` does the work. Only the chosen
subcommand's module is imported, so ``tracknet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import logging
import os
import sys
import threading
import traceback

from tracknet import __version__
from tracknet.errors import UserError
from tracknet.utils import launcher_rank, storage_error

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("tracknet.cli.demo", "synthesise data, train, evaluate and predict, end to end"),
    "synth": ("tracknet.cli.synth", "write synthetic labelled ball footage in a dataset layout"),
    "cache": ("tracknet.cli.cache", "decode a dataset's videos once into a frame cache"),
    "train": ("tracknet.cli.train", "train a model (one CPU, one GPU or many under accelerate)"),
    "eval": ("tracknet.cli.eval", "score a checkpoint on a split, or a predicted CSV on labels"),
    "predict": ("tracknet.cli.predict", "track the ball in videos: CSV and overlay video"),
    "bench": ("tracknet.cli.bench", "measure data loading, model and predict throughput"),
    "export": ("tracknet.cli.export", "export a trained model to ONNX"),
    "label": ("tracknet.cli.label", "label the ball in your own footage in the browser"),
    "models": ("tracknet.cli.models", "list the models that ship with tracknet, with figures"),
}


class Parser(argparse.ArgumentParser):
    """An argument parser that takes options and positionals in any order, so ``key=value``
    overrides may come anywhere after the command (``eval --split test a=b --out D c=d``).

    ``parse_intermixed_args`` cannot handle a parser with subcommands, so a parser that has
    them (``tracknet`` itself, ``tracknet bench``) parses as usual and hands the rest to its
    subcommand's parser, which is intermixed again.
    """

    _plain = False

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        if self._plain or self._subparsers is not None:
            return super().parse_known_args(args, namespace)
        self._plain = True  # parse_known_intermixed_args calls back here, twice
        try:
            return super().parse_known_intermixed_args(args, namespace)
        finally:
            self._plain = False


def build_parser(chosen: str | None) -> argparse.ArgumentParser:
    parser = Parser(
        prog="tracknet",
        description="Track a small, fast ball in sports video with a DINOv3 ViT heatmap model.",
    )
    parser.add_argument("--version", action="version", version=f"tracknet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        p = sub.add_parser(name, help=summary, description=summary)
        # SUPPRESS: the subcommand's default must not undo a --debug given before the command
        p.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
        )
        if name == chosen:
            # start-up time: only the chosen subcommand's module (and torch behind it) is loaded
            importlib.import_module(module).configure(p)
    return parser


def _close_progress_bars() -> None:
    """End any progress bar left open by the error, so the message starts on its own line."""
    tqdm_module = sys.modules.get("tqdm")
    if tqdm_module is None:
        return
    for bar in list(getattr(tqdm_module.tqdm, "_instances", ())):
        with contextlib.suppress(Exception):
            bar.close()


def _user_error(args: argparse.Namespace, exc: BaseException) -> int:
    """One line on stderr (the traceback too with --debug); exit status 2."""
    _close_progress_bars()
    if args.debug:
        traceback.print_exc()
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    message = "; ".join(lines)  # always exactly one line
    print(f"tracknet {args.command}: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    chosen = chosen if chosen in COMMANDS else None
    parser = build_parser(chosen)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    # under torchrun / accelerate launch only rank 0 speaks; the others report problems only
    rank, _ = launcher_rank()
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, format="%(message)s")
    try:
        return int(args.run(args) or 0)
    except UserError as exc:
        return _user_error(args, exc)
    except OSError as exc:
        # Disk full, read-only, a file in the way... raised where no clearer message was made.
        error = storage_error(exc, action="use")
        if error is exc:
            raise
        return _user_error(args, error)
    except KeyboardInterrupt:
        print(f"tracknet {args.command}: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """The ``tracknet`` script and ``python -m tracknet``: :func:`main`, then :func:`exit_now`."""
    exit_now(main())


def exit_now(status: int) -> None:
    """End the process with ``status`` without tearing the interpreter down.

    Once a command is done, Python's own shutdown still frees every module and object one by one:
    with torch and transformers loaded that is about 1.4 s of a 2-core machine (measured on
    ``tracknet predict``; docs/benchmarks.md), a tenth of predicting a 20-second clip. Here the
    exit handlers run (logging's flush, temporary files, progress bars), the standard streams are
    flushed, and the process ends. With a thread of ours still running (none should be), the
    normal exit waits for it instead.
    """
    others = [t for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]
    if others:
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more to say anyway
            stream.flush()
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    entry()
