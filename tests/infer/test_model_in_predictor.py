"""The models behind the predictor: streaming encodes every frame once and decodes each frame
from the window centred on it, with the same logits as the model run on that window.

(Moved from tests/models/test_temporal.py: tests/models stays below ``tracknet.infer``.)"""

import numpy as np
import pytest
import torch

from tests.infer.conftest import write_spot_video
from tracknet.config import PredictConfig, load_config
from tracknet.data.background import background_indices, median_background
from tracknet.data.codec import HeatmapCodec
from tracknet.infer.predictor import Predictor
from tracknet.infer.source import track_source
from tracknet.io.frames import FrameSource
from tracknet.models import WindowModel, build_model

IN_W, IN_H = 64, 32  # model input [W, H]; 4 x 2 patches of 16 px


def tiny_cfg(backbone: str, *extra: str):
    return load_config(
        overrides=[
            f"model.pretrained_model_name={backbone}",
            "model.backbone.device_map=null",
            f"model.input_size=[{IN_W},{IN_H}]",
            "model.heatmap.size=[32,16]",
            "model.decoder.channels=[32,16,8]",
            "model.decoder.upsample=[2,2]",
            "model.temporal.heads=2",
            "model.detail.channels=8",
            *extra,
        ]
    )


def background_cfg(backbone: str, *extra: str):
    """A 3-frame model whose detail path takes the clip's background."""
    return tiny_cfg(
        backbone,
        "model.frames=3",
        "model.detail.enabled=true",
        "model.detail.background=true",
        *extra,
    )


@pytest.mark.parametrize("batch_size", [1, 4])
def test_streaming_runs_the_backbone_once_per_frame(tiny_dinov3, batch_size):
    cfg = tiny_cfg(tiny_dinov3, "model.frames=3", "model.detail.enabled=true")
    model = build_model(cfg).eval()
    assert isinstance(model, WindowModel)  # what the predictor relies on
    n = 11

    encoded: list[int] = []  # frames per backbone call
    real_backbone_forward = model.backbone.forward

    def counting_backbone(pixels, *args, **kwargs):
        encoded.append(int(pixels.shape[0]))
        return real_backbone_forward(pixels, *args, **kwargs)

    model.backbone.forward = counting_backbone

    windows: list[tuple[torch.Tensor, torch.Tensor]] = []  # (images, centre logits) per window
    real_decode = model.decode_window

    def recording_decode(tokens, frames=None, background=None, select=None):
        out = real_decode(tokens, frames, background, select)
        windows.extend((f.clone(), o.clone()) for f, o in zip(frames, out, strict=True))
        return out

    model.decode_window = recording_decode

    rng = np.random.default_rng(0)
    stream = [(i, rng.integers(0, 256, (IN_H, IN_W, 3), dtype=np.uint8)) for i in range(n)]
    codec = HeatmapCodec.from_config(cfg)
    # the frames path, whose windows can be checked frame by frame (the stems path gives the
    # same predictions: test_detail_stems_predict_as_the_frames_do)
    cfg_predict = PredictConfig(batch_size=batch_size, device="cpu", detail_stems=False)
    predictor = Predictor(model, codec, cfg_predict)
    preds = list(predictor.run(iter(stream), (IN_W, IN_H)))

    assert [p.index for p in preds] == list(range(n))
    assert sum(encoded) == n  # every frame through the backbone exactly once ...
    assert len(encoded) == -(-n // batch_size)  # ... in batches of batch_size
    assert len(windows) == n  # and every frame decoded from exactly one window

    # Each window's heatmap from cached tokens equals the model run on that window from scratch.
    model.backbone.forward = real_backbone_forward
    model.decode_window = real_decode
    for images, logits in windows:
        images = images.float() / 255 if images.dtype == torch.uint8 else images
        with torch.no_grad():
            expected = model(images.unsqueeze(0))[0, 1]  # centre frame of the window
        torch.testing.assert_close(logits[0].float(), expected, rtol=1e-4, atol=1e-4)
    # The window of frame 0 repeats it for the missing past: (0, 0, 1).
    first = windows[0][0]
    torch.testing.assert_close(first[0], first[1], rtol=0, atol=0)


def test_the_clip_background_reaches_every_window(tiny_dinov3, tmp_path):
    """model.detail.background: the stream's windows are decoded with the clip's median frame
    (made as in training), equal to the model run on each window with that background."""
    cfg = background_cfg(tiny_dinov3)
    model = build_model(cfg).eval()
    n = 9
    video = write_spot_video(
        tmp_path / "clip.mp4", [(10 + 5 * i, 12.0) for i in range(n)], size=(IN_W * 2, IN_H * 2)
    )
    source = FrameSource(video)
    seen: list[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]] = []
    real_decode = model.decode_window

    def recording_decode(tokens, frames=None, background=None, select=None):
        out = real_decode(tokens, frames, background, select)
        for j in range(len(frames)):
            bg = None if background is None else background[j].clone()
            seen.append((frames[j].clone(), bg, out[j].clone()))
        return out

    model.decode_window = recording_decode
    codec = HeatmapCodec.from_config(cfg)
    predictor = Predictor(
        model, codec, PredictConfig(batch_size=4, device="cpu", detail_stems=False)
    )
    assert predictor.uses_background
    track = track_source(predictor, source)
    assert len(track) == n and len(seen) == n

    frames = list(source.frames_at(background_indices(source.count)))
    assert len(frames) == n  # a short clip: every frame
    resized = codec.resize_frames_torch(torch.from_numpy(np.stack(frames)), as_uint8=True)
    median = median_background(resized.permute(0, 2, 3, 1).numpy())
    expected_bg = torch.from_numpy(median).permute(2, 0, 1).float() / 255
    model.decode_window = real_decode
    for images, bg, logits in seen:
        assert bg is not None
        torch.testing.assert_close(bg, expected_bg, rtol=0, atol=1e-6)
        with torch.no_grad():
            expected = model(images[None], bg[None])[0, 1]
            without = model(images[None])[0, 1]  # the window-median stand-in
        torch.testing.assert_close(logits[0].float(), expected, rtol=1e-4, atol=1e-4)
        assert not torch.allclose(expected, without, atol=1e-4)  # the background matters

    # no frames to make it from: the model's stand-in
    assert predictor.make_background([]) is None
    # nothing kept between streams: a predictor serves clips of other courts in turn
    assert not hasattr(predictor, "background")


