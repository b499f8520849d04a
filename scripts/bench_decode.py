"""What the two decodings around the model cost per frame: heatmaps to ball positions, and a
video's frames to RGB arrays. Synthetic inputs only (nothing to download).

Heatmaps: :meth:`HeatmapCodec.decode` (thresholding, connected components, the best blob, top-5
candidates) on batches of ``--batch`` 256x144 heatmaps of four kinds: one Gaussian ball each (a
trained model), the balls under noise that makes spurious blobs, all pixels below the threshold
(between rallies), all pixels above it (a saturated model). Median of ``--repeats`` calls.

Video: a synthetic 1280x720 H.264 clip (``tracknet bench predict``'s) read with
:class:`FrameSource` as ``tracknet predict`` reads it (decoding and RGB conversion), and the RGB
conversion alone on the decoded frames, PyAV's ``to_ndarray(format="rgb24")`` against
:class:`tracknet.io.video.RgbConverter`, alternating; CPU time (``time.process_time``, every
thread) and wall time, medians.

    python scripts/bench_decode.py [--threads 2] [--batch 64] [--frames 120] [--repeats 7]
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

from tracknet.bench.predict import synthetic_video
from tracknet.data.codec import HeatmapCodec
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
            from tracknet.io.video import RgbConverter  # not in versions before it was added
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, PyAV {av.__version__}")
    bench_heatmaps(args.batch, args.repeats)
    bench_video(args.frames, args.repeats)


if __name__ == "__main__":
    main()
