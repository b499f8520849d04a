"""Frame outcomes, scores and pooling of tracknet.eval.metrics, on hand-made cases."""

import json
import math

import numpy as np
import pytest

from tracknet.data.codec import HeatmapCodec
from tracknet.eval.metrics import (
    Outcome,
    classify_frames,
    evaluate_clips,
    format_table,
    scores_from_counts,
    slow_frames,
    summarize,
)

FRAME = (1280, 720)
GRID = (512, 288)  # 1280 / 512 = 2.5 px of frame per input pixel


def _arrays(rows):
    """rows of (pred_visible, px, py, gt_visible, gx, gy) -> the four arrays."""
    a = np.array(rows, dtype=np.float64)
    return a[:, 0], a[:, 1:3], a[:, 3], a[:, 4:6]


def test_every_outcome_and_the_scores():
    pv, pxy, gv, gxy = _arrays(
        [
            (1, 100, 100, 1, 102, 100),  # TP, 2 px
            (1, 200, 200, 1, 200, 203),  # TP, 3 px
            (1, 300, 300, 1, 350, 300),  # FP1
            (1, 10, 10, 0, 0, 0),  # FP2
            (0, 0, 0, 1, 40, 40),  # FN
            (0, 0, 0, 0, 0, 0),  # TN
            (0, 0, 0, 0, 0, 0),  # TN
        ]
    )
    outcomes = classify_frames(pv, pxy, gv, gxy, tolerance_px=4.0)
    expected = [
        Outcome.TP,
        Outcome.TP,
        Outcome.FP1,
        Outcome.FP2,
        Outcome.FN,
        Outcome.TN,
        Outcome.TN,
    ]
    assert outcomes.tolist() == [int(o) for o in expected]

    s = summarize(outcomes, pxy, gxy)
    assert (s["tp"], s["tn"], s["fp1"], s["fp2"], s["fn"], s["frames"]) == (2, 2, 1, 1, 1, 7)
    assert s["accuracy"] == pytest.approx(4 / 7)
    assert s["precision"] == pytest.approx(2 / 4)
    assert s["recall"] == pytest.approx(2 / 3)
    p, r = 0.5, 2 / 3
    assert s["f1"] == pytest.approx(2 * p * r / (p + r))
    # RMSE over the two TP pairs only (2 px and 3 px), not the 50 px FP1
    assert s["rmse"] == pytest.approx(math.sqrt((4 + 9) / 2))
    assert all(isinstance(s[k], int) for k in ("tp", "tn", "fp1", "fp2", "fn", "frames"))
    assert all(isinstance(s[k], float) for k in ("accuracy", "precision", "recall", "f1", "rmse"))
    json.dumps(s)


def test_exactly_tolerance_is_tp_in_input_space_and_fp1_in_original():
    # 10 frame px horizontally = exactly 4 input px at 512/1280
    pv, pxy, gv, gxy = _arrays([(1, 640, 360, 1, 650, 360), (1, 0, 0, 1, 0, 4)])
    inp = classify_frames(pv, pxy, gv, gxy, 4.0, "input", frame_size=FRAME, input_size=GRID)
    orig = classify_frames(pv, pxy, gv, gxy, 4.0, "original")
    assert inp.tolist() == [Outcome.TP, Outcome.TP]
    # 10 px in the frame is far; exactly 4 px is not < 4
    assert orig.tolist() == [Outcome.FP1, Outcome.FP1]


def test_input_space_scales_each_axis_and_accepts_per_frame_sizes():
    # 7 frame px vertically = 7 * 288 / 720 = 2.8 input px -> TP; 11 px -> 4.4 -> FP1
    pv, pxy, gv, gxy = _arrays([(1, 0, 100, 1, 0, 107), (1, 0, 100, 1, 0, 111)])
    out = classify_frames(pv, pxy, gv, gxy, 4.0, "input", frame_size=FRAME, input_size=GRID)
    assert out.tolist() == [Outcome.TP, Outcome.FP1]
    # second frame is twice as large: 11 px there is 2.2 input px
    sizes = np.array([FRAME, (2560, 1440)])
    out = classify_frames(pv, pxy, gv, gxy, 4.0, "input", frame_size=sizes, input_size=GRID)
    assert out.tolist() == [Outcome.TP, Outcome.TP]


