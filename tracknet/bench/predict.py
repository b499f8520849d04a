"""``tracknet bench predict``: end-to-end ``tracknet predict`` next to the model alone.

A synthetic H.264 video (:func:`synthetic_video`) is predicted end to end
(:func:`tracknet.predict.pipeline.predict_source`: decoding and, on a CPU, resizing in a background
thread, the model, heatmap decoding, tracking, CSV) and the same number of frames goes through the
model alone (:func:`tracknet.bench.models.frame_step` with ``protocol="predict"``: one window per
frame) at the same batch size, dtype, device and compilation, alternating; ``ratio`` =
end-to-end / model-only frames per second (medians of the repeats), ``ratio_paired`` the median
of each repeat's own ratio (its passes run back to back, so slow drifts of a shared machine's
speed cancel). A third pass runs the same pipeline on the video's frames decoded beforehand
and held in memory (:class:`DecodedFrames`; everything but the decoding: resizing, the model,
heatmap decoding, tracking, CSV), so the two ratios split what the decoder costs from what the
rest of the pipeline costs. Besides wall-clock rates it records the CPU seconds per frame of
each (every thread of the process counted), which say where the time goes on a machine shared
with other work.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tracknet.bench.models import build_for_bench, describe, frame_step
from tracknet.bench.timing import DTYPES, machine_info, print_table, time_runs, write_json
from tracknet.config import Config, load_config, wh_to_hw
from tracknet.constants import ball_csv_name
from tracknet.infer.loading import load_run
from tracknet.infer.predictor import Predictor
from tracknet.infer.source import track_source
from tracknet.io.frames import FrameSource
from tracknet.io.video.writer import VideoWriter
from tracknet.predict.outputs import write_track_csv
from tracknet.predict.pipeline import predict_source

DECODED_LIMIT_BYTES = 4 << 30  # the in-memory pass is left out for videos bigger than this


class DecodedFrames:
    """A video's frames decoded once and kept in memory, read as a :class:`FrameSource` is by
    :func:`~tracknet.infer.source.track_source` (``path``, ``size``, ``fps``, ``count``,
    iteration, ``frames_at``): the pipeline without the decoding."""

    def __init__(self, source: FrameSource):
        self.path, self.size, self.fps = source.path, source.size, source.fps
        self.frames = list(source)
        self.count = len(self.frames)
        self.undecodable = sum(frame is None for _, frame in self.frames)

    def __iter__(self):
        return iter(self.frames)

    def frames_at(self, indices):
        for i in indices:
            if 0 <= i < self.count and self.frames[i][1] is not None:
                yield self.frames[i][1]


def synthetic_video(path: str | Path, frames: int, size: tuple[int, int] = (1280, 720)) -> Path:
    """An H.264 video of ``frames`` frames of ``size`` (``(W, H)``) with a flying ball."""
    path = Path(path)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    court = np.stack([60 + 80 * xx / w, 110 + 40 * yy / h, 70 + 0 * xx], -1).astype(np.uint8)
    rng = np.random.default_rng(0)
    court = np.clip(court + rng.integers(-12, 13, court.shape), 0, 255).astype(np.uint8)
    r = max(2, round(5 * h / 720))
    with VideoWriter(path, fps=30.0, size=size) as writer:
        for i in range(frames):
            frame = court.copy()
            x = int((0.1 + 0.8 * (i % 60) / 60) * w)
            y = int(h * (0.25 + 0.5 * abs(((i % 40) / 20.0) - 1.0)))
            frame[max(0, y - r) : y + r, max(0, x - r) : x + r] = (235, 235, 60)
            writer.write(frame)
    return path


def bench_predict(
    model: torch.nn.Module,
    cfg: Config,
    video: str | Path,
    out_dir: str | Path,
    batch_size: int = 8,
    dtype: str = "fp32",
    device: str = "cpu",
    repeats: int = 3,
    compile: bool = False,
) -> dict[str, Any]:
    """End-to-end ``tracknet predict`` on ``video`` next to the model alone, alternating.

    End to end: :func:`tracknet.predict.pipeline.predict_source` (decoding thread, resizing, the
    model, heatmap decoding, tracking, CSV), timed from the call to the CSV on disk. Model only:
    the same number of frames through :func:`frame_step` (``protocol="predict"``: one window per
    frame) at the same batch size, dtype and device. ``ratio`` = end-to-end / model-only.
    In memory: :func:`~tracknet.infer.source.track_source` and the CSV on the frames decoded
    beforehand (:class:`DecodedFrames`); ``decoded_ratio`` = in-memory / model-only, left out
    (None) when the decoded frames would take more than :data:`DECODED_LIMIT_BYTES`.
    ``compile``: ``torch.compile`` both (``predict.compile``).
    """
    dev = torch.device(device)
    torch_dtype = DTYPES[dtype]
    cfg.predict.batch_size = batch_size
    cfg.predict.device = str(dev)
    cfg.predict.half = False
    cfg.predict.precision = dtype
    cfg.predict.compile = compile
    predictor = Predictor.from_config(model, cfg)
    if predictor.autocast is not None and predictor.autocast != torch_dtype:
        raise ValueError(
            f"--dtype {dtype} is not what predict.half uses here ({predictor.autocast})"
        )
    size = wh_to_hw(cfg.model.input_size)
    combine = cfg.predict.combine == "weighted"
    step, per_call = frame_step(
        predictor.model,
        batch_size,
        size,
        dev,
        torch_dtype,
        "predict",
        compile=compile,
        combine=combine,
        unet=cfg.model.type == "unet",
    )
    source = FrameSource(video)
    frames = source.count
    calls = -(-frames // batch_size)
    w, h = source.size
    decoded = DecodedFrames(source) if frames * w * h * 3 <= DECODED_LIMIT_BYTES else None

    def model_only():
        for _ in range(calls):
            step()

    def end_to_end():
        res = predict_source(predictor, video, out_dir, progress=False)
        if res.frames != frames:
            raise RuntimeError(f"predicted {res.frames} frames of {frames}")

    def in_memory():
        track = track_source(predictor, decoded)
        write_track_csv(Path(out_dir) / ball_csv_name("decoded"), track)
        if len(track) != frames:
            raise RuntimeError(f"predicted {len(track)} frames of {frames}")

    time_runs(step, 1, 0, dev)  # warm-up
    if compile:
        end_to_end()  # compiles the predictor's shapes (the end of the video: another batch)
    seconds: dict[str, list[float]] = {"model": [], "e2e": [], "decoded": []}
    cpu: dict[str, list[float]] = {"model": [], "e2e": [], "decoded": []}
    passes = [("model", model_only, calls * per_call), ("e2e", end_to_end, frames)]
    if decoded is not None:
        passes.append(("decoded", in_memory, frames))
    for _ in range(repeats):
        for key, fn, n in passes:
            c0 = time.process_time()
            seconds[key] += time_runs(fn, 0, 1, dev)
            cpu[key].append((time.process_time() - c0) / n)
    model_fps = [calls * per_call / s for s in seconds["model"]]
    e2e_fps = [frames / s for s in seconds["e2e"]]
    decoded_fps = [frames / s for s in seconds["decoded"]]
    m, e = statistics.median(model_fps), statistics.median(e2e_fps)
    d = statistics.median(decoded_fps) if decoded_fps else None
    # Each repeat runs the passes back to back: the ratio within a repeat is spared the drift of
    # a shared machine's speed between repeats.
    paired = [b / a for a, b in zip(model_fps, e2e_fps, strict=True)]
    decoded_paired = [b / a for a, b in zip(model_fps, decoded_fps, strict=False)]
    return {
        "model_fps": m,
        "end_to_end_fps": e,
        "ratio": e / m,
        "ratio_paired": statistics.median(paired),
        "decoded_fps": d,
        "decoded_ratio": d / m if d else None,
        "decoded_ratio_paired": statistics.median(decoded_paired) if decoded_paired else None,
        "model_fps_runs": model_fps,
        "end_to_end_fps_runs": e2e_fps,
        "decoded_fps_runs": decoded_fps,
        "model_cpu_ms_per_frame": 1000 * statistics.median(cpu["model"]),
        "end_to_end_cpu_ms_per_frame": 1000 * statistics.median(cpu["e2e"]),
        "decoded_cpu_ms_per_frame": (
            1000 * statistics.median(cpu["decoded"]) if cpu["decoded"] else None
        ),
        "compile": compile,
        "video_frames": frames,
        "video_size": list(source.size),
        "input_hw": list(size),
        "frames_per_window": predictor.frames,
        "batch_size": batch_size,
        "dtype": dtype,
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "repeats": repeats,
    }


def run_predict_benchmark(
    *,
    checkpoint: str | None = None,
    config: str | None = None,
    overrides: Sequence[str] = (),
    input_size: tuple[int, int] | None = None,
    batch_size: int = 8,
    dtype: str = "fp32",
    device: str = "cpu",
    threads: int | None = None,
    frames: int = 48,
    video_size: tuple[int, int] = (1280, 720),
    repeats: int = 3,
    json_path: str | None = None,
    compile: bool = False,
) -> dict[str, Any]:
    """:func:`bench_predict` on a ``frames``-frame synthetic video; print the table, write JSON.

    The model: a trained run folder (``checkpoint``), else ``config`` + ``overrides`` with the
    cached backbone or random weights of its shape (:func:`build_for_bench`). Returns the result
    as written (``benchmark``, the rates, ``model``, ``weights``, ``machine``...).
    """
    if threads:
        torch.set_num_threads(threads)
    overrides = list(overrides)
    if input_size:
        overrides.append(f"model.input_size=[{input_size[0]},{input_size[1]}]")
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-") as tmp:
        if checkpoint:
            model, cfg = load_run(checkpoint, overrides)
            weights, name = f"checkpoint {checkpoint}", describe(cfg)
        else:
            cfg = load_config(config, overrides)
            name = describe(cfg)
            model, weights = build_for_bench(cfg, Path(tmp) / "model")
        print(f"writing a {frames}-frame {video_size[0]}x{video_size[1]} video ...")
        video = synthetic_video(Path(tmp) / "bench.mp4", frames, video_size)
        result = bench_predict(
            model,
            cfg,
            video,
            Path(tmp) / "out",
            batch_size=batch_size,
            dtype=dtype,
            device=device,
            repeats=repeats,
            compile=compile,
        )
    result = {"benchmark": "predict", **result, "model": name, "weights": weights}
    result["machine"] = machine_info()
    h, w = result["input_hw"]
    print_table(
        "tracknet bench predict",
        [
            ("model", f"{result['model']} [{weights}]"),
            ("video", f"{frames} frames {video_size[0]}x{video_size[1]} -> {w}x{h}"),
            (
                "setting",
                f"{dtype}, batch {batch_size}, {result['device']}, "
                f"{result['threads']} threads, median of {repeats}"
                + (", compiled" if compile else ""),
            ),
            (
                "model only",
                f"{result['model_fps']:.2f} frames/s "
                f"({result['model_cpu_ms_per_frame']:.1f} CPU ms/frame)",
            ),
            (
                "end to end",
                f"{result['end_to_end_fps']:.2f} frames/s "
                f"({result['end_to_end_cpu_ms_per_frame']:.1f} CPU ms/frame)",
            ),
            (
                "ratio",
                f"{result['ratio']:.3f} (median of the repeats' own ratios "
                f"{result['ratio_paired']:.3f})",
            ),
            (
                "in memory",
                f"{result['decoded_fps']:.2f} frames/s "
                f"({result['decoded_cpu_ms_per_frame']:.1f} CPU ms/frame), "
                f"ratio {result['decoded_ratio']:.3f} / {result['decoded_ratio_paired']:.3f} "
                "(the video decoded beforehand)"
                if result["decoded_fps"]
                else "left out (the decoded video would not fit in 4 GiB)",
            ),
        ],
    )
    write_json(json_path, result)
    return result
