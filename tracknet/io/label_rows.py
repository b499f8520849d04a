"""The rows of a label file, checked: what both label readers of :mod:`tracknet.io.labels`
share, so what a valid row is is stated once.

Readers are lenient about spelling and strict about meaning: columns are matched by what they
mean or named by ``data.labels`` (:mod:`tracknet.io.label_columns`), and every row that cannot
be trusted is reported to a :class:`DataProblems` collector, which either raises at once
(``strict``) or counts it for one summary warning. A skipped row leaves its frame UNLABELLED:
it is absent from the returned :class:`~tracknet.io.labels.TrackLabels` (one entry per labelled
frame, sorted by frame number), never silently turned into a "no ball" label.

A file is read in two passes: each row is parsed (:func:`parse_row`), then the units of the
whole file are decided (:func:`tracknet.io.label_columns.coordinate_scale`) and each position is
converted and checked against the frame (:func:`place`).

Then :func:`check_coverage` compares the rows with the frames of the video (rows past the end,
frames without a row).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tracknet.errors import DataError
from tracknet.io.data_problems import DataProblems
from tracknet.io.label_columns import LabelRules, Point, coordinate_scale, match_columns


@dataclass
class Row:
    key: int | str  # frame number (ball CSV) or file name (tennis CSV)
    visibility: int
    x: float
    y: float
    status: int
    line: int
    placed: bool = False  # holds a position (still in the file's units until place)


def read_rows(path: Path) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
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


def parse_row(
    cells: list[str],
    columns: dict[str, int],
    header: list[str],
    key_field: str,
    where: str,
    problems: DataProblems,
    rules: LabelRules,
) -> Row | None:
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
            bad("frame", "a frame number (an integer >= 0)")
            return None
        key = frame
    elif not key:
        bad("file", "a file name")
        return None
    coordinates: list[float | None] = []
    for axis in ("x", "y"):
        try:
            coordinates.append(_parse_number(cell[axis]))
        except ValueError:
            bad(axis, "a number")
            return None
    x, y = coordinates
    if "visibility" in columns:
        vis = _integer(cell["visibility"])
        if vis is None or not rules.is_code(vis):
            codes = sorted({0, 1, 2, 3, *rules.visible_codes})
            bad("visibility", f"a visibility code ({', '.join(map(str, codes))})")
            return None
    elif _has_ball(x, y):
        vis = rules.ball_code
    else:
        vis, x, y = rules.no_ball_code, None, None
    status = 0
    if cell.get("status"):
        code = _integer(cell["status"])
        if code is None:
            bad("status", "an integer status")
            return None
        status = code

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
    if not placed or x is None or y is None:
        return Row(key, vis, 0.0, 0.0, status, 0, False)
    # no (known) position: 0, 0
    return Row(key, vis, float(x), float(y), status, 0, True)


def place(
    row: Row,
    scale: tuple[int, int] | None,
    frame_size: tuple[int, int] | None,
    where: str,
    problems: DataProblems,
) -> Row | None:
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


def parse_file(
    path: Path,
    key_field: str,
    frame_size: tuple[int, int] | None,
    coords_size: tuple[int, int] | None,
    problems: DataProblems,
    rules: LabelRules,
) -> tuple[list[Row], list[tuple[int, list[str]]], dict[str, int]]:
    """Parse every row of ``path`` and place the valid ones (pixels, inside the frame).

    Returns:
        The usable rows in file order, every body row, and the columns found.
    """
    header_line, header, body = read_rows(path)
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
        row = parse_row(cells, columns, header, key_field, f"{path}:{line}", problems, rules)
        if row is not None:
            row.line = line
            parsed.append(row)
    points = [
        Point(r.line, r.x, r.y) for r in parsed if r.placed and r.visibility in rules.visible_codes
    ]
    names = (header[columns["x"]].strip(), header[columns["y"]].strip())
    size = frame_size or coords_size
    scale = coordinate_scale(points, rules, size, str(path), names, problems)
    placed = [place(r, scale, frame_size, f"{path}:{r.line}", problems) for r in parsed]
    return [r for r in placed if r is not None], body, columns


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


def check_coverage(
    path: Path,
    rows: list[tuple[int, Row]],
    frame_count: int | None,
    problems: DataProblems,
    row_count: int,
    mentioned: set[int],
    rules: LabelRules,
) -> list[tuple[int, Row]]:
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
            return rows + no_ball_rows(gaps, rules)
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
        return rows + no_ball_rows(missing, rules)
    if missing:
        problems.add(
            "missing_frame",
            str(path),
            f"{len(missing)} frame(s) without a label row (left unlabelled; "
            f"data.labels.missing=no_ball reads them as no ball): {_ranges(missing)}",
            count=len(missing),
        )
    return rows


def no_ball_rows(frames: Sequence[int], rules: LabelRules) -> list[tuple[int, Row]]:
    return [(f, Row(f, rules.no_ball_code, 0.0, 0.0, 0, 0)) for f in frames]
