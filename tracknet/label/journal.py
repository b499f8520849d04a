"""The journal of the label store: an append-only file of JSON lines, fsynced, locked against
a second ``tracknet label`` on the same labels (:mod:`tracknet.label.store` says what it records).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from tracknet.errors import UserError

try:  # POSIX only: elsewhere a second server on the same file is not detected
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


log = logging.getLogger("tracknet.label")


class Journal:
    """An append-only file of JSON lines, locked against a second writer.

    Args:
        path: the journal file.
        owner: the file it journals (named when another process holds the lock).
    """

    def __init__(self, path: Path, owner: Path | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "a+b")  # noqa: SIM115 - held open (and locked) for the session
        if fcntl is not None:
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._fh.close()
                raise UserError(
                    f"{owner or path}: another `tracknet label` is editing these labels "
                    f"(its journal {path} is locked); use its page or stop it first"
                ) from None

    def read(self) -> list[dict]:
        """Every complete record; a torn last line (a kill mid-append) is dropped."""
        self._fh.seek(0)
        records = []
        for number, line in enumerate(self._fh.read().splitlines(), 1):
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("%s:%d: unreadable journal line skipped", self.path, number)
                continue
            if isinstance(record, dict) and isinstance(record.get("v"), int):
                records.append(record)
        return records

    def append(self, record: dict, sync: bool = True) -> None:
        self._fh.seek(0, os.SEEK_END)
        self._fh.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self._fh.flush()
        if sync:
            os.fsync(self._fh.fileno())

    def reset(self, record: dict) -> None:
        """Replace the content with one record (compaction; the lock is kept)."""
        self._fh.seek(0)
        self._fh.truncate()
        self.append(record)

    def close(self) -> None:
        self._fh.close()


def journal_path(labels_path: Path) -> Path:
    return labels_path.with_name(f".{labels_path.name}.journal")
