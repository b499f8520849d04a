"""The log of a training run: rows of ``metrics.csv`` and TensorBoard scalars.

Only the main process writes (``enabled=False`` on the others). ``metrics.csv`` has the columns
of :data:`METRIC_FIELDS`, one row per logged step and split (``train`` or ``val``), empty cells
where a value does not apply; :func:`tracknet.eval.plots.plot_training_curves` reads it.
TensorBoard is optional at run time: without it only the CSV is written.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

METRIC_FIELDS = [
    "step",
    "split",
    "loss",
    "lr",
    "samples_per_s",
    "precision",
    "recall",
    "f1",
    "accuracy",
    "tp",
    "fp1",
    "fp2",
    "fn",
    "tn",
    "time_s",
]


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter  # optional dependency
    except ImportError:  # tensorboard is optional at run time
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


class RunLog:
    """Appends rows to ``run_dir/metrics.csv`` and scalars to ``run_dir/tensorboard/``."""

    def __init__(self, run_dir: str | Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / "metrics.csv"
        self.enabled = enabled
        self.writer = _tensorboard(Path(run_dir)) if enabled else None

    def write(self, row: dict[str, Any]) -> None:
        """One row (``step`` and ``split`` plus any of :data:`METRIC_FIELDS`)."""
        if not self.enabled:
            return
        new = not self.path.exists()
        with open(self.path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=METRIC_FIELDS)
            if new:
                w.writeheader()
            w.writerow({k: row.get(k, "") for k in METRIC_FIELDS})
        if self.writer is not None:
            for key, value in row.items():
                if (
                    key not in ("step", "split")
                    and isinstance(value, int | float)
                    and math.isfinite(value)
                ):
                    self.writer.add_scalar(f"{row['split']}/{key}", value, row["step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
