"""What every benchmark shares: machine description, timed runs, rates, medians, JSON, tables.

Timings: a warm-up, then ``repeats`` timed runs (:func:`time_runs`, synchronising CUDA after each);
:func:`summarize_runs` reports the median frames per second and the spread (min, max).
Streams (a DataLoader) are measured by :func:`rate_over_intervals`: the median of the rates of
equal intervals after a warm-up. Memory: the process's peak RSS on Linux (``/proc/self``).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from tracknet.utils import atomic_write_text

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


# --------------------------------------------------------------------------- the machine
def machine_info() -> dict[str, Any]:
    """CPU model, core count and library versions, recorded beside every measurement."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def peak_rss_reset() -> None:
    """Reset the kernel's peak-RSS counter of this process (Linux), where allowed."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process since the last reset (Linux), MiB."""
    return _status_mb("VmHWM:")


def rss_mb() -> float | None:
    """Resident memory of this process now (Linux), MiB."""
    return _status_mb("VmRSS:")


# --------------------------------------------------------------------------- timing
def time_runs(fn: Callable[[], Any], warmup: int, repeats: int, device) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        fn()
    sync()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - start)
    return out


def summarize_runs(seconds: list[float], frames: int) -> dict[str, float]:
    """Median, min and max frames per second of runs of ``frames`` frames each."""
    fps = [frames / s for s in seconds]
    return {
        "fps_median": statistics.median(fps),
        "fps_min": min(fps),
        "fps_max": max(fps),
        "seconds_median": statistics.median(seconds),
        "repeats": len(seconds),
    }


def rate_over_intervals(
    items: Iterator[int], seconds: float, warmup: float, intervals: int
) -> dict[str, Any]:
    """Count what ``items`` yields (each value: units delivered) in timed intervals.

    The first ``warmup`` seconds are not counted (workers starting, caches filling); the next
    ``seconds`` are cut into ``intervals`` equal intervals and the rate of each is recorded.
    """
    start = time.perf_counter()
    for _ in items:
        if time.perf_counter() - start >= warmup:
            break
    interval = seconds / max(1, intervals)
    rates: list[float] = []
    count, tick = 0, time.perf_counter()
    for units in items:
        count += units
        now = time.perf_counter()
        if now - tick >= interval:
            rates.append(count / (now - tick))
            count, tick = 0, now
            if len(rates) == intervals:
                break
    if not rates:
        raise RuntimeError("the source ran dry before one interval was measured")
    return {
        "median": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        "intervals": [round(r, 2) for r in rates],
        "interval_s": interval,
    }


# --------------------------------------------------------------------------- reporting
def write_json(path: str | Path | None, result: dict[str, Any]) -> None:
    """Write ``result`` as indented JSON to ``path`` (nothing without a path) and say so."""
    if path:
        atomic_write_text(path, json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")


def print_table(title: str, rows: list[tuple[str, Any]]) -> None:
    """``title``, then one ``key  value`` line per row, the keys left-aligned in one column."""
    width = max(len(k) for k, _ in rows)
    print(title)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
