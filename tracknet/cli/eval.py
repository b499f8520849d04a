"""``tracknet eval``: score a checkpoint on a split, or a predicted CSV against labels.

* ``tracknet eval --checkpoint RUN_DIR [--split test] [--out DIR] [key=value ...]`` predicts every
  clip of a split of the run's dataset (``data.root=...`` points it elsewhere) and scores it.
* ``tracknet eval --pred A_ball.csv --gt LABELS [--out DIR]`` scores any tool's
  ``Frame,Visibility,X,Y`` CSV against a ball CSV or a tennis ``Label.csv``. With
  ``--tolerance-space input`` the model input grid comes from ``--input-size WxH`` or from a
  ``--checkpoint`` given as well; the frame size from ``--frame-size WxH`` or from the video or
  images beside the labels. How the labels are read (columns, normalised coordinates, visibility
  codes) follows ``data.labels.*`` and ``data.visible_codes`` overrides, e.g.
  ``data.labels.coords=normalized data.visible_codes=[1]``; normalised coordinates are fractions
  of ``--frame-size`` or of the frames beside the labels.

Both print the table; ``--json FILE`` also writes the metrics, whose top level holds the scores
of the whole set (``tp, tn, fp1, fp2, fn, frames, accuracy, precision, recall, f1, rmse``).

Hits and bounces: ``tracknet eval --pred-events E_events.csv --gt LABELS [--event-tolerance 2]``
scores an events CSV (``Frame,Event,X,Y,Score``) against an events CSV, a tennis ``Label.csv``
with its status column, or a ball CSV with ``<stem>_events.csv`` beside it; ``--checkpoint``
scores the trajectory stage's events too on the clips whose labels carry events. Per kind and
overall: ``event_tp, event_fp, event_fn, event_precision, event_recall, event_f1``.
"""

from __future__ import annotations

import argparse

from tracknet.cli.options import size_arg


def _tolerance(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _frames(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", metavar="RUN_DIR", help="a run folder to evaluate")
    parser.add_argument("--split", default=None, help="train, val or test (default: eval.split)")
    parser.add_argument(
        "--out", help="folder for metrics.json, metrics.txt, clips.csv and trajectories/*.png"
    )
    parser.add_argument("--pred", help="a Frame,Visibility,X,Y CSV of any tool")
    parser.add_argument(
        "--gt", help="labels: a ball CSV or a tennis Label.csv (--pred-events: or an events CSV)"
    )
    parser.add_argument("--tolerance-px", type=_tolerance, help="default: eval.tolerance_px (4)")
    parser.add_argument(
        "--tolerance-space",
        choices=["original", "input"],
        help="original: d < tol in frame pixels (WASB); input: d <= tol on the model input "
        "grid (TrackNetV2/V3)",
    )
    parser.add_argument("--input-size", type=size_arg, help="WxH model-input grid for 'input'")
    parser.add_argument("--frame-size", type=size_arg, help="WxH of the original frames (--pred)")
    parser.add_argument("--json", help="also write the metrics JSON here")
    parser.add_argument(
        "--pred-events",
        metavar="FILE",
        help="an events CSV (Frame,Event,X,Y,Score) to score against the events of --gt",
    )
    parser.add_argument(
        "--event-tolerance",
        type=_frames,
        metavar="K",
        help="a predicted hit/bounce matches a label of its kind within K frames "
        "(default: eval.event_tolerance, 2)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        default=[],
        help="e.g. data.root=/data/tennis; with --gt also data.labels.* (how the labels are read)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tracknet.evaluate.score import run_eval  # start-up time: torch is heavy for --help

    run_eval(
        checkpoint=args.checkpoint,
        split=args.split,
        out_dir=args.out,
        pred=args.pred,
        gt=args.gt,
        tolerance_px=args.tolerance_px,
        tolerance_space=args.tolerance_space,
        input_size=args.input_size,
        frame_size=args.frame_size,
        json_path=args.json,
        overrides=args.overrides,
        pred_events=args.pred_events,
        event_tolerance=args.event_tolerance,
    )
    return 0
