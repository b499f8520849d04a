"""The in-memory pass of ``tracknet bench predict`` does the work of the end-to-end pass, less
the decoding: the same frames, the same track."""

from __future__ import annotations

import numpy as np

from tests.conftest import tiny_temporal_overrides
from tracknet.bench.predict import DecodedFrames, synthetic_video
from tracknet.config import load_config
from tracknet.infer.predictor import Predictor
from tracknet.infer.source import track_source
from tracknet.io.frames import FrameSource
from tracknet.models import build_model


def test_decoded_frames_give_the_track_of_the_video(tmp_path, tiny_dinov3):
    video = synthetic_video(tmp_path / "v.mp4", 7, (96, 64))
    source = FrameSource(video)
    decoded = DecodedFrames(source)
    assert (decoded.count, decoded.size, decoded.fps) == (7, (96, 64), source.fps)
    assert [i for i, _ in decoded] == list(range(7)) and decoded.undecodable == 0
    first, *_ = source.frames_at([0])
    (again,) = decoded.frames_at([0])
    assert np.array_equal(first, again) and list(decoded.frames_at([7, -1])) == []

    cfg = load_config(
        overrides=tiny_temporal_overrides(
            tiny_dinov3, "model.detail.enabled=true", "model.detail.background=true"
        )
    )
    predictor = Predictor.from_config(build_model(cfg).eval(), cfg)
    from_video, from_memory = track_source(predictor, source), track_source(predictor, decoded)
    assert len(from_memory) == len(from_video) == 7
    assert np.array_equal(from_memory.visible, from_video.visible)
    assert np.allclose(from_memory.xy, from_video.xy) and np.allclose(
        from_memory.score, from_video.score
    )
