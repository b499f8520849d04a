"""Label CSV readers: round trips with the writers, header variants, every kind of bad row."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from tracknet.errors import DataError
from tracknet.io.data_problems import DataProblems
from tracknet.io.label_columns import match_columns
from tracknet.io.labels import (
    TrackLabels,
    natural_key,
    read_any_labels,
    read_ball_csv,
    read_tennis_csv,
    write_ball_csv,
    write_tennis_csv,
)


def _labels() -> TrackLabels:
    return TrackLabels(
        frame=np.arange(4),
        visibility=np.array([1, 0, 2, 3]),
        x=np.array([10.5, 0.0, 20.25, 30.0]),
        y=np.array([5.0, 0.0, 7.125, 8.0]),
        status=np.array([0, 0, 1, 2]),
    )


def _write(path, text: str):
    path.write_text(text)
    return path


def test_ball_csv_round_trip(tmp_path):
    path = tmp_path / "clip_ball.csv"
    write_ball_csv(path, _labels())
    got = read_ball_csv(path, frame_count=4, frame_size=(64, 48))
    expected = _labels()
    for field in ("frame", "visibility", "x", "y"):
        assert np.array_equal(getattr(got, field), getattr(expected, field)), field
    assert got.status is None


def test_tennis_csv_round_trip(tmp_path):
    path = tmp_path / "Label.csv"
    names = [f"{i:04d}.jpg" for i in range(4)]
    write_tennis_csv(path, _labels(), names)
    assert path.read_text().splitlines()[2] == "0001.jpg,0,,,0"  # empty cells, no ball
    got = read_tennis_csv(path, names, frame_size=(64, 48))
    expected = _labels()
    for field in ("frame", "visibility", "x", "y", "status"):
        assert np.array_equal(getattr(got, field), getattr(expected, field)), field


def test_header_variants_are_matched_by_meaning_and_logged(tmp_path, caplog):
    path = _write(
        tmp_path / "Label.csv",
        "File Name,Visibility Class,X,Y,Trajectory Pattern\n0000.jpg,1,3,4,0\n0001.jpg,0,,,0\n",
    )
    with caplog.at_level(logging.INFO, logger="tracknet"):
        got = read_tennis_csv(path, ["0000.jpg", "0001.jpg"])
    assert got.frame.tolist() == [0, 1] and got.x.tolist() == [3.0, 0.0]
    assert "'File Name' -> file name" in caplog.text
    assert "'Trajectory Pattern' -> status" in caplog.text
    ball = _write(tmp_path / "v_ball.csv", "\ufeffframe_id, visible ,Ball X,Ball Y\n0,1,2,3\n")
    assert read_ball_csv(ball).x.tolist() == [2.0]


def test_missing_column_names_the_header(tmp_path):
    with pytest.raises(DataError, match=r"no column for \['y'\]"):
        match_columns(["Frame", "Visibility", "X", "Z"], ("frame", "visibility", "x", "y"))
    path = _write(tmp_path / "a_ball.csv", "Frame,Visibility,X\n0,1,2\n")
    with pytest.raises(DataError, match="a_ball.csv"):
        read_ball_csv(path)


BAD_BALL_ROWS = {
    "malformed_row": ("Frame,Visibility,X,Y\n0,1,2,3\n1,x,2,3\n2,0,0,0\n", 3),
    "nan": ("Frame,Visibility,X,Y\n0,1,2,3\n1,1,nan,3\n2,0,0,0\n", 3),
    "outside_frame": ("Frame,Visibility,X,Y\n0,1,2,3\n1,1,500,3\n2,0,0,0\n", 3),
    "duplicate_frame": ("Frame,Visibility,X,Y\n0,1,2,3\n1,1,4,3\n1,1,5,3\n2,0,0,0\n", 4),
    "missing_frame": ("Frame,Visibility,X,Y\n0,1,2,3\n2,0,0,0\n", 1),
    "extra_row": ("Frame,Visibility,X,Y\n0,1,2,3\n1,1,4,4\n2,0,0,0\n7,1,1,1\n", 1),
}


@pytest.mark.parametrize("kind", sorted(BAD_BALL_ROWS))
def test_bad_ball_rows_are_skipped_and_counted(tmp_path, kind):
    text, line = BAD_BALL_ROWS[kind]
    path = _write(tmp_path / "c_ball.csv", text)
    problems = DataProblems()
    got = read_ball_csv(path, frame_count=3, frame_size=(64, 48), problems=problems)
    assert problems.counts.get(kind, 0) >= 1, problems.counts
    # The bad row's frame is left out (unlabelled), never turned into "no ball".
    if kind not in ("duplicate_frame", "extra_row"):
        assert 1 not in got.frame.tolist()
    assert 0 in got.frame.tolist() and 2 in got.frame.tolist()
    with pytest.raises(DataError, match=rf"c_ball.csv(:{line})?: .*\[\w+;"):
        read_ball_csv(path, 3, (64, 48), problems=DataProblems(strict=True))


def test_frame_count_mismatch_is_reported(tmp_path):
    path = _write(tmp_path / "d_ball.csv", "Frame,Visibility,X,Y\n0,1,2,3\n1,0,0,0\n")
    problems = DataProblems()
    got = read_ball_csv(path, frame_count=5, problems=problems)
    assert problems.counts == {"frame_count_mismatch": 1, "missing_frame": 3}
    assert got.frame.tolist() == [0, 1]
    with pytest.raises(DataError, match="2 label rows for 5 frames"):
        read_ball_csv(path, frame_count=5, problems=DataProblems(strict=True))


def test_visible_ball_without_coordinates_is_malformed(tmp_path):
    path = _write(
        tmp_path / "Label.csv",
        "file name,visibility,x-coordinate,y-coordinate,status\n0.jpg,1,,,0\n1.jpg,3,,,0\n",
    )
    problems = DataProblems()
    got = read_tennis_csv(path, ["0.jpg", "1.jpg"], problems=problems)
    assert problems.counts == {"malformed_row": 1}
    assert got.frame.tolist() == [1] and got.visibility.tolist() == [3]  # occluded: no x/y needed


def test_nan_coordinates_are_fine_without_a_visible_ball(tmp_path):
    path = _write(tmp_path / "n_ball.csv", "Frame,Visibility,X,Y\n0,0,nan,nan\n1,3,NaN,NaN\n")
    problems = DataProblems()
    got = read_ball_csv(path, problems=problems)
    assert not problems.counts
    assert got.visibility.tolist() == [0, 3] and got.x.tolist() == [0.0, 0.0]
    with pytest.raises(DataError, match="non-finite"):
        read_ball_csv(path, problems=DataProblems(strict=True), visible_codes=(1, 2, 3))


def test_tennis_rows_naming_absent_images(tmp_path):
    path = _write(
        tmp_path / "Label.csv",
        "file name,visibility,x-coordinate,y-coordinate,status\n"
        "0000.jpg,1,1,1,0\n0009.jpg,1,2,2,0\n0001,1,3,3,0\n",
    )
    problems = DataProblems()
    got = read_tennis_csv(path, ["0000.jpg", "0001.jpg"], problems=problems)
    assert got.frame.tolist() == [0, 1] and got.x.tolist() == [1.0, 3.0]  # matched by stem too
    assert problems.counts == {"missing_image": 1, "frame_count_mismatch": 1}  # 3 rows, 2 images


def test_one_summary_warning(tmp_path, caplog):
    path = _write(tmp_path / "e_ball.csv", "Frame,Visibility,X,Y\n0,1,2,3\n1,q,2,3\n2,1,nan,3\n")
    with caplog.at_level(logging.WARNING, logger="tracknet"):
        read_ball_csv(path)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "1 malformed_row" in warnings[0].getMessage() and "1 nan" in warnings[0].getMessage()
    assert "e_ball.csv:3" in warnings[0].getMessage()


def test_read_any_labels_detects_the_layout(tmp_path):
    ball = tmp_path / "v_ball.csv"
    write_ball_csv(ball, _labels())
    assert read_any_labels(ball).frame.tolist() == [0, 1, 2, 3]
    tennis = tmp_path / "Label.csv"
    write_tennis_csv(tennis, _labels(), ["10.jpg", "2.jpg", "1.jpg", "30.jpg"])
    got = read_any_labels(tennis)  # frames follow the natural order of the file names
    assert got.frame.tolist() == [0, 1, 2, 3]
    assert got.x.tolist() == [20.25, 0.0, 10.5, 30.0]


def test_empty_or_missing_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_ball_csv(tmp_path / "nope_ball.csv")
    with pytest.raises(DataError, match="empty"):
        read_ball_csv(_write(tmp_path / "empty_ball.csv", "\n"))


def test_natural_key():
    assert sorted(["10.jpg", "2.jpg", "1.jpg"], key=natural_key) == ["1.jpg", "2.jpg", "10.jpg"]