@pytest.mark.parametrize("combine", ["centre", "weighted"])
@pytest.mark.parametrize("background", [True, False])
def test_detail_stems_predict_as_the_frames_do(tiny_dinov3, combine, background):
    """predict.detail_stems (the default): caching the detail path's first convolution per
    frame gives the predictions of building its inputs per window, at the clip's ends too."""
    cfg = tiny_cfg(
        tiny_dinov3,
        "model.frames=3",
        "model.detail.enabled=true",
        f"model.detail.background={str(background).lower()}",
    )
    model = build_model(cfg).eval()
    for p in model.detail.parameters():  # weights that make every input channel count
        torch.nn.init.normal_(p, std=0.5)
    rng = np.random.default_rng(1)
    stream = [(i, rng.integers(0, 256, (IN_H, IN_W, 3), dtype=np.uint8)) for i in range(7)]
    codec = HeatmapCodec.from_config(cfg)
    out = {}
    for stems in (False, True):
        pcfg = PredictConfig(batch_size=3, device="cpu", combine=combine, detail_stems=stems)
        predictor = Predictor(model, codec, pcfg)
        bg = predictor.make_background([f for _, f in stream], (IN_W, IN_H))
        assert predictor.uses_stems(bg) is stems
        calls = []
        real = model.decode_window

        def recording(tokens, *args, _real=real, _calls=calls, **kwargs):
            _calls.append(sorted(kwargs))
            return _real(tokens, *args, **kwargs)

        model.decode_window = recording
        try:
            out[stems] = list(
                Predictor(model, codec, pcfg).run(iter(stream), (IN_W, IN_H), None, bg)
            )
        finally:
            model.decode_window = real
        assert calls and all(("stems" in c) is stems for c in calls)
    assert [p.index for p in out[True]] == list(range(7))
    for a, b in zip(out[False], out[True], strict=True):
        assert a.visible == b.visible
        assert abs(a.score - b.score) < 1e-4
        np.testing.assert_allclose(a.candidates_score, b.candidates_score, atol=1e-4)
        if a.visible:
            assert abs(a.x - b.x) < 1e-3 and abs(a.y - b.y) < 1e-3


def _predictions(track):
    return [
        (bool(v), round(float(x), 4), round(float(y), 4))
        for v, x, y in zip(track.visible, track.xy[:, 0], track.xy[:, 1], strict=True)
    ]


