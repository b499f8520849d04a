"""``tracknet bench predict``: end-to-end ``tracknet predict`` next to the model alone.

A synthetic H.264 video (:func:`synthetic_video`) is predicted end to end
(:func:`tracknet.infer.pipeline.predict_source`: decoding and, on a CPU, resizing in a background
thread, the model, heatmap decoding, tracking, CSV) and the same number of frames goes through the
model alone (:func:`tracknet.bench.models.frame_step` with ``protocol="predict"``: one window per
frame) at the same batch size, dtype, device and compilation, alternating; ``ratio`` =
end-to-end / model-only frames per second. Besides wall-clock rates it records the CPU seconds
per frame of each (every thread of the process counted), which say where the time goes on a
machine shared with other work.
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
from tracknet.infer.loading import load_run
from tracknet.infer.pipeline import predict_source
from tracknet.infer.predictor import Predictor
from tracknet.io.frames import FrameSource
from tracknet.io.video import VideoWriter


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

    End to end: :func:`tracknet.infer.pipeline.predict_source` (decoding thread, resizing, the
    model, heatmap decoding, tracking, CSV), timed from the call to the CSV on disk. Model only:
    the same number of frames through :func:`frame_step` (``protocol="predict"``: one window per
    frame) at the same batch size, dtype and device. ``ratio`` = end-to-end / model-only.
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

    def model_only():
        for _ in range(calls):
            step()

    def end_to_end():
        res = predict_source(predictor, video, out_dir, progress=False)
        if res.frames != frames:
            raise RuntimeError(f"predicted {res.frames} frames of {frames}")

    time_runs(step, 1, 0, dev)  # warm-up
    if compile:
        end_to_end()  # compiles the predictor's shapes (the end of the video: another batch)
    model_s: list[float] = []
    e2e_s: list[float] = []
    cpu: dict[str, list[float]] = {"model": [], "e2e": []}
    for _ in range(repeats):
        c0 = time.process_time()
        model_s += time_runs(model_only, 0, 1, dev)
        c1 = time.process_time()
        e2e_s += time_runs(end_to_end, 0, 1, dev)
        cpu["model"].append((c1 - c0) / (calls * per_call))
        cpu["e2e"].append((time.process_time() - c1) / frames)
    model_fps = [calls * per_call / s for s in model_s]
    e2e_fps = [frames / s for s in e2e_s]
    m, e = statistics.median(model_fps), statistics.median(e2e_fps)
    return {
        "model_fps": m,
        "end_to_end_fps": e,
        "ratio": e / m,
        "model_fps_runs": model_fps,
        "end_to_end_fps_runs": e2e_fps,
        "model_cpu_ms_per_frame": 1000 * statistics.median(cpu["model"]),
        "end_to_end_cpu_ms_per_frame": 1000 * statistics.median(cpu["e2e"]),
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
            ("ratio", f"{result['ratio']:.3f}"),
        ],
    )
    write_json(json_path, result)
    return result
