"""Property-based tests of the label CSV readers (``tracknet.io.labels``).

Each reader has three properties:

* valid input (only valid rows, in any spelling the reader documents) is ACCEPTED, strictly and
  without a single reported problem, and reads back exactly what was written;
* invalid input (a valid file with one known fault) is REJECTED: a :class:`DataError` when
  strict, and when lenient the faulty row is skipped (its frame unlabelled) and reported, while
  every other row reads back as written;
* arbitrary input never crashes: a clear user error at worst, never NaN or coordinates outside
  the frame, and (lenient, with a usable header) never an error for bad rows.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracknet.errors import DataError
from tracknet.io.data_problems import DataProblems
from tracknet.io.labels import (
    TrackLabels,
    read_any_labels,
    read_ball_csv,
    read_tennis_csv,
    write_ball_csv,
    write_tennis_csv,
)

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TMP = Path(tempfile.mkdtemp(prefix="tracknet-fuzz-labels-"))


# --------------------------------------------------------------------------- valid label files
@dataclass
class Track:
    """What a valid label file says: one row per frame, ``(W, H)`` frame size."""

    size: tuple[int, int]
    visibility: list[int]
    x: list[float]
    y: list[float]
    status: list[int]

    def __len__(self) -> int:
        return len(self.visibility)

    def labels(self, with_status: bool) -> TrackLabels:
        n = len(self)
        return TrackLabels(
            np.arange(n, dtype=np.int64),
            np.array(self.visibility, dtype=np.int64),
            np.array(self.x, dtype=np.float64),
            np.array(self.y, dtype=np.float64),
            np.array(self.status, dtype=np.int64) if with_status else None,
        )


def _coordinate(limit: int) -> st.SearchStrategy[float]:
    """Pixels from -0.5 (the left edge of pixel 0) to the frame edge, in steps of 1/1000 (what
    the writers keep)."""
    return st.integers(-500, limit * 1000).map(lambda m: m / 1000)


@st.composite
def tracks(draw, max_frames: int = 12) -> Track:
    w, h = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    n = draw(st.integers(1, max_frames))
    vis, xs, ys = [], [], []
    for _ in range(n):
        v = draw(st.sampled_from([0, 1, 2, 3]))
        vis.append(v)
        xs.append(draw(_coordinate(w)) if v else 0.0)  # no ball: 0, 0 by convention
        ys.append(draw(_coordinate(h)) if v else 0.0)
    status = draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n))
    return Track((w, h), vis, xs, ys, status)


# Spellings the readers document (columns are matched by meaning, case and punctuation ignored).
SPELLINGS = {
    "frame": ["Frame", "frame", "frame_id", "Frame Number", "index"],
    "file": ["file name", "File Name", "filename", "image", "Image Name"],
    "visibility": ["Visibility", "visible", "vis", "Visibility Class"],
    "x": ["X", "x", "Ball X", "x-coordinate", "x_pos"],
    "y": ["Y", "y", "Ball Y", "y-coordinate", "y_pos"],
    "status": ["status", "Status", "Trajectory Pattern"],
}
NO_BALL_CELLS = [("0", "0"), ("", ""), ("nan", "nan")]  # what a visibility-0 row may hold


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)


@st.composite
def valid_csv_text(
    draw, track: Track, key_column: str, names: list[str] | None = None
) -> tuple[str, bool]:
    """A valid label file of ``track`` as another tool might write it (any documented header
    spelling, columns in any order, rows in any order, an unknown extra column, blank lines, a
    byte-order mark, CRLF line ends), and whether it has a status column."""
    fields = [key_column, "visibility", "x", "y"]
    if key_column == "file" and draw(st.booleans()):
        fields.append("status")
    extra = draw(st.booleans())
    order = draw(st.permutations(fields + (["comment"] if extra else [])))
    header = ["comment" if f == "comment" else draw(st.sampled_from(SPELLINGS[f])) for f in order]
    rows = []
    for i in draw(st.permutations(range(len(track)))):
        v = track.visibility[i]
        xy = (
            (_number(track.x[i]), _number(track.y[i]))
            if v
            else draw(st.sampled_from(NO_BALL_CELLS))
        )
        key = str(i) if key_column == "frame" else names[i]
        if key_column == "file" and draw(st.booleans()):
            key = Path(key).stem  # the tennis CSVs sometimes omit the extension
        cells = {
            key_column: key,
            "visibility": str(v),
            "x": xy[0],
            "y": xy[1],
            "status": str(track.status[i]),
            "comment": draw(st.text(st.sampled_from("ab ,;\"'"), max_size=4)),
        }
        rows.append([cells[f] for f in order])
        if draw(st.integers(0, 9)) == 0:
            rows.append([])  # a blank line
    buf = io.StringIO()
    csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([header, *rows])
    return draw(st.sampled_from(["", "\ufeff"])) + buf.getvalue(), "status" in fields


def _assert_same(got: TrackLabels, want: TrackLabels) -> None:
    assert got.frame.tolist() == want.frame.tolist()
    assert got.visibility.tolist() == want.visibility.tolist()
    assert got.x.tolist() == want.x.tolist()
    assert got.y.tolist() == want.y.tolist()
    if want.status is None:
        assert got.status is None
    else:
        assert got.status is not None and got.status.tolist() == want.status.tolist()


def _names(n: int) -> list[str]:
    return [f"{i:04d}.jpg" for i in range(n)]


@FUZZ
@given(track=tracks(), data=st.data(), known=st.booleans())
def test_ball_csv_reader_accepts_valid_rows(track, data, known):
    """Valid rows are read strictly without a problem and give back exactly the track."""
    path = TMP / "valid_ball.csv"
    count, size = (len(track), track.size) if known else (None, None)
    write_ball_csv(path, track.labels(False))
    problems = DataProblems(strict=True)
    _assert_same(read_ball_csv(path, count, size, problems), track.labels(False))
    _assert_same(read_any_labels(path, DataProblems(strict=True)), track.labels(False))

    text, _ = data.draw(valid_csv_text(track, "frame"))
    path.write_text(text, encoding="utf-8")
    _assert_same(read_ball_csv(path, count, size, problems), track.labels(False))
    assert not problems.counts


@FUZZ
@given(track=tracks(), data=st.data(), known=st.booleans())
def test_tennis_csv_reader_accepts_valid_rows(track, data, known):
    """Valid rows are read strictly without a problem and give back exactly the track."""
    path = TMP / "Label.csv"
    names = _names(len(track))
    image_names, size = (names, track.size) if known else (None, None)
    write_tennis_csv(path, track.labels(True), names)
    problems = DataProblems(strict=True)
    _assert_same(read_tennis_csv(path, image_names, size, problems), track.labels(True))
    _assert_same(read_any_labels(path, DataProblems(strict=True)), track.labels(True))

    text, with_status = data.draw(valid_csv_text(track, "file", names))
    path.write_text(text, encoding="utf-8")
    want = track.labels(True)
    if not with_status:
        want.status = np.zeros(len(track), dtype=np.int64)  # no status column: all flying
    _assert_same(read_tennis_csv(path, image_names, size, problems), want)
    assert not problems.counts


# --------------------------------------------------------------------------- invalid label files
# One fault in one row of an otherwise valid ball CSV: name -> (the problem kind the reader
# reports, whether the row's frame ends up unlabelled, the cells the fault writes into the row).
FAULTS = {
    "unparsable visibility": ("malformed_row", True, dict(visibility="abc")),
    "visibility out of range": ("malformed_row", True, dict(visibility="5")),
    "fractional visibility": ("malformed_row", True, dict(visibility="1.5")),
    "unparsable x": ("malformed_row", True, dict(visibility="1", x="12px")),
    "visible without x, y": ("malformed_row", True, dict(visibility="1", x="", y="")),
    "only one coordinate": ("malformed_row", True, dict(visibility="1", x="3", y="")),
    "NaN coordinates": ("nan", True, dict(visibility="2", x="nan", y="3")),
    "infinite coordinates": ("nan", True, dict(visibility="1", x="3", y="inf")),
    "negative coordinates": ("outside_frame", True, dict(visibility="1", x="-3", y="1")),
    "right of the frame": ("outside_frame", True, dict(visibility="1", x=lambda w, h: str(w + 1))),
    "below the frame": ("outside_frame", True, dict(visibility="1", y=lambda w, h: str(h + 0.5))),
}
ROW_FAULTS = ["duplicate frame", "frame past the end", "missing row"]


def _ball_rows(track: Track) -> list[list[str]]:
    rows = [["Frame", "Visibility", "X", "Y"]]
    for i in range(len(track)):
        v = track.visibility[i]
        x, y = (_number(track.x[i]), _number(track.y[i])) if v else ("0", "0")
        rows.append([str(i), str(v), x, y])
    return rows


@FUZZ
@given(track=tracks(), fault=st.sampled_from([*FAULTS, *ROW_FAULTS]), data=st.data())
def test_ball_csv_reader_rejects_invalid_rows(track, fault, data):
    """Strict: a DataError naming the file. Lenient: the faulty row is skipped and reported,
    every other frame reads back exactly as written."""
    frame = data.draw(st.integers(0, len(track) - 1))
    rows = _ball_rows(track)
    w, h = track.size
    if fault in FAULTS:
        kind, unlabelled, cells = FAULTS[fault]
        columns = {"frame": 0, "visibility": 1, "x": 2, "y": 3}
        for name, value in cells.items():
            rows[frame + 1][columns[name]] = value(w, h) if callable(value) else value
    elif fault == "duplicate frame":
        kind, unlabelled = "duplicate_frame", False  # the first row of a frame wins
        rows.append([str(frame), "1", "0", "0"])
    elif fault == "frame past the end":
        kind, unlabelled = "extra_row", False
        rows.insert(frame + 1, [str(len(track) + frame), "1", "1", "1"])
    else:
        kind, unlabelled = "missing_frame", True
        del rows[frame + 1]
    path = TMP / "faulty_ball.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")

    with pytest.raises(DataError, match="faulty_ball.csv"):
        read_ball_csv(path, len(track), track.size, DataProblems(strict=True))

    problems = DataProblems(strict=False)
    got = read_ball_csv(path, len(track), track.size, problems)
    assert kind in problems.counts, problems.summary()
    want = track.labels(False)
    if unlabelled:
        keep = want.frame != frame
        want = TrackLabels(want.frame[keep], want.visibility[keep], want.x[keep], want.y[keep])
    _assert_same(got, want)


@FUZZ
@given(
    track=tracks(),
    fault=st.sampled_from(["no such image", "duplicate name", "unparsable visibility", "outside"]),
    data=st.data(),
)
def test_tennis_csv_reader_rejects_invalid_rows(track, fault, data):
    """As for the ball CSV, with the tennis reader's own faults (names of absent images)."""
    frame = data.draw(st.integers(0, len(track) - 1))
    names = _names(len(track))
    path = TMP / "Faulty_Label.csv"
    write_tennis_csv(path, track.labels(True), names)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    unlabelled = True
    if fault == "no such image":
        kind = "missing_image"
        rows[frame + 1][0] = "9999.jpg"
    elif fault == "duplicate name":
        kind, unlabelled = "duplicate_frame", False
        rows.append([names[frame], "1", "1", "1", "0"])
    elif fault == "unparsable visibility":
        kind = "malformed_row"
        rows[frame + 1][1] = "x"
    else:
        kind = "outside_frame"
        rows[frame + 1][1:4] = ["1", str(track.size[0] + 2), "0"]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue())

    with pytest.raises(DataError, match="Faulty_Label.csv"):
        read_tennis_csv(path, names, track.size, DataProblems(strict=True))

    problems = DataProblems(strict=False)
    got = read_tennis_csv(path, names, track.size, problems)
    assert kind in problems.counts, problems.summary()
    want = track.labels(True)
    if unlabelled:
        keep = want.frame != frame
        want = TrackLabels(
            want.frame[keep], want.visibility[keep], want.x[keep], want.y[keep], want.status[keep]
        )
    _assert_same(got, want)


