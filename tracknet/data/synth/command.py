"""The ``tracknet synth`` command's work: check the options, write the clips, report on them.

:func:`run_synth` turns bad options into :class:`~tracknet.errors.UserError` (one line for the
user, exit status 2), writes the clips under a progress bar, and prints how many frames of each
visibility were written and how fast. :func:`parse_size` reads a ``WIDTHxHEIGHT`` option.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tracknet.data.synth.writer import iter_synthesize
from tracknet.errors import UserError
from tracknet.utils import parse_size as read_size

_VISIBILITY_NAMES = ("no ball", "visible", "hard", "occluded")


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``, 32x32 to 7680x4320 (:func:`tracknet.utils.parse_size`);
    a :class:`UserError` naming ``--size`` for anything else."""
    return read_size(text, low=32, high=(7680, 4320), option="--size")


def run_synth(
    out: str | Path,
    fmt: str,
    clips: int,
    frames: int,
    size: str,
    seed: int,
    fps: float,
    difficulty: str,
    workers: int | None,
) -> None:
    """Check the options, write the dataset with a progress bar, and print a summary.

    Args:
        out: the dataset root.
        fmt: the layout (see :func:`~tracknet.data.synth.writer.synthesize`).
        clips: number of clips (at least 1).
        frames: frames per clip (at least 1).
        size: the frame size as ``WIDTHxHEIGHT`` text (see :func:`parse_size`).
        seed: the same seed writes the same files.
        fps: frame rate (positive).
        difficulty: ``"normal"`` or ``"hard"``.
        workers: processes rendering clips (``None``: one per CPU; else at least 1).

    Raises:
        UserError: for an option out of range.
    """
    frame_size = parse_size(size)
    for name, value in (("clips", clips), ("frames", frames)):
        if value < 1:
            raise UserError(f"--{name} must be at least 1")
    if fps <= 0:
        raise UserError("--fps must be positive")
    if workers is not None and workers < 1:
        raise UserError("--workers must be at least 1")
    start = time.perf_counter()
    visibility = np.zeros(4, dtype=int)
    written = []
    written_clips = iter_synthesize(
        out,
        fmt,
        clips,
        frames,
        size=frame_size,
        seed=seed,
        fps=fps,
        difficulty=difficulty,
        workers=workers,
    )
    for path, labels in tqdm(written_clips, total=clips, unit="clip", desc="synth"):
        written.append(path)
        visibility += np.bincount(labels.visibility, minlength=4)[:4]
    seconds = time.perf_counter() - start
    total = int(visibility.sum())
    share = ", ".join(
        f"{name} {100 * n / total:.0f}%"
        for name, n in zip(_VISIBILITY_NAMES, visibility, strict=True)
    )
    print(
        f"wrote {len(written)} {fmt} clip(s) of {frames} frames at "
        f"{frame_size[0]}x{frame_size[1]} ({difficulty}) to {out}\n"
        f"  frames: {share}\n"
        f"  {total} frames in {seconds:.1f} s ({total / max(seconds, 1e-9):.0f} frames/s)"
    )
