"""Ball events (hits and bounces): the :class:`Event` record and the ``<stem>_events.csv`` file.

The file has the header ``Frame,Event,X,Y,Score`` and one row per event, sorted by frame:

- ``Frame``: 0-based frame number of the event (the frame nearest to it);
- ``Event``: ``hit`` or ``bounce`` (:data:`EVENT_KINDS`);
- ``X``, ``Y``: the ball at the event, pixels of the ORIGINAL frame (empty cells when unknown);
- ``Score``: a confidence in ``[0, 1]`` (empty when unknown, e.g. a hand-made label file).

Ground-truth events also come from the ``status`` column of a TrackNet tennis ``Label.csv``
(``1`` hit, ``2`` bounce, ``0`` flying): :func:`events_from_labels`.

The reader is strict (this is a small file a person may write by hand): columns are matched by
name ignoring case, spaces and punctuation; ``Frame`` and ``Event`` are needed, ``X``, ``Y`` and
``Score`` optional; any row it cannot use raises :class:`tracknet.errors.DataError` naming file
and line, as does an event listed twice.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracknet.errors import DataError
from tracknet.io.labels import TrackLabels
from tracknet.utils import atomic_write_text

EVENTS_CSV_SUFFIX = "_events.csv"
EVENTS_CSV_HEADER = ("Frame", "Event", "X", "Y", "Score")
EVENT_KINDS = ("hit", "bounce")
STATUS_KINDS = {1: "hit", 2: "bounce"}  # tennis Label.csv status codes (0 = flying)


@dataclass(frozen=True)
class Event:
    """One ball event.

    Attributes:
        frame: frame number (0-based).
        kind: ``"hit"`` or ``"bounce"``.
        x, y: ball position at the event in original-frame pixels (NaN when unknown).
        score: confidence in ``[0, 1]`` (NaN when unknown).
    """

    frame: int
    kind: str
    x: float = math.nan
    y: float = math.nan
    score: float = math.nan

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {EVENT_KINDS}, got {self.kind!r}")
        if int(self.frame) != self.frame or self.frame < 0:
            raise ValueError(f"event frame must be a non-negative integer, got {self.frame!r}")


def events_csv_name(stem: str) -> str:
    """The events CSV's file name for a video or image folder named ``stem``."""
    return f"{stem}{EVENTS_CSV_SUFFIX}"


def _cell(value: float, decimals: int) -> str:
    if not math.isfinite(value):
        return ""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def format_events_csv(events: Iterable[Event]) -> str:
    """The text of an events CSV (rows sorted by frame, then kind)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EVENTS_CSV_HEADER)
    for e in sorted(events, key=lambda e: (e.frame, EVENT_KINDS.index(e.kind))):
        writer.writerow([e.frame, e.kind, _cell(e.x, 2), _cell(e.y, 2), _cell(e.score, 4)])
    return buf.getvalue()


def write_events_csv(path: str | Path, events: Iterable[Event]) -> None:
    """Write ``Frame,Event,X,Y,Score`` atomically (a reader never sees half a file)."""
    atomic_write_text(path, format_events_csv(events))


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _float_cell(text: str, what: str, where: str) -> float:
    text = text.strip()
    if text == "":
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {what} {text!r} is not finite (leave the cell empty)")
    return value


def read_events_csv(path: str | Path) -> list[Event]:
    """Read an events CSV written by :func:`write_events_csv` or by hand.

    Returns:
        The events sorted by frame (then kind).

    Raises:
        DataError: missing or unreadable file, a header without ``Frame`` or ``Event`` (or with
            an unknown column), a frame that is not a non-negative integer, an unknown event
            kind, a score outside ``[0, 1]``, or the same event listed twice.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: events file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as a UTF-8 CSV ({exc})") from exc
    rows = [(n + 1, cells) for n, cells in enumerate(csv.reader(io.StringIO(text)))]
    rows = [(line, cells) for line, cells in rows if any(c.strip() for c in cells)]
    if not rows:
        raise DataError(f"{path}: the events file is empty (expected the header {_header()})")
    header = [_normalise(h) for h in rows[0][1]]
    known = [_normalise(h) for h in EVENTS_CSV_HEADER]
    unknown = [h for h, n in zip(rows[0][1], header, strict=True) if n not in known]
    if unknown or "frame" not in header or "event" not in header or len(set(header)) < len(header):
        raise DataError(
            f"{path}: header {rows[0][1]} is not an events header (expected {_header()}; "
            "Frame and Event are needed, X, Y and Score optional)"
        )
    column = {name: header.index(name) for name in known if name in header}
    events: list[Event] = []
    seen: dict[tuple[int, str], int] = {}
    for line, cells in rows[1:]:
        where = f"{path}:{line}"
        if len(cells) < len(header):
            raise DataError(f"{where}: {len(cells)} cells, expected {len(header)}")
        frame = _float_cell(cells[column["frame"]], "frame", where)
        if not (math.isfinite(frame) and frame.is_integer() and frame >= 0):
            raise DataError(f"{where}: frame {cells[column['frame']]!r} is not an integer >= 0")
        kind = cells[column["event"]].strip().lower()
        if kind not in EVENT_KINDS:
            raise DataError(f"{where}: event {kind!r} is not one of {', '.join(EVENT_KINDS)}")
        x, y, score = (
            _float_cell(cells[column[c]], c, where) if c in column else math.nan
            for c in ("x", "y", "score")
        )
        if math.isnan(x) != math.isnan(y):
            raise DataError(f"{where}: X and Y must be both given or both empty")
        if not (math.isnan(score) or 0.0 <= score <= 1.0):
            raise DataError(f"{where}: score {score:g} is outside [0, 1]")
        key = (int(frame), kind)
        if key in seen:
            raise DataError(f"{where}: {kind} at frame {int(frame)} already on line {seen[key]}")
        seen[key] = line
        events.append(Event(int(frame), kind, x, y, score))
    return sorted(events, key=lambda e: (e.frame, EVENT_KINDS.index(e.kind)))


def _header() -> str:
    return ",".join(EVENTS_CSV_HEADER)


def events_from_labels(labels: TrackLabels) -> list[Event]:
    """Ground-truth events of a tennis ``Label.csv`` (``status`` 1 hit, 2 bounce).

    Position is the labelled ball (NaN where the label has visibility 0); score is NaN.

    Raises:
        ValueError: the labels carry no ``status`` (a ball CSV has none: use an events CSV).
    """
    if labels.status is None:
        raise ValueError(
            "these labels have no status column (hit/bounce); give the events as an "
            f"{EVENTS_CSV_SUFFIX} file instead"
        )
    status = np.asarray(labels.status)
    keep = np.flatnonzero(np.isin(status, list(STATUS_KINDS)))
    has_xy = np.asarray(labels.visibility)[keep] != 0
    return [
        Event(
            int(labels.frame[i]),
            STATUS_KINDS[int(status[i])],
            float(labels.x[i]) if ok else math.nan,
            float(labels.y[i]) if ok else math.nan,
        )
        for i, ok in zip(keep, has_xy, strict=True)
    ]