def test_custom_to_input_map_is_used():
    calls = []

    def halve(xy, frame_size):
        calls.append(frame_size.shape)
        return xy / 2

    pv, pxy, gv, gxy = _arrays([(1, 0, 0, 1, 8, 0), (1, 0, 0, 1, 9, 0)])
    out = classify_frames(pv, pxy, gv, gxy, 4.0, "input", frame_size=FRAME, to_input=halve)
    assert out.tolist() == [Outcome.TP, Outcome.FP1]
    assert calls and calls[0] == (2, 2)


def test_the_codecs_map_as_to_input_stretch_as_the_default_and_letterbox_uniform():
    # A 4:3 frame in the 16:9 grid: stretch scales x by 512/960 and y by 288/720 = 0.4; letterbox
    # scales both by 0.4. 9 frame px along x: 4.8 input px stretched, 3.6 letterboxed.
    frame = (960, 720)
    pv, pxy, gv, gxy = _arrays([(1, 489, 360, 1, 480, 360), (1, 480, 369, 1, 480, 360)])
    default = classify_frames(pv, pxy, gv, gxy, 4.0, "input", frame_size=frame, input_size=GRID)
    assert default.tolist() == [Outcome.FP1, Outcome.TP]
    for resize, expected in (("stretch", default.tolist()), ("letterbox", [Outcome.TP] * 2)):
        codec = HeatmapCodec(GRID, (256, 144), resize=resize)
        out = classify_frames(
            pv, pxy, gv, gxy, 4.0, "input", frame_size=frame, to_input=codec.frame_to_input
        )
        assert out.tolist() == expected, resize


def test_fp1_does_not_reduce_recall():
    pv, pxy, gv, gxy = _arrays([(1, 0, 0, 1, 1, 0), (0, 0, 0, 1, 5, 5)])
    base = summarize(classify_frames(pv, pxy, gv, gxy), pxy, gxy)
    pv2, pxy2, gv2, gxy2 = _arrays(
        [(1, 0, 0, 1, 1, 0), (0, 0, 0, 1, 5, 5), (1, 0, 0, 1, 99, 99), (1, 0, 0, 1, 50, 0)]
    )
    more = summarize(classify_frames(pv2, pxy2, gv2, gxy2), pxy2, gxy2)
    assert more["fp1"] == 2
    assert more["recall"] == base["recall"] == pytest.approx(0.5)
    assert more["precision"] < base["precision"]


def test_invisible_coordinates_are_ignored_but_visible_nan_is_an_error():
    pv = np.array([0, 1])
    gv = np.array([0, 1])
    pxy = np.array([[np.nan, np.nan], [5.0, 5.0]])
    gxy = np.array([[123.0, 4.0], [5.0, 6.0]])
    assert classify_frames(pv, pxy, gv, gxy).tolist() == [Outcome.TN, Outcome.TP]
    with pytest.raises(ValueError, match="pred frames are visible"):
        classify_frames(np.array([1, 1]), pxy, gv, gxy)


def test_zero_division_cases():
    empty = scores_from_counts(0, 0, 0, 0, 0)
    assert empty["accuracy"] == empty["precision"] == empty["recall"] == empty["f1"] == 0.0
    assert empty["rmse"] is None
    only_misses = scores_from_counts(tp=0, tn=3, fp1=0, fp2=0, fn=2)
    assert only_misses["precision"] == 0.0 and only_misses["recall"] == 0.0
    assert only_misses["f1"] == 0.0 and only_misses["accuracy"] == pytest.approx(0.6)
    perfect_silence = scores_from_counts(tp=0, tn=5, fp1=0, fp2=0, fn=0)
    assert perfect_silence["accuracy"] == 1.0 and perfect_silence["f1"] == 0.0
    json.dumps(empty)


def test_bad_arguments_raise():
    pv, pxy, gv, gxy = _arrays([(1, 0, 0, 1, 0, 0)])
    with pytest.raises(ValueError, match="tolerance_space"):
        classify_frames(pv, pxy, gv, gxy, tolerance_space="heatmap")
    with pytest.raises(ValueError, match="frame_size"):
        classify_frames(pv, pxy, gv, gxy, tolerance_space="input", input_size=GRID)
    with pytest.raises(ValueError, match="input_size"):
        classify_frames(pv, pxy, gv, gxy, tolerance_space="input", frame_size=FRAME)
    with pytest.raises(ValueError, match="ground-truth frames"):
        classify_frames(pv, pxy, np.zeros(2), np.zeros((2, 2)))