# --------------------------------------------------------------------------- arbitrary input
CELLS = st.one_of(
    st.integers(-5, 40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e309", "abc", "0.5", "3.0", "-0", "1,2"]),
    st.sampled_from([f"{i:04d}.jpg" for i in range(6)] + ["x.png", "../0001.jpg"]),
    st.text(max_size=5),
)
BALL_HEADERS = ["Frame,Visibility,X,Y", "frame,vis,x,y"]
TENNIS_HEADERS = [
    "file name,visibility,x-coordinate,y-coordinate,status",
    "File Name,Visibility,X,Y",
]
HEADERS = st.sampled_from([*BALL_HEADERS, *TENNIS_HEADERS, "a,b,c", ""])
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=6), max_size=12)
FRAME_SIZES = st.one_of(st.none(), st.tuples(st.integers(1, 64), st.integers(1, 64)))


def _csv_text(header: str, rows: list[list[str]]) -> str:
    return "\n".join([header, *(",".join(r) for r in rows)]) + "\n"


def _check(labels, frame_size, frame_count=None) -> None:
    for v in (labels.x, labels.y):
        assert np.isfinite(v).all()
        assert (v >= -0.5).all()
    if frame_size is not None:
        assert (labels.x <= frame_size[0]).all() and (labels.y <= frame_size[1]).all()
    assert (labels.frame >= 0).all() and (np.diff(labels.frame) > 0).all(), "sorted, unique"
    if frame_count is not None:
        assert (labels.frame < frame_count).all()
    assert set(labels.visibility.tolist()) <= {0, 1, 2, 3}


