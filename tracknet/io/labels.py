"""Ball label files: the ``Frame,Visibility,X,Y`` CSV and the TrackNet tennis ``Label.csv``.

All coordinates are pixels of the ORIGINAL frame. A frame without a visible ball has visibility 0
and ``X = Y = 0`` in the ball CSV (empty cells in the tennis CSV).

Writers produce the exact headers downstream tools expect. Readers match columns by meaning and
report every row they cannot use to a :class:`DataProblems` collector (skipped and counted, or an
error when strict); a skipped row leaves its frame unlabelled, never silently "no ball".

Long because both label layouts are read and written here, and the two readers share one header
matcher, one row checker and one problem collector (:class:`DataProblems`), so the rules for what
a valid row is are stated once.
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

from tracknet.errors import DataError
from tracknet.utils import atomic_write_text, log

BALL_CSV_HEADER = ("Frame", "Visibility", "X", "Y")
TENNIS_CSV_HEADER = ("file name", "visibility", "x-coordinate", "y-coordinate", "status")


@dataclass
class TrackLabels:
    """Per-frame ball labels of one clip or video.

    Attributes:
        frame: ``int [N]`` frame numbers (0-based).
        visibility: ``int [N]`` dataset codes: 0 not in frame, 1 easy, 2 hard, 3 occluded.
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


def write_ball_csv(path: str | Path, labels: TrackLabels) -> None:
    """Write ``Frame,Visibility,X,Y`` (atomically; ``0,0`` coordinates where not visible)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(BALL_CSV_HEADER)
    for f, v, x, y in zip(labels.frame, labels.visibility, labels.x, labels.y, strict=True):
        vis = int(v)
        w.writerow([int(f), vis, _fmt(x) if vis else 0, _fmt(y) if vis else 0])
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
# mean (case, spaces and punctuation ignored, common synonyms accepted) and every row that cannot
# be trusted is reported to a :class:`DataProblems` collector, which either raises at once
# (``strict``) or counts it for one summary warning. A skipped row leaves its frame UNLABELLED:
# it is absent from the returned :class:`TrackLabels` (which then hold one entry per labelled
# frame, sorted by frame number), never silently turned into a "no ball" label.

PROBLEM_KINDS: dict[str, str] = {
    "missing_csv": "clip without a label CSV (skipped)",
    "missing_source": "label CSV without its video or image folder (skipped)",
    "unreadable_source": "video or image that cannot be read (clip or frame skipped)",
    "bad_csv": "CSV that cannot be read or lacks a needed column (clip skipped)",
    "frame_count_mismatch": "CSV rows and frames disagree in number",
    "extra_row": "row naming a frame past the last one (skipped)",
    "malformed_row": "row that cannot be parsed (skipped)",
    "nan": "visible ball with NaN or infinite coordinates (skipped)",
    "outside_frame": "row with coordinates outside the frame (skipped)",
    "duplicate_frame": "repeated frame number or file name (later row skipped)",
    "missing_frame": "frames without a label row (unlabelled)",
    "missing_image": "row naming an image that does not exist (skipped)",
}


class DataProblems:
    """Collects problems found while reading a dataset; raises at the first one when ``strict``.

    Args:
        strict: raise :class:`DataError` at the first problem instead of counting it.
        max_examples: how many locations the summary quotes.
    """

    def __init__(self, strict: bool = False, max_examples: int = 5) -> None:
        self.strict = strict
        self.max_examples = max_examples
        self.counts: dict[str, int] = {}
        self.examples: list[str] = []
        self._noted: set[str] = set()

    def note_once(self, key: str, message: str) -> None:
        """Log ``message`` (INFO) the first time ``key`` is noted by this collector."""
        if key not in self._noted:
            self._noted.add(key)
            log.info("%s", message)

    def add(self, kind: str, where: str, detail: str, count: int = 1) -> None:
        """Record ``count`` problems of ``kind`` at ``where`` (``"file:line"`` or a path).

        Raises:
            DataError: in strict mode, always.
        """
        if kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown problem kind {kind!r}")
        message = f"{where}: {detail}"
        if self.strict:
            raise DataError(f"{message} [{kind}; data.strict=false skips such input]")
        self.counts[kind] = self.counts.get(kind, 0) + count
        if len(self.examples) < self.max_examples:
            self.examples.append(message)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """One paragraph: counts by kind and the first few locations."""
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        lines = [f"{len(self)} data problem(s): {kinds}"]
        lines += [f"  {example}" for example in self.examples]
        if len(self) > len(self.examples):
            lines.append(f"  ... ({len(self) - len(self.examples)} more)")
        return "\n".join(lines)

    def warn(self, context: str) -> None:
        """Log the summary as ONE warning on the ``tracknet`` logger (nothing when clean)."""
        if self.counts:
            log.warning(
                "%s: %s (set data.strict=true to stop at the first)", context, self.summary()
            )


# --------------------------------------------------------------------------- header matching
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "frame": ("frame", "frameid", "frameindex", "framenumber", "frameno", "framenum", "index"),
    "file": (
        "filename",
        "file",
        "image",
        "imagename",
        "img",
        "imagefile",
        "framename",
        "name",
        "path",
    ),
    "visibility": (
        "visibility",
        "visibilityclass",
        "visible",
        "vis",
        "visibilitycode",
        "visibilitylevel",
    ),
    "x": ("x", "xcoordinate", "xcoord", "ballx", "xpos", "xposition", "cx", "centerx", "xcenter"),
    "y": ("y", "ycoordinate", "ycoord", "bally", "ypos", "yposition", "cy", "centery", "ycenter"),
    "status": ("status", "trajectorypattern", "trajectory", "pattern", "event", "state"),
}
_CANONICAL = {
    "frame": "Frame",
    "file": "file name",
    "visibility": "visibility",
    "x": "x-coordinate",
    "y": "y-coordinate",
    "status": "status",
}
_USUAL_HEADERS = {BALL_CSV_HEADER, TENNIS_CSV_HEADER}


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def match_columns(
    header: Sequence[str],
    needed: Sequence[str],
    optional: Sequence[str] = (),
    where: str = "",
    problems: DataProblems | None = None,
) -> dict[str, int]:
    """Find the columns of ``needed`` (and ``optional``) fields in a CSV header, by meaning.

    Fields are ``frame``, ``file``, ``visibility``, ``x``, ``y`` and ``status``. A header that
    differs from the usual spelling is logged (INFO) with the mapping used: once per distinct
    header and ``problems`` collector (so once per dataset load), every time without one.

    Returns:
        ``{field: column index}``; optional fields that are absent are left out.

    Raises:
        DataError: a needed field has no column (the message lists the header and the fields).
    """
    normalised = [_normalise(h) for h in header]
    found: dict[str, int] = {}
    for field_name in (*needed, *optional):
        for synonym in _SYNONYMS[field_name]:
            if synonym in normalised and normalised.index(synonym) not in found.values():
                found[field_name] = normalised.index(synonym)
                break
    missing = [f for f in needed if f not in found]
    if missing:
        raise DataError(
            f"{where}: header {list(header)} has no column for {missing} "
            f"(accepted spellings: {', '.join('/'.join(_SYNONYMS[f][:4]) for f in missing)})"
        )
    if tuple(h.strip() for h in header) not in _USUAL_HEADERS:
        mapping = ", ".join(f"{header[found[f]]!r} -> {_CANONICAL[f]}" for f in found)
        message = f"{where}: label columns matched by meaning: {mapping}"
        if problems is None:
            log.info("%s", message)
        else:
            problems.note_once("|".join(header), message)
    return found


# --------------------------------------------------------------------------- row parsing
@dataclass
class _Row:
    key: int | str  # frame number (ball CSV) or file name (tennis CSV)
    visibility: int
    x: float
    y: float
    status: int
    line: int


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line number, cells)`` of every non-empty row."""
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
    return rows[0][1], rows[1:]


