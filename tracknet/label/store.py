"""The label store of ``tracknet label``: confirmed labels of one source, persisted at every edit.

Durability: every edit (a batch of frame changes) is first appended to a journal (one JSON line,
fsynced), then the whole label file is rewritten atomically (temporary file, fsync, rename; see
:func:`tracknet.utils.atomic_path`), then a marker line with the file's SHA-256 is appended. On
start the journal is replayed from the last marker whose hash matches the file on disk, so a
process killed at any point loses no confirmed label; a file changed by something else since
(no marker matches) is trusted as it is and the journal tail is reported, not replayed. The
journal is then compacted to one checkpoint line. It lives beside the label file as a hidden
``.<label file>.journal`` (the dataset readers skip hidden files) and holds an exclusive lock,
so a second ``tracknet label`` on the same file is refused.

Versions: each accepted edit gets the next version number (kept across restarts by the
journal). A client sends the version its view is based on; an edit of a frame that changed after
that version is refused (:class:`StaleEditError`), so two tabs never overwrite each other
silently. An undo or redo also says what the frame must hold now (what that tab wrote there):
when another tab has changed it since, it is refused (:class:`ChangedLabelError`), even when the
tab had already seen that change.

Files: the label file is written in its layout with the shared writers of
:mod:`tracknet.io.labels` (``Frame,Visibility,X,Y``, plus a ``Status`` column once an event was
marked or when the file had one; or the tennis ``Label.csv``), with one row per CONFIRMED frame,
sorted by frame. Visibility codes: visible 1, occluded 2 in the tennis layout and 1 (visible,
position kept) in the ball layout, no ball 0; codes read from an existing file are kept as they
are until the frame is edited. Coordinates are original-frame pixels rounded to 3 decimals (what
the writers print).

A label and its codes are :mod:`tracknet.label.confirmed`; the journal file is
:mod:`tracknet.label.journal`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tracknet.errors import DataError, UserError
from tracknet.io.data_problems import DataProblems
from tracknet.io.label_columns import BALL_CSV_HEADER, match_columns
from tracknet.io.labels import (
    TrackLabels,
    read_ball_csv,
    read_tennis_csv,
    write_ball_csv,
    write_tennis_csv,
)
from tracknet.label.confirmed import (
    Label,
    kind_of,
    make_label,
    same_label,
)
from tracknet.label.journal import Journal, journal_path
from tracknet.label.source import TENNIS_LAYOUT
from tracknet.utils import atomic_write_text, sha256_file

log = logging.getLogger("tracknet.label")

# reading an existing file: the problems that only mean "partly labelled" (kept as unlabelled)
_HARMLESS_PROBLEMS = {"missing_frame", "frame_count_mismatch"}


def _frames_text(frames: Sequence[int]) -> str:
    return ", ".join(str(f) for f in list(frames)[:5]) + (", ..." if len(frames) > 5 else "")


class StaleEditError(UserError):
    """An edit based on an old version touched frames that changed since."""

    def __init__(self, frames: Sequence[int], version: int, message: str | None = None) -> None:
        super().__init__(
            message
            or f"frame(s) {_frames_text(frames)} changed in another tab or window (now at "
            f"version {version}); the edit was not saved"
        )
        self.frames = list(frames)
        self.version = version


class ChangedLabelError(StaleEditError):
    """An undo or redo found a frame holding something else than the tab had written there."""

    def __init__(self, frames: Sequence[int], version: int) -> None:
        super().__init__(
            frames,
            version,
            f"frame(s) {_frames_text(frames)} changed in another tab or window after this tab's "
            f"edit (now at version {version}); the undo or redo was not saved",
        )


# --------------------------------------------------------------------------- file formats
def _number(value: float) -> str:
    """As :mod:`tracknet.io.labels` prints a coordinate: integers bare, else <= 3 decimals."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.3f}".rstrip("0").rstrip(".")


def _track_labels(rows: list[tuple[int, Label]]) -> TrackLabels:
    return TrackLabels(
        frame=np.array([f for f, _ in rows], dtype=np.int64),
        visibility=np.array([r.code for _, r in rows], dtype=np.int64),
        x=np.array([r.x for _, r in rows], dtype=np.float64),
        y=np.array([r.y for _, r in rows], dtype=np.float64),
        status=np.array([r.status for _, r in rows], dtype=np.int64),
    )


