"""Label files as users have them (``data.labels``): other tools' headers, normalised
coordinates, their visibility codes, extra columns and rows for only some frames read to the same
labels; contradictions name file, row and column; ``tracknet eval --gt`` reads them the same way."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from tracknet.cli import main
from tracknet.config import ConfigError, LabelsConfig, load_config
from tracknet.data.formats import is_visible
from tracknet.errors import DataError
from tracknet.io.data_problems import DataProblems
from tracknet.io.labels import (
    TrackLabels,
    read_any_labels,
    read_ball_csv,
    read_tennis_csv,
    write_ball_csv,
)

W, H = 1280, 720
# frame: (visible, x, y) in pixels; fractions of 1280 x 720 that are exact in binary
TRUTH = [(1, 640.0, 360.0), (0, 0.0, 0.0), (1, 320.0, 180.0), (1, 960.0, 540.0), (0, 0.0, 0.0)]
NORM = [(v, x / W, y / H) for v, x, y in TRUTH]


def _write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _meaning(labels: TrackLabels, visible_codes=(1, 2)) -> list[tuple]:
    """What labels say, whatever the file's codes: (frame, visible, x, y) per labelled frame."""
    visible = is_visible(labels.visibility, visible_codes)
    return [
        (int(f), bool(v), float(x) if v else 0.0, float(y) if v else 0.0)
        for f, v, x, y in zip(labels.frame, visible, labels.x, labels.y, strict=True)
    ]


EXPECTED = [(f, bool(v), x, y) for f, (v, x, y) in enumerate(TRUTH)]


def _rows(fmt, values) -> str:
    return "".join(fmt(i, *row) + "\n" for i, row in enumerate(values))


def _tracknet_v3(tmp_path):
    """alenzenx/TrackNetV3 raw_data: ``Frame,Ball,x,y``, normalised, -1 where there is no ball."""
    body = _rows(
        lambda i, v, x, y: f"{i},{v},{x:.3f},{y:.3f}" if v else f"{i},0,-1.000,-1.000", NORM
    )
    return _write(tmp_path / "00001.csv", "Frame,Ball,x,y\n" + body)


def _badminton(tmp_path):
    """TrackNet-Badminton: ``Frame,Visibility,X,Y,Fast`` in pixels with an extra column."""
    body = _rows(lambda i, v, x, y: f"{i},{v},{x:.1f},{y:.1f},0", TRUTH)
    return _write(tmp_path / "1_02_01_ball.csv", "Frame,Visibility,X,Y,Fast\n" + body)


def _subocz(tmp_path):
    """mareksubocz/TrackNet: ``frame_num,x,y,visible``, normalised, code 0 = visible, and rows
    only for the frames with a ball."""
    body = "".join(f"{i},{x!r},{y!r},0\n" for i, (v, x, y) in enumerate(NORM) if v)
    return _write(tmp_path / "VolleyballShortClip.csv", "frame_num,x,y,visible\n" + body)


def test_files_of_each_kind_read_to_the_same_labels(tmp_path):
    usual = tmp_path / "usual_ball.csv"
    write_ball_csv(usual, TrackLabels(np.arange(5), *map(np.array, zip(*TRUTH, strict=True))))
    auto = LabelsConfig()
    got = {
        "usual": read_ball_csv(usual, 5, (W, H), labels=auto),
        "tracknet_v3": read_ball_csv(_tracknet_v3(tmp_path), 5, (W, H), labels=auto),
        "badminton": read_ball_csv(_badminton(tmp_path), 5, (W, H), labels=auto),
    }
    for name, labels in got.items():
        assert _meaning(labels) == EXPECTED, name
    subocz = read_ball_csv(
        _subocz(tmp_path),
        5,
        (W, H),
        visible_codes=(0,),  # its codes: 0 visible, 1 occluded, 2 motion, 3 out of play
        labels=LabelsConfig(missing="no_ball"),  # it lists only the frames with a ball
    )
    assert _meaning(subocz, (0,)) == EXPECTED
    assert subocz.visibility.tolist() == [0, 1, 0, 0, 1]  # 1: the first code that is not visible


def test_explicit_mapping_and_a_file_without_visibility_column(tmp_path):
    body = _rows(lambda i, v, x, y: f"{i},{x:.4f},{y:.4f},note" if v else f"{i},,,note", NORM)
    path = _write(tmp_path / "a.csv", "t,px,py,comment\n" + body)
    mapping = LabelsConfig(frame="t", x="PX", y="py", coords="normalized")  # case ignored
    assert _meaning(read_ball_csv(path, 5, (W, H), labels=mapping)) == EXPECTED
    negative = _rows(lambda i, v, x, y: f"{i},{x},{y}" if v else f"{i},-1,-1", TRUTH)
    path = _write(tmp_path / "b.csv", "frame,x,y\n" + negative)
    assert _meaning(read_ball_csv(path, 5, (W, H), labels=LabelsConfig())) == EXPECTED
    ignored = _write(
        tmp_path / "c.csv",
        "Frame,Visibility,X,Y\n" + _rows(lambda i, v, x, y: f"{i},{v},{x},{y}", TRUTH),
    )
    none = LabelsConfig(visibility="none")  # the column is there but not used
    assert _meaning(read_ball_csv(ignored, 5, (W, H), labels=none)) == EXPECTED


