"""Ball label files: the ``Frame,Visibility,X,Y`` CSV and the TrackNet tennis ``Label.csv``.

All coordinates are pixels of the ORIGINAL frame. A frame without a visible ball has visibility 0
and ``X = Y = 0`` in the ball CSV (empty cells in the tennis CSV).

Writers produce the exact headers downstream tools expect. Readers take label files as users
have them: columns found by meaning or named by ``data.labels``, other tools' visibility codes,
normalised coordinates, extra columns, rows for only some frames
(:mod:`tracknet.io.label_columns` holds those rules). Every row they cannot use is reported to a
:class:`DataProblems` collector (skipped and counted, or an error when strict); a skipped row
leaves its frame unlabelled, never silently "no ball".

Both readers parse, place and check their rows with :mod:`tracknet.io.label_rows`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracknet.config import LabelsConfig
from tracknet.io.data_problems import DataProblems
from tracknet.io.label_columns import (
    BALL_CSV_HEADER,
    TENNIS_CSV_HEADER,
    LabelRules,
    header_has,
)
from tracknet.io.label_rows import Row, check_coverage, parse_file, read_rows
from tracknet.utils import atomic_write_text


@dataclass
class TrackLabels:
    """Per-frame ball labels of one clip or video.

    Attributes:
        frame: ``int [N]`` frame numbers (0-based).
        visibility: ``int [N]`` the file's codes (TrackNet's: 0 not in frame, 1 easy, 2 hard,
            3 occluded); ``data.visible_codes`` says which mean a visible ball.
        x, y: ``float [N]`` original-frame pixels; 0 where there is no ball.
        status: ``int [N]`` tennis trajectory status (0 flying, 1 hit, 2 bouncing) or ``None``.
    """

    frame: np.ndarray
    visibility: np.ndarray
    x: np.ndarray
    y: np.ndarray
    status: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)


def _fmt(v: float) -> str:
    """Integers without a decimal point, other values with up to 3 decimals."""
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.3f}".rstrip("0").rstrip(".")


def ball_csv_row(frame: int, visibility: int, x: float, y: float) -> list[int | str]:
    """One row of the ball CSV as written (``0,0`` coordinates where not visible)."""
    vis = int(visibility)
    return [int(frame), vis, _fmt(x) if vis else 0, _fmt(y) if vis else 0]


def write_ball_csv(path: str | Path, labels: TrackLabels) -> None:
    """Write ``Frame,Visibility,X,Y`` (atomically; ``0,0`` coordinates where not visible)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(BALL_CSV_HEADER)
    for f, v, x, y in zip(labels.frame, labels.visibility, labels.x, labels.y, strict=True):
        w.writerow(ball_csv_row(f, v, x, y))
    atomic_write_text(path, buf.getvalue())


def write_tennis_csv(path: str | Path, labels: TrackLabels, file_names: Sequence[str]) -> None:
    """Write a TrackNet tennis ``Label.csv`` (empty x/y cells where visibility is 0)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TENNIS_CSV_HEADER)
    status = labels.status if labels.status is not None else np.zeros(len(labels), dtype=int)
    for name, v, x, y, s in zip(
        file_names, labels.visibility, labels.x, labels.y, status, strict=True
    ):
        vis = int(v)
        w.writerow([name, vis, _fmt(x) if vis else "", _fmt(y) if vis else "", int(s)])
    atomic_write_text(path, buf.getvalue())


def _to_labels(rows: list[tuple[int, Row]], with_status: bool) -> TrackLabels:
    rows = sorted(rows, key=lambda item: item[0])
    return TrackLabels(
        frame=np.array([f for f, _ in rows], dtype=np.int64),
        visibility=np.array([r.visibility for _, r in rows], dtype=np.int64),
        x=np.array([r.x for _, r in rows], dtype=np.float64),
        y=np.array([r.y for _, r in rows], dtype=np.float64),
        status=np.array([r.status for _, r in rows], dtype=np.int64) if with_status else None,
    )


def read_ball_csv(
    path: str | Path,
    frame_count: int | None = None,
    frame_size: tuple[int, int] | None = None,
    problems: DataProblems | None = None,
    visible_codes: Sequence[int] = (1, 2),
    labels: LabelsConfig | None = None,
    coords_size: tuple[int, int] | None = None,
) -> TrackLabels:
    """Read a ``Frame,Visibility,X,Y`` CSV (columns matched by meaning or by ``labels``).

    Args:
        path: the CSV file.
        frame_count: number of frames of the video it labels: rows past the end are skipped and
            frames without a row reported (they stay unlabelled). None: not checked.
        frame_size: ``(W, H)``: rows with coordinates outside the frame are skipped; normalised
            coordinates are multiplied by it.
        problems: collector for skipped rows; None: a lenient one that warns once at the end.
        visible_codes: codes that mean a visible ball (it needs coordinates).
        labels: ``data.labels`` (column names, units, frames without a row); None: the usual
            layout with a visibility column, in pixels.
        coords_size: ``(W, H)`` that normalised coordinates are fractions of, when
            ``frame_size`` is not given (nothing is checked against it).

    Returns:
        :class:`TrackLabels` of the valid rows, sorted by frame (skipped rows are absent), in
        original-frame pixels.

    Raises:
        DataError: the file is missing, unreadable, lacks a needed column or contradicts
            ``labels`` (the message names file, line and column); any bad row when ``problems``
            is strict.
    """
    path = Path(path)
    own = problems is None
    problems = problems if problems is not None else DataProblems()
    rules = LabelRules.from_config(labels, visible_codes)
    parsed, body, columns = parse_file(path, "frame", frame_size, coords_size, problems, rules)
    mentioned: set[int] = set()
    for _, cells in body:
        with contextlib.suppress(ValueError, IndexError, OverflowError):
            mentioned.add(int(float(cells[columns["frame"]])))
    rows: list[tuple[int, Row]] = []
    seen: dict[int, int] = {}
    for row in parsed:
        frame = int(row.key)
        if frame in seen:
            where = f"{path}:{row.line}"
            problems.add("duplicate_frame", where, f"frame {frame} already on line {seen[frame]}")
            continue
        seen[frame] = row.line
        rows.append((frame, row))
    rows = check_coverage(path, rows, frame_count, problems, len(body), mentioned, rules)
    if own:
        problems.warn(str(path))
    return _to_labels(rows, with_status=False)


def natural_key(name: str) -> tuple[int | str, ...]:
    """Sort ``2.jpg`` before ``10.jpg``."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(p) if p.isdigit() else p.lower() for p in parts)


