"""What the two decodings around the model cost per frame: heatmaps to ball positions, and a
video's frames to RGB arrays. Synthetic inputs only (nothing to download).

Heatmaps: :meth:`HeatmapCodec.decode` (thresholding, connected components, the best blob, top-5
candidates) on batches of ``--batch`` 256x144 heatmaps of four kinds: one Gaussian ball each (a
trained model), the balls under noise that makes spurious blobs, all pixels below the threshold
(between rallies), all pixels above it (a saturated model). Median of ``--repeats`` calls.

Video: a synthetic 1280x720 H.264 clip (``tracknet bench predict``'s) read with
:class:`FrameSource` as ``tracknet predict`` reads it (decoding and RGB conversion), and the RGB
conversion alone on the decoded frames, PyAV's ``to_ndarray(format="rgb24")`` against
:class:`tracknet.io.video.reader.RgbConverter`, alternating; CPU time (``time.process_time``, every
thread) and wall time, medians.

Image folder: the clip's frames as JPEGs, read with :class:`FrameSource` whole and at the
model's scale (``min_size``, JPEG's DCT scaling, as ``tracknet predict`` and training read them);
with ``--checkpoint``, the folder tracked by that run's model both ways.

    python scripts/bench_decode.py [--threads 2] [--batch 64] [--frames 120] [--repeats 7]
                                   [--checkpoint RUN]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from tracknet.bench.predict import synthetic_video
from tracknet.data.codec import HeatmapCodec
from tracknet.infer.loading import load_run
from tracknet.infer.predictor import Predictor
from tracknet.infer.source import open_source, track_source
from tracknet.io.frames import FrameSource


def heatmaps(kind: str, batch: int, rng: np.random.Generator) -> torch.Tensor:
    """``[batch, 144, 256]`` logits of one kind."""
    h, w = 144, 256
    if kind == "empty":
        return torch.full((batch, h, w), -8.0)
    if kind == "saturated":
        return torch.full((batch, h, w), 8.0)
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = rng.uniform(5, w - 5, batch), rng.uniform(5, h - 5, batch)
    blob = np.exp(-((xx - cx[:, None, None]) ** 2 + (yy - cy[:, None, None]) ** 2) / 4.5)
    logits = -8.0 + 14.0 * blob
    if kind == "noisy":
        logits += rng.normal(0.0, 2.5, logits.shape)  # ~0.1 % of pixels over: spurious blobs
    return torch.from_numpy(logits.astype(np.float32))


def bench_heatmaps(batch: int, repeats: int) -> None:
    codec = HeatmapCodec((512, 288), (256, 144))
    rng = np.random.default_rng(0)
    print(f"heatmap decoding, batches of {batch} heatmaps of 256x144, median of {repeats} calls")
    for kind in ("one ball", "noisy", "empty", "saturated"):
        logits = heatmaps(kind, batch, rng)
        codec.decode(logits, frame_size=(1280, 720))  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            codec.decode(logits, frame_size=(1280, 720), top_k=5).numpy()
            times.append(time.perf_counter() - start)
        ms = 1000 * statistics.median(times)
        print(f"  {kind:10s} {ms:8.2f} ms a batch  {ms / batch:6.3f} ms a heatmap")


def bench_video(frames: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-decode-") as tmp:
        video = synthetic_video(Path(tmp) / "clip.mp4", frames)
        source = FrameSource(video)
        cpu, wall = [], []
        for _ in range(repeats):
            c0, w0 = time.process_time(), time.perf_counter()
            count = sum(1 for _ in source)
            cpu.append((time.process_time() - c0) / count)
            wall.append((time.perf_counter() - w0) / count)
        print(f"video, {frames} frames 1280x720 H.264, median of {repeats} passes")
        print(
            f"  FrameSource (decode + RGB)  {1000 * statistics.median(cpu):6.2f} CPU ms a frame"
            f"  {1000 * statistics.median(wall):6.2f} ms wall"
        )
        with av.open(str(video)) as container:
            decoded = list(container.decode(video=0))
        try:
            from tracknet.io.video.reader import RgbConverter  # not in versions before it was added
        except ImportError:
            converters = {}
        else:
            converters = {"RgbConverter": RgbConverter()}
        converters = {"to_ndarray": lambda f: f.to_ndarray(format="rgb24"), **converters}
        results: dict[str, list[float]] = {name: [] for name in converters}
        out = np.empty((len(decoded), 720, 1280, 3), np.uint8)  # the arrays' pages touched once
        for _ in range(repeats):
            for name, convert in converters.items():
                c0 = time.process_time()
                for i, frame in enumerate(decoded):
                    out[i] = convert(frame)
                results[name].append((time.process_time() - c0) / len(decoded))
        for name, values in results.items():
            ms = 1000 * statistics.median(values)
            print(f"  RGB conversion, {name:12s} {ms:6.2f} CPU ms a frame (with one copy)")


def bench_images(frames: int, repeats: int, checkpoint: str | None) -> None:
    """An image folder of JPEGs (the synthetic clip's frames), read whole and at the model's
    scale, as ``tracknet predict`` reads it now (:func:`tracknet.infer.source.open_source`);
    with a checkpoint, also tracked by its model both ways (frames/s, alternating)."""
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-decode-") as tmp:
        folder = Path(tmp) / "frames"
        folder.mkdir()
        for index, frame in FrameSource(synthetic_video(Path(tmp) / "clip.mp4", frames)):
            Image.fromarray(frame).save(folder / f"{index:04d}.jpg", quality=95)
        whole, reduced = FrameSource(folder), FrameSource(folder, min_size=(512, 288))
        sources = {"whole": whole, "at least 512x288": reduced}
        cpu: dict[str, list[float]] = {name: [] for name in sources}
        for _ in range(repeats):
            for name, source in sources.items():
                c0 = time.process_time()
                count = sum(1 for _ in source)
                cpu[name].append((time.process_time() - c0) / count)
        shape = next(iter(reduced))[1].shape
        print(f"image folder, {frames} JPEGs 1280x720 (quality 95), median of {repeats} passes")
        for name, values in cpu.items():
            ms = 1000 * statistics.median(values)
            print(f"  FrameSource, {name:18s} {ms:6.2f} CPU ms a frame")
        print(f"  (at least 512x288: decoded at {shape[1]}x{shape[0]})")
        if checkpoint:
            track_folder(checkpoint, folder, repeats)


def track_folder(checkpoint: str, folder: Path, repeats: int) -> None:
    """``track_source`` over the folder read whole and through ``open_source``, alternating."""
    model, cfg = load_run(checkpoint)
    predictor = Predictor.from_config(model, cfg)
    ways = {
        "whole": lambda: FrameSource(folder),
        "open_source": lambda: open_source(predictor, folder),
    }
    rates: dict[str, list[float]] = {name: [] for name in ways}
    tracks = {name: track_source(predictor, make()) for name, make in ways.items()}  # warm-up
    for _ in range(repeats):
        for name, make in ways.items():
            start = time.perf_counter()
            tracks[name] = track_source(predictor, make())
            rates[name].append(len(tracks[name]) / (time.perf_counter() - start))
    print(f"  tracked by {checkpoint} (batch {predictor.batch_size}), frames/s, median (runs):")
    for name, values in rates.items():
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"    {name:12s} {statistics.median(values):7.2f} ({runs})")
    a, b = tracks["whole"], tracks["open_source"]
    both = a.visible & b.visible
    moved = float(np.abs(a.xy[both] - b.xy[both]).max()) if both.any() else 0.0
    print(
        f"    same visibility: {(a.visible == b.visible).mean():.3f}, largest move {moved:.2f} px"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--checkpoint", help="a run folder: also track the image folder with it")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, PyAV {av.__version__}")
    bench_heatmaps(args.batch, args.repeats)
    bench_video(args.frames, args.repeats)
    bench_images(args.frames, args.repeats, args.checkpoint)


if __name__ == "__main__":
    main()
