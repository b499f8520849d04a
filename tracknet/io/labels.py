"""Ball label files: the ``Frame,Visibility,X,Y`` CSV and the TrackNet tennis ``Label.csv``.

All coordinates are pixels of the ORIGINAL frame. A frame without a visible ball has visibility 0
and ``X = Y = 0`` in the ball CSV (empty cells in the tennis CSV).

Writers produce the exact headers downstream tools expect. Readers take label files as users
have them: columns found by meaning or named by ``data.labels``, other tools' visibility codes,
normalised coordinates, extra columns, rows for only some frames
(:mod:`tracknet.io.label_columns` holds those rules). Every row they cannot use is reported to a
:class:`DataProblems` collector (skipped and counted, or an error when strict); a skipped row
leaves its frame unlabelled, never silently "no ball".

Long because both label layouts are read and written here, and the two readers share one row
parser, one placement check and one coverage check, so what a valid row is is stated once.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracknet.config import LabelsConfig
from tracknet.errors import DataError
from tracknet.io.data_problems import DataProblems
from tracknet.io.label_columns import (
    BALL_CSV_HEADER,
    TENNIS_CSV_HEADER,
    LabelRules,
    Point,
    coordinate_scale,
    header_has,
    match_columns,
)
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


def ball_csv_row(frame: int, visibility: int, x: float, y: float) -> list:
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


# =========================================================================== readers
#
# Readers are lenient about spelling and strict about meaning: columns are matched by what they
# mean or named by ``data.labels`` (:mod:`tracknet.io.label_columns`), and every row that cannot
# be trusted is reported to a :class:`DataProblems` collector, which either raises at once
# (``strict``) or counts it for one summary warning. A skipped row leaves its frame UNLABELLED:
# it is absent from the returned :class:`TrackLabels` (which then hold one entry per labelled
# frame, sorted by frame number), never silently turned into a "no ball" label.
#
# A file is read in two passes: each row is parsed (:func:`_parse_row`), then the units of the
# whole file are decided (:func:`tracknet.io.label_columns.coordinate_scale`) and each position is
# converted and checked against the frame (:func:`_place`).


@dataclass
class _Row:
    key: int | str  # frame number (ball CSV) or file name (tennis CSV)
    visibility: int
    x: float
    y: float
    status: int
    line: int
    placed: bool = False  # holds a position (still in the file's units until _place)


def _read_rows(path: Path) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """Line number and cells of the header, and ``(line number, cells)`` of every other row."""
    if not path.is_file():
        raise DataError(f"{path}: label file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as a UTF-8 CSV ({exc})") from exc
    rows = [(i + 1, cells) for i, cells in enumerate(csv.reader(io.StringIO(text))) if cells]
    rows = [(line, cells) for line, cells in rows if any(c.strip() for c in cells)]
    if not rows:
        raise DataError(f"{path}: the label file is empty (a header row is needed)")
    return rows[0][0], rows[0][1], rows[1:]


def _parse_number(text: str) -> float | None:
    """A float, or None for an empty cell; raises ValueError for anything else."""
    text = text.strip()
    return None if text == "" else float(text)


def _integer(text: str) -> int | None:
    """The integer a cell holds (``3`` or ``3.0``), else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def _has_ball(x: float | None, y: float | None) -> bool:
    """A position that means a ball in a file without a visibility column."""
    if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
        return False
    return x >= 0 and y >= 0 and (x, y) != (0.0, 0.0)