def read_tennis_csv(
    path: str | Path,
    image_names: Sequence[str] | None = None,
    frame_size: tuple[int, int] | None = None,
    problems: DataProblems | None = None,
    visible_codes: Sequence[int] = (1, 2),
    labels: LabelsConfig | None = None,
    coords_size: tuple[int, int] | None = None,
) -> TrackLabels:
    """Read a TrackNet tennis ``Label.csv`` (columns matched by meaning, e.g. ``File Name``).

    Args:
        path: the CSV file.
        image_names: the clip's image file names in frame order; a row's frame number is the
            position of its file (matched by name, or by stem when the CSV omits extensions).
            Rows naming an absent image are skipped; images without a row stay unlabelled.
            None: frames are the positions of the CSV's file names in natural sort order.
        frame_size, problems, visible_codes, labels, coords_size: as for :func:`read_ball_csv`
            (``data.labels.frame`` does not apply: rows are keyed by file name).

    Returns:
        :class:`TrackLabels` (with ``status``) of the valid rows, sorted by frame.
    """
    path = Path(path)
    own = problems is None
    problems = problems if problems is not None else DataProblems()
    rules = LabelRules.from_config(labels, visible_codes)
    parsed_rows, body, columns = parse_file(path, "file", frame_size, coords_size, problems, rules)
    parsed: list[Row] = []
    seen: dict[str, int] = {}
    named = [  # the file of every row, valid or not
        Path(cells[columns["file"]].strip()).name
        for _, cells in body
        if len(cells) > columns["file"]
    ]
    for row in parsed_rows:
        name = Path(str(row.key)).name
        if name in seen:
            where = f"{path}:{row.line}"
            problems.add("duplicate_frame", where, f"{name} already on line {seen[name]}")
            continue
        seen[name] = row.line
        parsed.append(row)
    if image_names is None:
        order = {n: i for i, n in enumerate(sorted(seen, key=natural_key))}
    else:
        order = {n: i for i, n in enumerate(image_names)}
        order.update({Path(n).stem: i for i, n in enumerate(image_names)})

    def frame_of(name: str) -> int | None:
        return order.get(name, order.get(Path(name).stem))

    rows: list[tuple[int, Row]] = []
    for row in parsed:
        name = Path(str(row.key)).name
        frame = frame_of(name)
        if frame is None:
            problems.add("missing_image", f"{path}:{row.line}", f"no image {name} beside the CSV")
            continue
        rows.append((frame, row))
    count = None if image_names is None else len(image_names)
    mentioned = {f for f in map(frame_of, named) if f is not None}
    rows = check_coverage(path, rows, count, problems, len(body), mentioned, rules)
    if own:
        problems.warn(str(path))
    return _to_labels(rows, with_status=True)


def read_any_labels(
    path: str | Path,
    problems: DataProblems | None = None,
    visible_codes: Sequence[int] = (1, 2),
    labels: LabelsConfig | None = None,
    coords_size: tuple[int, int] | None = None,
) -> TrackLabels:
    """Read a ball CSV or a tennis ``Label.csv``, whichever the header says it is.

    Tennis rows get frame numbers by the natural order of their file names (``0000.jpg`` = 0).
    A file whose frame column ``labels`` names is a ball CSV. ``labels`` and ``coords_size`` are
    as for :func:`read_ball_csv`; rows are not checked against a frame size.
    """
    path = Path(path)
    _, header, _ = read_rows(path)
    framed = header_has(header, "frame") or bool(labels is not None and labels.frame)
    if header_has(header, "file") and not framed:
        return read_tennis_csv(
            path,
            problems=problems,
            visible_codes=visible_codes,
            labels=labels,
            coords_size=coords_size,
        )
    return read_ball_csv(
        path, problems=problems, visible_codes=visible_codes, labels=labels, coords_size=coords_size
    )
