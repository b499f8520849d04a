"""``tracknet predict`` starts decoding the first clip (its first frames at model-input size, and
its background for a model that takes one) before it loads the model (issue #26: the decoding
overlaps the libraries' import), and the prediction takes what was decoded."""

from __future__ import annotations

import pytest

from tests.infer.conftest import line_positions, make_tiny_run, write_spot_video
from tracknet.cli import main
from tracknet.infer import source
from tracknet.predict import command


@pytest.mark.parametrize("background", [True, False])
def test_the_clip_is_prefetched_before_the_model_loads(
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
        command.prefetch_clip,
        command.load_run,
        source._take_prefetched,
    )

    def prefetch(path, codec, background):
        events.append(f"prefetch {codec.input_size} background={background}")
        return real_prefetch(path, codec, background)

    def load(*args, **kwargs):
        events.append("load")
        return real_load(*args, **kwargs)

    def take(*args):
        prefetch = real_take(*args)
        taken.append(prefetch is not None and prefetch.frames is not None)
        if prefetch is not None:
            taken.append(prefetch.background is not None)
        return prefetch

    monkeypatch.setattr(command, "prefetch_clip", prefetch)
    monkeypatch.setattr(command, "load_run", load)
    monkeypatch.setattr(source, "_take_prefetched", take)
    out = tmp_path / "out"
    args = ["predict", str(video), "--checkpoint", str(run), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert (out / "clip_ball.csv").exists()
    # the run's input size, before the model; the frames always, the background where used
    assert events == [f"prefetch (64, 48) background={background}", "load"]
    assert taken == [True, background]
