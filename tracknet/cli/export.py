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
    import torch

    from tracknet.config import wh_to_hw
    from tracknet.export import export_onnx, max_abs_difference
    from tracknet.infer.loading import load_run

    model, cfg = load_run(args.checkpoint)
    path = export_onnx(model, args.out)
    print(f"wrote {path} (frames [B, {cfg.model.frames}, 3, H, W] -> logits; B, H, W dynamic)")
    if args.check:
        h, w = wh_to_hw(cfg.model.input_size)
        diff = max_abs_difference(model, path, torch.rand(2, cfg.model.frames, 3, h, w))
        print(f"max |onnxruntime - pytorch| on random frames: {diff:.2e}")
    return 0
