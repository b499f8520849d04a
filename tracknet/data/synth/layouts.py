"""Where each clip goes in the three dataset layouts, and writing one clip's files there.

Tennis clips are folders of JPEG frames with a ``Label.csv``; shuttlecock and generic clips are
H.264 videos with a ``<stem>_ball.csv`` (in ``matchN/csv/`` for shuttlecock, beside the video
otherwise) and, beside it, a ``<stem>_events.csv`` with the hits and bounces the tennis layout
keeps in its ``status`` column (:mod:`tracknet.io.events`). Files appear whole: a frame folder is built under a hidden name and renamed, videos
are written through :class:`~tracknet.io.video.writer.VideoWriter`.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from tracknet.constants import TENNIS_LABEL_CSV, ball_csv_name
from tracknet.data.synth.plan import ClipPlan
from tracknet.data.synth.render import iter_clip
from tracknet.io.events import events_csv_name, events_from_labels, write_events_csv
from tracknet.io.labels import write_ball_csv, write_tennis_csv
from tracknet.io.video.writer import VideoWriter

CLIPS_PER_GAME = 2  # tennis layout: clip k goes to game k // 2 + 1
RALLIES_PER_MATCH = 3  # shuttlecock layout: clip k goes to match k // 3 + 1


def clip_destination(
    out_dir: Path, fmt: str, index: int, clips_per_game: int = CLIPS_PER_GAME
) -> Path:
    """Where clip ``index`` (0-based) goes: a frame folder (tennis) or a video file."""
    if fmt == "tennis":
        game, clip = index // clips_per_game + 1, index % clips_per_game + 1
        return out_dir / f"game{game}" / f"Clip{clip}"
    if fmt == "shuttlecock":
        match, rally = index // RALLIES_PER_MATCH + 1, index % RALLIES_PER_MATCH + 1
        return out_dir / "Professional" / f"match{match}" / "video" / f"1_{rally:02d}_00.mp4"
    return out_dir / f"clip_{index:04d}.mp4"


def ball_csv_path(video: Path) -> Path:
    """The label CSV beside a video, as each layout expects it."""
    parent = video.parent
    if parent.name == "video" and parent.parent.name.startswith("match"):
        # shuttlecock: matchN/csv/<rally>_ball.csv
        return video.parent.parent / "csv" / ball_csv_name(video.stem)
    return video.with_name(ball_csv_name(video.stem))


def write_frame_folder(plan: ClipPlan, folder: Path) -> None:
    """JPEG frames and ``Label.csv``, built in a hidden folder and renamed when complete."""
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    names = [f"{i:04d}.jpg" for i in range(plan.frames)]
    try:
        # JPEG encoding releases the GIL: overlap it with drawing the next frame
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending: list[Future] = []
            for name, frame in zip(names, iter_clip(plan), strict=True):
                image = Image.fromarray(frame)
                pending.append(pool.submit(image.save, tmp / name, quality=plan.jpeg_quality))
                if len(pending) > 4:  # bound the frames in flight
                    pending.pop(0).result()
            for job in pending:
                job.result()
        write_tennis_csv(tmp / TENNIS_LABEL_CSV, plan.labels, names)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_video(plan: ClipPlan, video: Path) -> None:
    """An H.264 video, its ball CSV (see :func:`ball_csv_path`) and its events CSV beside it."""
    gop = max(1, round(plan.fps))  # one keyframe a second keeps random access quick
    with VideoWriter(video, plan.fps, plan.size, crf=plan.crf, gop=gop) as writer:
        for frame in iter_clip(plan):
            writer.write(frame)
    labels = ball_csv_path(video)
    write_ball_csv(labels, plan.labels)
    write_events_csv(labels.with_name(events_csv_name(video.stem)), events_from_labels(plan.labels))