def _parse_number(text: str) -> float | None:
    """A float, or None for an empty cell; raises ValueError for anything else."""
    text = text.strip()
    return None if text == "" else float(text)


def _parse_row(
    cells: list[str],
    columns: dict[str, int],
    key_field: str,
    path: Path,
    line: int,
    problems: DataProblems,
    frame_size: tuple[int, int] | None,
    visible_codes: Sequence[int],
) -> _Row | None:
    """Validate one row; report and return None when it cannot be used."""
    where = f"{path}:{line}"
    if len(cells) <= max(columns.values()):
        problems.add("malformed_row", where, f"{len(cells)} cells, expected {len(columns)}+")
        return None
    cell = {f: cells[i].strip() for f, i in columns.items()}
    try:
        if key_field == "frame":
            number = float(cell["frame"])
            if not number.is_integer() or number < 0:
                raise ValueError
            key: int | str = int(number)
        else:
            key = cell["file"]
            if not key:
                raise ValueError
        visibility = float(cell["visibility"])
        if not visibility.is_integer() or int(visibility) not in (0, 1, 2, 3):
            raise ValueError
        x, y = _parse_number(cell["x"]), _parse_number(cell["y"])
        status = int(float(cell["status"])) if cell.get("status") else 0
    except ValueError:
        shown = ",".join(cells)
        problems.add(
            "malformed_row",
            where,
            f"cannot parse {shown!r} ({key_field}, visibility 0-3, numeric x/y)",
        )
        return None
    vis = int(visibility)
    needs_xy = vis in visible_codes  # a visible ball must say where it is
    if (x is None) != (y is None) or (x is None and needs_xy):
        problems.add(
            "malformed_row", where, f"visibility {vis} but x={cell['x']!r} y={cell['y']!r}"
        )
        return None
    finite = x is not None and bool(np.isfinite(x) and np.isfinite(y))
    if needs_xy and not finite:
        problems.add("nan", where, f"non-finite coordinates ({x}, {y}) for visibility {vis}")
        return None
    if vis == 0 or not finite:
        x = y = 0.0  # no (known) position: 0 by convention, as the writers do
    elif x < -0.5 or y < -0.5:  # outside any frame (pixel 0 spans [-0.5, 0.5))
        problems.add("outside_frame", where, f"negative coordinates ({x:g}, {y:g})")
        return None
    elif frame_size is not None and not (x <= frame_size[0] and y <= frame_size[1]):
        problems.add(
            "outside_frame",
            where,
            f"({x:g}, {y:g}) lies outside the {frame_size[0]}x{frame_size[1]} frame",
        )
        return None
    return _Row(key, vis, float(x), float(y), status, line)


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
) -> list[tuple[int, _Row]]:
    """Drop rows beyond the last frame and report frames that no row mentions.

    ``mentioned`` holds the frames named by any row, valid or not: a frame whose row was skipped
    has been reported already.
    """
    if frame_count is None:
        return rows
    if row_count != frame_count:
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
    if missing:
        problems.add(
            "missing_frame",
            str(path),
            f"{len(missing)} frame(s) without a label row (left unlabelled): {_ranges(missing)}",
            count=len(missing),
        )
    return rows


