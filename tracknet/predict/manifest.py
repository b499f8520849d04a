"""The manifest of a ``tracknet predict`` run: ``DIR/manifest.json``, one record per input.

Each process keeps a record per input it handled (:func:`record`: ``status`` ``done``,
``skipped`` -- its outputs were complete already, ``--skip-done`` -- or ``failed`` with the
error; frames, rows, seconds, frames/s, detections, outputs). :class:`RecordGatherer` brings
every process's records to the main process: under ``torchrun`` / ``accelerate launch`` through
a ``gloo`` process group (CPU objects, so it works beside any GPU backend and on CPU-only
machines), which also makes every process wait for the slowest before it exits. The main process
writes the manifest atomically (:func:`write_manifest`). A skipped input keeps the figures of its
record in an earlier manifest, when there is one.

Without a rendezvous address (an MPI launch: no ``MASTER_ADDR``), each process writes its own
``DIR/manifest.rank<R>.json`` instead.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch.distributed as dist

from tracknet.utils import atomic_write_text

MANIFEST_NAME = "manifest.json"
# how long the processes wait for each other at the end (the slowest may have hours of video)
GATHER_TIMEOUT = timedelta(days=7)


def record(
    source: str,
    name: str,
    status: str,
    outputs: list[Path],
    rank: int,
    *,
    frames: int | None = None,
    seconds: float | None = None,
    detected: int | None = None,
    undecodable: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One input's record: ``rows`` is the ball CSV's rows (one per frame)."""
    return {
        "input": str(source),
        "name": name,
        "status": status,
        "frames": frames,
        "rows": frames,
        "seconds": None if seconds is None else round(seconds, 3),
        "fps": None if not frames or not seconds else round(frames / seconds, 2),
        "detected": detected,
        "undecodable": undecodable,
        "error": error,
        "rank": rank,
        "outputs": [p.name for p in outputs],
    }


def previous_records(out_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The records of an earlier manifest in ``out_dir`` by name (empty: none or unreadable)."""
    try:
        data = json.loads((Path(out_dir) / MANIFEST_NAME).read_text())
        return {r["name"]: r for r in data.get("videos", []) if isinstance(r, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def skipped_record(
    source: str, name: str, outputs: list[Path], rank: int, previous: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The record of an input whose outputs were complete: the earlier record's figures, else
    the rows of its ball CSV."""
    old = previous.get(name)
    if old is not None and old.get("status") in ("done", "skipped"):
        figures = {k: old.get(k) for k in ("frames", "seconds", "detected", "undecodable")}
    else:
        with open(outputs[0], "rb") as fh:
            rows = max(sum(1 for _ in fh) - 1, 0)
        figures = {"frames": rows, "seconds": None, "detected": None, "undecodable": None}
    return record(source, name, "skipped", outputs, rank, **figures)


def _rendezvous_known() -> bool:
    return bool(os.environ.get("MASTER_ADDR")) and bool(os.environ.get("MASTER_PORT"))


class RecordGatherer:
    """The processes of one launch, met at the start so they can pool their records at the end.

    Under ``torchrun`` / ``accelerate launch`` (``MASTER_ADDR`` set) a ``gloo`` process group
    is opened at once, while the launcher is surely alive: the final gather then goes from
    process to process, and a process that dies makes the others fail instead of waiting.
    ``with``: the group is closed on the way out.
    """

    def __init__(self, rank: int, world: int) -> None:
        self.rank, self.world = rank, world
        self.active = world > 1 and dist.is_available() and _rendezvous_known()
        self._owned = self.active and not dist.is_initialized()
        if self._owned:
            dist.init_process_group("gloo", rank=rank, world_size=world, timeout=GATHER_TIMEOUT)
        self._group = None
        if self.active and not self._owned:  # a group of another backend: a gloo one beside it
            self._group = dist.new_group(backend="gloo", timeout=GATHER_TIMEOUT)

    def gather(self, records: list[dict]) -> list[dict] | None:
        """Every process's records on the main process (in rank order); None on the others,
        and None everywhere when the processes could not meet (no ``MASTER_ADDR``: see the
        module docstring). Waits for every process to get here."""
        if self.world == 1:
            return records
        if not self.active:
            return None
        gathered: list[Any] | None = [None] * self.world if self.rank == 0 else None
        dist.gather_object(records, gathered, dst=0, group=self._group)
        # gloo's send may still be in flight when gather returns on a sending rank; closing the
        # group under it aborted that process at exit ("terminate called without an active
        # exception", seen once in ten resumed torchrun runs): every rank waits here for all
        dist.barrier(group=self._group)
        if self.rank != 0:
            return None
        return [r for part in gathered or [] for r in part or []]

    def close(self) -> None:
        if self._owned and dist.is_initialized():
            dist.destroy_process_group()
        self._owned = False

    def __enter__(self) -> RecordGatherer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_manifest(
    out_dir: str | Path,
    records: list[dict[str, Any]],
    *,
    checkpoint: str,
    world: int,
    started: float,
    rank: int | None = None,
) -> Path:
    """Write ``manifest.json`` (``rank``: this process's ``manifest.rank<R>.json``) atomically;
    records sorted by name."""
    records = sorted(records, key=lambda r: r["name"])
    counts = {s: sum(r["status"] == s for r in records) for s in ("done", "skipped", "failed")}
    manifest = {
        "checkpoint": str(checkpoint),
        "processes": world,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 3),
        "inputs": len(records),
        **counts,
        "frames": sum(r["frames"] or 0 for r in records if r["status"] == "done"),
        "videos": records,
    }
    name = MANIFEST_NAME if rank is None else f"manifest.rank{rank}.json"
    path = Path(out_dir) / name
    atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")
    return path
