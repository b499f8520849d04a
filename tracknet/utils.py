"""Small helpers shared across the package: atomic file writes, fingerprints, logging, the one
``WIDTHxHEIGHT`` reader of every command (:func:`parse_size`) and the one reading of the
launcher's rank (:func:`launcher_rank`, :func:`launcher_local_rank`)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NoReturn

from tracknet.errors import StorageError, UserError

log = logging.getLogger("tracknet")

# OS errors a user fixes by freeing space or choosing another place, with what to do about them.
_WRITE_HINTS: dict[int, str] = {
    errno.ENOSPC: "the disk is full; free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is exceeded; free some space or write elsewhere",
    errno.EFBIG: "the file is too large for this file system; write elsewhere",
    errno.EROFS: "the file system is read-only; choose another output location",
    errno.EACCES: "permission denied; choose a location you can write to",
    errno.EPERM: "operation not permitted; choose a location you can write to",
    errno.ENOTDIR: "a file is in the way of a folder on this path; choose another location",
    errno.EEXIST: "a file is in the way of a folder on this path; choose another location",
    errno.EISDIR: "a folder is in the way of a file on this path; choose another location",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter one",
}


def storage_error(exc: OSError, path: str | Path | None = None, action: str = "write") -> Exception:
    """``exc`` as a :class:`tracknet.errors.StorageError` with one clear line, when it is an OS
    error the user can fix (disk full, read-only, permissions, a file in the way); otherwise
    ``exc`` itself."""
    hint = _WRITE_HINTS.get(exc.errno) if isinstance(exc, OSError) and exc.errno else None

    if hint is None or isinstance(exc, UserError):
        return exc
    where = path if path is not None else (exc.filename or "?")
    reason = exc.strerror or str(exc)
    error = StorageError(f"cannot {action} {where}: {reason}; {hint}")
    error.errno = exc.errno
    return error


def _reraise(exc: OSError, path: Path, action: str = "write") -> NoReturn:
    error = storage_error(exc, path, action)
    if error is exc:
        raise exc
    raise error from exc


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto it.

    A crash or exception inside the block leaves ``path`` as it was (old content or absent) and
    removes the temporary file, so a reader never sees a half-written file (a process killed
    inside the block leaves at most a hidden ``.NAME.*`` temporary file beside it).
    An OS error the user can fix (disk full, read-only, no permission, a file in the way)
    becomes a :class:`tracknet.errors.StorageError` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=suffix or f".tmp{path.suffix}", dir=path.parent
        )
    except OSError as exc:
        _reraise(exc, path)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        _reraise(exc, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def remove_stale_temporaries(directory: str | Path, names: Iterable[str]) -> list[Path]:
    """Delete the hidden temporaries :func:`atomic_path` leaves for ``names`` when killed.

    Only for a folder this process owns (no other writer can be inside ``atomic_path`` there).
    Returns the files removed.
    """
    removed = []
    for name in names:
        for stale in Path(directory).glob(f".{name}.*.tmp*"):
            stale.unlink(missing_ok=True)
            removed.append(stale)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def make_dirs(path: str | Path) -> Path:
    """``mkdir -p path``; a folder that cannot be made raises a clear StorageError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _reraise(exc, path, "create the folder")
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


_SIZE = re.compile(r"\s*(\d+)\s*[xX]\s*(\d+)\s*")


def parse_size(
    text: str, low: int = 1, high: tuple[int, int] | None = None, option: str = ""
) -> tuple[int, int]:
    """``"512x288"`` -> ``(512, 288)``: the ``WIDTHxHEIGHT`` of every command (spaces and ``X``
    allowed).

    Args:
        text: what the user wrote.
        low: the smallest width and height.
        high: the largest ``(width, height)``; None: no limit.
        option: the option's name, to start the message with (``--size``).

    Raises:
        UserError: not ``WIDTHxHEIGHT``, or a side out of range; the message says which.
    """
    where = f"{option}: " if option else ""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise UserError(f"{where}expected WIDTHxHEIGHT such as 512x288, got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    top = high or (width, height)
    if min(width, height) < low or width > top[0] or height > top[1]:
        limits = f"{low}x{low} to {high[0]}x{high[1]}" if high else f"at least {low}x{low}"
        raise UserError(f"{where}{width}x{height} is out of range ({limits})")
    return width, height


_RANK_ENV = (  # (rank, world size) variables of torchrun / accelerate, Open MPI, MPICH / Intel MPI
    ("RANK", "WORLD_SIZE"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("PMI_RANK", "PMI_SIZE"),
)


def launcher_rank() -> tuple[int, int]:
    """``(rank, world size)`` from the launcher's environment (torchrun, accelerate launch, MPI);
    ``(0, 1)`` when not launched by one. Only rank 0 speaks (the CLI's log level, train's last
    line); ``tracknet predict`` shares its inputs out by it."""
    for rank_var, world_var in _RANK_ENV:
        if rank_var in os.environ and world_var in os.environ:
            rank, world = int(os.environ[rank_var]), int(os.environ[world_var])
            if 0 <= rank < world:
                return rank, world
    return 0, 1


def launcher_local_rank() -> int:
    """This process's rank on its own machine (``LOCAL_RANK``; without it the global rank)."""
    return int(os.environ.get("LOCAL_RANK", launcher_rank()[0]))
