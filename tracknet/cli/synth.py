"""``tracknet synth OUT``: write synthetic labelled ball footage in a dataset layout."""

from __future__ import annotations

import argparse
import re
import time

import numpy as np

from tracknet.errors import UserError

_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``; a :class:`UserError` for anything else."""
    match = _SIZE.match(text)
    if not match:
        raise UserError(f"--size must look like WIDTHxHEIGHT, e.g. 1280x720; got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if width < 32 or height < 32 or width > 7680 or height > 4320:
        raise UserError(f"--size {width}x{height} is out of range (32x32 to 7680x4320)")
    return width, height


def configure(parser: argparse.ArgumentParser) -> None:
    from tracknet.data.synth import DIFFICULTIES, FORMATS

    parser.add_argument("out", help="dataset root to write (created if missing)")
    parser.add_argument("--format", choices=FORMATS, default="tennis", help="dataset layout")
    parser.add_argument("--clips", type=int, default=4, help="number of clips (default 4)")
    parser.add_argument("--frames", type=int, default=150, help="frames per clip (default 150)")
    parser.add_argument("--size", default="1280x720", help="frame size WxH (default 1280x720)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files (default 0)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (default 30)")
    parser.add_argument(
        "--difficulty", choices=DIFFICULTIES, default="normal", help="normal or hard footage"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="processes rendering clips (default: CPUs)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tracknet.data.synth import iter_synthesize

    size = parse_size(args.size)
    for name in ("clips", "frames"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1")
    if args.fps <= 0:
        raise UserError("--fps must be positive")
    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be at least 1")
    start = time.perf_counter()
    visibility = np.zeros(4, dtype=int)
    written = []
    clips = iter_synthesize(
        args.out,
        args.format,
        args.clips,
        args.frames,
        size=size,
        seed=args.seed,
        fps=args.fps,
        difficulty=args.difficulty,
        workers=args.workers,
    )
    for path, labels in tqdm(clips, total=args.clips, unit="clip", desc="synth"):
        written.append(path)
        visibility += np.bincount(labels.visibility, minlength=4)[:4]
    seconds = time.perf_counter() - start
    total = int(visibility.sum())
    share = ", ".join(
        f"{name} {100 * n / total:.0f}%"
        for name, n in zip(("no ball", "visible", "hard", "occluded"), visibility, strict=True)
    )
    print(
        f"wrote {len(written)} {args.format} clip(s) of {args.frames} frames at "
        f"{size[0]}x{size[1]} ({args.difficulty}) to {args.out}\n"
        f"  frames: {share}\n"
        f"  {total} frames in {seconds:.1f} s ({total / max(seconds, 1e-9):.0f} frames/s)"
    )
    return 0