def write_ball_csv_with_status(path: Path, rows: list[tuple[int, Label]]) -> None:
    """``Frame,Visibility,X,Y,Status``: :func:`write_ball_csv`'s rows with a status column."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow((*BALL_CSV_HEADER, "Status"))
    for frame, label in rows:
        visible = label.code != 0
        x, y = (_number(label.x), _number(label.y)) if visible else (0, 0)
        writer.writerow([frame, label.code, x, y, label.status])
    atomic_write_text(path, buf.getvalue())


class _OwnFileProblems(DataProblems):
    """The problems of reading a label file, without the note on the tool's own header
    (``Frame,Visibility,X,Y,Status`` is no news: this module writes it)."""

    OWN_HEADER = "|".join((*BALL_CSV_HEADER, "Status"))

    def note_once(self, key: str, message: str) -> None:
        if key != self.OWN_HEADER:
            super().note_once(key, message)


def _read_status(path: Path, problems: DataProblems) -> tuple[bool, dict[int, int]]:
    """Whether a ball CSV has a status column, and the status of each frame that has one."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    columns = match_columns(rows[0], ("frame",), ("status",), str(path), problems)
    if "status" not in columns:
        return False, {}
    status: dict[int, int] = {}
    for cells in rows[1:]:
        with contextlib.suppress(ValueError, IndexError):
            status[int(float(cells[columns["frame"]]))] = int(float(cells[columns["status"]]))
    return True, status


def _label_record(label: Label | None) -> list | None:
    if label is None:
        return None
    return [label.kind, label.x, label.y, label.status, label.code]


