"""``tracknet export --checkpoint RUN_DIR --format onnx --out FILE``."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, metavar="RUN_DIR")
    parser.add_argument("--format", choices=["onnx"], default="onnx")
    parser.add_argument("--out", required=True, help="the .onnx file to write")
    parser.add_argument("--check", action="store_true", help="compare with onnxruntime")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # start-up time: the exporter loads torch, too heavy for `tracknet --help`
    from tracknet.infer.export import run_export

    return run_export(args.checkpoint, args.out, check=args.check)
