"""The label store: versions, the journal replayed after a kill, atomic files, every layout
round-tripped through tracknet's own readers."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest

from tests.label.conftest import CLIP_SIZE
from tracknet.data.formats import load_clips
from tracknet.errors import DataError, UserError
from tracknet.io.labels import read_ball_csv
from tracknet.label.confirmed import make_label
from tracknet.label.journal import journal_path
from tracknet.label.source import open_source
from tracknet.label.store import ChangedLabelError, LabelStore, StaleEditError


def store_of(source, labels=None) -> LabelStore:
    src = open_source(source, labels)
    return LabelStore(
        src.labels_path, src.layout, src.frame_count, src.frame_size, src.image_names or None
    )


def visible(x, y, status=0, layout="ball"):
    return make_label("visible", x, y, status, layout, CLIP_SIZE)


def test_edits_are_written_at_once_with_versions(video):
    with store_of(video) as store:
        assert store.version == 0 and not store.path.exists()
        v1 = store.apply([(3, visible(10.5, 20))], base=0)
        assert store.path.read_text() == "Frame,Visibility,X,Y\n3,1,10.5,20\n"
        v2 = store.apply([(1, make_label("none", 0, 0, 0, "ball", CLIP_SIZE)), (3, None)], v1)
        assert (v1, v2) == (1, 2)
        assert store.path.read_text() == "Frame,Visibility,X,Y\n1,0,0,0\n"
        version, changes = store.changes_since(1)
        assert version == 2 and changes == [(1, store.get(1), 2), (3, None, 2)]


def test_a_stale_edit_is_refused_and_nothing_is_saved(video):
    with store_of(video) as store:
        store.apply([(3, visible(10, 20))], base=0)  # tab 1
        before = store.path.read_bytes()
        with pytest.raises(StaleEditError, match="frame.s. 3 changed in another tab") as info:
            store.apply([(3, visible(11, 20))], base=0)  # tab 2 had not seen it
        assert info.value.frames == [3] and info.value.version == 1
        assert store.path.read_bytes() == before
        assert store.apply([(4, visible(11, 20))], base=0) == 2  # another frame: no conflict
        with pytest.raises(StaleEditError):
            store.apply([(5, visible(1, 1))], base=99)  # a version the server never gave


def test_an_undo_replaces_only_what_its_tab_wrote(video):
    with store_of(video) as store:
        a, b = visible(10, 20), visible(30, 40)
        v1 = store.apply([(120 % 20, a)], base=0)  # tab A labels the frame
        v2 = store.apply([(0, b)], base=v1)  # tab B, having seen it, relabels it
        before = store.path.read_bytes()
        # tab A has seen B's label too (base v2), then undoes its own edit: refused
        with pytest.raises(ChangedLabelError, match="after this tab's edit") as info:
            store.apply([(0, None)], base=v2, expected={0: a})
        assert info.value.frames == [0] and store.path.read_bytes() == before
        assert isinstance(info.value, StaleEditError)  # the API answers it with 409 too
        # what B wrote is what B may undo (the code is not compared)
        assert store.apply([(0, a)], base=v2, expected={0: visible(30, 40)}) == 3
        # a redo that expects the frame unlabelled finds a label there: refused
        with pytest.raises(ChangedLabelError):
            store.apply([(0, b)], base=3, expected={0: None})
        assert store.apply([(5, b)], base=3, expected={5: None}) == 4


def test_the_journal_is_replayed_after_a_kill_before_the_file_was_written(video, monkeypatch):
    store = store_of(video)
    store.apply([(2, visible(5, 6))], base=0)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies between the journal and the label file

    monkeypatch.setattr(store, "_write", killed)
    with pytest.raises(KeyboardInterrupt):
        store.apply([(7, visible(50, 60, status=2))], base=1)
    store._journal.close()  # the OS releases the lock of a killed process
    monkeypatch.undo()
    assert "7," not in store.path.read_text()  # the file missed the last edit ...
    with store_of(video) as again:  # ... the restart replays it
        assert again.replayed == 1 and again.version == 2
        assert again.get(7) == visible(50, 60, status=2)
        text = again.path.read_text()
        assert text == "Frame,Visibility,X,Y,Status\n2,1,5,6,0\n7,1,50,60,2\n"
    records = [json.loads(line) for line in journal_path(again.path).read_text().splitlines()]
    assert records == [{"v": 2, "sha": records[0]["sha"]}]  # compacted to one checkpoint


def test_a_torn_journal_line_and_a_kill_after_the_rename_lose_nothing(video, caplog):
    store = store_of(video)
    store.apply([(2, visible(5, 6))], base=0)
    store.apply([(4, visible(7, 8))], base=1)
    journal = journal_path(store.path)
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:-1]) + '\n{"v": 3, "edi')  # marker lost, a torn append
    store._journal.close()
    with caplog.at_level(logging.WARNING), store_of(video) as again:
        assert again.version == 2 and sorted(again.labels()) == [2, 4]
    assert "unreadable journal line" in caplog.text


def test_a_file_changed_by_someone_else_is_trusted(video, caplog):
    with store_of(video) as store:
        store.apply([(2, visible(5, 6))], base=0)
    store.path.write_text("Frame,Visibility,X,Y\n9,1,1,1\n")
    journal = journal_path(store.path)
    with journal.open("a") as fh:  # an edit that never reached the (since replaced) file
        fh.write(json.dumps({"v": 2, "edits": [[3, ["visible", 1, 1, 0, 1]]]}) + "\n")
    with caplog.at_level(logging.WARNING), store_of(video) as again:
        assert sorted(again.labels()) == [9]
    assert "changed outside tracknet label" in caplog.text


def test_a_second_server_on_the_same_labels_is_refused(video, monkeypatch):
    monkeypatch.chdir(video.parent)  # SOURCE given as a bare name: the message names the file
    with store_of(video.name), pytest.raises(UserError, match="another `tracknet label`") as info:
        store_of(video.name)
    assert str(info.value).startswith("clip_0000_ball.csv: another"), info.value
    assert ".clip_0000_ball.csv.journal" in str(info.value)


def test_reopening_its_own_file_says_nothing(video, caplog):
    with store_of(video) as store:  # a bounce: the file gains the Status column
        store.apply([(2, visible(5, 6, status=2))], base=0)
    assert store.path.read_text().startswith("Frame,Visibility,X,Y,Status\n")
    with caplog.at_level(logging.DEBUG, logger="tracknet"), store_of(video) as again:
        assert again.get(2).status == 2
    assert "matched by meaning" not in caplog.text
    store.path.write_text("frame,visibility,x,y\n2,1,5,6\n")  # another spelling: noted
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tracknet"), store_of(video) as again:
        assert again.get(2) == visible(5, 6)
    assert "matched by meaning" in caplog.text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(video, monkeypatch):
    with store_of(video) as store:
        store.apply([(2, visible(5, 6))], base=0)
        before = store.path.read_bytes()

        def no_rename(src, dst):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", no_rename)
        with pytest.raises(OSError):
            store.apply([(3, visible(7, 8))], base=1)
        monkeypatch.undo()
        assert store.path.read_bytes() == before
        leftovers = [p.name for p in store.path.parent.iterdir() if p.name.startswith(".")]
        assert leftovers == [journal_path(store.path).name]


def test_a_label_file_with_rows_the_readers_reject_is_not_opened(video):
    labels = video.with_name("clip_0000_ball.csv")
    labels.write_text("Frame,Visibility,X,Y\n0,1,5000,5\n1,1,5,5\n")
    with pytest.raises(DataError, match="would be lost"):
        store_of(video)


def test_labels_are_validated():
    size = CLIP_SIZE
    with pytest.raises(ValueError, match="outside the 320x180 frame"):
        make_label("visible", 320, 5, 0, "ball", size)
    with pytest.raises(ValueError, match="finite"):
        make_label("visible", float("nan"), 5, 0, "ball", size)
    with pytest.raises(ValueError, match="visibility must be one of"):
        make_label("seen", 5, 5, 0, "ball", size)
    with pytest.raises(ValueError, match="needs the ball"):
        make_label("none", 0, 0, 1, "ball", size)
    with pytest.raises(ValueError, match="does not fit"):
        make_label("visible", 5, 5, 0, "tennis", size, code=3)
    assert make_label("occluded", 5.12345, 6, 2, "tennis", size).code == 2
    assert make_label("occluded", 5.12345, 6, 2, "ball", size) == make_label(
        "occluded", 5.123, 6, 2, "ball", size, code=1
    )


# --------------------------------------------------------------------------- every layout
def _clip_dir(data, fmt):
    return {
        "tennis": data["tennis"] / "game1" / "Clip1",
        "shuttlecock": data["shuttlecock"] / "Professional" / "match1" / "video" / "1_01_00.mp4",
        "generic": data["generic"] / "clip_0000.mp4",
    }[fmt]


@pytest.mark.parametrize("fmt", ["tennis", "shuttlecock", "generic"])
def test_every_layout_round_trips_through_the_dataset_readers(data, fmt):
    root = data[fmt]
    source = _clip_dir(data, fmt)
    (before,) = load_clips(root)
    layout = "tennis" if fmt == "tennis" else "ball"
    with store_of(source) as store:
        assert (
            store.path.name
            == {
                "tennis": "Label.csv",
                "shuttlecock": "1_01_00_ball.csv",
                "generic": "clip_0000_ball.csv",
            }[fmt]
        )
        original = store.path.read_bytes()
        labels = store.labels()
        assert len(labels) == len(before.labels)
        # an edit that changes nothing rewrites the file byte for byte
        store.apply([(0, labels[0])], base=0)
        assert store.path.read_bytes() == original
        edits = [
            (1, None),  # unlabelled again: its row goes
            (2, make_label("occluded", 100.25, 50, 0, layout, CLIP_SIZE)),
            (3, make_label("visible", 12, 34.5, 2, layout, CLIP_SIZE)),  # a bounce
            (4, make_label("none", 0, 0, 0, layout, CLIP_SIZE)),
        ]
        store.apply(edits, base=1)
        expected = store.labels()
    (after,) = load_clips(root)
    assert after.name == before.name and after.num_frames == before.num_frames
    assert after.labels.frame.tolist() == sorted(expected)
    rows = {int(f): i for i, f in enumerate(after.labels.frame)}
    for frame, label in expected.items():
        i = rows[frame]
        assert after.labels.visibility[i] == label.code
        assert (after.labels.x[i], after.labels.y[i]) == pytest.approx((label.x, label.y))
    assert after.labels.visibility[rows[2]] == (2 if fmt == "tennis" else 1)
    if fmt == "tennis":
        assert after.labels.status[rows[3]] == 2
    else:  # the ball CSV gained a Status column; the reader takes the file all the same
        header = store.path.read_text().splitlines()[0]
        assert header == "Frame,Visibility,X,Y,Status"
    if fmt != "tennis":  # the ball CSV keeps an occluded ball visible: it reads back so
        expected[2] = make_label("visible", 100.25, 50, 0, layout, CLIP_SIZE)
    with store_of(source) as again:  # and the tool reads back what it wrote, events included
        assert again.labels() == expected


def test_an_image_folder_gets_a_ball_csv_beside_it(data):
    folder = data["tennis"] / "game1" / "Clip1"
    (folder / "Label.csv").unlink()
    with store_of(folder) as store:
        assert store.path == folder.parent / "Clip1_ball.csv"
        store.apply([(5, visible(30, 40))], base=0)
    labels = read_ball_csv(store.path, frame_count=20, frame_size=CLIP_SIZE)
    assert labels.frame.tolist() == [5] and np.allclose([labels.x[0], labels.y[0]], [30, 40])
    (clip,) = load_clips(data["tennis"], fmt="generic")
    assert clip.name == "game1/Clip1" and clip.labels.frame.tolist() == [5]
