"""How many of a model's wrong suggestions the review queue of ``tracknet label`` shows first.

The model of ``--checkpoint`` runs over SOURCE (a video or an image folder) as
``tracknet label --checkpoint`` runs it (:class:`tracknet.label.suggest.Suggestions`: the
streaming predictor and the online tracker). Each suggestion is compared with LABELS
(``Frame,Visibility,X,Y``; frames without a row are left out): it is wrong when it is more than
``--tolerance`` px (4) from a visible ball, a ball where there is none, or no ball where there is
one. For each ranking of :mod:`tracknet.label.doubt` (``peak``, the first one: the peak score, a
jump, a lost or an isolated ball; ``flight``, the current one) the table gives the share of the
wrong suggestions among the queue's first N entries, and in the whole queue. Nothing is
confirmed: this is the queue a fresh clip opens with.

    python scripts/review_queue_eval.py SOURCE LABELS.csv --checkpoint RUN \\
        [--first 10,25,50,100] [--json OUT] [overrides ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tracknet.io.labels import TrackLabels, read_ball_csv
from tracknet.label.doubt import RANKINGS, Track, rank
from tracknet.label.source import open_source
from tracknet.label.suggest import Suggestions

WRONG_KINDS = {
    "off": "off by more than the tolerance",
    "phantom": "a ball where there is none",
    "missed": "no ball where there is one",
}


def suggest(source: str | Path, checkpoint: str | Path, overrides: Sequence[str] = ()) -> Track:
    """The model's suggestions for every frame of ``source``, as the labelling tool makes them.

    Raises:
        RuntimeError: the model failed (the message says why).
    """
    suggestions = Suggestions(open_source(source), checkpoint, overrides).start()
    suggestions.wait()
    if suggestions.state != "done":
        raise RuntimeError(f"the model did not finish ({suggestions.state}): {suggestions.error}")
    return suggestions.track()


def wrong_suggestions(
    track: Track, truth: TrackLabels, tolerance: float = 4.0
) -> dict[str, np.ndarray]:
    """The labelled frames with a suggestion, and which of them are wrong, by kind.

    Returns:
        ``{"frames": int [M], "off": bool [M], "phantom": bool [M], "missed": bool [M]}``.
    """
    frames = np.asarray(truth.frame, dtype=np.int64)
    keep = (frames >= 0) & (frames < len(track))
    keep[keep] &= track.have[frames[keep]]
    frames = frames[keep]
    ball = np.asarray(truth.visibility)[keep] > 0
    xy = np.stack([np.asarray(truth.x)[keep], np.asarray(truth.y)[keep]], axis=1)
    suggested = track.visible[frames]
    distance = np.hypot(*(track.xy[frames] - xy).T)
    return {
        "frames": frames,
        "off": ball & suggested & ~(distance <= tolerance),
        "phantom": ~ball & suggested,
        "missed": ball & ~suggested,
    }


def evaluate(
    track: Track, truth: TrackLabels, first: Sequence[int] = (10, 25, 50, 100), tolerance=4.0
) -> dict:
    """Wrong suggestions and, for each ranking, how many of them its queue shows first.

    Returns:
        ``{"frames", "suggested_ball", "wrong": {kind: count, "all": count}, "first": [N...],
        "rankings": {name: {"queue": length, "caught": [count in the first N...],
        "caught_in_queue": count, "caught_by_kind": {kind: count in the whole queue}}}}``.
    """
    wrong = wrong_suggestions(track, truth, tolerance)
    frames = wrong["frames"]
    kinds = {k: set(frames[wrong[k]].tolist()) for k in WRONG_KINDS}
    every = set().union(*kinds.values())
    result = {
        "frames": len(frames),
        "suggested_ball": int(track.visible[frames].sum()),
        "tolerance_px": tolerance,
        "wrong": {**{k: len(v) for k, v in kinds.items()}, "all": len(every)},
        "first": [int(n) for n in first],
        "rankings": {},
    }
    for name in RANKINGS:
        queue = [q["frame"] for q in rank(track, {}, ranking=name, limit=len(track))]
        result["rankings"][name] = {
            "queue": len(queue),
            "caught": [len(every.intersection(queue[:n])) for n in first],
            "caught_in_queue": len(every.intersection(queue)),
            "caught_by_kind": {k: len(v.intersection(queue)) for k, v in kinds.items()},
        }
    return result


def _share(caught: int, total: int) -> str:
    return f"{caught}/{total} ({100 * caught / total:.0f}%)" if total else f"{caught}/0"


def table(result: dict, name: str = "") -> str:
    """The result as a few lines of text: the wrong suggestions, then one row per ranking."""
    wrong = result["wrong"]
    total = wrong["all"]
    kinds = ", ".join(f"{wrong[k]} {what}" for k, what in WRONG_KINDS.items())
    lines = [
        f"{name + ': ' if name else ''}{result['frames']} labelled frames with a suggestion "
        f"({result['suggested_ball']} with a ball); {total} wrong suggestions ({kinds}; "
        f"tolerance {result['tolerance_px']:g} px)",
        "",
    ]
    head = ["ranking", "queue", *(f"first {n}" for n in result["first"]), "whole queue"]
    rows = [head]
    for ranking, r in result["rankings"].items():
        cells = [_share(c, total) for c in r["caught"]]
        rows.append([ranking, str(r["queue"]), *cells, _share(r["caught_in_queue"], total)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    lines.append("")
    lines.append(
        "share of the wrong suggestions among the queue's first N entries "
        "(peak: the first ranking; flight: tracknet.label.doubt)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("source", help="a video or an image folder")
    p.add_argument("labels", help="its labels, Frame,Visibility,X,Y (the truth)")
    p.add_argument("--checkpoint", required=True, help="a trained run folder")
    p.add_argument("--first", default="10,25,50,100", help="queue lengths N (comma-separated)")
    p.add_argument("--tolerance", type=float, default=4.0, help="px; farther is wrong (4)")
    p.add_argument("--json", help="also write the result here")
    p.add_argument("overrides", nargs="*", help="key=value overrides of the run's config")
    args = p.parse_intermixed_args(argv)  # overrides before or after the options
    try:
        first = [int(n) for n in args.first.split(",") if n.strip()]
    except ValueError:
        p.error(f"--first takes whole numbers separated by commas, got {args.first!r}")
    if not first or min(first) < 1:
        p.error("--first needs queue lengths of 1 or more")
    src = open_source(args.source)
    truth = read_ball_csv(args.labels, src.frame_count, src.frame_size)
    try:
        track = suggest(args.source, args.checkpoint, args.overrides)
    except RuntimeError as exc:
        print(f"review_queue_eval: {exc}", file=sys.stderr)
        return 1
    result = evaluate(track, truth, first, args.tolerance)
    result["source"] = str(args.source)
    print(table(result, Path(args.source).name))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
