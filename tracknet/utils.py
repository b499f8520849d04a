"""Small helpers shared across the package: atomic file writes, fingerprints, logging."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

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


def _reraise(exc: OSError, path: Path, action: str = "write"):
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
