"""The Python API (:class:`tracknet.Tracker`): the same numbers as ``tracknet predict``, a Track
that behaves like a sequence of points, frames already in memory, results streamed frame by frame,
keyword settings, and an ``import tracknet`` that stays light."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import tiny_temporal_overrides
from tests.infer.conftest import (
    BrightSpotModel,
    line_positions,
    make_tiny_data,
    make_tiny_run,
    write_spot_video,
)
from tracknet import Tracker
from tracknet.cli import main
from tracknet.config import ConfigError, load_config
from tracknet.errors import UserError
from tracknet.infer.device import autocast_dtype
from tracknet.infer.loading import resolve_checkpoint
from tracknet.io.video.reader import VideoReader
from tracknet.models import build_model
from tracknet.track.result import Track, TrackPoint

N = 14


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_dinov3):
    data = make_tiny_data(tmp_path_factory.mktemp("api-data"))
    return make_tiny_run(tmp_path_factory.mktemp("api-run"), data, tiny_dinov3)


@pytest.fixture
def video(tmp_path):
    return write_spot_video(tmp_path / "rally.mp4", line_positions(N))


@pytest.fixture
def stub_tracker(tiny_run):
    """A Tracker around the bright-spot stub: detections with known answers."""
    cfg = load_config(resolve_checkpoint(tiny_run)[1], ["predict.device=cpu"])
    return Tracker(BrightSpotModel(tuple(cfg.model.heatmap.size), cfg.model.frames), cfg)


def test_import_tracknet_does_not_load_torch_until_tracker_is_asked_for():
    code = (
        "import sys, tracknet; assert 'torch' not in sys.modules, 'torch loaded'; "
        "from tracknet import Tracker; assert 'torch' in sys.modules; print(Tracker.__name__)"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "Tracker", out.stderr


def test_track_writes_what_the_cli_writes(tmp_path, tiny_run, video):
    tracker = Tracker.from_pretrained(tiny_run, device="cpu")
    track = tracker.track(video)
    assert isinstance(track, Track) and len(track) == N
    track.to_csv(tmp_path / "api.csv")
    assert (
        main(
            [
                "predict",
                str(video),
                "--checkpoint",
                str(tiny_run),
                "--out",
                str(tmp_path / "cli"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert (tmp_path / "api.csv").read_text() == (tmp_path / "cli" / "rally_ball.csv").read_text()


def test_a_track_is_a_sequence_of_points_with_numpy_columns(stub_tracker, video):
    track = stub_tracker.track(video)
    truth = line_positions(N)
    point = track[3]
    assert isinstance(point, TrackPoint) and point.frame == 3 and point.visible
    assert abs(point.x - truth[3][0]) < 3 and abs(point.y - truth[3][1]) < 3
    assert track[-1].frame == N - 1
    part = track[2:5]
    assert isinstance(part, Track) and len(part) == 3 and part.frames.tolist() == [2, 3, 4]
    assert track[track.visible].visible.all()
    np.testing.assert_array_equal(track.frames, np.arange(N))
    assert track.xy.shape == (N, 2) and track.score.shape == (N,) and track.visible.dtype == bool
    assert [p.frame for p in track] == list(range(N))  # iterating gives the points


def test_to_pandas_names_the_extra_when_pandas_is_missing(stub_tracker, video, monkeypatch):
    track = stub_tracker.track(video)
    try:
        import pandas  # noqa: F401  (optional: the positive case runs where it is installed)
    except ImportError:
        pass
    else:
        frame = track.to_pandas()
        assert list(frame.columns[:5]) == ["frame", "visible", "x", "y", "score"]
        assert len(frame) == N and frame["x"].iloc[3] == pytest.approx(track.xy[3, 0])
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'tracknet\[pandas\]'"):
        track.to_pandas()


def test_frames_in_memory_give_the_track_of_the_video(stub_tracker, video):
    expected = stub_tracker.track(video)
    with VideoReader(video) as reader:
        frames = np.stack([f for _, f in reader])  # [N, H, W, 3] uint8
    for given in (
        frames,
        list(frames),
        torch.from_numpy(frames),  # [N, H, W, 3] uint8 tensor
        torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255,  # [N, 3, H, W] float
    ):
        track = stub_tracker.predict(given)
        np.testing.assert_array_equal(track.visible, expected.visible)
        np.testing.assert_allclose(track.xy, expected.xy, atol=0.5)
    one = stub_tracker.predict(frames[5])
    assert len(one) == 1 and one[0].visible
    with pytest.raises(UserError, match="no frames"):
        stub_tracker.predict([])


def test_stream_yields_one_result_per_frame_as_frames_come(stub_tracker, video):
    expected = stub_tracker.track(video)
    for source in (video, str(video)):
        points = list(stub_tracker.stream(source))
        assert [p.frame for p in points] == list(range(N))
        assert [p.visible for p in points] == expected.visible.tolist()
        np.testing.assert_allclose([(p.x, p.y) for p in points], expected.xy, atol=1e-9)
        assert all(p.latency is not None and p.latency >= 0 and not p.dropped for p in points)
    with VideoReader(video) as reader:
        frames = (f for _, f in reader)  # a generator: frames as they come
        results = stub_tracker.stream(frames)
        first = next(iter(results))
    assert first.frame == 0 and first.visible == expected[0].visible


def test_settings_as_keywords(tiny_run):
    tracker = Tracker.from_pretrained(
        tiny_run,
        device="cpu",
        half=False,
        batch_size=2,
        live={"drop": "none"},
        **{"predict.top_k": 3},
    )
    p = tracker.cfg.predict
    assert (p.batch_size, p.live.drop, p.top_k, p.precision) == (2, "none", 3, "fp32")
    assert tracker.predictor.autocast is None and tracker.device.type == "cpu"
    assert "T=3" in repr(tracker)
    with pytest.raises(UserError, match="unknown predict setting 'batchsize'"):
        Tracker.from_pretrained(tiny_run, device="cpu", batchsize=2)
    with pytest.raises(ConfigError, match="predict.live.drop"):
        Tracker.from_pretrained(tiny_run, device="cpu", live={"drop": "newest"})
    with pytest.raises(UserError, match="live source"):
        tracker.track("rtsp://127.0.0.1:9/none")


def test_half_precision_by_default_on_cuda_only(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 1)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert autocast_dtype(cpu, False, "auto") is None  # a CPU: full precision
    assert autocast_dtype(cuda, False, "auto") == torch.bfloat16  # CUDA: bf16 by default
    assert (
        autocast_dtype(cuda, False, "fp32") is None and autocast_dtype(cpu, True) == torch.bfloat16
    )
    assert autocast_dtype(cpu, False, "fp16") == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert autocast_dtype(cuda, False, "auto") == torch.float16


def test_native_precision_is_bf16_where_the_cpu_computes_it(monkeypatch, tmp_path):
    """predict.precision=native: bf16 on CUDA and on a CPU with AVX512-BF16 or AMX (read from
    /proc/cpuinfo), fp32 on any other CPU, where emulated bf16 is slower than fp32."""
    from tracknet.infer import device as device_mod

    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    for has, expected in ((True, torch.bfloat16), (False, None)):
        monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda has=has: has)
        assert autocast_dtype(cpu, False, "native") == expected
        assert autocast_dtype(cuda, False, "native") == torch.bfloat16
        assert autocast_dtype(cpu, False, "auto") is None  # auto stays fp32 on every CPU
    monkeypatch.undo()
    # the flags as the kernel lists them
    for line, has in (("flags : fpu avx2 avx512f avx512_bf16", True), ("flags : fpu avx2", False)):
        cpuinfo = tmp_path / f"cpuinfo-{has}"
        cpuinfo.write_text(f"processor : 0\n{line}\n")
        assert device_mod.cpu_has_native_bf16.__wrapped__(str(cpuinfo)) is has
    assert device_mod.cpu_has_native_bf16.__wrapped__(str(tmp_path / "none")) is False


def test_a_background_model_gets_the_clips_median_frame_on_every_path(
    tiny_dinov3, video, monkeypatch
):
    """model.detail.background: track, stream and predict (frames in memory) make the same
    background from the same clip, and no background is left over from one clip to the next."""
    cfg = load_config(
        overrides=[
            *tiny_temporal_overrides(tiny_dinov3, "model.detail.channels=8"),
            "model.detail.enabled=true",
            "model.detail.background=true",
            "predict.device=cpu",
        ]
    )
    torch.manual_seed(0)
    tracker = Tracker(build_model(cfg).eval(), cfg)
    made: list[torch.Tensor | None] = []
    real_make = tracker.predictor.make_background

    def recording_make(frames, frame_size=None):
        made.append(real_make(frames, frame_size))
        return made[-1]

    monkeypatch.setattr(tracker.predictor, "make_background", recording_make)
    expected = tracker.track(video)
    streamed = list(tracker.stream(video))
    np.testing.assert_allclose([p.score for p in streamed], expected.score, rtol=1e-5, atol=1e-6)
    with VideoReader(video) as reader:
        frames = np.stack([f for _, f in reader])
    np.testing.assert_allclose(tracker.predict(frames).score, expected.score, rtol=1e-5, atol=1e-6)
    assert len(made) == 3 and all(bg is not None for bg in made)
    assert made[0].shape == (1, 3, 32, 64)
    assert all(torch.equal(bg, made[0]) for bg in made)  # the same clip, the same picture
    # another clip in between changes nothing: the background belongs to each call
    tracker.predict(255 - frames)
    assert not torch.equal(made[-1], made[0])
    np.testing.assert_allclose(tracker.track(video).score, expected.score, rtol=1e-5, atol=1e-6)
    # frames one at a time from a list (their future unknown): the model's stand-in
    del made[:]
    tracker.predict(list(frames))
    assert made == []