@pytest.mark.parametrize("letterbox", [False, True])
def test_a_prefetched_clip_predicts_as_one_read_in_place(
    tiny_dinov3, tmp_path, monkeypatch, letterbox
):
    """tracknet predict decodes the first clip's background and first frames while the model
    loads (tracknet.infer.source.prefetch_clip): track_source takes them, once, and predicts
    exactly what it predicts reading the clip itself; another geometry is not taken."""
    from tracknet.infer import source as source_module

    extra = ["data.resize=letterbox"] if letterbox else []
    cfg = background_cfg(tiny_dinov3, *extra)
    model = build_model(cfg).eval()
    size = (IN_W * 2, IN_H * 2 + (16 if letterbox else 0))  # letterbox: padding in the input
    video = write_spot_video(
        tmp_path / "clip.mp4", [(10 + 5 * i, 12.0) for i in range(11)], size=size
    )
    codec = HeatmapCodec.from_config(cfg)
    predictor = Predictor(model, codec, PredictConfig(batch_size=4, device="cpu"))
    expected = _predictions(track_source(predictor, FrameSource(video)))
    made = source_module.clip_background(predictor, FrameSource(video))

    seeks, reads = [], []
    real_frames_at, real_iter = FrameSource.frames_at, FrameSource.__iter__

    def counting_frames_at(self, indices):
        seeks.append(self.path)
        return real_frames_at(self, indices)

    def counting_iter(self):
        reads.append(self.path)
        return real_iter(self)

    monkeypatch.setattr(FrameSource, "frames_at", counting_frames_at)
    monkeypatch.setattr(FrameSource, "__iter__", counting_iter)
    assert source_module.prefetch_clip(str(video), codec, background=True)
    prefetch = source_module._take_prefetched(predictor, FrameSource(video), size)
    assert prefetch is not None and (prefetch.frames is None) is letterbox  # no padded inputs
    assert torch.equal(
        source_module.clip_background(predictor, FrameSource(video), None, prefetch), made
    )
    assert source_module.prefetch_clip(video, codec, background=True)
    assert _predictions(track_source(predictor, FrameSource(video))) == expected
    assert len(seeks) == 2  # in the prefetches' threads only
    # letterbox: read in place once; else twice in the prefetches' threads, not in place
    assert len(reads) == (1 if letterbox else 2)
    track_source(predictor, FrameSource(video))  # taken once: the next one reads in place
    assert len(seeks) == 3 and len(reads) == (2 if letterbox else 3)

    # another input size: not the frames this model needs, so made again in place
    other = HeatmapCodec.from_config(tiny_cfg(tiny_dinov3, "model.input_size=[32,16]"))
    assert source_module.prefetch_clip(video, other, background=True)
    assert _predictions(track_source(predictor, FrameSource(video))) == expected
    assert not source_module._prefetched  # the other geometry's prefetch is dropped too
    # a folder or a missing file: nothing to prefetch
    assert not source_module.prefetch_clip(tmp_path, codec, background=True)
    assert not source_module.prefetch_clip(tmp_path / "missing.mp4", codec, background=True)


def test_a_failed_background_prefetch_is_made_again_in_place(tiny_dinov3, tmp_path, monkeypatch):
    from tracknet.infer import source as source_module

    cfg = background_cfg(tiny_dinov3)
    video = write_spot_video(tmp_path / "clip.mp4", [(10.0, 12.0)] * 5, size=(IN_W, IN_H))
    codec = HeatmapCodec.from_config(cfg)
    predictor = Predictor(build_model(cfg).eval(), codec, PredictConfig(device="cpu"))
    expected = source_module.clip_background(predictor, FrameSource(video))

    def broken(codec, frame, frame_size=None):
        raise RuntimeError("out of memory in the prefetch")

    with monkeypatch.context() as patch:
        patch.setattr(source_module, "background_frame", broken)
        assert source_module.prefetch_clip(video, codec, background=True, frames=0)
        prefetch = source_module._take_prefetched(predictor, FrameSource(video), (IN_W, IN_H))
        assert prefetch is not None and prefetch.frames is None
        with pytest.raises(RuntimeError):
            prefetch.background.result()
    got = source_module.clip_background(predictor, FrameSource(video), None, prefetch)
    assert torch.equal(got, expected)
