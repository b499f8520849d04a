"""``tracknet eval``: score a checkpoint on a split, or a predicted CSV against labels."""

from __future__ import annotations

import argparse
import json


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected WxH such as 512x288, got {text!r}") from exc
    return w, h


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", metavar="RUN_DIR", help="a run folder to evaluate")
    parser.add_argument("--split", default=None, help="train, val or test (default: eval.split)")
    parser.add_argument("--out", help="folder for metrics.json, the table and trajectory plots")
    parser.add_argument("--pred", help="a Frame,Visibility,X,Y CSV of any tool")
    parser.add_argument("--gt", help="labels: a ball CSV or a tennis Label.csv")
    parser.add_argument("--tolerance-px", type=float)
    parser.add_argument("--tolerance-space", choices=["original", "input"])
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
    if bool(args.checkpoint) == bool(args.pred):
        raise UserError("give either --checkpoint RUN_DIR or --pred FILE --gt FILE")
    if args.pred:
        from tracknet.eval.runner import evaluate_csv

        space = args.tolerance_space or "original"
        if space == "input" and not (args.input_size and args.frame_size):
            raise UserError("--tolerance-space input needs --input-size WxH and --frame-size WxH")
        result = evaluate_csv(
            args.pred,
            args.gt,
            tolerance_px=args.tolerance_px if args.tolerance_px is not None else 4.0,
            tolerance_space=space,
            frame_size=args.frame_size,
            input_size=args.input_size,
        )
        if args.out:
            from tracknet.eval.runner import write_report

            write_report(result, args.out)
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
    print(format_table(result))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
    return 0