def _parse_row(
    cells: list[str],
    columns: dict[str, int],
    header: list[str],
    key_field: str,
    where: str,
    problems: DataProblems,
    rules: LabelRules,
) -> _Row | None:
    """Parse one row (positions still in the file's units); report it and return None when it
    cannot be used. Messages name the file, the line and the column."""
    if len(cells) <= max(columns.values()):
        problems.add("malformed_row", where, f"{len(cells)} cells, expected {len(columns)}+")
        return None
    cell = {f: cells[i].strip() for f, i in columns.items()}

    def bad(field_name: str, what: str) -> None:
        name = header[columns[field_name]].strip()
        problems.add("malformed_row", where, f"column {name!r}: {cell[field_name]!r} is not {what}")

    key: int | str = cell["file"] if key_field == "file" else -1
    if key_field == "frame":
        frame = _integer(cell["frame"])
        if frame is None or frame < 0:
            return bad("frame", "a frame number (an integer >= 0)")
        key = frame
    elif not key:
        return bad("file", "a file name")
    coordinates: list[float | None] = []
    for axis in ("x", "y"):
        try:
            coordinates.append(_parse_number(cell[axis]))
        except ValueError:
            return bad(axis, "a number")
    x, y = coordinates
    if "visibility" in columns:
        vis = _integer(cell["visibility"])
        if vis is None or not rules.is_code(vis):
            codes = sorted({0, 1, 2, 3, *rules.visible_codes})
            return bad("visibility", f"a visibility code ({', '.join(map(str, codes))})")
    elif _has_ball(x, y):
        vis = rules.ball_code
    else:
        vis, x, y = rules.no_ball_code, None, None
    status = 0
    if cell.get("status"):
        status = _integer(cell["status"])
        if status is None:
            return bad("status", "an integer status")
    needs_xy = vis in rules.visible_codes  # a visible ball must say where it is
    if (x is None) != (y is None) or (x is None and needs_xy):
        problems.add(
            "malformed_row", where, f"visibility {vis} but x={cell['x']!r} y={cell['y']!r}"
        )
        return None
    finite = x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
    if needs_xy and not finite:
        problems.add("nan", where, f"non-finite coordinates ({x}, {y}) for visibility {vis}")
        return None
    placed = finite and vis != rules.no_ball_code
    if not placed:
        return _Row(key, vis, 0.0, 0.0, status, 0, False)  # no (known) position: 0, 0
    return _Row(key, vis, float(x), float(y), status, 0, True)


def _place(
    row: _Row,
    scale: tuple[int, int] | None,
    frame_size: tuple[int, int] | None,
    where: str,
    problems: DataProblems,
) -> _Row | None:
    """Convert a row's position to pixels (``scale``: normalised) and check it lies in the frame."""
    if not row.placed:
        return row
    x, y = row.x, row.y
    if scale is not None:
        if not (0 <= x <= 1 and 0 <= y <= 1):  # a ball that is not visible, e.g. at -1, -1
            row.x = row.y = 0.0
            return row
        x, y = x * scale[0], y * scale[1]
    if x < -0.5 or y < -0.5:  # outside any frame (pixel 0 spans [-0.5, 0.5))
        problems.add("outside_frame", where, f"negative coordinates ({x:g}, {y:g})")
        return None
    if frame_size is not None and not (x <= frame_size[0] and y <= frame_size[1]):
        problems.add(
            "outside_frame",
            where,
            f"({x:g}, {y:g}) lies outside the {frame_size[0]}x{frame_size[1]} frame",
        )
        return None
    row.x, row.y = float(x), float(y)
    return row


def _parse_file(
    path: Path,
    key_field: str,
    frame_size: tuple[int, int] | None,
    coords_size: tuple[int, int] | None,
    problems: DataProblems,
    rules: LabelRules,
) -> tuple[list[_Row], list[tuple[int, list[str]]], dict[str, int]]:
    """Parse every row of ``path`` and place the valid ones (pixels, inside the frame).

    Returns:
        The usable rows in file order, every body row, and the columns found.
    """
    header_line, header, body = _read_rows(path)
    needed, optional = rules.columns(key_field)
    columns = match_columns(
        header, needed, optional, f"{path}:{header_line}", problems, rules.mapping
    )
    if "visibility" not in columns:
        problems.note_once(
            "visibility:derived",
            f"{path}: no visibility column: a row with coordinates is a visible ball (code "
            f"{rules.ball_code}); empty, negative or 0,0 coordinates mean no ball "
            f"(code {rules.no_ball_code}). Logged once for the dataset.",
        )
    parsed = []
    for line, cells in body:
        row = _parse_row(cells, columns, header, key_field, f"{path}:{line}", problems, rules)
        if row is not None:
            row.line = line
            parsed.append(row)
    points = [
        Point(r.line, r.x, r.y) for r in parsed if r.placed and r.visibility in rules.visible_codes
    ]
    names = (header[columns["x"]].strip(), header[columns["y"]].strip())
    size = frame_size or coords_size
    scale = coordinate_scale(points, rules, size, str(path), names, problems)
    placed = [_place(r, scale, frame_size, f"{path}:{r.line}", problems) for r in parsed]
    return [r for r in placed if r is not None], body, columns


