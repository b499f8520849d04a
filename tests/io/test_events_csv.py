"""The ``<stem>_events.csv`` reader and writer, and events from a tennis ``status`` column."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracknet.errors import DataError
from tracknet.io.events import (
    EVENTS_CSV_HEADER,
    Event,
    events_csv_name,
    events_from_labels,
    format_events_csv,
    read_events_csv,
    write_events_csv,
)
from tracknet.io.labels import TrackLabels, read_tennis_csv, write_tennis_csv


def test_round_trip(tmp_path):
    events = [
        Event(40, "hit", 610.25, 300.5, 0.875),
        Event(12, "bounce", 100.0, 650.0, 1.0),
        Event(40, "bounce", 612.0, 301.0, 0.5),
        Event(70, "hit"),  # position and score unknown
    ]
    path = tmp_path / events_csv_name("rally")
    write_events_csv(path, events)
    text = path.read_text()
    assert text.splitlines()[0] == ",".join(EVENTS_CSV_HEADER) == "Frame,Event,X,Y,Score"
    assert text.splitlines()[1] == "12,bounce,100,650,1"
    assert text.splitlines()[-1] == "70,hit,,,"
    back = read_events_csv(path)
    assert [(e.frame, e.kind) for e in back] == [
        (12, "bounce"),
        (40, "hit"),
        (40, "bounce"),
        (70, "hit"),
    ]
    assert back[1] == events[0]
    assert math.isnan(back[3].x) and math.isnan(back[3].score)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left beside it


def test_header_by_meaning_and_optional_columns(tmp_path):
    path = tmp_path / "gt_events.csv"
    path.write_text("frame , EVENT\n5,Hit\n9, bounce \n")
    assert [(e.frame, e.kind) for e in read_events_csv(path)] == [(5, "hit"), (9, "bounce")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Frame,Visibility,X,Y\n0,1,2,3\n", "not an events header"),
        ("Frame,X,Y\n0,1,2\n", "not an events header"),
        ("Frame,Event,Event\n0,hit,hit\n", "not an events header"),
        ("Frame,Event,X,Y,Score\n1.5,hit,0,0,1\n", "integer"),
        ("Frame,Event,X,Y,Score\n-1,hit,0,0,1\n", "integer"),
        ("Frame,Event,X,Y,Score\n3,serve,0,0,1\n", "serve"),
        ("Frame,Event,X,Y,Score\n3,hit,abc,0,1\n", "not a number"),
        ("Frame,Event,X,Y,Score\n3,hit,5,,1\n", "both"),
        ("Frame,Event,X,Y,Score\n3,hit,5,5,1.5\n", "outside"),
        ("Frame,Event,X,Y,Score\n3,hit,inf,5,1\n", "not finite"),
        ("Frame,Event,X,Y,Score\n3,hit\n", "cells"),
        ("Frame,Event\n3,hit\n3,hit\n", "already on line 2"),
    ],
)
def test_bad_files_raise_data_errors_naming_the_line(tmp_path, text, message):
    path = tmp_path / "bad_events.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_events_csv(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_events_csv(tmp_path / "nope_events.csv")


def test_event_record_checks_its_fields():
    with pytest.raises(ValueError, match="kind"):
        Event(3, "net")
    with pytest.raises(ValueError, match="frame"):
        Event(-1, "hit")
    assert format_events_csv([]) == "Frame,Event,X,Y,Score\n"


def test_events_from_a_tennis_status_column(tmp_path):
    labels = TrackLabels(
        frame=np.arange(6),
        visibility=np.array([1, 1, 1, 3, 1, 0]),
        x=np.array([10.0, 11.0, 12.0, 13.0, 14.0, 0.0]),
        y=np.array([5.0, 6.0, 7.0, 8.0, 9.0, 0.0]),
        status=np.array([0, 1, 0, 2, 0, 0]),
    )
    names = [f"{i:04d}.jpg" for i in range(6)]
    write_tennis_csv(tmp_path / "Label.csv", labels, names)
    read = read_tennis_csv(tmp_path / "Label.csv", image_names=names)
    events = events_from_labels(read)
    assert [(e.frame, e.kind, e.x, e.y) for e in events] == [
        (1, "hit", 11.0, 6.0),
        (3, "bounce", 13.0, 8.0),
    ]
    no_status = TrackLabels(labels.frame, labels.visibility, labels.x, labels.y, None)
    with pytest.raises(ValueError, match="status"):
        events_from_labels(no_status)