def test_tennis_label_csv_with_normalised_coordinates(tmp_path):
    names = [f"{i:04d}.jpg" for i in range(5)]
    body = "".join(
        f"{n},{v},{x},{y},0\n" if v else f"{n},0,,,0\n"
        for n, (v, x, y) in zip(names, NORM, strict=True)
    )
    path = _write(
        tmp_path / "Label.csv", "file name,visibility,x-coordinate,y-coordinate,status\n" + body
    )
    got = read_tennis_csv(path, names, (W, H), labels=LabelsConfig())
    assert _meaning(got) == EXPECTED
    assert (
        _meaning(read_tennis_csv(path, names, (W, H), labels=LabelsConfig(coords="normalized")))
        == EXPECTED
    )


def test_pixels_stay_pixels_and_without_labels_nothing_is_detected(tmp_path):
    path = _tracknet_v3(tmp_path)
    pixels = read_ball_csv(path, 5, (W, H), labels=LabelsConfig(coords="pixels"))
    assert pixels.x.tolist()[0] == 0.5  # read as written
    legacy = read_ball_csv(path, 5, (W, H))  # labels=None: the original rules
    assert legacy.x.tolist()[0] == 0.5
    # integer coordinates within [0, 1] are pixels, not fractions
    tiny = _write(tmp_path / "tiny.csv", "Frame,Visibility,X,Y\n0,1,1,0\n1,1,0,1\n")
    assert read_ball_csv(tiny, 2, (4, 4), labels=LabelsConfig()).x.tolist() == [1.0, 0.0]


# --------------------------------------------------------------------------- frames without a row
def test_frames_without_a_row_are_unlabelled_unless_declared_no_ball(tmp_path):
    path = _subocz(tmp_path)
    problems = DataProblems()
    unlabelled = read_ball_csv(path, 5, (W, H), problems, (0,), LabelsConfig())
    assert unlabelled.frame.tolist() == [0, 2, 3]  # not trained on, not scored
    assert problems.counts == {"frame_count_mismatch": 1, "missing_frame": 2}
    problems = DataProblems(strict=True)
    no_ball = read_ball_csv(path, 5, (W, H), problems, (0,), LabelsConfig(missing="no_ball"))
    assert no_ball.frame.tolist() == [0, 1, 2, 3, 4] and not problems.counts
    # without a frame count (tracknet eval --gt): the gaps up to the last row are filled
    gaps = read_any_labels(
        path, visible_codes=(0,), labels=LabelsConfig(missing="no_ball"), coords_size=(W, H)
    )
    assert gaps.frame.tolist() == [0, 1, 2, 3]
    assert is_visible(gaps.visibility, (0,)).tolist() == [True, False, True, True]


# --------------------------------------------------------------------------- contradictions
def _assert_names(exc: pytest.ExceptionInfo, path, line: int, column: str) -> None:
    message = str(exc.value)
    assert f"{path}:{line}" in message and repr(column) in message, message


