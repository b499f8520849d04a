"""What ``tracknet predict`` is given, made into a list of jobs.

- :func:`split_overrides`: ``key.sub=value`` configuration overrides told apart from the paths
  they share the command line with;
- :func:`expand_inputs`: a folder of videos (and no images) stands for its videos;
- :func:`output_names`: the output stem of every input, unique across all of them;
- :func:`launcher_rank` and :func:`shard`: under ``torchrun``, ``accelerate launch`` or MPI,
  this process's share of the inputs (rank ``r`` takes inputs ``r, r + world, ...``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tracknet.constants import IMAGE_SUFFIXES, VIDEO_SUFFIXES, ball_csv_name
from tracknet.errors import UserError

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


def launcher_rank() -> tuple[int, int]:
    """``(rank, world size)`` from the launcher's environment (torchrun, accelerate launch, MPI);
    ``(0, 1)`` when not launched by one."""
    for rank_var, world_var in _RANK_ENV:
        if rank_var in os.environ and world_var in os.environ:
            rank, world = int(os.environ[rank_var]), int(os.environ[world_var])
            if 0 <= rank < world:
                return rank, world
    return 0, 1


def shard(items: list, rank: int, world: int) -> list:
    """The items of process ``rank`` of ``world``: ``rank, rank + world, ...``."""
    return items[rank::world]


def expand_inputs(inputs: list[str]) -> list[str]:
    """A folder holding videos but no images stands for its videos (sorted); the rest as given."""
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


def _stem(p: Path) -> str:
    return p.stem if p.suffix and not p.is_dir() else p.name


def output_names(inputs: list[str]) -> list[str]:
    """The output stem of every input; inputs whose stems clash get their parent folder's name
    as a prefix (``game1/Clip1`` -> ``game1_Clip1``), so no output overwrites another.

    Raises:
        UserError: two inputs that still clash (the same input given twice).
    """
    paths = [Path(p) for p in inputs]
    names = [_stem(p) for p in paths]
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
