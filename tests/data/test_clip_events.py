"""A clip's true events in each layout: the tennis status, or the ``<stem>_events.csv`` that
``tracknet synth`` writes beside a video's ball CSV; and the events of one label file."""

from __future__ import annotations

import numpy as np
import pytest

from tracknet.data.clip_events import clip_events, events_of_label_file
from tracknet.data.formats import load_clips
from tracknet.data.synth import clip_rng, plan_clip, synthesize
from tracknet.errors import UserError
from tracknet.io.events import events_from_labels, read_events_csv
from tracknet.io.labels import TrackLabels, write_ball_csv

SIZE = (320, 180)
FRAMES = 90  # long enough for a hit or a bounce


def _key(events):
    """Frame, kind and position to the CSV's two decimals."""
    return [(e.frame, e.kind, round(e.x, 2), round(e.y, 2)) for e in events]


@pytest.mark.parametrize("fmt", ["generic", "shuttlecock"])
def test_video_layouts_carry_the_events_of_the_status(tmp_path, fmt):
    (video,) = synthesize(tmp_path, fmt, clips=1, frames=FRAMES, size=SIZE, seed=4, workers=1)
    plan = plan_clip(FRAMES, SIZE, clip_rng(4, 0), fmt=fmt)
    expected = events_from_labels(plan.labels)
    assert expected, "the plan should hold a hit or a bounce"
    beside = "csv" if fmt == "shuttlecock" else None
    folder = video.parent.parent / beside if beside else video.parent
    written = read_events_csv(folder / f"{video.stem}_events.csv")
    assert _key(written) == _key(expected)
    (clip,) = load_clips(tmp_path, fmt)  # the events file is not taken for a clip
    assert _key(clip_events(clip)) == _key(expected)


def test_tennis_clips_use_their_status_and_unlabelled_clips_have_none(tmp_path):
    synthesize(tmp_path / "t", "tennis", clips=1, frames=FRAMES, size=SIZE, seed=4, workers=1)
    (clip,) = load_clips(tmp_path / "t")
    assert clip.labels.status is not None
    assert clip_events(clip) == events_from_labels(clip.labels)

    (video,) = synthesize(tmp_path / "g", "generic", clips=1, frames=8, size=SIZE, workers=1)
    video.with_name(f"{video.stem}_events.csv").unlink()
    (clip,) = load_clips(tmp_path / "g")
    assert clip_events(clip) is None  # no events: left out, not "no events happened"


def test_events_of_one_label_file(tmp_path):
    labels = TrackLabels(np.arange(4), np.ones(4, int), np.ones(4), np.ones(4))
    ball = tmp_path / "x_ball.csv"
    write_ball_csv(ball, labels)
    with pytest.raises(UserError, match="carries no events"):
        events_of_label_file(ball)
    with pytest.raises(UserError, match="not found"):
        events_of_label_file(tmp_path / "nope.csv")
    (tmp_path / "x_events.csv").write_text("Frame,Event\n2,bounce\n")
    assert [(e.frame, e.kind) for e in events_of_label_file(ball)] == [(2, "bounce")]
    named = tmp_path / "truth.csv"  # an events file by its header, whatever its name
    named.write_text("frame,event,x,y\n1,hit,3,4\n")
    assert [(e.frame, e.kind, e.x) for e in events_of_label_file(named)] == [(1, "hit", 3.0)]