def test_evaluate_clips_pools_counts_not_means():
    # clip a: 1 TP of 1 visible; clip b: 1 TP, 3 FN
    a = _arrays([(1, 0, 0, 1, 3, 0)])
    b = _arrays([(1, 0, 0, 1, 0, 1), (0, 0, 0, 1, 1, 1), (0, 0, 0, 1, 1, 1), (0, 0, 0, 1, 1, 1)])
    result = evaluate_clips({"a": (*a, FRAME), "b": (*b, None)}, tolerance_px=4.0)
    assert result.clips["a"].recall == 1.0
    assert result.clips["b"].recall == 0.25
    overall = result.overall
    assert (overall.tp, overall.fn, overall.frames) == (2, 3, 5)
    assert overall.recall == pytest.approx(2 / 5)  # pooled, not (1 + 0.25) / 2
    assert overall.rmse == pytest.approx(math.sqrt((9 + 1) / 2))
    assert result.settings.tolerance_space == "original"
    assert result.settings.comparison == "<"
    json.dumps(result.as_dict())


def test_evaluate_clips_input_space_uses_each_clips_frame_size():
    row = [(1, 0, 0, 1, 10, 0)]  # 10 px: 4 input px at 1280 wide, 8 at 640 wide
    result = evaluate_clips(
        {"hd": (*_arrays(row), (1280, 720)), "small": (*_arrays(row), (640, 360))},
        tolerance_space="input",
        input_size=GRID,
    )
    assert result.clips["hd"].tp == 1 and result.clips["small"].fp1 == 1
    assert result.as_dict()["settings"]["input_size"] == [512, 288]


def test_format_table_lists_clips_and_overall():
    a = _arrays([(1, 0, 0, 1, 3, 0), (0, 0, 0, 0, 0, 0)])
    b = _arrays([(0, 0, 0, 1, 3, 0)])
    text = format_table(evaluate_clips({"game8/Clip1": (*a, FRAME), "game9/Clip2": (*b, FRAME)}))
    lines = text.splitlines()
    assert lines[0].startswith("tolerance: d < 4 px (original")
    assert "prec%" in lines[1] and "RMSE" in lines[1]
    body = [ln for ln in lines if ln.startswith(("game", "overall"))]
    assert len(body) == 3 and body[-1].startswith("overall")
    assert len({len(ln) for ln in body}) == 1  # fixed width
    assert "100.00" in body[0] and "3.00" in body[0]
    assert body[1].rstrip().endswith("-")  # no TP: no RMSE
    assert "66.67" in body[2]  # overall accuracy 2/3


def test_still_or_slow_ball_recall():
    """``slow``: frames whose true ball moved < 2 px since the previous frame, and their recall."""
    a = _arrays(
        [
            (1, 100, 100, 1, 100, 100),  # first frame: never slow
            (1, 101, 100, 1, 101, 100),  # moved 1 px: slow, TP
            (0, 0, 0, 1, 102, 100),  # moved 1 px: slow, FN
            (1, 150, 100, 1, 150, 100),  # moved 48 px: not slow
            (0, 0, 0, 0, 0, 0),  # no ball
            (1, 150, 100, 1, 150, 100),  # previous frame had no ball: not slow
            (1, 140, 100, 1, 150.5, 100),  # moved 0.5 px: slow, FP1
        ]
    )
    assert slow_frames(a[2], a[3], 2.0).tolist() == [0, 1, 1, 0, 0, 0, 1]
    result = evaluate_clips({"c": (*a, FRAME), "d": (*_arrays([(0, 0, 0, 1, 5, 5)]), FRAME)})
    slow = result.as_dict()["slow"]
    assert slow["max_motion_px"] == 2.0
    assert slow["clips"]["c"] == {"frames": 3, "tp": 1, "fp1": 1, "fn": 1, "recall": 0.5}
    assert slow["clips"]["d"]["frames"] == 0 and slow["clips"]["d"]["recall"] == 0.0
    assert slow["overall"] == slow["clips"]["c"]
    assert format_table(result).splitlines()[-1] == (
        "still or slow ball (moved < 2 px since the previous frame): 3 frames, recall 50.00% "
        "(TP 1, FP1 1, FN 1)"
    )