def _to_labels(rows: list[tuple[int, _Row]], with_status: bool) -> TrackLabels:
    rows = sorted(rows, key=lambda item: item[0])
    return TrackLabels(
        frame=np.array([f for f, _ in rows], dtype=np.int64),
        visibility=np.array([r.visibility for _, r in rows], dtype=np.int64),
        x=np.array([r.x for _, r in rows], dtype=np.float64),
        y=np.array([r.y for _, r in rows], dtype=np.float64),
        status=np.array([r.status for _, r in rows], dtype=np.int64) if with_status else None,
    )


def _ranges(numbers: Sequence[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"`` (the first few runs)."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    shown = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in runs[:5])
    return shown + (", ..." if len(runs) > 5 else "")


def _check_coverage(
    path: Path,
    rows: list[tuple[int, _Row]],
    frame_count: int | None,
    problems: DataProblems,
    row_count: int,
    mentioned: set[int],
    rules: LabelRules,
) -> list[tuple[int, _Row]]:
    """Drop rows beyond the last frame; report frames that no row mentions, or (with
    ``data.labels.missing=no_ball``) label them "no ball".

    ``mentioned`` holds the frames named by any row, valid or not: a frame whose row was skipped
    has been reported already and stays unlabelled. Without ``frame_count`` only the gaps before
    the last mentioned frame can be filled.
    """
    fill = rules.missing == "no_ball"
    if frame_count is None:
        if fill and mentioned:
            gaps = [f for f in range(max(mentioned) + 1) if f not in mentioned]
            return rows + _no_ball_rows(gaps, rules)
        return rows
    if row_count > frame_count or (row_count < frame_count and not fill):
        problems.add(
            "frame_count_mismatch",
            str(path),
            f"{row_count} label rows for {frame_count} frames",
        )
    extra = [(f, r) for f, r in rows if f >= frame_count]
    if extra:
        problems.add(
            "extra_row",
            f"{path}:{extra[0][1].line}",
            f"{len(extra)} row(s) name frames past the last frame ({frame_count - 1})",
            count=len(extra),
        )
    rows = [(f, r) for f, r in rows if f < frame_count]
    missing = [f for f in range(frame_count) if f not in mentioned]
    if missing and fill:
        return rows + _no_ball_rows(missing, rules)
    if missing:
        problems.add(
            "missing_frame",
            str(path),
            f"{len(missing)} frame(s) without a label row (left unlabelled; "
            f"data.labels.missing=no_ball reads them as no ball): {_ranges(missing)}",
            count=len(missing),
        )
    return rows


def _no_ball_rows(frames: Sequence[int], rules: LabelRules) -> list[tuple[int, _Row]]:
    return [(f, _Row(f, rules.no_ball_code, 0.0, 0.0, 0, 0)) for f in frames]


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
    parsed, body, columns = _parse_file(path, "frame", frame_size, coords_size, problems, rules)
    mentioned: set[int] = set()
    for _, cells in body:
        with contextlib.suppress(ValueError, IndexError, OverflowError):
            mentioned.add(int(float(cells[columns["frame"]])))
    rows: list[tuple[int, _Row]] = []
    seen: dict[int, int] = {}
    for row in parsed:
        frame = int(row.key)
        if frame in seen:
            where = f"{path}:{row.line}"
            problems.add("duplicate_frame", where, f"frame {frame} already on line {seen[frame]}")
            continue
        seen[frame] = row.line
        rows.append((frame, row))
    rows = _check_coverage(path, rows, frame_count, problems, len(body), mentioned, rules)
    if own:
        problems.warn(str(path))
    return _to_labels(rows, with_status=False)


def natural_key(name: str) -> tuple:
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
    parsed_rows, body, columns = _parse_file(path, "file", frame_size, coords_size, problems, rules)
    parsed: list[_Row] = []
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

    rows: list[tuple[int, _Row]] = []
    for row in parsed:
        name = Path(str(row.key)).name
        frame = frame_of(name)
        if frame is None:
            problems.add("missing_image", f"{path}:{row.line}", f"no image {name} beside the CSV")
            continue
        rows.append((frame, row))
    count = None if image_names is None else len(image_names)
    mentioned = {f for f in map(frame_of, named) if f is not None}
    rows = _check_coverage(path, rows, count, problems, len(body), mentioned, rules)
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
    _, header, _ = _read_rows(path)
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
