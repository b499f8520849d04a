"""The trajectory stage wired into a track: TrackBuilder, the Filled ball CSV, the details
columns, a ball CSV of any tool, the overlay's event marks and the court report."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.infer.conftest import read_rows
from tracknet.config import ConfigError, PredictConfig, TrajectoryConfig
from tracknet.errors import DataError
from tracknet.io.events import Event
from tracknet.io.labels import TrackLabels, read_ball_csv, write_ball_csv
from tracknet.predict.court_report import (
    COURT_CSV_HEADER,
    court_rows,
    court_summary,
    write_court_csv,
)
from tracknet.predict.details import DETAILS_HEADER, TRAJECTORY_COLUMNS, write_details_csv
from tracknet.predict.outputs import check_event_track, write_track_csv
from tracknet.predict.overlay import (
    BOUNCE_RGB,
    EVENT_FRAMES,
    FILLED_RGB,
    HIT_RGB,
    _ring_radius,
    draw_overlay,
    events_at,
)
from tracknet.track.builder import FramePrediction, TrackBuilder
from tracknet.track.court import COURT_SIZES, Court
from tracknet.track.trajectory_stage import trajectory_of_csv, trajectory_params

GRAVITY = 1.2


def _flight(n=60, bounce=30) -> np.ndarray:
    """A ball falling to a bounce at frame ``bounce`` and rising again (720p pixels)."""
    xy = np.zeros((n, 2))
    for f in range(n):
        t = f if f <= bounce else f - bounce
        if f <= bounce:
            xy[f] = (100 + 8 * t, 200 + 2 * t + 0.5 * GRAVITY * t**2)
        else:
            top = xy[bounce]
            xy[f] = (top[0] + 8 * t, top[1] - 25 * t + 0.5 * GRAVITY * t**2)
    return xy


def _builder(xy, seen, **trajectory) -> TrackBuilder:
    cfg = PredictConfig()
    cfg.trajectory = dataclasses.replace(cfg.trajectory, **trajectory)
    builder = TrackBuilder(cfg)
    for i, ((x, y), ok) in enumerate(zip(xy, seen, strict=True)):
        cands = np.array([[x, y]]) if ok else np.zeros((0, 2))
        score = np.ones(len(cands))
        builder.add(FramePrediction(i, True, bool(ok), x, y, 0.9, cands, score))
    return builder


def _scene():
    """The flight with frames 10-12 missed and an outlier 40 px off at frame 40."""
    xy = _flight()
    seen = np.ones(len(xy), bool)
    seen[10:13] = False
    xy = xy.copy()
    xy[40] += (0, 40)
    return xy, seen


def test_enabled_stage_drops_the_outlier_and_fills_only_when_asked():
    xy, seen = _scene()
    assert not PredictConfig().trajectory.enabled  # opt-in (docs/results.md: F1 either way)
    assert _builder(xy, seen).finish().trajectory is None
    track = _builder(xy, seen, enabled=True).finish(fps=30, frame_height=720)
    assert track.trajectory is not None
    assert not track.visible[40] and track.trajectory.outlier[40]  # rejected: written as no ball
    assert not track.visible[10:13].any() and not track.filled.any()  # no fill by default
    assert track.visible[[0, 20, 50]].all()

    filled = _builder(xy, seen, fill="fit").finish(fps=30, frame_height=720)  # a fill applies it
    assert filled.visible[10:13].all() and filled.filled[10:13].all()
    assert filled.filled.sum() == 4  # the three missed frames and the outlier's
    assert np.allclose(filled.xy[11], _flight()[11], atol=2)


def test_disabled_stage_keeps_the_track_and_still_gives_events():
    xy, seen = _scene()
    plain = _builder(xy, seen, enabled=False).finish()
    assert plain.trajectory is None and plain.visible[40]
    with_events = _builder(xy, seen, enabled=False).finish(fps=30, events=True)
    assert with_events.visible[40] and np.array_equal(with_events.visible, plain.visible)
    kinds = {e.kind for e in with_events.trajectory.events}
    assert "bounce" in kinds
    assert any(abs(e.frame - 30) <= 1 and e.kind == "bounce" for e in with_events.trajectory.events)


def test_without_the_tracker_positions_stay_raw():
    xy, seen = _scene()
    builder = _builder(xy, seen, enabled=True, fill="fit")
    builder.cfg = dataclasses.replace(builder.cfg, track=False)
    track = builder.finish()
    assert track.visible[40] and not track.visible[11] and track.trajectory is None


def test_settings_scale_and_bad_settings_name_the_key():
    params = trajectory_params(TrajectoryConfig(), frame_height=360, fps=60)
    assert params.outlier_px == pytest.approx(6.0) and params.max_gap == 16
    assert trajectory_params(TrajectoryConfig(), 0, float("nan")).outlier_px == 12.0
    with pytest.raises(ConfigError, match="predict.trajectory"):
        trajectory_params(TrajectoryConfig(window=1), 720, 30)


def test_filled_column_is_written_and_read_back_by_the_ball_csv_reader(tmp_path):
    xy, seen = _scene()
    track = _builder(xy, seen, fill="linear").finish(fps=30, frame_height=720)
    path = write_track_csv(tmp_path / "a_ball.csv", track, filled_column=True)
    header, rows = read_rows(path)
    assert header == ["Frame", "Visibility", "X", "Y", "Filled"]
    assert [r[4] for r in rows[10:13]] == ["1", "1", "1"] and rows[10][1] == "1"
    assert rows[0][4] == "0"
    labels = read_ball_csv(path)  # the extra column is accepted
    assert len(labels) == len(track) and labels.visibility[11] == 1
    plain = write_track_csv(tmp_path / "b_ball.csv", track)
    assert read_rows(plain)[0] == ["Frame", "Visibility", "X", "Y"]


def test_details_columns_say_where_each_position_came_from(tmp_path):
    xy, seen = _scene()
    track = _builder(xy, seen, fill="fit").finish(fps=30, frame_height=720)
    write_details_csv(tmp_path / "d.csv", track)
    header, rows = read_rows(tmp_path / "d.csv")
    assert header == [*DETAILS_HEADER, *TRAJECTORY_COLUMNS]
    col = {name: header.index(name) for name in header}
    assert rows[11][col["Source"]] == "fitted" and rows[0][col["Source"]] == "detected"
    assert rows[40][col["Outlier"]] == "1" and rows[40][col["Source"]] == "fitted"
    assert rows[5][col["Segment"]] == "0" and float(rows[5][col["SpeedPxS"]]) > 100

    plain = _builder(xy, seen, enabled=False).finish()
    write_details_csv(tmp_path / "p.csv", plain)
    assert read_rows(tmp_path / "p.csv")[0] == list(DETAILS_HEADER)


def test_a_ball_csv_of_any_tool(tmp_path):
    xy = _flight()
    n = len(xy)
    good = tmp_path / "tool_ball.csv"
    write_ball_csv(good, TrackLabels(np.arange(n), np.ones(n, int), xy[:, 0], xy[:, 1]))
    traj = trajectory_of_csv(good)
    assert any(e.kind == "bounce" and abs(e.frame - 30) <= 1 for e in traj.events)

    keep = np.r_[0:20, 25:n]
    gappy = tmp_path / "gappy_ball.csv"
    write_ball_csv(gappy, TrackLabels(keep, np.ones(len(keep), int), xy[keep, 0], xy[keep, 1]))
    with pytest.raises(DataError, match=r"5 frame\(s\) between 0 and 59 have no row \(20, 21"):
        trajectory_of_csv(gappy)
    one = tmp_path / "one_ball.csv"
    write_ball_csv(one, TrackLabels(np.array([0]), np.array([1]), xy[:1, 0], xy[:1, 1]))
    with pytest.raises(DataError, match="needs 2 or more"):
        trajectory_of_csv(one)


def test_a_one_frame_track_is_refused_for_events():
    with pytest.raises(Exception, match="at least 2 frames"):
        check_event_track(1, "clip.mp4")
    check_event_track(None, "live")  # unknown length: not refused up front
    check_event_track(2, "clip.mp4")


# --------------------------------------------------------------------------- the overlay
H, W = 180, 320


def test_events_are_marked_at_their_position_for_a_few_frames():
    frame = np.full((H, W, 3), 30, np.uint8)
    hit, bounce = Event(10, "hit", 80.0, 60.0), Event(12, "bounce", 220.0, 120.0)
    assert events_at([hit, bounce], 9) == []
    assert events_at([hit, bounce], 12) == [(hit, 2), (bounce, 0)]
    assert events_at([hit, bounce], 10 + EVENT_FRAMES) == [(bounce, EVENT_FRAMES - 2)]
    out = draw_overlay(frame, [], (False, 0.0, 0.0), events=[(hit, 0), (bounce, 0)])
    assert tuple(out[60, 80]) == HIT_RGB  # the cross's centre
    r = _ring_radius(H, W)
    assert tuple(out[120, int(round(220 + r))]) == BOUNCE_RGB  # the ripple's ring
    far = np.ones((H, W), bool)
    far[30:100, 45:115] = far[80:170, 180:260] = False
    assert not np.any(out[far] != 30)  # nothing drawn elsewhere
    older = draw_overlay(frame, [], (False, 0.0, 0.0), events=[(hit, EVENT_FRAMES - 1)])
    assert 30 < older[60, 80, 0] < HIT_RGB[0]  # fading
    nowhere = Event(10, "hit")  # no position: nothing to mark
    assert np.array_equal(draw_overlay(frame, [], (False, 0, 0), events=[(nowhere, 0)]), frame)


def test_a_filled_position_has_its_own_dashed_ring():
    frame = np.full((H, W, 3), 30, np.uint8)
    out = draw_overlay(frame, [], (True, 160.0, 90.0), filled=True)
    r = _ring_radius(H, W)
    assert tuple(out[90, int(round(160 + r))]) == FILLED_RGB
    ring = np.abs(np.hypot(*np.mgrid[0:H, 0:W][::-1] - np.array([160, 90])[:, None, None]) - r)
    on_ring = ring < 0.5
    assert 0.3 < np.mean(np.any(out[on_ring] != 30, axis=1)) < 0.95  # dashes: gaps in the ring


# --------------------------------------------------------------------------- the court report
def test_court_rows_give_ground_positions_and_speeds(tmp_path):
    w, length = COURT_SIZES["tennis-singles"]
    # a top-down view: 20 px per metre, the near end line at the bottom
    corners = np.array([[100, 600], [100 + 20 * w, 600], [100 + 20 * w, 600 - 20 * length],
                        [100, 600 - 20 * length]], float)  # fmt: skip
    court = Court.from_corners(corners, "tennis")
    events = [
        Event(10, "bounce", 100 + 20 * 4, 600 - 20 * 5),
        Event(20, "hit", 200, 300),
        Event(40, "bounce", 100 + 20 * 4, 600 - 20 * 20),
        Event(400, "bounce", 50, 700),  # three seconds later, outside the lines
    ]
    rows = court_rows(court, events, fps=30)
    assert [r[0] for r in rows] == [10, 40, 400]
    assert rows[0][3:6] == [pytest.approx(4.0), pytest.approx(5.0), 1]
    assert rows[0][6:] == [40, pytest.approx(15.0), pytest.approx(15 / 1.0 * 3.6), 1]
    assert rows[1][6:] == [None] * 4 and rows[2][5] == 0
    path = write_court_csv(tmp_path / "c_court.csv", rows)
    header, written = read_rows(path)
    assert header == list(COURT_CSV_HEADER) and written[1][6:] == ["", "", "", ""]
    text = court_summary(rows)
    assert "3 bounce(s)" in text and "2 inside" in text and "median 54 km/h" in text
