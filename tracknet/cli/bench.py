"""``tracknet bench BENCHMARK``: throughput measurements, printed as a table and saved as JSON.

Argument parsing only: each benchmark is a :class:`Benchmark` in :data:`BENCHMARKS` (a
``configure(parser)`` that adds its arguments and a ``run(args) -> int`` that calls one function of
:mod:`tracknet.bench`); adding one is adding an entry. So far:

* ``data``: frames per second delivered by the training DataLoader at the model input size
  (:func:`tracknet.bench.data.run_data_benchmark`).
* ``model``: forward frames per second and peak memory of one or more models (``--vs``), timed
  alternately in one process (:func:`tracknet.bench.models.run_model_benchmark`).
* ``predict``: end-to-end ``tracknet predict`` frames per second on a synthetic video next to the
  model alone at the same batch size (:func:`tracknet.bench.predict.run_predict_benchmark`).
* ``accuracy``: model variants trained on the fixed synthetic benchmark, test scores side by side
  (:func:`tracknet.bench.accuracy.run_accuracy_benchmark`).
* ``label``: how long a frame of ``tracknet label`` takes to reach the page, stepping and seeking,
  before and after its background pass (:func:`tracknet.bench.label.run_label_benchmark`).

The :mod:`tracknet.bench` modules are imported by the ``run`` functions: they import torch, which
``tracknet bench BENCHMARK --help`` does not need.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from tracknet.cli.options import size_arg


@dataclass(frozen=True)
class Benchmark:
    """One ``tracknet bench`` sub-command."""

    summary: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------- bench data
def _configure_data(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--root", help="a dataset folder (tennis, shuttlecock or generic layout)")
    source.add_argument(
        "--synth",
        action="store_true",
        help="write a temporary 1280x720 dataset (the default without --root)",
    )
    parser.add_argument(
        "--synth-format",
        choices=["tennis", "shuttlecock", "generic"],
        default="tennis",
        help="layout of --synth: tennis JPEGs (default), or shuttlecock / generic H.264 videos",
    )
    parser.add_argument("--config", help="a YAML config (default: the built-in defaults)")
    parser.add_argument("--input-size", type=size_arg, help="WxH model input, e.g. 512x288")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (default 2)")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per batch (default 8)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not counted (3)")
    parser.add_argument("--intervals", type=int, default=5, help="intervals for the median (5)")
    parser.add_argument("--augment", action="store_true", help="include data.augment")
    parser.add_argument("--synth-clips", type=int, default=4, help="clips of --synth (4)")
    parser.add_argument("--synth-frames", type=int, default=100, help="frames per clip (100)")
    parser.add_argument("--json", help="also write the result as JSON here")
    parser.add_argument("overrides", nargs="*", default=[], help="config overrides key=value")


def _run_data(args: argparse.Namespace) -> int:
    from tracknet.bench.data import run_data_benchmark  # start-up time: torch (see docstring)

    run_data_benchmark(
        root=args.root,
        config=args.config,
        overrides=args.overrides,
        input_size=args.input_size,
        workers=args.workers,
        batch_size=args.batch_size,
        seconds=args.seconds,
        warmup=args.warmup,
        intervals=args.intervals,
        augment=args.augment,
        synth_clips=args.synth_clips,
        synth_frames=args.synth_frames,
        synth_format=args.synth_format,
        json_path=args.json,
    )
    return 0


# --------------------------------------------------------------------------- bench model
def _add_timing_args(parser: argparse.ArgumentParser, batch_size: int) -> None:
    parser.add_argument("--input-size", type=size_arg, help="WxH model input, e.g. 512x288")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"({batch_size})")
    parser.add_argument("--dtype", choices=["fp32", "bf16", "fp16"], default="fp32")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ... (default cpu)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--json", help="also write the result as JSON here")


def _configure_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="a YAML config (default: the built-in defaults)")
    parser.add_argument(
        "--vs",
        action="append",
        default=[],
        metavar="OTHER_CONFIG",
        help="another model to time in the same process, alternating: a YAML file and/or "
        'overrides, e.g. --vs "model.type=unet model.frames=8" (repeatable)',
    )
    _add_timing_args(parser, batch_size=1)
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls (2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per model (5)")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the main model (the --vs models stay eager)",
    )
    parser.add_argument(
        "--onnx",
        action="store_true",
        help="also time the main model's whole-window forward in PyTorch and in onnxruntime",
    )
    parser.add_argument("overrides", nargs="*", default=[], help="config overrides key=value")


def _run_model(args: argparse.Namespace) -> int:
    from tracknet.bench.models import run_model_benchmark  # start-up time: torch (see docstring)

    run_model_benchmark(
        config=args.config,
        overrides=args.overrides,
        vs=args.vs,
        input_size=args.input_size,
        batch_size=args.batch_size,
        dtype=args.dtype,
        device=args.device,
        threads=args.threads,
        warmup=args.warmup,
        repeats=args.repeats,
        compile=args.compile,
        onnx=args.onnx,
        json_path=args.json,
    )
    return 0


# --------------------------------------------------------------------------- bench predict
def _configure_predict(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", metavar="RUN_DIR", help="a trained run folder")
    source.add_argument("--config", help="a YAML config (random weights where not cached)")
    _add_timing_args(parser, batch_size=8)
    parser.add_argument("--frames", type=int, default=48, help="frames of the video (48)")
    parser.add_argument("--video-size", type=size_arg, default=(1280, 720), help="(1280x720)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of each (3)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (both)")
    parser.add_argument("overrides", nargs="*", default=[], help="config overrides key=value")


def _run_predict(args: argparse.Namespace) -> int:
    from tracknet.bench.predict import run_predict_benchmark  # start-up time: torch (docstring)

    run_predict_benchmark(
        checkpoint=args.checkpoint,
        config=args.config,
        overrides=args.overrides,
        input_size=args.input_size,
        batch_size=args.batch_size,
        dtype=args.dtype,
        device=args.device,
        threads=args.threads,
        frames=args.frames,
        video_size=args.video_size,
        repeats=args.repeats,
        json_path=args.json,
        compile=args.compile,
    )
    return 0


# --------------------------------------------------------------------------- bench accuracy
def _configure_accuracy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--variants", help="comma-separated variants (default: the preset's, t1,t3,unet3)"
    )
    parser.add_argument("--steps", type=int, help="optimizer steps per variant (default: preset)")
    parser.add_argument("--out", default="runs/bench-accuracy", help="output folder")
    parser.add_argument(
        "--preset", help="a preset YAML (default: tracknet/configs/bench/synth.yaml)"
    )
    parser.add_argument(
        "--cost-only",
        action="store_true",
        help="no training: time the per-frame predict cost of the runs already in --out",
    )
    parser.add_argument(
        "overrides", nargs="*", default=[], help="config overrides for every variant"
    )


def _run_accuracy(args: argparse.Namespace) -> int:
    from tracknet.bench.accuracy import run_accuracy_benchmark  # start-up time: torch (docstring)

    variants = [v.strip() for v in args.variants.split(",") if v.strip()] if args.variants else None
    run_accuracy_benchmark(
        variants,
        args.steps,
        args.out,
        args.preset,
        args.overrides,
        cost_only=args.cost_only,
    )
    return 0


# --------------------------------------------------------------------------- bench label
def _configure_label(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        nargs="?",
        help="a video or image folder (default: a synthetic 1920x1080 H.264 clip)",
    )
    parser.add_argument("--steps", type=int, default=120, help="frames stepped and played (120)")
    parser.add_argument("--seeks", type=int, default=30, help="random seeks in each phase (30)")
    parser.add_argument("--synth-frames", type=int, default=300, help="synthetic clip (300)")
    parser.add_argument(
        "--synth-gop",
        type=int,
        help="keyframe interval of the synthetic clip (default: one a second; 250: x264's)",
    )
    parser.add_argument(
        "--pass-timeout",
        type=float,
        default=900.0,
        help="seconds to wait for the background pass before the second phase (900)",
    )
    parser.add_argument(
        "--no-pass",
        action="store_true",
        help="without the background pass: every frame not in memory is decoded on request",
    )
    parser.add_argument("--json", help="also write the result as JSON here")


def _run_label(args: argparse.Namespace) -> int:
    from tracknet.bench.label import run_label_benchmark  # start-up time: uvicorn, PyAV, torch

    run_label_benchmark(
        args.source,
        steps=args.steps,
        seeks=args.seeks,
        synth_frames=args.synth_frames,
        synth_gop=args.synth_gop,
        pass_timeout=args.pass_timeout,
        disk_cache=not args.no_pass,
        json_path=args.json,
    )
    return 0


BENCHMARKS: dict[str, Benchmark] = {
    "data": Benchmark(
        "frames/s delivered by the training DataLoader at the model input size",
        _configure_data,
        _run_data,
    ),
    "model": Benchmark(
        "model forward frames/s and peak memory; --vs times another model alternately",
        _configure_model,
        _run_model,
    ),
    "predict": Benchmark(
        "end-to-end predict frames/s on a synthetic video next to the model alone",
        _configure_predict,
        _run_predict,
    ),
    "accuracy": Benchmark(
        "train model variants on the fixed synthetic benchmark; test F1/precision/recall side by side",
        _configure_accuracy,
        _run_accuracy,
    ),
    "label": Benchmark(
        "tracknet label: frame arrival when stepping and seeking, before and after its pass",
        _configure_label,
        _run_label,
    ),
}


# --------------------------------------------------------------------------- the command
def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, bench in BENCHMARKS.items():
        p = sub.add_parser(name, help=bench.summary, description=bench.summary)
        bench.configure(p)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return BENCHMARKS[args.benchmark].run(args)
