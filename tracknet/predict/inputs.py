"""What ``tracknet predict`` is given, made into a list of jobs.

- :func:`split_overrides`: ``key.sub=value`` configuration overrides told apart from the paths
  they share the command line with;
- :func:`expand_inputs`: a glob pattern stands for its matches, a folder of videos (and no
  images) for its videos;
- :func:`output_names`: the output stem of every input, unique across all of them;
- :func:`shard`: under ``torchrun``, ``accelerate launch`` or MPI, this process's share of the
  inputs (rank ``r`` takes inputs ``r, r + world, ...``; the rank:
  :func:`tracknet.utils.launcher_rank`);
  :func:`shard_largest_first`: the same, balanced by size (:func:`input_bytes`), largest first;
- :func:`output_paths` and :func:`is_done`: the files an input's prediction writes, and whether
  they are all there already (``--skip-done``; each is written atomically, so one that exists is
  complete).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from pathlib import Path

from tracknet.constants import (
    DETAILS_CSV_SUFFIX,
    IMAGE_SUFFIXES,
    OVERLAY_SUFFIX,
    VIDEO_SUFFIXES,
    ball_csv_name,
)
from tracknet.errors import UserError
from tracknet.io.live import is_live, live_stem

_OVERRIDE = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)+=")
_GLOB = re.compile(r"[*?[]")


def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """``(inputs, overrides)``: ``key.sub=value`` items that are not existing paths are overrides.

    (argparse cannot tell two variadic positionals apart, so both come in one list.)
    """
    inputs: list[str] = []
    overrides: list[str] = []

    for item in items:
        is_override = _OVERRIDE.match(item) is not None and not Path(item).exists()
        (overrides if is_override else inputs).append(item)
    return inputs, overrides


def shard(items: list, rank: int, world: int) -> list:
    """The items of process ``rank`` of ``world``: ``rank, rank + world, ...``."""
    return items[rank::world]


def input_bytes(path: str) -> int:
    """The size of an input on disk: a video's bytes, an image folder's images' (0: unknown)."""
    p = Path(path)
    try:
        if p.is_dir():
            return sum(f.stat().st_size for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        return p.stat().st_size
    except OSError:
        return 0


def shard_largest_first(items: list, sizes: list[int], rank: int, world: int) -> list:
    """The items of process ``rank`` of ``world``, balanced by ``sizes``, largest first.

    The items go out largest first (ties in the given order), each to the process with the
    least work so far (ties to the lowest rank): every process computes the same split, and the
    largest inputs start first, so the run does not end waiting on one long video.
    """
    order = sorted(range(len(items)), key=lambda i: (-sizes[i], i))
    load = [0] * world
    mine = []
    for i in order:
        target = min(range(world), key=lambda r: (load[r], r))
        load[target] += max(int(sizes[i]), 1)
        if target == rank:
            mine.append(items[i])
    return mine


def output_paths(
    out_dir: str | Path, name: str, overlay: bool, details: bool, extra: Sequence[str] = ()
) -> list[Path]:
    """The files ``tracknet predict`` writes for the input named ``name`` (the ball CSV first;
    ``extra``: more file names, e.g. the events CSV's)."""
    out_dir = Path(out_dir)
    paths = [out_dir / ball_csv_name(name)]
    if details:
        paths.append(out_dir / f"{name}{DETAILS_CSV_SUFFIX}")
    if overlay:
        paths.append(out_dir / f"{name}{OVERLAY_SUFFIX}")
    return paths + [out_dir / e for e in extra]


def is_done(paths: Sequence[Path]) -> bool:
    """Whether every output exists (each is renamed into place when complete)."""
    return all(p.is_file() for p in paths)


def expand_inputs(inputs: list[str]) -> list[str]:
    """A glob pattern (``"season/*.mp4"``, ``"**"`` recursive; quoted, so a launcher's command
    line stays short) stands for the paths it matches (sorted); a folder holding videos but no
    images for its videos (sorted); the rest as given (a pattern matching nothing too)."""
    out: list[str] = []
    for raw in inputs:
        if _GLOB.search(raw) and not Path(raw).exists() and not is_live(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if matches:
                out.extend(expand_inputs(matches))
                continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file())
            videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
            if videos and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in files):
                out.extend(str(v) for v in videos)
                continue
        out.append(raw)
    return out


def _stem(p: Path) -> str:
    return p.stem if p.suffix and not p.is_dir() else p.name


def output_names(inputs: list[str]) -> list[str]:
    """The output stem of every input (a live source's: :func:`~tracknet.io.live.live_stem`);
    inputs whose stems clash get their parent folder's name as a prefix (``game1/Clip1`` -> ``game1_Clip1``), so no output overwrites another.

    Raises:
        UserError: two inputs that still clash (the same input given twice).
    """
    paths = [Path(p) for p in inputs]
    names = [
        live_stem(raw) if is_live(raw) else _stem(p) for raw, p in zip(inputs, paths, strict=True)
    ]
    clashing = {n for n in names if names.count(n) > 1}
    names = [
        f"{p.resolve().parent.name}_{n}" if n in clashing else n
        for p, n in zip(paths, names, strict=True)
    ]
    seen: dict[str, str] = {}
    for raw, n in zip(inputs, names, strict=True):
        if n in seen:
            raise UserError(f"{seen[n]} and {raw} would both write {ball_csv_name(n)}; rename one")
        seen[n] = raw
    return names
