"""Dataset layouts on disk -> :class:`Clip` records (labels read, frames left on disk).

Three layouts (``field_facts.md`` section 1), detected from the folder or chosen with
``data.format``:

* ``tennis``: ``gameN/ClipM/*.jpg`` + ``Label.csv`` (``file name,visibility,x-coordinate,...``);
* ``shuttlecock``: ``<any dirs>/matchN/csv/<rally>_ball.csv`` + ``matchN/video/<rally>.mp4``;
* ``generic``: anywhere below the root, a video (``.mp4 .mov .avi .mkv .webm`` ...: any of
  :data:`tracknet.constants.VIDEO_SUFFIXES`, the suffixes ``tracknet predict`` reads) or an image
  folder, with a ``<stem>_ball.csv`` beside it (``Frame,Visibility,X,Y``, what
  ``tracknet predict`` writes).

Conventions:
    * Frame numbers are 0-based positions in the clip: the index of the image in natural sort
      order (``2.jpg`` before ``10.jpg``), or the decoded frame index of the video.
    * Labels are in ORIGINAL-frame pixels and keep the dataset's raw visibility code;
      :func:`is_visible` (with ``data.visible_codes``) is the one place that decides "visible".
    * Every label file is read with the rules of ``data.labels`` (column names, normalised
      coordinates, frames without a row; :mod:`tracknet.io.label_columns`).
    * A :class:`Clip`'s labels hold one entry per LABELLED frame, sorted by frame number. Frames
      whose row was missing or skipped as bad are absent: they are unlabelled (training windows
      avoid them, evaluation does not score them), never silently "no ball".
    * Bad input is reported through :class:`tracknet.io.labels.DataProblems`: skipped and counted
      in one summary warning by default, a :class:`DataError` at the first problem when strict.
    * Hidden files and folders (names starting with ``.``) are ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tracknet.config import LabelsConfig
from tracknet.constants import (
    BALL_CSV_SUFFIX,
    IMAGE_FOLDER_FPS,  # image folders do not state a frame rate; the tennis dataset is 30 fps
    IMAGE_SUFFIXES,
    TENNIS_LABEL_CSV,
    VIDEO_SUFFIXES,
)
from tracknet.errors import DataError
from tracknet.io.data_problems import DataProblems
from tracknet.io.labels import TrackLabels, natural_key, read_ball_csv, read_tennis_csv
from tracknet.io.video.probe import probe_video

FORMATS = ("tennis", "shuttlecock", "generic")
TENNIS_LABEL_NAME = TENNIS_LABEL_CSV.lower()  # compared case-insensitively


@dataclass
class Clip:
    """One labelled clip: where its frames are, and its labels.

    Attributes:
        name: path of the clip relative to the dataset root, with ``/`` separators
            (``game1/Clip1``, ``Professional/match1/1_01_00``, ``sub/clip_0001``).
        source: the image files in frame order, or the video file.
        labels: labels of the labelled frames, sorted by frame number (original-frame pixels).
        frame_size: ``(W, H)`` of the original frames.
        fps: frame rate (30 for image folders).
        num_frames: number of frames of the source (labelled or not).
    """

    name: str
    source: list[Path] | Path
    labels: TrackLabels
    frame_size: tuple[int, int]
    fps: float
    num_frames: int

    @property
    def is_video(self) -> bool:
        return isinstance(self.source, Path)


def is_visible(
    visibility: np.ndarray | Sequence[int], visible_codes: Iterable[int] = (1, 2)
) -> np.ndarray:
    """Which raw visibility codes count as a visible ball (``data.visible_codes``; WASB: 1, 2).

    Returns:
        ``bool`` array of the shape of ``visibility``.
    """
    return np.isin(np.asarray(visibility), np.asarray(list(visible_codes)))


# --------------------------------------------------------------------------- walking the tree
@dataclass
class _Folder:
    path: Path
    files: list[str]


def _walk(root: Path) -> list[_Folder]:
    """Every non-hidden folder below ``root`` with its non-hidden files, in sorted order."""
    folders = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files = sorted(f for f in filenames if not f.startswith("."))
        folders.append(_Folder(Path(dirpath), files))
    return folders


def _images(names: Iterable[str]) -> list[str]:
    return sorted((n for n in names if Path(n).suffix.lower() in IMAGE_SUFFIXES), key=natural_key)


def _videos(names: Iterable[str]) -> list[str]:
    return [n for n in names if Path(n).suffix.lower() in VIDEO_SUFFIXES]


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _is_tennis_csv(name: str) -> bool:
    return name.lower() == TENNIS_LABEL_NAME


def detect_format(root: str | Path) -> str:
    """Which layout ``root`` holds: ``tennis``, ``shuttlecock`` or ``generic`` (in that priority).

    Raises:
        DataError: the folder does not exist or holds no labelled clips of any layout.
    """
    root = Path(root)
    folders = _walk_root(root)
    if any(_is_tennis_csv(f) for folder in folders for f in folder.files):
        return "tennis"
    ball_csvs = [(folder, f) for folder in folders for f in folder.files if _is_ball_csv(f)]
    if any(_is_shuttlecock_csv_folder(folder.path) for folder, _ in ball_csvs):
        return "shuttlecock"
    if ball_csvs:
        return "generic"
    raise DataError(
        f"{root}: no labelled clips found. Expected one of: tennis (gameN/ClipM/*.jpg + "
        "Label.csv), shuttlecock (matchN/csv/<rally>_ball.csv + matchN/video/<rally>.mp4) or "
        "generic (<stem>.mp4 or an image folder <stem>/ with <stem>_ball.csv beside it)"
    )


def _walk_root(root: Path) -> list[_Folder]:
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found (set data.root or --root)")
    return _walk(root)


def _is_ball_csv(name: str) -> bool:
    return name.endswith(BALL_CSV_SUFFIX) and len(name) > len(BALL_CSV_SUFFIX)


def _is_shuttlecock_csv_folder(folder: Path) -> bool:
    return folder.name == "csv" and (folder.parent / "video").is_dir()


# --------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class _Reading:
    """How every label file of one load is read, and where its problems go."""

    problems: DataProblems
    visible_codes: tuple[int, ...]
    labels: LabelsConfig | None


def _image_sequence(
    folder: Path, names: list[str], problems: DataProblems
) -> tuple[list[Path], tuple[int, int], list[int]] | None:
    """Image paths, frame size and the frames whose image is unreadable or of another size.

    Only headers are read (about 0.1 ms an image). None when no image can be read.
    """
    paths = [folder / n for n in names]
    sizes: list[tuple[int, int] | None] = []

    for path in paths:
        try:
            with Image.open(path) as image:
                sizes.append(image.size)
        except (OSError, SyntaxError, ValueError) as exc:
            sizes.append(None)
            reason = f"cannot be read as an image ({exc})"
            problems.add("unreadable_source", str(path), f"{reason}; its frame is unlabelled")
    known = [s for s in sizes if s is not None]
    if not known:
        return None
    size = max(set(known), key=known.count)  # the usual size wins over the odd one out
    bad = []
    for i, (path, s) in enumerate(zip(paths, sizes, strict=True)):
        if s is None:
            bad.append(i)
        elif s != size:
            bad.append(i)
            problems.add(
                "unreadable_source", str(path), f"is {s[0]}x{s[1]}, the clip {size[0]}x{size[1]}"
            )
    return paths, (int(size[0]), int(size[1])), bad


def _without(exc: Exception, path: Path) -> str:
    """The message of ``exc`` without its leading ``path:`` (the report adds it)."""
    return str(exc).removeprefix(f"{path}: ")


def _drop_frames(labels: TrackLabels, frames: Sequence[int]) -> TrackLabels:
    if not len(frames):
        return labels
    keep = ~np.isin(labels.frame, np.asarray(frames))
    status = labels.status[keep] if labels.status is not None else None
    return TrackLabels(
        labels.frame[keep], labels.visibility[keep], labels.x[keep], labels.y[keep], status
    )


def _image_clip(
    name: str,
    folder: Path,
    image_names: list[str],
    csv_path: Path,
    kind: str,
    reading: _Reading,
) -> Clip | None:
    """A clip of an image folder labelled by a tennis ``Label.csv`` or a ball CSV."""
    problems, codes, labels = reading.problems, reading.visible_codes, reading.labels
    if not image_names:
        problems.add("missing_source", str(csv_path), f"no images in {folder}; clip skipped")
        return None
    sequence = _image_sequence(folder, image_names, problems)
    if sequence is None:
        problems.add("unreadable_source", str(folder), "no readable image; clip skipped")
        return None
    paths, size, bad = sequence
    try:
        if kind == "tennis":
            read = read_tennis_csv(csv_path, image_names, size, problems, codes, labels)
        else:
            read = read_ball_csv(csv_path, len(paths), size, problems, codes, labels)
    except DataError as exc:
        if problems.strict:
            raise
        problems.add("bad_csv", str(csv_path), f"{_without(exc, csv_path)}; clip skipped")
        return None
    return Clip(name, paths, _drop_frames(read, bad), size, IMAGE_FOLDER_FPS, len(paths))


def _video_clip(name: str, video: Path, csv_path: Path, reading: _Reading) -> Clip | None:
    problems = reading.problems
    try:
        info = probe_video(video)
    except DataError as exc:
        problems.add("unreadable_source", str(video), f"{_without(exc, video)}; clip skipped")
        return None
    size = (int(info.width), int(info.height))
    try:
        labels = read_ball_csv(
            csv_path, info.frame_count, size, problems, reading.visible_codes, reading.labels
        )
    except DataError as exc:
        if problems.strict:
            raise
        problems.add("bad_csv", str(csv_path), f"{_without(exc, csv_path)}; clip skipped")
        return None
    return Clip(name, video, labels, size, float(info.fps), int(info.frame_count))


# --------------------------------------------------------------------------- layouts
def _tennis_clips(root, folders, reading: _Reading) -> list[Clip]:
    problems = reading.problems
    clips = []
    for folder in folders:
        csv_name = next((f for f in folder.files if _is_tennis_csv(f)), None)
        images = _images(folder.files)
        if csv_name is None:
            if images:
                problems.add("missing_csv", str(folder.path), "images without a Label.csv")
            continue
        name = _relative(folder.path, root) if folder.path != root else folder.path.name
        clip = _image_clip(name, folder.path, images, folder.path / csv_name, "tennis", reading)
        if clip is not None:
            clips.append(clip)
    return clips


def _shuttlecock_clips(root, folders, reading: _Reading) -> list[Clip]:
    problems = reading.problems
    clips = []
    for folder in folders:
        if folder.path.name == "csv":
            video_dir = folder.path.parent / "video"
            for csv_name in filter(_is_ball_csv, folder.files):
                rally = csv_name[: -len(BALL_CSV_SUFFIX)]
                video = _find_video(video_dir, rally)
                if video is None:
                    problems.add(
                        "missing_source",
                        str(folder.path / csv_name),
                        f"no video {rally}.mp4 in {video_dir}; clip skipped",
                    )
                    continue
                name = _relative(folder.path.parent / rally, root)
                clip = _video_clip(name, video, folder.path / csv_name, reading)
                if clip is not None:
                    clips.append(clip)
        elif folder.path.name == "video":
            csv_dir = folder.path.parent / "csv"
            for video_name in _videos(folder.files):
                if not (csv_dir / f"{Path(video_name).stem}{BALL_CSV_SUFFIX}").is_file():
                    problems.add(
                        "missing_csv",
                        str(folder.path / video_name),
                        f"no {Path(video_name).stem}{BALL_CSV_SUFFIX} in {csv_dir}",
                    )
    return clips


def _find_video(folder: Path, stem: str) -> Path | None:
    for suffix in sorted(VIDEO_SUFFIXES):
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def _generic_clips(root, folders, reading: _Reading) -> list[Clip]:
    problems = reading.problems
    clips = []
    labelled_stems: set[Path] = set()
    for folder in folders:
        for csv_name in filter(_is_ball_csv, folder.files):
            stem = csv_name[: -len(BALL_CSV_SUFFIX)]
            base = folder.path / stem
            labelled_stems.add(base)
            name = _relative(base, root)
            csv_path = folder.path / csv_name
            video = _find_video(folder.path, stem)
            if video is not None:
                clip = _video_clip(name, video, csv_path, reading)
            elif base.is_dir():
                images = _images(p.name for p in base.iterdir() if not p.name.startswith("."))
                clip = _image_clip(name, base, images, csv_path, "generic", reading)
            else:
                problems.add(
                    "missing_source",
                    str(csv_path),
                    f"no video {stem}.mp4 (.mov, .avi, .mkv, .webm, ...) or image folder "
                    f"{stem}/ beside it; clip skipped",
                )
                continue
            if clip is not None:
                clips.append(clip)
    for folder in folders:
        for video_name in _videos(folder.files):
            stem = Path(video_name).stem
            overlay_of = folder.path / stem.removesuffix("_overlay")  # tracknet predict output
            if folder.path / stem not in labelled_stems and overlay_of not in labelled_stems:
                problems.add(
                    "missing_csv",
                    str(folder.path / video_name),
                    f"no {stem}{BALL_CSV_SUFFIX} beside it",
                )
    return clips


_READERS = {"tennis": _tennis_clips, "shuttlecock": _shuttlecock_clips, "generic": _generic_clips}


def load_clips(
    root: str | Path,
    fmt: str | None = None,
    strict: bool = False,
    visible_codes: Sequence[int] = (1, 2),
    problems: DataProblems | None = None,
    labels: LabelsConfig | None = None,
) -> list[Clip]:
    """Read every labelled clip below ``root``.

    Args:
        root: the dataset folder.
        fmt: ``tennis``, ``shuttlecock``, ``generic``, or None to detect it.
        strict: raise at the first bad file or row instead of skipping it.
        visible_codes: visibility codes that count as a visible ball (they need coordinates).
        problems: a collector to report into (the caller then warns); None: one summary warning
            is logged here.
        labels: ``data.labels`` (column names, units, frames without a row); None: the usual
            layouts, in pixels.

    Returns:
        The clips, sorted by name.

    Raises:
        DataError: unknown format, missing folder, nothing usable, or (strict) any problem.
    """
    root = Path(root)
    folders = _walk_root(root)
    fmt = fmt or detect_format(root)
    if fmt not in _READERS:
        raise DataError(f"unknown dataset format {fmt!r}; expected one of {', '.join(FORMATS)}")
    own = problems is None
    problems = problems if problems is not None else DataProblems(strict=strict)
    reading = _Reading(problems, tuple(visible_codes), labels)
    clips = sorted(_READERS[fmt](root, folders, reading), key=lambda c: c.name)
    if own:
        problems.warn(f"reading {fmt} dataset {root}")
    if not clips:
        raise DataError(
            f"{root}: no usable {fmt} clips"
            + (f"; {problems.summary()}" if problems.counts else "")
        )
    return clips
