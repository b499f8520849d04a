"""Fixtures for prediction and evaluation tests: tiny run folders, synthetic videos, a stub model.

* :func:`make_tiny_run` writes a run folder (``config.yaml`` + a randomly initialised tiny TrackNet)
  without training: what ``tracknet predict/eval --checkpoint`` reads.
* :class:`BrightSpotModel` stands in for a trained model: it "detects" the bright spot of the
  centre frame of each window, so tests can check the tracker, smoothing and CSV logic with known
  answers. It has the interface the :class:`tracknet.infer.predictor.Predictor` uses;
  :func:`stub_model` makes ``tracknet predict`` load it instead of the run's model.
* :func:`write_spot_video` / :func:`write_spot_images`: dark frames with a bright square at given
  positions (``None``: no spot in that frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

FRAME_SIZE = (96, 64)  # (W, H) of the synthetic videos
SPOT = 3  # half size of the bright square, pixels


def tiny_run_overrides(data_root, backbone, run_dir, *extra) -> list[str]:
    """A tiny temporal TrackNet (3 frames) on the tennis layout of ``make_tiny_data``."""
    return [
        f"data.root={data_root}",
        "data.format=tennis",
        "data.num_workers=0",
        "data.split.train=[game1/*]",
        "data.split.val=[game2/*]",
        "data.split.test=[game2/*]",
        f"model.pretrained_model_name={backbone}",
        "model.backbone.device_map=null",
        "model.frames=3",
        "model.input_size=[64,48]",
        "model.heatmap.size=[32,24]",
        "model.decoder.channels=[32,8]",
        "model.decoder.upsample=[2]",
        "predict.device=cpu",
        "predict.batch_size=4",
        f"run.dir={run_dir}",
        *extra,
    ]


def make_tiny_data(root: Path) -> Path:
    """Two one-clip games of 8 frames, 160x96 JPEGs with a tennis ``Label.csv``."""
    from tracknet.data.synth import synthesize

    synthesize(root, "tennis", clips=2, frames=8, size=(160, 96), seed=3, clips_per_game=1)
    return root


def make_tiny_run(run_dir: Path, data_root: Path, backbone: str, *extra: str) -> Path:
    """A run folder as ``tracknet train`` leaves it, with untrained weights."""
    from tracknet.config import load_config, save_config
    from tracknet.models import build_model
    from tracknet.models.serialization import save_model

    cfg = load_config(overrides=tiny_run_overrides(data_root, backbone, run_dir, *extra))
    torch.manual_seed(0)
    save_model(build_model(cfg), run_dir)
    save_config(cfg, run_dir)
    return run_dir


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    return make_tiny_data(tmp_path_factory.mktemp("tiny-data"))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_data, tiny_dinov3):
    return make_tiny_run(tmp_path_factory.mktemp("tiny-run"), tiny_data, tiny_dinov3)


# --------------------------------------------------------------------------- the stub model
class BrightSpotModel(torch.nn.Module):
    """A "model" whose heatmap is high where the centre frame of the window is bright.

    Args:
        heatmap_size: ``(W, H)`` of the heatmaps (the codec's).
        frames: window length ``T``.
        fail_after: raise ``RuntimeError`` on this many-th ``decode_window`` call (tests of a
            failure in the middle of a video); None never.
    """

    def __init__(self, heatmap_size=(32, 24), frames: int = 3, fail_after: int | None = None):
        super().__init__()
        self.frames = frames
        self.heatmap_hw = (heatmap_size[1], heatmap_size[0])
        self.fail_after = fail_after
        self.calls = 0
        self.dummy = torch.nn.Parameter(torch.zeros(()))  # so .to() and .parameters() work

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=1)  # [N, H, W] brightness stands in for the tokens

    def decode_window(self, tokens, frames=None, background=None, select=None):
        self.calls += 1
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("simulated failure in the middle of the video")
        centre = tokens[:, select if select is not None else self.frames // 2]  # [B, H, W]
        pooled = F.adaptive_max_pool2d(centre[:, None].float(), self.heatmap_hw)  # [B,1,Hh,Wh]
        return torch.where(pooled > 0.6, 8.0, -8.0)


def stub_loader(**model_kw):
    """A replacement for :func:`tracknet.infer.loading.load_run` giving a BrightSpotModel with
    the run's real configuration (so the codec, tracker and smoothing settings apply)."""
    from tracknet.config import load_config
    from tracknet.infer.loading import resolve_checkpoint

    def load_run(path, overrides=(), device_map=None):
        cfg = load_config(resolve_checkpoint(path)[1], overrides)
        return BrightSpotModel(tuple(cfg.model.heatmap.size), cfg.model.frames, **model_kw), cfg

    return load_run


@pytest.fixture
def stub_model(monkeypatch, tiny_run):
    """Make ``tracknet predict --checkpoint tiny_run`` use :class:`BrightSpotModel`."""

    def install(**model_kw):
        # where ``tracknet predict`` looks the loader up
        monkeypatch.setattr("tracknet.predict.command.load_run", stub_loader(**model_kw))

    install()
    return install


# --------------------------------------------------------------------------- synthetic inputs
def spot_frame(xy, size=FRAME_SIZE) -> np.ndarray:
    """A dark RGB frame with a bright square centred on ``xy`` (none when ``xy`` is None)."""
    w, h = size
    frame = np.full((h, w, 3), 40, np.uint8)
    if xy is not None:
        x, y = int(round(xy[0])), int(round(xy[1]))
        frame[max(y - SPOT, 0) : y + SPOT + 1, max(x - SPOT, 0) : x + SPOT + 1] = 255
    return frame


def line_positions(n: int, size=FRAME_SIZE, step: float = 3.0) -> list[tuple[float, float]]:
    """A spot moving right (and bouncing back) along the middle row, ``step`` px per frame."""
    w, h = size
    span = w - 4 * SPOT - 2
    out = []
    for i in range(n):
        s = (i * step) % (2 * span)
        out.append((2 * SPOT + 1 + (s if s <= span else 2 * span - s), h / 2))
    return out


def write_spot_video(
    path: Path,
    positions: Sequence,
    size=FRAME_SIZE,
    fps: float = 25.0,
    codec: str = "libx264",
) -> Path:
    from tracknet.io.video.writer import VideoWriter

    with VideoWriter(path, fps=fps, size=size, codec=codec) as writer:
        for xy in positions:
            writer.write(spot_frame(xy, size))
    return path


def write_spot_images(folder: Path, positions: Sequence, size=FRAME_SIZE) -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, xy in enumerate(positions):
        Image.fromarray(spot_frame(xy, size)).save(folder / f"{i:04d}.jpg", quality=95)
    return folder


def damage_packet(path: Path, index: int) -> None:
    """Overwrite the bytes of the ``index``-th video packet with zeros (an undecodable frame)."""
    import av

    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size]
    pos, size = packets[index]
    data = bytearray(path.read_bytes())
    data[pos : pos + size] = bytes(size)
    path.write_bytes(bytes(data))


def read_rows(csv_path: Path) -> tuple[list[str], list[list[str]]]:
    import csv

    with open(csv_path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]
