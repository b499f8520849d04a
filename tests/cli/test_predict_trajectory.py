"""``tracknet predict`` with the trajectory stage: --events, --fill, --details, --court, the
overlay's event marks, and the bad input the stage refuses (crossing corners, one frame).

The :class:`~tests.infer.conftest.BrightSpotModel` stub "detects" a bright square, here on
320x180 frames with a full-resolution heatmap, so the detections follow a known flight.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.cli.helpers import BOUNCE, GAP, SIZE, STUB, bouncing
from tests.infer.conftest import read_rows, write_spot_video
from tracknet.cli import main
from tracknet.io.events import read_events_csv
from tracknet.io.labels import read_ball_csv
from tracknet.io.video.reader import VideoReader

# corners of a court (order around it) on the frame; and a bow tie made of the same points
COURT = "20,170,300,170,260,60,60,60"
CROSSED = "20,170,260,60,300,170,60,60"


@pytest.fixture
def bounce_video(tmp_path):
    return write_spot_video(tmp_path / "rally.mp4", bouncing(), size=SIZE, fps=30)


def _predict(video, run, out, *args) -> int:
    overrides = [a for a in map(str, args) if "=" in a and not a.startswith("-")]
    options = [a for a in map(str, args) if a not in overrides]
    cmd = ["predict", str(video), *STUB, *overrides, "--checkpoint", str(run), "--out", str(out)]
    return main([*cmd, *options, "--no-progress"])


def test_events_fill_details_and_court(tmp_path, tiny_run, stub_model, bounce_video, capsys):
    out = tmp_path / "out"
    rc = _predict(bounce_video, tiny_run, out, "--events", "--fill", "--details", "--court", COURT)
    assert rc == 0
    printed = capsys.readouterr().out
    assert "rally_events.csv" in printed and "rally_court.csv" in printed  # named on stdout
    assert "bounce" in printed and "filled" in printed

    events = read_events_csv(out / "rally_events.csv")
    assert read_rows(out / "rally_events.csv")[0] == ["Frame", "Event", "X", "Y", "Score"]
    bounces = [e for e in events if e.kind == "bounce"]
    assert len(bounces) == 1 and abs(bounces[0].frame - BOUNCE) <= 1
    assert 0.5 <= bounces[0].score < 1

    header, rows = read_rows(out / "rally_ball.csv")
    assert header == ["Frame", "Visibility", "X", "Y", "Filled"]
    assert [r[1] for r in rows] == ["1"] * 40  # the gap is filled ...
    assert [int(r[0]) for r in rows if r[4] == "1"] == list(GAP)  # ... and flagged
    for f in GAP:
        assert float(rows[f][2]) == pytest.approx(20 + 6 * f, abs=1.5)
    assert len(read_ball_csv(out / "rally_ball.csv")) == 40  # tracknet's reader takes it

    header, details = read_rows(out / "rally_details.csv")
    source = [r[header.index("Source")] for r in details]
    assert {source[f] for f in GAP} == {"fitted"} and source[0] == "detected"
    assert {r[header.index("Segment")] for r in details} == {"0", "1"}

    header, court = read_rows(out / "rally_court.csv")
    assert header[:6] == ["Frame", "X", "Y", "CourtX", "CourtY", "In"]
    assert len(court) == 1 and abs(int(court[0][0]) - BOUNCE) <= 1 and court[0][5] == "1"


def test_without_fill_visibility_means_seen(tmp_path, tiny_run, stub_model, bounce_video):
    assert _predict(bounce_video, tiny_run, tmp_path) == 0
    header, rows = read_rows(tmp_path / "rally_ball.csv")
    assert header == ["Frame", "Visibility", "X", "Y"]
    assert [int(r[0]) for r in rows if r[1] == "0"] == list(GAP)
    assert not (tmp_path / "rally_events.csv").exists()


def test_enabled_stage_writes_an_outlier_as_no_ball(tmp_path, tiny_run, stub_model):
    positions = bouncing()
    positions[30] = (positions[30][0], positions[30][1] + 40)  # a jump off the flight
    video = write_spot_video(tmp_path / "jump.mp4", positions, size=SIZE, fps=30)
    assert _predict(video, tiny_run, tmp_path / "off") == 0
    assert read_rows(tmp_path / "off" / "jump_ball.csv")[1][30][1] == "1"  # opt-in: kept
    on = tmp_path / "on"
    assert _predict(video, tiny_run, on, "predict.trajectory.enabled=true", "--details") == 0
    _, rows = read_rows(on / "jump_ball.csv")
    assert rows[30][1] == "0" and [r[1] for r in rows].count("0") == len(GAP) + 1
    header, details = read_rows(on / "jump_details.csv")
    assert details[30][header.index("Outlier")] == "1"
    assert details[30][header.index("RawVisibility")] == "1"  # the model did see something


def _frame(video, index: int) -> np.ndarray:
    with VideoReader(video) as reader:
        for i, frame in reader:
            if i == index:
                return frame.astype(int)
    raise AssertionError(index)


def test_the_overlay_marks_the_bounce(tmp_path, tiny_run, stub_model, bounce_video):
    assert _predict(bounce_video, tiny_run, tmp_path / "plain", "--overlay") == 0
    assert _predict(bounce_video, tiny_run, tmp_path / "ev", "--overlay", "--events") == 0
    (bounce,) = [e for e in read_events_csv(tmp_path / "ev" / "rally_events.csv")]
    after = bounce.frame + 2  # the ripple is still there two frames later
    plain = _frame(tmp_path / "plain" / "rally_overlay.mp4", after)
    marked = _frame(tmp_path / "ev" / "rally_overlay.mp4", after)
    x, y = int(round(bounce.x)), int(round(bounce.y))
    near = np.abs(marked - plain)[max(y - 20, 0) : y + 20, max(x - 20, 0) : x + 20].sum(axis=2)
    assert (near > 60).sum() > 20  # green ripple pixels around the bounce
    far = np.abs(marked - plain)[:, :40].sum(axis=2)
    assert (far > 60).sum() == 0  # nothing elsewhere


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--court", CROSSED), "cross"),
        (("--court", "1,2,3"), "8 numbers"),
        (("--court", COURT, "--court-size", "squash"), "court size"),
        (("--court-size", "tennis"), "--court-size needs --court"),
    ],
)
def test_bad_court_is_a_clear_error(tmp_path, tiny_run, stub_model, bounce_video, capsys, args,
                                    message):  # fmt: skip
    assert _predict(bounce_video, tiny_run, tmp_path, *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "rally_ball.csv").exists()


def test_a_one_frame_video_with_events_is_a_clear_error(tmp_path, tiny_run, stub_model, capsys):
    video = write_spot_video(tmp_path / "one.mp4", [(100, 90)], size=SIZE)
    assert _predict(video, tiny_run, tmp_path / "out", "--events") == 2
    assert "at least 2 frames" in capsys.readouterr().err
    assert _predict(video, tiny_run, tmp_path / "out") == 0  # without --events: fine
