"""The wiring of one input: :func:`track_source` (the track ``predict``, ``eval`` and the demo
use) and :func:`predict_source` (its files), in memory that does not grow with the video."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.infer.conftest import (
    BrightSpotModel,
    line_positions,
    read_rows,
    write_spot_images,
    write_spot_video,
)
from tracknet.config import load_config
from tracknet.data.codec import HeatmapCodec
from tracknet.infer.predictor import Predictor
from tracknet.infer.source import open_source, track_source
from tracknet.io.frames import FrameSource
from tracknet.io.image import open_image
from tracknet.predict.pipeline import predict_source

REPO = Path(__file__).resolve().parents[2]


def _stub_predictor(tiny_run, *overrides: str) -> Predictor:
    cfg = load_config(tiny_run / "config.yaml", list(overrides))
    model = BrightSpotModel(tuple(cfg.model.heatmap.size), cfg.model.frames)
    return Predictor.from_config(model, cfg)


def test_track_source_follows_the_spot_and_keeps_the_timeline(tmp_path, tiny_run):
    truth = line_positions(10)
    positions: list = list(truth)
    positions[4] = None  # no spot: not visible, but still a row
    predictor = _stub_predictor(tiny_run, "predict.batch_size=3")
    reads = []
    track = track_source(
        predictor, FrameSource(write_spot_video(tmp_path / "v.mp4", positions)), reads.append
    )
    assert list(track.frame) == list(range(10)) and track.ok.all()
    assert reads == list(range(1, 11))
    assert list(track.visible) == [i != 4 for i in range(10)]
    for i in (0, 3, 9):
        np.testing.assert_allclose(track.xy[i], truth[i], atol=3)
    assert (track.xy[4] == 0).all()


def test_predict_source_writes_the_track(tmp_path, tiny_run):
    """The ball CSV is the track of :func:`track_source`, row for row."""
    folder = write_spot_images(tmp_path / "clip", line_positions(7))
    predictor = _stub_predictor(tiny_run)
    track = track_source(predictor, FrameSource(folder))
    res = predict_source(predictor, folder, tmp_path / "out", details=True, progress=False)
    assert (res.frames, res.undecodable, res.detected) == (7, 0, int(track.visible.sum()))
    assert res.csv == tmp_path / "out" / "clip_ball.csv"
    assert res.details == tmp_path / "out" / "clip_details.csv" and res.overlay is None
    _, rows = read_rows(res.csv)
    assert [int(r[1]) for r in rows] == track.visible.astype(int).tolist()
    assert [float(r[2]) for r in rows] == pytest.approx(track.xy[:, 0], abs=0.01)


def test_jpegs_are_decoded_at_reduced_scale_as_training_decodes_them(tmp_path, tiny_run):
    """An image folder of JPEGs much larger than the model input: ``predict`` decodes them at
    the DCT scale training uses, the model sees the training pipeline's pixels, and positions
    come back in the original frames' pixels."""
    size = (320, 192)
    truth = line_positions(6, size=size, step=20.0)
    folder = write_spot_images(tmp_path / "clip", truth, size=size)
    predictor = _stub_predictor(tiny_run)  # input 64x48
    source = open_source(predictor, folder)
    assert source.size == size and source.min_size == (64, 48)
    frames = [frame for _, frame in source]
    assert frames[0].shape == (48, 80, 3)  # 1/4 scale: the smallest that stays >= 64x48
    # what the training dataset and the frame cache make of the same file
    codec: HeatmapCodec = predictor.codec
    target, _ = codec.scaled_size(size)
    trained = codec.resize_frame(open_image(source.images[2], target_size=target), size)
    seen = predictor._prepare([frames[2]], size)[0]  # [3, H, W] in [0, 1]
    np.testing.assert_array_equal((seen * 255).round().byte().permute(1, 2, 0).numpy(), trained)
    track = track_source(predictor, source)
    assert track.visible.all()
    for i in range(6):
        np.testing.assert_allclose(track.xy[i], truth[i], atol=6)  # heatmap pixels of 10 px
    # an image of another size is a bad frame, as without reduced decoding
    write_spot_images(tmp_path / "odd", [truth[0]], size=(160, 96))
    (tmp_path / "odd" / "0000.jpg").rename(folder / "0003.jpg")
    assert [frame is None for _, frame in open_source(predictor, folder)] == [
        False,
        False,
        False,
        True,
        False,
        False,
    ]


_MEASURE = textwrap.dedent(
    """
    import os, resource, sys
    import torch
    torch.set_num_threads(1)  # no thread pool before the forks
    from tests.infer.conftest import BrightSpotModel
    from tracknet.config import load_config
    from tracknet.predict.pipeline import predict_source
    from tracknet.infer.predictor import Predictor

    run, warmup, out, *videos = sys.argv[1:]
    cfg = load_config(run + "/config.yaml", ["predict.batch_size=8"])
    for video in videos:  # each in a fresh child: same imports, its own peak RSS
        pid = os.fork()
        if pid == 0:
            model = BrightSpotModel(tuple(cfg.model.heatmap.size), cfg.model.frames)
            predictor = Predictor.from_config(model, cfg)
            predict_source(predictor, warmup, out, overlay=True, progress=False)
            res = predict_source(predictor, video, out, overlay=True, details=True, progress=False)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(res.frames, peak, flush=True)
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="measured in forked children")
def test_memory_is_flat_in_video_length(tmp_path, tiny_run):
    """Peak RSS of predicting a 4x longer video (with overlay) grows by less than 10%."""
    size = (640, 360)  # ~0.7 MB per decoded frame: holding frames would show at once
    n = 32
    warmup = write_spot_video(tmp_path / "warmup.mp4", line_positions(8, size), size=size)
    videos = [
        write_spot_video(tmp_path / f"v{k}.mp4", line_positions(k, size), size=size)
        for k in (n, 4 * n)
    ]
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(tiny_run), str(warmup), str(tmp_path)]
        + [str(v) for v in videos],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [list(map(int, ln.split())) for ln in proc.stdout.split("\n") if ln.strip()]
    assert [frames for frames, _ in lines] == [n, 4 * n]
    peaks = {frames: peak for frames, peak in lines}
    growth = peaks[4 * n] / peaks[n] - 1.0
    assert growth < 0.10, f"peak RSS {peaks} kB grew by {100 * growth:.1f}%"
    held = (3 * n) * size[0] * size[1] * 3 / 1024  # kB the extra frames would take if kept
    assert held > 0.10 * peaks[n], f"too small to see frames being kept: {peaks}"
