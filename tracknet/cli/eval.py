"""``tracknet eval``: score a checkpoint on a split, or a predicted CSV against labels.

* ``tracknet eval --checkpoint RUN_DIR [--split test] [--out DIR] [key=value ...]`` predicts every
  clip of a split of the run's dataset (``data.root=...`` points it elsewhere) and scores it.
* ``tracknet eval --pred A_ball.csv --gt LABELS [--out DIR]`` scores any tool's
  ``Frame,Visibility,X,Y`` CSV against a ball CSV or a tennis ``Label.csv``. With
  ``--tolerance-space input`` the model input grid comes from ``--input-size WxH`` or from a
  ``--checkpoint`` given as well; the frame size from ``--frame-size WxH`` or from the video or
  images beside the labels.

Both print the table; ``--json FILE`` also writes the metrics, whose top level holds the scores
of the whole set (``tp, tn, fp1, fp2, fn, frames, accuracy, precision, recall, f1, rmse``).
"""

from __future__ import annotations

import argparse
import json


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected WxH such as 512x288, got {text!r}") from exc
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return w, h


def _tolerance(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", metavar="RUN_DIR", help="a run folder to evaluate")
    parser.add_argument("--split", default=None, help="train, val or test (default: eval.split)")
    parser.add_argument(
        "--out", help="folder for metrics.json, metrics.txt, clips.csv and trajectories/*.png"
    )
    parser.add_argument("--pred", help="a Frame,Visibility,X,Y CSV of any tool")
    parser.add_argument("--gt", help="labels: a ball CSV or a tennis Label.csv")
    parser.add_argument("--tolerance-px", type=_tolerance, help="default: eval.tolerance_px (4)")
    parser.add_argument(
        "--tolerance-space",
        choices=["original", "input"],
        help="original: d < tol in frame pixels (WASB); input: d <= tol on the model input "
        "grid (TrackNetV2/V3)",
    )
    parser.add_argument("--input-size", type=_size, help="WxH model-input grid for 'input'")
    parser.add_argument("--frame-size", type=_size, help="WxH of the original frames (--pred)")
    parser.add_argument("--json", help="also write the metrics JSON here")
    parser.add_argument("overrides", nargs="*", default=[], help="e.g. data.root=/data/tennis")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tracknet.errors import UserError
    from tracknet.eval.metrics import format_table
    from tracknet.utils import atomic_write_text

    if bool(args.pred) != bool(args.gt):
        raise UserError("--pred and --gt go together")
    if not args.checkpoint and not args.pred:
        raise UserError("give --checkpoint RUN_DIR, or --pred FILE --gt FILE")
    if args.pred:
        result = _eval_csv(args)
    else:
        from tracknet.eval.runner import evaluate_checkpoint
        from tracknet.infer.loading import load_run

        overrides = list(args.overrides)
        if args.tolerance_px is not None:
            overrides.append(f"eval.tolerance_px={args.tolerance_px}")
        if args.tolerance_space:
            overrides.append(f"eval.tolerance_space={args.tolerance_space}")
        model, cfg = load_run(args.checkpoint, overrides)
        result = evaluate_checkpoint(model, cfg, args.split or cfg.eval.split, args.out)
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    print(format_table(result))
    return 0


def _eval_csv(args: argparse.Namespace) -> dict:
    """``--pred/--gt``: settings from the flags, else from ``--checkpoint``'s config, else defaults."""
    from tracknet.errors import UserError
    from tracknet.eval.runner import evaluate_csv

    tolerance_px, space, input_size, to_input = args.tolerance_px, args.tolerance_space, None, None
    visible_codes = (1, 2)
    if args.checkpoint:
        from tracknet.config import load_config
        from tracknet.data.codec import HeatmapCodec
        from tracknet.infer.loading import resolve_checkpoint

        _, config = resolve_checkpoint(args.checkpoint)
        cfg = load_config(config, args.overrides)
        codec = HeatmapCodec.from_config(cfg)
        tolerance_px = tolerance_px if tolerance_px is not None else cfg.eval.tolerance_px
        space = space or cfg.eval.tolerance_space
        input_size, to_input = tuple(cfg.model.input_size), codec.frame_to_input
        visible_codes = tuple(cfg.data.visible_codes)
    elif args.overrides:
        raise UserError(f"key=value overrides {args.overrides} need --checkpoint")
    if args.input_size:  # an explicit grid wins over the checkpoint's (stretch map)
        input_size, to_input = args.input_size, None
    return evaluate_csv(
        args.pred,
        args.gt,
        tolerance_px=tolerance_px if tolerance_px is not None else 4.0,
        tolerance_space=space or "original",
        frame_size=args.frame_size,
        input_size=input_size,
        visible_codes=visible_codes,
        to_input=to_input,
        out_dir=args.out,
    )
