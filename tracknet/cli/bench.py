"""``tracknet bench BENCHMARK``: throughput measurements, printed as a table and saved as JSON.

Each benchmark is a :class:`Benchmark` in :data:`BENCHMARKS` (a ``configure(parser)`` that adds
its arguments and a ``run(args) -> int``); adding one is adding an entry. So far:

* ``data``: frames per second delivered by the training DataLoader at the model input size.
* ``model``: forward frames per second and peak memory of one or more models (``--vs``), timed
  alternately in one process (:func:`tracknet.bench.bench_models`).
* ``predict``: end-to-end ``tracknet predict`` frames per second on a synthetic video next to the
  model alone at the same batch size (:func:`tracknet.bench.bench_predict`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Benchmark:
    """One ``tracknet bench`` sub-command."""

    summary: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------- shared helpers
def parse_size(text: str) -> tuple[int, int]:
    """``"512x288"`` -> ``(512, 288)`` (argparse type)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected WxH such as 512x288, got {text!r}") from exc
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return w, h


def machine_info() -> dict[str, Any]:
    """CPU model, core count and library versions, recorded beside every measurement."""
    import torch

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def write_json(path: str | None, result: dict[str, Any]) -> None:
    if path:
        from tracknet.utils import atomic_write_text

        atomic_write_text(path, json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")


def print_table(title: str, rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(title)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")


def rate_over_intervals(
    items: Iterator[int], seconds: float, warmup: float, intervals: int
) -> dict[str, Any]:
    """Count what ``items`` yields (each value: units delivered) in timed intervals.

    The first ``warmup`` seconds are not counted (workers starting, caches filling); the next
    ``seconds`` are cut into ``intervals`` equal intervals and the rate of each is recorded.
    """
    start = time.perf_counter()
    for _ in items:
        if time.perf_counter() - start >= warmup:
            break
    interval = seconds / max(1, intervals)
    rates: list[float] = []
    count, tick = 0, time.perf_counter()
    for units in items:
        count += units
        now = time.perf_counter()
        if now - tick >= interval:
            rates.append(count / (now - tick))
            count, tick = 0, now
            if len(rates) == intervals:
                break
    if not rates:
        raise RuntimeError("the source ran dry before one interval was measured")
    return {
        "median": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        "intervals": [round(r, 2) for r in rates],
        "interval_s": interval,
    }


# --------------------------------------------------------------------------- bench data
def _configure_data(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--root", help="a dataset folder (tennis, shuttlecock or generic layout)")
    source.add_argument(
        "--synth",
        action="store_true",
        help="write a temporary tennis dataset of 1280x720 JPEGs (the default without --root)",
    )
    parser.add_argument("--config", help="a YAML config (default: the built-in defaults)")
    parser.add_argument("--input-size", type=parse_size, help="WxH model input, e.g. 512x288")
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


def _write_synthetic_jpegs(root: Path, clips: int, frames: int) -> None:
    """A tennis-layout dataset of 1280x720 JPEGs (synthetic footage when available)."""
    try:
        from tracknet.data.synth import synthesize
    except ImportError:  # a plain fallback: textured frames, a bright ball, valid labels
        _fallback_jpegs(root, clips, frames)
        return
    synthesize(root, "tennis", clips=clips, frames=frames, size=(1280, 720), seed=0)


def _fallback_jpegs(root: Path, clips: int, frames: int) -> None:
    import numpy as np
    from PIL import Image

    from tracknet.io.labels import TrackLabels, write_tennis_csv

    rng = np.random.default_rng(0)
    background = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    for c in range(clips):
        folder = root / f"game{c // 2 + 1}" / f"Clip{c % 2 + 1}"
        folder.mkdir(parents=True)
        xs, ys = rng.uniform(20, 1260, frames), rng.uniform(20, 700, frames)
        names = [f"{i:04d}.jpg" for i in range(frames)]
        for name, x, y in zip(names, xs, ys, strict=True):
            frame = background.copy()
            frame[int(y) - 3 : int(y) + 4, int(x) - 3 : int(x) + 4] = 255
            Image.fromarray(frame).save(folder / name, quality=90)
        labels = TrackLabels(np.arange(frames), np.ones(frames, int), xs, ys)
        write_tennis_csv(folder / "Label.csv", labels, names)


def _data_config(args: argparse.Namespace, root: Path):
    from tracknet.config import load_config

    overrides = [f"data.root={root}", f"data.num_workers={args.workers}", *args.overrides]
    if args.input_size:
        overrides.append(f"model.input_size=[{args.input_size[0]},{args.input_size[1]}]")
    return load_config(args.config, overrides)


def _batches(loader) -> Iterator[int]:
    """Frames per batch, epoch after epoch."""
    while True:
        for batch in loader:
            frames = batch["frames"]  # [B, T, 3, H, W]
            yield frames.shape[0] * frames.shape[1]


def _run_data(args: argparse.Namespace) -> int:
    from tracknet.data.dataset import ClipWindowDataset, make_loader

    with tempfile.TemporaryDirectory(prefix="tracknet-bench-") as tmp:
        if args.root:
            root = Path(args.root)
        else:
            root = Path(tmp) / "data"
            print(f"writing {args.synth_clips} x {args.synth_frames} synthetic 1280x720 JPEGs ...")
            _write_synthetic_jpegs(root, args.synth_clips, args.synth_frames)
        cfg = _data_config(args, root)
        augment = None
        if args.augment:
            from tracknet.data.transforms import WindowAugment

            augment = WindowAugment(cfg.data.augment)
        # Every clip is a training clip here: the split does not matter for throughput.
        cfg.data.split.ratios = [1.0, 0.0, 0.0]
        cfg.data.split.train, cfg.data.split.val, cfg.data.split.test = [], [], []
        dataset = ClipWindowDataset.from_config(cfg, "train", augment=augment)
        loader = make_loader(dataset, args.batch_size, shuffle=True, num_workers=args.workers)
        batches = _batches(loader)
        rate = rate_over_intervals(batches, args.seconds, args.warmup, args.intervals)
        batches.close()
        del batches, loader  # stops the workers before the temporary data goes
        first = dataset.clips[0]
    result = {
        "benchmark": "data",
        "frames_per_s": rate["median"],
        "frames_per_s_min": rate["min"],
        "frames_per_s_max": rate["max"],
        "intervals": rate["intervals"],
        "interval_s": rate["interval_s"],
        "root": "synthetic" if not args.root else str(args.root),
        "frame_size": list(first.frame_size),
        "input_size": list(cfg.model.input_size),
        "frames_per_window": dataset.frames_per_clip,
        "windows": len(dataset),
        "batch_size": args.batch_size,
        "workers": args.workers,
        "augment": bool(args.augment),
        "machine": machine_info(),
    }
    fs, ins = result["frame_size"], result["input_size"]
    print_table(
        "tracknet bench data",
        [
            ("frames/s (median)", f"{rate['median']:.1f}"),
            ("min / max", f"{rate['min']:.1f} / {rate['max']:.1f}"),
            ("intervals", f"{len(rate['intervals'])} x {rate['interval_s']:.1f} s"),
            ("source", f"{result['root']}, {len(dataset)} windows of {dataset.frames_per_clip}"),
            ("frames", f"{fs[0]}x{fs[1]} -> {ins[0]}x{ins[1]}"),
            ("loader", f"{args.workers} workers, batch {args.batch_size}, augment {args.augment}"),
            ("machine", f"{result['machine']['cpu']} ({result['machine']['nproc']} cores)"),
        ],
    )
    write_json(args.json, result)
    return 0


# --------------------------------------------------------------------------- bench model
def _load_spec(spec: str | None, extra: list[str] | None = None):
    """A configuration from ``"FILE key=value ..."`` (either part optional; empty: defaults)."""
    from tracknet.config import load_config

    words = (spec or "").split()
    files = [w for w in words if "=" not in w]
    if len(files) > 1:
        raise argparse.ArgumentTypeError(f"one config file per model, got {files}")
    overrides = [w for w in words if "=" in w] + list(extra or [])
    return load_config(files[0] if files else None, overrides)


def _describe(cfg, backbone: str | None = None) -> str:
    m = cfg.model
    if m.type == "unet":
        return f"unet(base={m.unet.base_channels}) T={m.frames}"
    return f"{Path(backbone or m.pretrained_model_name).name} T={m.frames}"


def _add_timing_args(parser: argparse.ArgumentParser, batch_size: int) -> None:
    parser.add_argument("--input-size", type=parse_size, help="WxH model input, e.g. 512x288")
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
    import torch

    from tracknet.bench import bench_models

    if args.threads:
        torch.set_num_threads(args.threads)
    cfgs = [_load_spec(args.config, args.overrides)] + [_load_spec(v) for v in args.vs]
    labels = ["main"] + [f"vs{i + 1}" for i in range(len(args.vs))]
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-") as tmp:
        results = bench_models(
            cfgs,
            batch_size=args.batch_size,
            input_size=args.input_size,
            dtype=args.dtype,
            device=args.device,
            warmup=args.warmup,
            repeats=args.repeats,
            compile=args.compile,
            workdir=tmp,
            onnx=args.onnx,
        )
    if args.onnx:
        cfgs += [cfgs[0], cfgs[0]]
        labels += ["torch", "onnx"]
    for label, cfg, r in zip(labels, cfgs, results, strict=True):
        r["label"], r["name"] = label, _describe(cfg, r["backbone"])
        r["spec"] = (
            " ".join([args.config or "", *args.overrides]).strip()
            if label in ("main", "torch", "onnx")
            else args.vs[int(label[2:]) - 1]
        )
        if label in ("torch", "onnx"):
            r["name"] += f" whole window ({r['backend']})"
    base = results[0]["fps_median"]
    ratios = {
        r["label"]: base / r["fps_median"] for r in results[1:] if r["label"].startswith("vs")
    }
    result: dict[str, Any] = {"benchmark": "model", "results": results, "ratios": ratios}
    if len(args.vs) == 1:
        result["ratio"] = ratios["vs1"]
    if args.onnx:
        result["onnx_vs_torch"] = results[-1]["fps_median"] / results[-2]["fps_median"]
    result["machine"] = machine_info()
    print(
        f"tracknet bench model ({args.dtype}, batch {args.batch_size}, {args.device}, "
        f"{torch.get_num_threads()} threads; median of {args.repeats}, alternating)"
    )
    for r in results:
        h, w = r["input_hw"]
        mem = r["peak_memory_mb"]
        print(
            f"  {r['label']:<5} {r['name']:<40} {w}x{h}  {r['fps_median']:8.2f} frames/s "
            f"(min {r['fps_min']:.2f}, max {r['fps_max']:.2f})  "
            f"peak {mem if mem is None else round(mem)} MiB  [{r['weights']}]"
        )
    for label, ratio in ratios.items():
        print(f"  ratio main / {label}: {ratio:.2f}")
    if args.onnx:
        print(f"  ratio onnxruntime / torch (whole window): {result['onnx_vs_torch']:.2f}")
    write_json(args.json, result)
    return 0


# --------------------------------------------------------------------------- bench predict
def _configure_predict(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", metavar="RUN_DIR", help="a trained run folder")
    source.add_argument("--config", help="a YAML config (random weights where not cached)")
    _add_timing_args(parser, batch_size=8)
    parser.add_argument("--frames", type=int, default=48, help="frames of the video (48)")
    parser.add_argument("--video-size", type=parse_size, default=(1280, 720), help="(1280x720)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of each (3)")
    parser.add_argument("overrides", nargs="*", default=[], help="config overrides key=value")


def _run_predict(args: argparse.Namespace) -> int:
    import torch

    from tracknet.bench import bench_predict, build_for_bench, synthetic_video

    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = list(args.overrides)
    if args.input_size:
        overrides.append(f"model.input_size=[{args.input_size[0]},{args.input_size[1]}]")
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-") as tmp:
        if args.checkpoint:
            from tracknet.infer.loading import load_run

            model, cfg = load_run(args.checkpoint, overrides)
            weights, name = f"checkpoint {args.checkpoint}", _describe(cfg)
        else:
            from tracknet.config import load_config

            cfg = load_config(args.config, overrides)
            name = _describe(cfg)
            model, weights = build_for_bench(cfg, Path(tmp) / "model")
        print(f"writing a {args.frames}-frame {args.video_size[0]}x{args.video_size[1]} video ...")
        video = synthetic_video(Path(tmp) / "bench.mp4", args.frames, args.video_size)
        result = bench_predict(
            model,
            cfg,
            video,
            Path(tmp) / "out",
            batch_size=args.batch_size,
            dtype=args.dtype,
            device=args.device,
            repeats=args.repeats,
        )
    result = {"benchmark": "predict", **result, "model": name, "weights": weights}
    result["machine"] = machine_info()
    h, w = result["input_hw"]
    print_table(
        "tracknet bench predict",
        [
            ("model", f"{result['model']} [{weights}]"),
            ("video", f"{args.frames} frames {args.video_size[0]}x{args.video_size[1]} -> {w}x{h}"),
            (
                "setting",
                f"{args.dtype}, batch {args.batch_size}, {result['device']}, "
                f"{result['threads']} threads, median of {args.repeats}",
            ),
            ("model only", f"{result['model_fps']:.2f} frames/s"),
            ("end to end", f"{result['end_to_end_fps']:.2f} frames/s"),
            ("ratio", f"{result['ratio']:.3f}"),
        ],
    )
    write_json(args.json, result)
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
        lambda parser: __import__("tracknet.bench_accuracy", fromlist=["configure"]).configure(
            parser
        ),
        lambda args: __import__("tracknet.bench_accuracy", fromlist=["run"]).run(args),
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