@FUZZ
@given(
    header=HEADERS,
    rows=ROWS,
    frame_count=st.one_of(st.none(), st.integers(0, 12)),
    frame_size=FRAME_SIZES,
    strict=st.booleans(),
)
def test_ball_csv_reader_on_arbitrary_rows(header, rows, frame_count, frame_size, strict):
    problems = DataProblems(strict=strict)
    _read_and_check(
        TMP / "ball.csv",
        _csv_text(header, rows),
        lambda path: read_ball_csv(path, frame_count, frame_size, problems),
        frame_size,
        frame_count,
        may_raise=strict or header not in BALL_HEADERS,
    )


@FUZZ
@given(
    header=HEADERS,
    rows=ROWS,
    names=st.one_of(st.none(), st.just(_names(6))),
    frame_size=FRAME_SIZES,
    strict=st.booleans(),
)
def test_tennis_csv_reader_on_arbitrary_rows(header, rows, names, frame_size, strict):
    problems = DataProblems(strict=strict)
    _read_and_check(
        TMP / "Label.csv",
        _csv_text(header, rows),
        lambda path: read_tennis_csv(path, names, frame_size, problems),
        frame_size,
        None if names is None else len(names),
        may_raise=strict or header not in TENNIS_HEADERS,
    )


def _read_and_check(path, text, read, frame_size, frame_count, may_raise):
    """Write ``text`` to ``path`` and read it: labels that make sense, or a DataError where one
    is allowed (strict, or a header without the needed columns). A lenient reader with a usable
    header skips bad rows: it never raises for them."""
    path.write_text(text)
    try:
        labels = read(path)
    except DataError:
        if not may_raise:
            raise
        return
    _check(labels, frame_size, frame_count)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_labels_reader_on_arbitrary_bytes(data):
    """Any bytes at all: a DataError (not UTF-8, no usable header) or labels that make sense."""
    path = TMP / "any.csv"
    path.write_bytes(data)
    try:
        labels = read_any_labels(path)
    except DataError:
        return
    _check(labels, None)
