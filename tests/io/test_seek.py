"""Keyframe index by packet scan, and FrameSeeker: exact frames in any order, seeks to the nearest
keyframe only."""

from __future__ import annotations

import random

import av
import pytest

from tests.io.helpers import frame_index, write_video
from tracknet.errors import DataError
from tracknet.io.video.reader import VideoReader
from tracknet.io.video.seek import FrameSeeker, keyframe_indices

COUNT, GOP = 40, 8  # the frames encode their index up to 42


@pytest.fixture(scope="module", params=[".mp4", ".mkv"])
def video(request, tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("seek") / f"gop{GOP}{request.param}", COUNT, GOP)


def decoded_keyframes(path) -> list[int]:
    with av.open(str(path)) as container:
        return [i for i, f in enumerate(container.decode(video=0)) if f.key_frame]


def test_keyframe_indices_match_the_decoded_keyframes(video):
    keys = keyframe_indices(video)
    assert keys == decoded_keyframes(video)
    assert keys[0] == 0 and len(keys) >= COUNT // GOP


def test_keyframe_indices_of_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError):
        keyframe_indices(tmp_path / "none.mp4")


def test_seeker_returns_exact_frames_in_any_order(video):
    with VideoReader(video) as reader:
        expected = {i: frame for i, frame in reader}
    order = list(range(COUNT)) * 2
    random.Random(0).shuffle(order)
    seeker = FrameSeeker(video)
    try:
        seeker.set_keyframes(keyframe_indices(video))
        assert seeker.exact_keyframes
        for index in order:
            frame = seeker.read([index])[0]
            assert frame_index(frame) == index
            assert (frame == expected[index]).all()
        with pytest.raises(DataError):
            seeker.read([COUNT + 3])
    finally:
        seeker.close()


def test_seeker_cost_counts_frames_from_the_nearest_keyframe(video):
    keys = keyframe_indices(video)
    seeker = FrameSeeker(video)
    try:
        seeker.set_keyframes(keys)
        seeker.read([25])
        assert seeker.cost(26) == 1  # the next frame: decode forward
        key = max(k for k in keys if k <= 5)
        assert seeker.cost(5) == 5 - key + 1  # back: from the keyframe before it
        later = max(k for k in keys if k <= 38)
        if later > 26:  # past the next keyframe: from there, not from here
            assert seeker.cost(38) == 38 - later + 1
    finally:
        seeker.close()