# --------------------------------------------------------------------------- the store
class LabelStore:
    """Confirmed labels of one source, with versions, persisted at every edit.

    Args:
        labels_path: the label file (read when it exists, written at every edit).
        layout: ``ball`` or ``tennis`` (:mod:`tracknet.label.source`).
        frame_count: frames of the source (edits outside ``0 .. frame_count-1`` are refused).
        frame_size: ``(W, H)`` of the frames.
        image_names: the image file names in frame order (tennis layout: the rows' names).

    Raises:
        DataError: the existing label file has rows the readers reject (they would be lost).
        UserError: another server holds the journal.
    """

    def __init__(
        self,
        labels_path: str | Path,
        layout: str,
        frame_count: int,
        frame_size: tuple[int, int],
        image_names: Sequence[str] | None = None,
    ) -> None:
        self.path = Path(labels_path)
        self.layout = layout
        self.frame_count = int(frame_count)
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        self.image_names = list(image_names) if image_names is not None else None
        if layout == TENNIS_LAYOUT and self.image_names is None:
            raise ValueError("the tennis layout needs the image file names")
        self._lock = threading.Lock()
        self._labels: dict[int, Label] = {}
        self._changed_at: dict[int, int] = {}  # frame -> version of its last edit
        self._status_column = False
        self.version = 0
        self.replayed = 0  # edits replayed from the journal at start
        self._load_file()
        self._journal = Journal(journal_path(self.path), owner=self.path)
        try:
            self._replay()
        except BaseException:
            self._journal.close()
            raise

    # ------------------------------------------------------------------ start
    def _load_file(self) -> None:
        if not self.path.exists():
            return
        problems = _OwnFileProblems()
        if self.layout == TENNIS_LAYOUT:
            labels = read_tennis_csv(self.path, self.image_names, self.frame_size, problems)
            assert labels.status is not None  # read_tennis_csv always gives the status column
            status = {int(f): int(s) for f, s in zip(labels.frame, labels.status, strict=True)}
        else:
            labels = read_ball_csv(self.path, self.frame_count, self.frame_size, problems)
            self._status_column, status = _read_status(self.path, problems)
        lost = {k: n for k, n in problems.counts.items() if k not in _HARMLESS_PROBLEMS}
        if lost:
            raise DataError(
                f"{self.path}: rows tracknet's readers reject would be lost by rewriting it: "
                f"{problems.summary()}; fix them or pass another --labels file"
            )
        for f, v, x, y in zip(labels.frame, labels.visibility, labels.x, labels.y, strict=True):
            code = int(v)
            kind = kind_of(code)
            xy = (0.0, 0.0) if kind == "none" else (float(x), float(y))
            self._labels[int(f)] = Label(kind, *xy, status.get(int(f), 0), code)

    def _file_sha(self) -> str | None:
        return sha256_file(self.path) if self.path.exists() else None

    def _replay(self) -> None:
        records = self._journal.read()
        current = self._file_sha()
        anchor = None
        for i, record in enumerate(records):
            if "sha" in record and record["sha"] == current:
                anchor = i
        has_markers = any("sha" in r for r in records)
        start = anchor + 1 if anchor is not None else 0
        tail = [r for r in records[start:] if "edits" in r]
        self.version = max((r["v"] for r in records), default=0)
        if anchor is None and has_markers and tail:
            log.warning(
                "%s changed outside tracknet label: its journal's last %d edit(s) were not "
                "replayed (the file is kept as it is)",
                self.path,
                len(tail),
            )
            tail = []
        for record in tail:
            edits = self._decode_edits(record)
            self._apply(edits, record["v"])
        self.replayed = len(tail)
        if tail:  # `replayed` says it (tracknet label prints it once): a debug note only
            log.debug("%s: %d edit(s) replayed from the journal", self.path, len(tail))
            self._write()
        self._journal.reset({"v": self.version, "sha": self._file_sha()})

    def _decode_edits(self, record: dict) -> list[tuple[int, Label | None]]:
        edits = []
        for frame, raw in record["edits"]:
            try:
                if not 0 <= int(frame) < self.frame_count:
                    raise ValueError(f"frame {frame} out of range")
                label = None
                if raw is not None:
                    kind, x, y, status, code = raw
                    label = make_label(
                        kind, x, y, status, self.layout, self.frame_size, code=int(code)
                    )
                edits.append((int(frame), label))
            except (TypeError, ValueError) as exc:
                log.warning("%s: journal edit of frame %s skipped (%s)", self.path, frame, exc)
        return edits

    # ------------------------------------------------------------------ reading
    def labels(self) -> dict[int, Label]:
        """A copy of the confirmed labels, by frame."""
        with self._lock:
            return dict(self._labels)

    def get(self, frame: int) -> Label | None:
        with self._lock:
            return self._labels.get(frame)

    def changes_of(self, frames: Sequence[int]) -> list[tuple[int, Label | None, int]]:
        """``[(frame, label or None, version of its last change (0: never))]`` of ``frames``."""
        with self._lock:
            return [(f, self._labels.get(f), self._changed_at.get(f, 0)) for f in frames]

    def changes_since(self, version: int) -> tuple[int, list[tuple[int, Label | None, int]]]:
        """``(current version, [(frame, label or None when cleared, version of the change)])``
        of the frames edited after ``version``."""
        with self._lock:
            frames = sorted(f for f, v in self._changed_at.items() if v > version)
            changes = [(f, self._labels.get(f), self._changed_at[f]) for f in frames]
            return self.version, changes

    # ------------------------------------------------------------------ editing
    def apply(
        self,
        edits: Sequence[tuple[int, Label | None]],
        base: int,
        expected: Mapping[int, Label | None] | None = None,
    ) -> int:
        """Set (or clear, with ``None``) the labels of frames, as one edit; returns its version.

        Args:
            edits: ``(frame, label or None)`` pairs; a frame may appear once.
            base: the version the client's view is based on.
            expected: for some frames, what each must hold now (None: unlabelled) for the edit
                to go ahead, compared with :func:`same_label`: an undo or redo replaces only what
                its tab wrote.

        Raises:
            ValueError: a frame out of range or repeated, or no edits.
            StaleEditError: a frame changed after ``base`` (nothing is saved).
            ChangedLabelError: a frame of ``expected`` holds something else (nothing is saved).
        """
        frames = [f for f, _ in edits]
        if not frames:
            raise ValueError("no edits")
        if len(set(frames)) != len(frames):
            raise ValueError("a frame appears twice in one edit")
        bad = [f for f in frames if not 0 <= f < self.frame_count]
        if bad:
            raise ValueError(f"frame {bad[0]} out of range (0-{self.frame_count - 1})")
        with self._lock:
            stale = [f for f in frames if self._changed_at.get(f, 0) > base]
            if stale or base > self.version:
                raise StaleEditError(stale or frames, self.version)
            changed = [
                f
                for f, want in (expected or {}).items()
                if not same_label(self._labels.get(f), want)
            ]
            if changed:
                raise ChangedLabelError(sorted(changed), self.version)
            version = self.version + 1
            self._journal.append(
                {"v": version, "edits": [[f, _label_record(label)] for f, label in edits]}
            )
            self._apply(edits, version)
            self._write()
            self._journal.append({"v": version, "sha": self._file_sha()}, sync=False)
            return version

    def _apply(self, edits: Sequence[tuple[int, Label | None]], version: int) -> None:
        for frame, label in edits:
            if label is None:
                self._labels.pop(frame, None)
            else:
                self._labels[frame] = label
                self._status_column |= label.status != 0
            self._changed_at[frame] = version
        self.version = max(self.version, version)

    def _write(self) -> None:
        rows = sorted(self._labels.items())
        if self.layout == TENNIS_LAYOUT:
            assert self.image_names is not None  # the tennis layout needs them (__init__)
            names = [self.image_names[f] for f, _ in rows]
            write_tennis_csv(self.path, _track_labels(rows), names)
        elif self._status_column:
            write_ball_csv_with_status(self.path, rows)
        else:
            write_ball_csv(self.path, _track_labels(rows))

    def close(self) -> None:
        """Release the journal (its lock)."""
        self._journal.close()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
