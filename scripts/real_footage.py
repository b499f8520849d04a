"""Turn folders of real labelled clips (``NNNNN.mp4`` + ``NNNNN.csv`` with ``Frame,Ball,x,y``,
coordinates as fractions 0-1 of the frame) into tracknet's generic layout, with a clip-level split.

Written for the ``raw_data`` / ``raw_data2`` folders of a snapshot of the public repository
alenzenx/TrackNetV3 (BWF broadcast badminton, H.264 1280x720), but any folder of that shape works.
Nothing is copied: each video becomes a symbolic link ``<out>/<split>/<stem>.mp4`` and its labels
are rewritten in pixels as ``<out>/<split>/<stem>_ball.csv`` (``Frame,Visibility,X,Y``, by
:func:`tracknet.io.labels.write_ball_csv`). The train/val split is by clip and deterministic
(a fixed seed shuffles the sorted stems); ``--test-clips N`` holds N more of them out as
``test/``; a test folder, when given instead, is converted whole into ``test/`` and never mixed
with the others.

    python scripts/real_footage.py --train-val raw_data --out DATA --val-clips 5 --test-clips 6

then train and score with ``data.root=DATA data.format=generic data.split.train=[train/*]
data.split.val=[val/*] data.split.test=[test/*]`` (printed at the end, and written to
``DATA/split.json``). A csv without its video is skipped and reported.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
from pathlib import Path

import numpy as np

from tracknet.constants import ball_csv_name
from tracknet.io.labels import TrackLabels, write_ball_csv
from tracknet.io.video.probe import probe_video

VIDEO_SUFFIX = ".mp4"


def read_normalized_csv(path: Path, width: int, height: int) -> TrackLabels:
    """``Frame,Ball,x,y`` (x, y fractions of the frame; Ball 0/1) -> labels in pixels.

    Raises:
        ValueError: a missing column, a value that is not a number, or a visible ball whose
            coordinates lie outside 0-1 (naming the file and the row).
    """
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{path}: empty file")
    header = [c.strip().lower() for c in rows[0]]
    try:
        cf, cv, cx, cy = (header.index(k) for k in ("frame", "ball", "x", "y"))
    except ValueError:
        raise ValueError(f"{path}: header {rows[0]} lacks one of Frame, Ball, x, y") from None
    frames, vis, xs, ys = [], [], [], []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        try:
            f, v, x, y = int(row[cf]), int(float(row[cv])), float(row[cx]), float(row[cy])
        except (ValueError, IndexError):
            raise ValueError(f"{path}, row {n}: not a number in {row}") from None
        visible = v > 0
        if visible and not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"{path}, row {n}: normalised coordinates outside 0-1: {x}, {y}")
        frames.append(f)
        vis.append(1 if visible else 0)
        xs.append(x * width if visible else 0.0)
        ys.append(y * height if visible else 0.0)
    return TrackLabels(
        np.asarray(frames, dtype=np.int64),
        np.asarray(vis, dtype=np.int64),
        np.asarray(xs, dtype=np.float64),
        np.asarray(ys, dtype=np.float64),
    )


def labelled_videos(folder: Path) -> tuple[list[str], list[str]]:
    """The stems with both ``<stem>.csv`` and ``<stem>.mp4``, and those with a csv only."""
    stems = sorted(p.stem for p in folder.glob("*.csv"))
    with_video = [s for s in stems if (folder / f"{s}{VIDEO_SUFFIX}").is_file()]
    return with_video, [s for s in stems if s not in with_video]


def split_stems(
    stems: list[str], val_clips: int, seed: int, test_clips: int = 0
) -> tuple[list[str], list[str], list[str]]:
    """A deterministic clip-level split: the sorted stems shuffled by ``seed``; the first
    ``val_clips`` validate, the next ``test_clips`` test, the others train (each sorted)."""
    if val_clips < 0 or test_clips < 0 or val_clips + test_clips >= len(stems):
        raise ValueError(
            f"--val-clips {val_clips} and --test-clips {test_clips} must leave at least one of "
            f"{len(stems)} clips to train on"
        )
    order = sorted(stems)
    random.Random(seed).shuffle(order)
    held = val_clips + test_clips
    return sorted(order[held:]), sorted(order[:val_clips]), sorted(order[val_clips:held])


def convert_clip(src: Path, stem: str, dest: Path) -> dict:
    """Link ``src/<stem>.mp4`` into ``dest`` and write its labels in pixels; returns a summary."""
    video = (src / f"{stem}{VIDEO_SUFFIX}").resolve()
    info = probe_video(video)
    labels = read_normalized_csv(src / f"{stem}.csv", info.width, info.height)
    dest.mkdir(parents=True, exist_ok=True)
    link = dest / f"{stem}{VIDEO_SUFFIX}"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(video, link)
    write_ball_csv(dest / ball_csv_name(stem), labels)
    return {
        "clip": f"{dest.name}/{stem}",
        "frames": info.frame_count,
        "labelled": len(labels),
        "visible": int(labels.visibility.sum()),
        "size": [info.width, info.height],
    }


def convert(
    train_val: Path | None,
    test: Path | None,
    out: Path,
    val_clips: int = 5,
    seed: int = 0,
    test_clips: int = 0,
) -> dict:
    """Convert ``train_val`` into ``out/train`` + ``out/val`` (+ ``out/test``: ``test_clips`` of
    it held out) and a ``test`` folder into ``out/test`` (one or the other).

    Returns (and writes to ``out/split.json``) the clips of each split, the skipped csvs and
    the ``data.*`` overrides that select the splits.
    """
    if test is not None and test_clips:
        raise ValueError("give a test folder or --test-clips, not both")
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"clips": {}, "skipped": [], "seed": seed}
    parts: list[tuple[Path, str, list[str]]] = []
    if train_val is not None:
        stems, no_video = labelled_videos(train_val)
        report["skipped"] += [str(train_val / f"{s}.csv") for s in no_video]
        train, val, held_out = split_stems(stems, val_clips, seed, test_clips)
        parts += [(train_val, "train", train), (train_val, "val", val)]
        if held_out:
            parts.append((train_val, "test", held_out))
    if test is not None:
        stems, no_video = labelled_videos(test)
        report["skipped"] += [str(test / f"{s}.csv") for s in no_video]
        parts.append((test, "test", stems))
    for src, split, stems in parts:
        report["clips"][split] = [convert_clip(src, s, out / split) for s in stems]
    report["overrides"] = [f"data.root={out}", "data.format=generic"] + [
        f"data.split.{split}=[{split}/*]" for split in report["clips"]
    ]
    (out / "split.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train-val", type=Path, help="folder of clips to split into train and val")
    p.add_argument("--test", type=Path, help="folder of clips kept whole as the test split")
    p.add_argument("--out", type=Path, required=True, help="the dataset root to write")
    p.add_argument("--val-clips", type=int, default=5, help="clips of --train-val that validate")
    p.add_argument(
        "--test-clips", type=int, default=0, help="clips of --train-val held out to test"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the clip-level split")
    args = p.parse_args(argv)
    if args.train_val is None and args.test is None:
        p.error("give --train-val and/or --test")
    if args.test is not None and args.test_clips:
        p.error("give --test or --test-clips, not both")
    report = convert(
        args.train_val, args.test, args.out, args.val_clips, args.seed, args.test_clips
    )
    for split, clips in report["clips"].items():
        frames = sum(c["labelled"] for c in clips)
        visible = sum(c["visible"] for c in clips)
        print(f"{split}: {len(clips)} clips, {frames} labelled frames ({visible} with a ball)")
    for path in report["skipped"]:
        print(f"skipped (no video beside it): {path}", file=sys.stderr)
    print(" ".join(report["overrides"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