def read_ball_csv(
    path: str | Path,
    frame_count: int | None = None,
    frame_size: tuple[int, int] | None = None,
    problems: DataProblems | None = None,
    visible_codes: Sequence[int] = (1, 2),
) -> TrackLabels:
    """Read a ``Frame,Visibility,X,Y`` CSV (columns matched by meaning).

    Args:
        path: the CSV file.
        frame_count: number of frames of the video it labels: rows past the end are skipped and
            frames without a row reported (they stay unlabelled). None: not checked.
        frame_size: ``(W, H)``: rows with coordinates outside the frame are skipped.
        problems: collector for skipped rows; None: a lenient one that warns once at the end.
        visible_codes: codes that need coordinates (a visible ball without x/y is malformed).

    Returns:
        :class:`TrackLabels` of the valid rows, sorted by frame (skipped rows are absent).

    Raises:
        DataError: the file is missing, unreadable or lacks a needed column; any bad row when
            ``problems`` is strict.
    """
    path = Path(path)
    own = problems is None
    problems = problems if problems is not None else DataProblems()
    header, body = _read_rows(path)
    columns = match_columns(header, ("frame", "visibility", "x", "y"), (), str(path), problems)
    rows: list[tuple[int, _Row]] = []
    seen: dict[int, int] = {}
    mentioned: set[int] = set()
    for line, cells in body:
        where = f"{path}:{line}"
        with contextlib.suppress(ValueError, IndexError, OverflowError):
            mentioned.add(int(float(cells[columns["frame"]])))
        row = _parse_row(cells, columns, "frame", path, line, problems, frame_size, visible_codes)
        if row is None:
            continue
        frame = int(row.key)
        if frame in seen:
            problems.add("duplicate_frame", where, f"frame {frame} already on line {seen[frame]}")
            continue
        seen[frame] = line
        rows.append((frame, row))
    rows = _check_coverage(path, rows, frame_count, problems, len(body), mentioned)
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
) -> TrackLabels:
    """Read a TrackNet tennis ``Label.csv`` (columns matched by meaning, e.g. ``File Name``).

    Args:
        path: the CSV file.
        image_names: the clip's image file names in frame order; a row's frame number is the
            position of its file (matched by name, or by stem when the CSV omits extensions).
            Rows naming an absent image are skipped; images without a row stay unlabelled.
            None: frames are the positions of the CSV's file names in natural sort order.
        frame_size, problems, visible_codes: as for :func:`read_ball_csv`.

    Returns:
        :class:`TrackLabels` (with ``status``) of the valid rows, sorted by frame.
    """
    path = Path(path)
    own = problems is None
    problems = problems if problems is not None else DataProblems()
    header, body = _read_rows(path)
    columns = match_columns(
        header, ("file", "visibility", "x", "y"), ("status",), str(path), problems
    )
    parsed: list[_Row] = []
    seen: dict[str, int] = {}
    named: list[str] = []  # the file of every row, valid or not
    for line, cells in body:
        if len(cells) > columns["file"]:
            named.append(Path(cells[columns["file"]].strip()).name)
        where = f"{path}:{line}"
        row = _parse_row(cells, columns, "file", path, line, problems, frame_size, visible_codes)
        if row is None:
            continue
        name = Path(str(row.key)).name
        if name in seen:
            problems.add("duplicate_frame", where, f"{name} already on line {seen[name]}")
            continue
        seen[name] = line
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
    rows = _check_coverage(path, rows, count, problems, len(body), mentioned)
    if own:
        problems.warn(str(path))
    return _to_labels(rows, with_status=True)


def read_any_labels(
    path: str | Path,
    problems: DataProblems | None = None,
    visible_codes: Sequence[int] = (1, 2),
) -> TrackLabels:
    """Read a ball CSV or a tennis ``Label.csv``, whichever the header says it is.

    Tennis rows get frame numbers by the natural order of their file names (``0000.jpg`` = 0).
    """
    path = Path(path)
    header, _ = _read_rows(path)
    normalised = {_normalise(h) for h in header}
    if normalised & set(_SYNONYMS["file"]) and not normalised & set(_SYNONYMS["frame"]):
        return read_tennis_csv(path, problems=problems, visible_codes=visible_codes)
    return read_ball_csv(path, problems=problems, visible_codes=visible_codes)
