"""Model suggestions in a background thread, the review queue and interpolation."""

from __future__ import annotations

import pytest

from tests.label.conftest import CLIP_SIZE
from tests.label.helpers import fill
from tracknet.label.confirmed import make_label
from tracknet.label.source import open_source
from tracknet.label.suggest import Suggestions, interpolation, review_queue


def test_a_run_predicts_every_frame_in_the_background(video, tiny_run):
    suggestions = Suggestions(open_source(video), tiny_run).start()
    assert suggestions.wait(timeout=120), "the model did not finish"
    progress = suggestions.since(0)
    assert progress["state"] == "done", progress["error"]
    assert progress["done"] == progress["total"] == 20
    assert [item[0] for item in progress["items"]] == list(range(20))
    for _, vis, x, y, score in progress["items"]:
        assert vis in (0, 1) and 0 <= x <= 319 and 0 <= y <= 179 and 0 <= score <= 1
    assert suggestions.since(18)["items"] == progress["items"][18:]


def test_a_bad_checkpoint_is_reported_not_raised(video, tmp_path):
    suggestions = Suggestions(open_source(video), tmp_path).start()
    assert suggestions.wait(timeout=60)
    assert suggestions.state == "error" and "model.json" in suggestions.error


def visible(x, y):
    return make_label("visible", x, y, 0, "ball", CLIP_SIZE)


def test_interpolation_fills_the_gap_around_a_frame():
    none = make_label("none", 0, 0, 0, "ball", CLIP_SIZE)
    labels = {2: visible(10, 20), 5: none, 6: visible(50, 60), 9: visible(80, 60)}
    inside = [(3, 20.0, 30.0), (4, 30.0, 40.0)]  # frame 5 keeps its "no ball"
    assert interpolation(labels, 4) == inside
    assert interpolation(labels, 2) == inside  # on an anchor: the gap after it
    assert interpolation(labels, 9) == [(7, 60.0, 60.0), (8, 70.0, 60.0)]  # the last: before
    assert interpolation(labels, 1) == [] and interpolation(labels, 12) == []
    assert interpolation({2: visible(1, 1), 3: visible(2, 2)}, 2) == []


@pytest.mark.parametrize(
    "items, labels, expected",
    [
        # the ball vanishes between two visible frames
        (
            {f: (f != 3, 10.0 * f, 10.0, 0.99 if f != 3 else 0.05) for f in range(7)},
            {},
            [(3, "lost")],
        ),
        # a lone detection among frames without a ball
        (
            {f: (f == 3, 30.0, 10.0, 0.99 if f == 3 else 0.05) for f in range(7)},
            {},
            [(3, "isolated")],
        ),
        # a confirmed label is never queued, and the others are held to it: frames 0 and 1 no
        # longer fit (3 does, by the frames after it)
        (
            {f: (True, 10.0 * f, 10.0, 0.99) for f in range(7)},
            {2: visible(20, 80)},
            [(0, "jump"), (1, "jump")],
        ),
    ],
)
@pytest.mark.parametrize("ranking", ["flight", "peak"])
def test_review_reasons(video, items, labels, expected, ranking):
    suggestions = Suggestions(open_source(video), "unused")
    fill(suggestions, items)
    queue = review_queue(suggestions, labels, ranking=ranking)
    assert [(q["frame"], q["reason"]) for q in queue] == expected
