"""``tracknet predict`` starts making the first clip's background before it loads the model
(issue #26: the random-access decoding overlaps the libraries' import), and the prediction takes
that background instead of making it again; models without a background prefetch nothing."""

from __future__ import annotations

import pytest

from tests.infer.conftest import line_positions, make_tiny_run, write_spot_video
from tracknet.cli import main
from tracknet.infer import source
from tracknet.predict import command


@pytest.mark.parametrize("background", [True, False])
def test_the_background_is_prefetched_before_the_model_loads(
    tmp_path, tiny_data, tiny_dinov3, monkeypatch, background
):
    flag = str(background).lower()
    run = make_tiny_run(
        tmp_path / "run",
        tiny_data,
        tiny_dinov3,
        "model.detail.enabled=true",
        f"model.detail.background={flag}",
    )
    video = write_spot_video(tmp_path / "clip.mp4", line_positions(10))
    events: list[str] = []
    taken: list[bool] = []
    real_prefetch, real_load, real_take = (
        command.prefetch_background,
        command.load_run,
        source._take_prefetched,
    )

    def prefetch(path, codec):
        events.append(f"prefetch {codec.input_size}")
        return real_prefetch(path, codec)

    def load(*args, **kwargs):
        events.append("load")
        return real_load(*args, **kwargs)

    def take(*args):
        frames = real_take(*args)
        taken.append(frames is not None)
        return frames

    monkeypatch.setattr(command, "prefetch_background", prefetch)
    monkeypatch.setattr(command, "load_run", load)
    monkeypatch.setattr(source, "_take_prefetched", take)
    out = tmp_path / "out"
    args = ["predict", str(video), "--checkpoint", str(run), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert (out / "clip_ball.csv").exists()
    if background:
        assert events == ["prefetch (64, 48)", "load"]  # the run's input size, before the model
        assert taken == [True]
    else:
        assert events == ["load"] and taken == []
