"""Court geometry: homography round trips, corner validation, bounce positions and km/h."""

from __future__ import annotations

import numpy as np
import pytest

from tracknet.errors import UserError
from tracknet.io.events import Event
from tracknet.track.court import (
    COURT_SIZES,
    Court,
    CourtError,
    bounce_positions,
    check_corners,
    court_size,
    ground_speeds,
    homography,
    parse_corners,
)

W, L = COURT_SIZES["tennis-singles"]


def _camera(width=1280, height=720):
    """A broadcast-like pinhole camera 6 m behind and 5 m above the near baseline's middle."""
    position = np.array([W / 2, -6.0, 5.0])
    forward = np.array([W / 2, 10.0, 0.0]) - position
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])

    def project(points):
        cam = (np.asarray(points, float) - position) @ rotation.T
        return np.stack(
            [width / 2 + 900 * cam[:, 0] / cam[:, 2], height / 2 + 900 * cam[:, 1] / cam[:, 2]], 1
        )

    return project


def _ground(points_xy):
    g = np.asarray(points_xy, float).reshape(-1, 2)
    return np.column_stack([g, np.zeros(len(g))])


PROJECT = _camera()
CORNERS = PROJECT(_ground([[0, 0], [W, 0], [W, L], [0, L]]))


def test_the_camera_sees_a_court_in_perspective():
    near, far = CORNERS[1, 0] - CORNERS[0, 0], CORNERS[2, 0] - CORNERS[3, 0]
    assert near > 2 * far > 0  # the far baseline looks much shorter
    assert CORNERS[0, 1] > CORNERS[3, 1]  # near below far in the image


def test_a_known_homography_round_trips():
    court = Court.from_corners(CORNERS, "tennis-singles")
    ground = np.array([[0.0, 0.0], [W, L], [1.3, 4.2], [6.0, 20.5], [W / 2, L / 2]])
    image = PROJECT(_ground(ground))
    np.testing.assert_allclose(court.to_ground(image), ground, atol=1e-6)
    np.testing.assert_allclose(court.to_image(ground), image, atol=1e-6)
    product = court.image_to_ground @ court.ground_to_image  # the identity, up to scale
    np.testing.assert_allclose(product / product[2, 2], np.eye(3), atol=1e-9)
    assert court.inside(ground).all()
    assert not court.inside([[-0.5, 3.0], [W / 2, L + 1.0]]).any()
    assert court.inside([[-0.5, 3.0]], margin_m=1.0).all()


def test_homography_least_squares_with_more_points():
    rng = np.random.default_rng(0)
    ground = rng.uniform([0, 0], [W, L], (12, 2))
    h = homography(PROJECT(_ground(ground)), ground)
    court = Court.from_corners(CORNERS)
    np.testing.assert_allclose(h, court.image_to_ground, rtol=1e-6, atol=1e-9)


def test_points_beyond_the_horizon_have_no_ground_position():
    court = Court.from_corners(CORNERS)
    sky = np.array([[640.0, -2000.0]])
    assert np.isnan(court.to_ground(sky)).all()


def test_crossing_corners_are_rejected_with_a_clear_message():
    bow_tie = CORNERS[[0, 1, 3, 2]]  # far corners swapped: the side lines cross
    with pytest.raises(CourtError, match="cross"):
        Court.from_corners(bow_tie)
    assert issubclass(CourtError, UserError) and issubclass(CourtError, ValueError)


@pytest.mark.parametrize(
    ("corners", "message"),
    [
        ([[0, 0], [100, 0], [30, 30], [0, 100]], "not convex"),
        ([[0, 0], [50, 0], [100, 0], [0, 100]], "three in a line"),
        ([[0, 0], [0, 0], [100, 100], [0, 100]], "repeat a point"),
        ([[0, 0], [5, 0], [5, 5], [0, 5]], "px"),
        ([[0, 0], [100, 0], [100, 100]], "4 finite corners"),
        ([[0, 0], [100, 0], [100, np.nan], [0, 100]], "4 finite corners"),
    ],
)
def test_bad_corners(corners, message):
    with pytest.raises(CourtError, match=message):
        check_corners(np.array(corners, float))


def test_court_sizes_and_corner_text():
    assert court_size("tennis-doubles") == (10.97, 23.77)
    assert court_size("Table Tennis") == (1.525, 2.74)
    assert court_size("badminton_doubles") == (6.1, 13.4)
    assert court_size("9, 18") == (9.0, 18.0)
    assert court_size((7, 14)) == (7.0, 14.0)
    for bad in ("squash", "9", "9,0", "9,-1", "a,b", "nan,3"):
        with pytest.raises(CourtError):
            court_size(bad)
    np.testing.assert_array_equal(
        parse_corners("1,2, 3,4 5,6,7,8"), [[1, 2], [3, 4], [5, 6], [7, 8]]
    )
    for bad in ("1,2,3", "1,2,3,4,5,6,7,x", "1,2,3,4,5,6,7,8,9", "1,2,3,4,5,6,7,inf"):
        with pytest.raises(CourtError, match="--court"):
            parse_corners(bad)


def _bounce(frame, ground_xy):
    x, y = PROJECT(_ground([ground_xy]))[0]
    return Event(frame, "bounce", float(x), float(y), 0.9)


def test_speed_between_two_bounces_of_one_flight():
    # a ball bouncing twice down the court at a known horizontal speed: 90 km/h = 25 m/s
    speed = 25.0
    start, heading = np.array([2.0, 3.0]), np.array([0.3, 0.95]) / np.hypot(0.3, 0.95)
    fps, frames = 50.0, 30  # 0.6 s between the bounces
    end = start + heading * speed * frames / fps
    court = Court.from_corners(CORNERS, "tennis-singles")
    events = [_bounce(100, start), _bounce(100 + frames, end)]
    (result,) = ground_speeds(court, events, fps)
    assert result.speed_kmh == pytest.approx(90.0, rel=1e-6)
    assert result.distance_m == pytest.approx(15.0, rel=1e-6)
    assert result.hits_between == 0
    np.testing.assert_allclose(result.start_m, start, atol=1e-6)


def test_speed_with_a_hit_between_is_flagged_and_far_rallies_are_skipped():
    court = Court.from_corners(CORNERS, "tennis-singles")
    events = [
        _bounce(10, [3.0, 18.0]),
        Event(25, "hit", 600.0, 300.0),
        _bounce(45, [5.0, 6.0]),
        _bounce(400, [4.0, 4.0]),  # another rally, 12 s later
        Event(500, "bounce"),  # no position: cannot be placed on the ground
    ]
    speeds = ground_speeds(court, events, fps=30.0)
    assert len(speeds) == 1 and speeds[0].hits_between == 1
    assert speeds[0].speed_kmh == pytest.approx(np.hypot(2.0, 12.0) / (35 / 30) * 3.6)
    placed = bounce_positions(court, events)
    assert [e.frame for e, _ in placed] == [10, 45, 400]
    with pytest.raises(ValueError, match="fps"):
        ground_speeds(court, events, fps=0)
