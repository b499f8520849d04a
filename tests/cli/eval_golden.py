"""What ``tracknet eval`` writes and prints, recorded before its results became dataclasses.

``tests/cli/data/eval_golden.json`` was written by this module (``python -m
tests.cli.eval_golden``) from the code where the results were plain dicts;
``test_eval_golden.py`` runs the same cases and compares:

* ``csv``: a prediction CSV and an events CSV against a ball CSV with its events beside it,
  under the input-space tolerance, with ``--out`` and ``--json``: every file of the report, the
  JSON and the printed tables, character for character (the temporary folder spelt ``TMP``);
* ``checkpoint``: a stub model on three test videos (two with events) through
  ``evaluate_checkpoint``: the keys of the metrics JSON, nested, in their order (the values come
  from decoded video, so only the layout is kept).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

GOLDEN = Path(__file__).parent / "data" / "eval_golden.json"

# frame: (gt visibility, gx, gy, pred visibility, px, py) on a 1280x720 frame; None: no pred row
ROWS = [
    (1, 100, 100, 1, 103, 100),  # d = 3: TP
    (1, 101, 100, 1, 101, 100),  # moved 1 px: slow, TP
    (1, 102, 100, 0, 0, 0),  # slow, FN
    (1, 200, 50, 1, 210, 50),  # 5 input px: FP1
    (0, 0, 0, 1, 5, 5),  # FP2
    (0, 0, 0, 0, 0, 0),  # TN
    (1, 50, 50, 1, 50, 54),  # 2 input px: TP
    (1, 51, 50, None, None, None),  # slow, no prediction row: FN
    (3, 70, 70, 1, 70, 70),  # occluded counts as not visible: FP2
]
PRED_EVENTS = [(2, "hit"), (21, "bounce"), (40, "bounce")]
TRUE_EVENTS = [(3, "hit"), (20, "bounce"), (60, "hit")]


def csv_case(tmp: Path) -> dict[str, str]:
    """Score the CSVs of ``ROWS`` with ``tracknet eval``: the report files, JSON and stdout."""
    from tracknet.cli import main
    from tracknet.io.events import Event, write_events_csv
    from tracknet.io.labels import TrackLabels, write_ball_csv

    pred_rows = [(i, r) for i, r in enumerate(ROWS) if r[3] is not None]
    gt = TrackLabels(
        np.arange(len(ROWS)),
        np.array([r[0] for r in ROWS]),
        np.array([r[1] for r in ROWS], float),
        np.array([r[2] for r in ROWS], float),
    )
    pred = TrackLabels(
        np.array([i for i, _ in pred_rows]),
        np.array([r[3] for _, r in pred_rows]),
        np.array([r[4] for _, r in pred_rows], float),
        np.array([r[5] for _, r in pred_rows], float),
    )
    pred_csv, gt_csv = tmp / "tool_ball.csv", tmp / "gt" / "clip_ball.csv"
    write_ball_csv(pred_csv, pred)
    write_ball_csv(gt_csv, gt)
    events_csv = tmp / "tool_events.csv"
    write_events_csv(events_csv, [Event(f, k, 1.0, 2.0, 0.5) for f, k in PRED_EVENTS])
    write_events_csv(gt_csv.with_name("clip_events.csv"), [Event(f, k) for f, k in TRUE_EVENTS])
    out, js = tmp / "report", tmp / "metrics.json"
    args = ["eval", "--pred", str(pred_csv), "--pred-events", str(events_csv), "--gt", str(gt_csv)]
    args += ["--tolerance-space", "input", "--input-size", "640x360", "--frame-size", "1280x720"]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([*args, "--out", str(out), "--json", str(js)]) == 0
    texts = {"stdout": stdout.getvalue(), "json": js.read_text()}
    for name in ("metrics.json", "metrics.txt", "clips.csv", "events.txt"):
        texts[name] = (out / name).read_text()
    return {name: text.replace(str(tmp), "TMP") for name, text in texts.items()}


def checkpoint_metrics(tmp: Path) -> dict[str, Any]:
    """The metrics JSON of a stub model on three test videos (a and b carry events)."""
    from tests.cli.helpers import STUB, write_event_clips
    from tests.infer.conftest import BrightSpotModel
    from tracknet.config import load_config
    from tracknet.evaluate.score import evaluate_checkpoint

    root = write_event_clips(tmp / "data")
    split = ["data.split.train=[t]", "data.split.val=[v]", "data.split.test=[a,b,c]"]
    cfg = load_config(None, [f"data.root={root}", "data.format=generic", *split, *STUB])
    model = BrightSpotModel(tuple(cfg.model.heatmap.size), cfg.model.frames)
    result = evaluate_checkpoint(model, cfg, "test", None, progress=False)
    return as_json(result)


def as_json(result: Any) -> dict[str, Any]:
    """The metrics JSON of a result (a dict before the dataclasses)."""
    return result.as_dict() if hasattr(result, "as_dict") else result


def key_layout(value: Any) -> Any:
    """The keys of nested dicts, in order: ``[[key, layout of its value], ...]``; None else."""
    if isinstance(value, dict):
        return [[key, key_layout(v)] for key, v in value.items()]
    return None


def golden() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        csv = csv_case(Path(tmp) / "csv")
        checkpoint = checkpoint_metrics(Path(tmp) / "checkpoint")
    return {"csv": csv, "checkpoint_keys": key_layout(checkpoint)}


def main(argv: list[str]) -> None:
    """``python -m tests.cli.eval_golden [OUT.json]``: write the golden outputs."""
    out = Path(argv[0]) if argv else GOLDEN
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(golden(), indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