def test_a_value_above_1_in_a_normalised_file_names_file_row_and_column(tmp_path):
    lines = ["Frame,Ball,x,y", "0,1,0.5,0.5", "1,1,0.25,1.25", "2,0,-1,-1"]
    path = _write(tmp_path / "n.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as exc:
        read_ball_csv(path, 3, (W, H), labels=LabelsConfig(coords="normalized"))
    _assert_names(exc, path, 3, "y")
    assert "above 1" in str(exc.value) or "outside [0, 1]" in str(exc.value)
    lines += [f"{i},1,0.{i}5,0.5" for i in range(3, 9)]  # mostly fractions: detected, refused
    _write(path, "\n".join(lines) + "\n")
    with pytest.raises(DataError) as exc:
        read_ball_csv(path, 9, (W, H), labels=LabelsConfig())
    _assert_names(exc, path, 3, "y")
    assert "data.labels.coords=pixels" in str(exc.value)


def test_a_mapping_to_a_missing_column_names_file_header_row_and_column(tmp_path):
    path = _write(tmp_path / "m.csv", "\n\nFrame,Ball,x,y\n0,1,0.5,0.5\n")
    with pytest.raises(DataError) as exc:
        read_ball_csv(path, labels=LabelsConfig(visibility="visible"), coords_size=(W, H))
    _assert_names(exc, path, 3, "visible")
    assert "data.labels.visibility" in str(exc.value) and "'Ball'" in str(exc.value)


@pytest.mark.parametrize(
    ("row", "column"),
    [("2,1,abc,0.5", "x"), ("2,yes,0.5,0.5", "Ball"), ("2.5,1,0.5,0.5", "Frame")],
)
def test_a_non_numeric_value_names_file_row_and_column(tmp_path, row, column):
    path = _write(tmp_path / "v.csv", f"Frame,Ball,x,y\n0,1,0.5,0.5\n1,0,-1,-1\n{row}\n")
    with pytest.raises(DataError) as exc:
        read_ball_csv(path, 3, (W, H), DataProblems(strict=True), labels=LabelsConfig())
    _assert_names(exc, path, 4, column)
    problems = DataProblems()  # lenient: the row is skipped, its frame unlabelled
    got = read_ball_csv(path, 3, (W, H), problems, labels=LabelsConfig())
    assert got.frame.tolist() == [0, 1] and problems.counts["malformed_row"] == 1


def test_normalised_coordinates_need_the_frame_size(tmp_path):
    path = _tracknet_v3(tmp_path)
    with pytest.raises(DataError, match="frame size is unknown"):
        read_any_labels(path, labels=LabelsConfig())
    got = read_any_labels(path, labels=LabelsConfig(), coords_size=(W, H))
    assert _meaning(got) == EXPECTED


def test_detection_is_logged_once_per_collector(tmp_path, caplog):
    problems = DataProblems()
    with caplog.at_level(logging.INFO, logger="tracknet"):
        for i in range(3):
            path = _tracknet_v3(tmp_path / str(i))
            read_ball_csv(path, 5, (W, H), problems, labels=LabelsConfig())
    notes = [r.getMessage() for r in caplog.records]
    assert sum("fractions of the frame size" in n for n in notes) == 1
    assert sum("matched by meaning" in n for n in notes) == 1  # 'Ball' -> visibility


def test_config_keys_are_checked():
    cfg = load_config(overrides=["data.labels.coords=normalized", "data.labels.frame=frame_num"])
    assert (cfg.data.labels.coords, cfg.data.labels.frame) == ("normalized", "frame_num")
    with pytest.raises(ConfigError, match="data.labels.coords"):
        load_config(overrides=["data.labels.coords=percent"])
    with pytest.raises(ConfigError, match="data.labels.missing"):
        load_config(overrides=["data.labels.missing=maybe"])


# --------------------------------------------------------------------------- tracknet eval --gt
def _eval(tmp_path, *args) -> dict:
    out = tmp_path / "metrics.json"
    assert main(["eval", *map(str, args), "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_eval_scores_a_normalised_ground_truth_like_its_pixels(tmp_path):
    pred = tmp_path / "pred_ball.csv"
    # TP, TN, FP1 (10 px off), FN, FP2
    guesses = [(1, 642.0, 360.0), (0, 0.0, 0.0), (1, 330.0, 180.0), (0, 0.0, 0.0), (1, 5.0, 5.0)]
    write_ball_csv(pred, TrackLabels(np.arange(5), *map(np.array, zip(*guesses, strict=True))))
    pixels = tmp_path / "gt_pixels.csv"
    write_ball_csv(pixels, TrackLabels(np.arange(5), *map(np.array, zip(*TRUTH, strict=True))))
    want = _eval(tmp_path, "--pred", pred, "--gt", pixels)
    assert (want["tp"], want["tn"], want["fp1"], want["fn"], want["fp2"]) == (1, 1, 1, 1, 1)
    normalised = _tracknet_v3(tmp_path / "gt")
    keys = ("tp", "tn", "fp1", "fp2", "fn", "f1", "rmse")
    auto = _eval(tmp_path, "--pred", pred, "--gt", normalised, "--frame-size", f"{W}x{H}")
    assert {k: auto[k] for k in keys} == {k: want[k] for k in keys}
    overrides = ["data.labels.coords=normalized", "data.labels.visibility=Ball"]
    told = _eval(
        tmp_path, "--pred", pred, "--gt", normalised, "--frame-size", f"{W}x{H}", *overrides
    )
    assert {k: told[k] for k in keys} == {k: want[k] for k in keys}
    subocz = _subocz(tmp_path / "gt")
    codes = ["data.visible_codes=[0]", "data.labels.missing=no_ball"]
    sparse = _eval(tmp_path, "--pred", pred, "--gt", subocz, "--frame-size", f"{W}x{H}", *codes)
    assert (sparse["tp"], sparse["tn"], sparse["fp1"], sparse["fn"]) == (1, 1, 1, 1)
    assert sparse["frames"] == 4  # up to its last row


def test_eval_refuses_what_it_cannot_read(tmp_path, capsys):
    pred = tmp_path / "pred_ball.csv"
    write_ball_csv(pred, TrackLabels(np.arange(5), *map(np.array, zip(*TRUTH, strict=True))))
    normalised = _tracknet_v3(tmp_path / "gt")
    assert main(["eval", "--pred", str(pred), "--gt", str(normalised)]) == 2
    assert "frame size is unknown" in capsys.readouterr().err
    args = ["eval", "--pred", str(pred), "--gt", str(normalised), "data.root=/data"]
    assert main(args) == 2
    assert "need --checkpoint" in capsys.readouterr().err
