"""A whole synthetic dataset: one seeded job a clip, rendered side by side in worker processes.

Clip ``k`` draws from ``SeedSequence(seed, spawn_key=(k,))``, so adding clips does not change
the earlier ones, and the written files do not depend on the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracknet.data.synth.layouts import (
    CLIPS_PER_GAME,
    clip_destination,
    write_frame_folder,
    write_video,
)
from tracknet.data.synth.plan import plan_clip
from tracknet.data.synth.presets import DIFFICULTIES, FORMATS, check_choice
from tracknet.io.labels import TrackLabels


def clip_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of clip ``index``: independent of how many clips are made."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


@dataclass(frozen=True)
class _ClipJob:
    out_dir: Path
    fmt: str
    index: int
    frames: int
    size: tuple[int, int]
    seed: int
    fps: float
    difficulty: str
    clips_per_game: int


def _write_clip(job: _ClipJob) -> tuple[Path, TrackLabels]:
    """Plan, render and write one clip (runs in a worker process when there are several)."""
    rng = clip_rng(job.seed, job.index)
    plan = plan_clip(job.frames, job.size, rng, job.fmt, job.difficulty, job.fps)
    target = clip_destination(job.out_dir, job.fmt, job.index, job.clips_per_game)
    if job.fmt == "tennis":
        write_frame_folder(plan, target)
    else:
        write_video(plan, target)
    return target, plan.labels


def iter_synthesize(
    out_dir: str | Path,
    fmt: str,
    clips: int,
    frames: int,
    size: tuple[int, int] = (1280, 720),
    seed: int = 0,
    fps: float = 30.0,
    difficulty: str = "normal",
    clips_per_game: int = CLIPS_PER_GAME,
    workers: int | None = None,
) -> Iterator[tuple[Path, TrackLabels]]:
    """Write clips (see :func:`synthesize`), yielding each path and its labels in clip order."""
    check_choice("fmt", fmt, FORMATS)
    check_choice("difficulty", difficulty, DIFFICULTIES)
    if clips < 1 or frames < 1 or clips_per_game < 1:
        raise ValueError(
            f"need clips, frames and clips_per_game >= 1; got {clips}, {frames}, {clips_per_game}"
        )
    size = (int(size[0]), int(size[1]))
    jobs = [
        _ClipJob(Path(out_dir), fmt, k, frames, size, seed, fps, difficulty, clips_per_game)
        for k in range(clips)
    ]
    workers = min(workers or os.cpu_count() or 1, clips)
    if workers <= 1:
        yield from map(_write_clip, jobs)
        return
    # Clips are independent: render and encode them side by side. "fork" (where it exists)
    # needs no importable __main__, so it also works from notebooks and `python -m tracknet`.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_write_clip, jobs)


def synthesize(
    out_dir: str | Path,
    fmt: str,
    clips: int,
    frames: int,
    size: tuple[int, int] = (1280, 720),
    seed: int = 0,
    fps: float = 30.0,
    difficulty: str = "normal",
    clips_per_game: int = CLIPS_PER_GAME,
    workers: int | None = None,
) -> list[Path]:
    """Write a synthetic dataset in one of the layouts of ``field_facts.md`` section 1.

    Layouts:
        * ``tennis``: ``OUT/gameG/ClipC/0000.jpg ...`` and ``Label.csv``; clip ``k`` (0-based)
          is ``game{k // clips_per_game + 1}/Clip{k % clips_per_game + 1}``.
        * ``shuttlecock``: ``OUT/Professional/matchK/video/1_RR_00.mp4`` and
          ``OUT/Professional/matchK/csv/1_RR_00_ball.csv`` (3 rallies per match).
        * ``generic``: ``OUT/clip_NNNN.mp4`` and ``OUT/clip_NNNN_ball.csv``.

    Args:
        out_dir: the dataset root (created if needed; clips of the same name are replaced).
        fmt: ``"tennis"``, ``"shuttlecock"`` or ``"generic"``.
        clips: number of clips.
        frames: frames per clip.
        size: ``(W, H)`` of the frames.
        seed: the same seed writes the same labels and pixels.
        fps: frame rate.
        difficulty: ``"normal"`` or ``"hard"`` (see :data:`DIFFICULTY_PRESETS`).
        clips_per_game: tennis layout only.
        workers: processes rendering clips side by side (default: one per CPU, at most
            ``clips``); the output does not depend on it.

    Returns:
        The clip folders (tennis) or videos, in clip order.
    """
    return [
        path
        for path, _ in iter_synthesize(
            out_dir, fmt, clips, frames, size, seed, fps, difficulty, clips_per_game, workers
        )
    ]
