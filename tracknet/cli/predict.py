"""``tracknet predict VIDEO... --checkpoint RUN_DIR --out DIR [--overlay]``."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="VIDEO",
        help="videos, image folders or folders of videos; key=value overrides of the run's "
        "configuration (e.g. predict.top_k=8) may follow them",
    )
    parser.add_argument("--checkpoint", required=True, metavar="RUN_DIR")
    parser.add_argument("--out", default="predictions", help="output folder")
    parser.add_argument("--overlay", action="store_true", help="also write <stem>_overlay.mp4")
    parser.add_argument(
        "--details",
        action="store_true",
        help="also write <stem>_details.csv (score, interpolated flag, raw detection, candidates)",
    )
    parser.add_argument(
        "--smooth", action="store_true", help="drop isolated outliers, fill gaps <= --max-gap"
    )
    parser.add_argument("--max-gap", type=int, metavar="K", help="longest gap --smooth fills")
    parser.add_argument("--no-track", action="store_true", help="raw detections, no gating")
    parser.add_argument(
        "--gate-px", type=float, help="reject a jump farther than this from the predicted position"
    )
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (default: auto)")
    parser.add_argument("--batch-size", type=_positive_int)
    parser.add_argument("--half", action="store_true", help="bf16/fp16 autocast")
    parser.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.epilog = (
        "Writes <stem>_ball.csv (Frame,Visibility,X,Y) per input. Under `torchrun` or "
        "`accelerate launch` the inputs are shared out across the processes (rank r takes "
        "inputs r, r + world, ...)."
    )
    parser.set_defaults(run=run)


_OVERRIDE = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)+=")


def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """``(inputs, overrides)``: ``key.sub=value`` items that are not existing paths are overrides.

    (argparse cannot tell two variadic positionals apart, so both come in one list.)
    """
    inputs, overrides = [], []
    for item in items:
        is_override = _OVERRIDE.match(item) is not None and not Path(item).exists()
        (overrides if is_override else inputs).append(item)
    return inputs, overrides


_RANK_ENV = (  # (rank, world size) variables of torchrun / accelerate, Open MPI, MPICH / Intel MPI
    ("RANK", "WORLD_SIZE"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("PMI_RANK", "PMI_SIZE"),
)


def _dist() -> tuple[int, int]:
    """``(rank, world size)`` from the launcher's environment (torchrun, accelerate launch, MPI)."""
    for rank_var, world_var in _RANK_ENV:
        if rank_var in os.environ and world_var in os.environ:
            rank, world = int(os.environ[rank_var]), int(os.environ[world_var])
            if 0 <= rank < world:
                return rank, world
    return 0, 1


def _shard(items: list, rank: int, world: int) -> list:
    return items[rank::world]


VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".ts"}


def expand_inputs(inputs: list[str]) -> list[str]:
    """A folder holding videos but no images stands for its videos (sorted); the rest as given."""
    from tracknet.infer.pipeline import IMAGE_SUFFIXES

    out: list[str] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file())
            videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
            if videos and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in files):
                out.extend(str(v) for v in videos)
                continue
        out.append(raw)
    return out


def output_names(inputs: list[str]) -> list[str]:
    """The output stem of every input; inputs whose stems clash get their parent folder's name
    as a prefix (``game1/Clip1`` -> ``game1_Clip1``), so no output overwrites another.

    Raises:
        UserError: two inputs that still clash (the same input given twice).
    """
    from tracknet.errors import UserError

    def stem(p: Path) -> str:
        return p.stem if p.suffix and not p.is_dir() else p.name

    paths = [Path(p) for p in inputs]
    names = [stem(p) for p in paths]
    clashing = {n for n in names if names.count(n) > 1}
    names = [
        f"{p.resolve().parent.name}_{n}" if n in clashing else n
        for p, n in zip(paths, names, strict=True)
    ]
    seen: dict[str, str] = {}
    for raw, n in zip(inputs, names, strict=True):
        if n in seen:
            raise UserError(f"{seen[n]} and {raw} would both write {n}_ball.csv; rename one")
        seen[n] = raw
    return names


def run(args: argparse.Namespace) -> int:
    import torch

    from tracknet.data.codec import HeatmapCodec
    from tracknet.errors import UserError
    from tracknet.infer.loading import load_run
    from tracknet.infer.pipeline import predict_source
    from tracknet.infer.predictor import Predictor

    rank, world = _dist()
    inputs, overrides = split_overrides(list(args.inputs))
    if not inputs:
        raise UserError("no video or image folder given (only key=value overrides)")
    inputs = expand_inputs(inputs)
    names = output_names(inputs)  # on the full list: every rank agrees
    if args.device:
        overrides.append(f"predict.device={args.device}")
    elif world > 1 and torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count()
        overrides.append(f"predict.device=cuda:{local}")
    if args.batch_size:
        overrides.append(f"predict.batch_size={args.batch_size}")
    if args.half:
        overrides.append("predict.half=true")
    if args.smooth:
        overrides.append("predict.smooth=true")
    if args.max_gap is not None:
        overrides.append(f"predict.max_gap={args.max_gap}")
    if args.no_track:
        overrides.append("predict.track=false")
    if args.gate_px is not None:
        overrides.append(f"predict.gate_px={args.gate_px}")
    model, cfg = load_run(args.checkpoint, overrides)
    if args.backend == "onnx":
        from tracknet.infer.onnx_backend import OnnxModel

        model = OnnxModel.from_checkpoint(args.checkpoint, model)
    predictor = Predictor(model, HeatmapCodec.from_config(cfg), cfg.predict)
    jobs = _shard(list(zip(inputs, names, strict=True)), rank, world)
    failed = 0
    for path, name in jobs:
        try:
            res = predict_source(
                predictor,
                path,
                args.out,
                overlay=args.overlay,
                details=args.details,
                progress=rank == 0 and not args.no_progress,
                name=name,
            )
        except UserError as exc:
            if len(jobs) == 1:
                raise
            failed += 1  # one bad input does not stop the others
            print(f"tracknet predict: error: {exc}", file=sys.stderr)
            continue
        extra = f", overlay {res.overlay}" if res.overlay else ""
        bad = f", {res.undecodable} undecodable" if res.undecodable else ""
        print(
            f"{res.source}: {res.frames} frames ({res.fps:.1f} frames/s), ball in "
            f"{res.detected}{bad} -> {res.csv}{extra}"
        )
    if world > 1:
        print(f"[rank {rank}/{world}] predicted {len(jobs) - failed} of {len(inputs)} inputs")
    if failed:
        print(f"tracknet predict: {failed} of {len(jobs)} inputs failed", file=sys.stderr)
        return 2
    return 0
