"""Speed benchmarks of models and of end-to-end prediction.

Frames per second are counted the way ``tracknet predict`` consumes them:

- a ViT model encodes each frame once and decodes it from the window centred on it, so one
  "frame" costs ``encode(1 frame) + decode_window(1 window, centre only)``;
- the baseline (``model.type=unet``) is multi-in multi-out: one forward pass of a T-frame window
  yields T heatmaps, so it is credited with T frames per window (TrackNetV2/V3's own protocol).

Timings: a warm-up, then ``repeats`` timed runs; we report the median and the spread (min, max).
With a second configuration (``--vs``) both run in the same process, alternating, so that both
see the same machine state, and the ratio of the medians is reported.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from tracknet.config import Config, wh_to_hw

# The shapes of the released DINOv3 ViTs, for timing without their (gated) weights: the speed of
# a network does not depend on the values of its weights.
DINOV3_SHAPES = {
    "facebook/dinov3-vits16-pretrain-lvd1689m": dict(
        hidden_size=384, num_layers=12, num_heads=6, intermediate_size=1536
    ),
    "facebook/dinov3-vitb16-pretrain-lvd1689m": dict(
        hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072
    ),
    "facebook/dinov3-vitl16-pretrain-lvd1689m": dict(
        hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096
    ),
}


def build_for_bench(cfg: Config, workdir: str | Path | None = None) -> tuple[torch.nn.Module, str]:
    """Build ``cfg``'s model; when its backbone is not in the cache, the same shape at random.

    Returns the model and a note saying which weights were used.
    """
    from tracknet.errors import BackboneNotFoundError
    from tracknet.models import build_model

    cfg.model.backbone.device_map = None
    try:
        return build_model(cfg), "weights from the cache" if cfg.model.type == "vit" else "random"
    except BackboneNotFoundError:
        shape = DINOV3_SHAPES.get(cfg.model.pretrained_model_name)
        if shape is None:
            raise
        from tracknet.models.backbones.random_vit import save_random_vit

        folder = Path(workdir or tempfile.mkdtemp(prefix="tracknet-bench-")) / "backbone"
        save_random_vit(folder, patch_size=cfg.model.backbone.patch_size, **shape)
        cfg.model.pretrained_model_name = str(folder)
        return build_model(cfg), "random weights of the same shape (not in the cache)"


def peak_rss_reset() -> None:
    """Reset the kernel's peak-RSS counter of this process (Linux), where allowed."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process since the last reset (Linux), MiB."""
    return _status_mb("VmHWM:")


def rss_mb() -> float | None:
    """Resident memory of this process now (Linux), MiB."""
    return _status_mb("VmRSS:")


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def frame_step(
    model: torch.nn.Module,
    batch: int,
    size_hw: tuple[int, int],
    device,
    dtype,
    protocol: str = "native",
    compile: bool = False,
    combine: bool = False,
):
    """A callable that processes ``batch`` windows as predict does; returns (callable, frames).

    ``protocol``: ``"native"`` credits the baseline with the T frames of each window (its own
    multi-in multi-out protocol); ``"predict"`` counts one frame per window for every model, which
    is what :class:`tracknet.infer.predictor.Predictor` does (each frame decoded from the window
    centred on it). ``combine``: a ViT window decodes all its T frames (``predict.combine=weighted``).
    """
    t = int(getattr(model, "frames", 1))
    h, w = size_hw
    windows = torch.rand(batch, t, 3, h, w, device=device)
    amp = (
        torch.autocast(device.type, dtype=dtype)
        if dtype != torch.float32
        else contextlib.nullcontext()
    )
    is_unet = getattr(model.model_config, "type", "vit") == "unet"
    encode, decode = model.encode, model.decode_window
    if compile:
        encode, decode = torch.compile(encode), torch.compile(decode)

    @torch.inference_mode()
    def step():
        with amp:
            if is_unet:
                return model(windows) if protocol == "native" else decode(windows, select=t // 2)
            tokens = encode(windows[:, t // 2])  # one new frame per window
            cached = tokens.unsqueeze(1).expand(-1, t, *tokens.shape[1:])
            return decode(cached, windows, select=None if combine else t // 2)

    return step, batch * (t if is_unet and protocol == "native" else 1)


def time_runs(fn: Callable[[], Any], warmup: int, repeats: int, device) -> list[float]:
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        fn()
    sync()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - start)
    return out


def summarize_runs(seconds: list[float], frames: int) -> dict[str, float]:
    fps = [frames / s for s in seconds]
    return {
        "fps_median": statistics.median(fps),
        "fps_min": min(fps),
        "fps_max": max(fps),
        "seconds_median": statistics.median(seconds),
        "repeats": len(seconds),
    }


def bench_models(
    cfgs: list[Config],
    batch_size: int = 1,
    input_size: tuple[int, int] | None = None,
    dtype: str = "fp32",
    device: str = "cpu",
    warmup: int = 2,
    repeats: int = 5,
    channels_last: bool | None = None,
    compile: bool = False,
    workdir: str | Path | None = None,
    onnx: bool = False,
) -> list[dict[str, Any]]:
    """Time each configuration's model, alternating between them run after run.

    ``input_size`` (``(W, H)``) applies to every model; without it each uses its
    ``model.input_size``. ``channels_last``: ``None`` follows each configuration's
    ``predict.channels_last``, as ``tracknet predict`` does. ``compile``: ``torch.compile`` the
    first model only (the others stay eager, so ``--vs`` with the same configuration measures the
    gain). ``onnx``: also time the first model exported to ONNX under onnxruntime
    next to the same PyTorch model, both on whole windows (``forward``: T frames in, T heatmaps
    out, as ``tracknet predict --backend onnx`` runs it: one window per predicted frame).
    """
    if onnx and (dtype != "fp32" or device != "cpu" or compile):
        raise ValueError("the ONNX comparison runs in fp32 on the CPU, without --compile")
    from tracknet.infer.predictor import keep_freed_memory, prepare_for_inference

    if torch.device(device).type == "cpu":
        keep_freed_memory()  # as tracknet predict does
    dev = torch.device(device)
    torch_dtype = DTYPES[dtype]
    entries = []
    for i, cfg in enumerate(cfgs):
        folder = Path(workdir) / f"model{i}" if workdir else None
        name = cfg.model.pretrained_model_name  # before build_for_bench may replace it
        model, note = build_for_bench(cfg, folder)
        layout = cfg.predict.channels_last if channels_last is None else channels_last
        model = prepare_for_inference(model, dev, torch_dtype, layout, cfg.predict.attention)
        size = wh_to_hw(input_size) if input_size else wh_to_hw(cfg.model.input_size)
        compiled = compile and i == 0  # the others stay eager: an A/B in one run
        combine = cfg.predict.combine == "weighted"
        step, frames = frame_step(
            model, batch_size, size, dev, torch_dtype, compile=compiled, combine=combine
        )
        entries.append(
            {
                "cfg": cfg,
                "model": model,
                "step": step,
                "frames": frames,
                "note": note,
                "size": size,
                "times": [],
                "backend": "torch",
                "compile": compiled,
                "channels_last": layout,
                "name": name,
            }
        )
    if onnx:
        entries += _onnx_entries(entries[0], batch_size, Path(workdir or tempfile.mkdtemp()))
    for e in entries:  # warm-up (and peak memory of one step)
        gc.collect()
        peak_rss_reset()
        before = rss_mb()
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        time_runs(e["step"], max(1, warmup), 0, dev)
        if dev.type == "cuda":
            e["peak_mb"] = torch.cuda.max_memory_allocated(dev) / 2**20
            e["peak_increase_mb"] = None
        else:
            e["peak_mb"] = peak_rss_mb()
            e["peak_increase_mb"] = (
                e["peak_mb"] - before if e["peak_mb"] is not None and before is not None else None
            )
    for _ in range(repeats):
        for e in entries:
            e["times"] += time_runs(e["step"], 0, 1, dev)
    results = []
    for e in entries:
        cfg = e["cfg"]
        results.append(
            {
                "backend": e["backend"],
                "model": cfg.model.type,
                "backbone": e["name"] if cfg.model.type == "vit" else None,
                "weights": e["note"],
                "frames_per_window": cfg.model.frames,
                "input_hw": list(e["size"]),
                "batch_size": batch_size,
                "dtype": dtype,
                "device": str(dev),
                "threads": torch.get_num_threads(),
                "frames_per_call": e["frames"],
                "channels_last": e["channels_last"],
                "compile": e.get("compile", False),
                "peak_memory_mb": e["peak_mb"],
                "peak_memory_kind": "cuda max_memory_allocated"
                if dev.type == "cuda"
                else "process peak RSS (VmHWM)",
                "peak_increase_mb": e["peak_increase_mb"],
                **summarize_runs(e["times"], e["frames"]),
            }
        )
    return results


def _onnx_entries(first: dict[str, Any], batch: int, workdir: Path) -> list[dict[str, Any]]:
    """Whole-window forward of ``first``'s model in PyTorch and in onnxruntime (fp32, CPU)."""
    import onnxruntime as ort

    from tracknet.export import export_onnx

    model = first["model"]
    t = int(getattr(model, "frames", 1))
    h, w = first["size"]
    windows = torch.rand(batch, t, 3, h, w)
    path = export_onnx(model, workdir / "bench.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    array = windows.numpy()

    @torch.inference_mode()
    def torch_forward():
        return model(windows)

    def ort_forward():
        return session.run(None, {"frames": array})

    common = {k: first[k] for k in ("cfg", "model", "note", "size", "name", "channels_last")}
    return [
        {**common, "step": step, "frames": batch, "times": [], "backend": backend}
        for backend, step in (("torch-window", torch_forward), ("onnxruntime-window", ort_forward))
    ]


def synthetic_video(path: str | Path, frames: int, size: tuple[int, int] = (1280, 720)) -> Path:
    """An H.264 video of ``frames`` frames of ``size`` (``(W, H)``) with a flying ball."""
    import numpy as np

    from tracknet.io.video import VideoWriter

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
) -> dict[str, Any]:
    """End-to-end ``tracknet predict`` on ``video`` next to the model alone, alternating.

    End to end: :func:`tracknet.infer.pipeline.predict_source` (decoding thread, resizing, the
    model, heatmap decoding, tracking, CSV), timed from the call to the CSV on disk. Model only:
    the same number of frames through :func:`frame_step` (``protocol="predict"``: one window per
    frame) at the same batch size, dtype and device. ``ratio`` = end-to-end / model-only.
    """
    from tracknet.data.codec import HeatmapCodec
    from tracknet.infer.pipeline import FrameSource, predict_source
    from tracknet.infer.predictor import Predictor

    dev = torch.device(device)
    torch_dtype = DTYPES[dtype]
    cfg.predict.batch_size = batch_size
    cfg.predict.device = str(dev)
    cfg.predict.half = dtype != "fp32"
    predictor = Predictor(model, HeatmapCodec.from_config(cfg), cfg.predict)
    if predictor.autocast is not None and predictor.autocast != torch_dtype:
        raise ValueError(
            f"--dtype {dtype} is not what predict.half uses here ({predictor.autocast})"
        )
    size = wh_to_hw(cfg.model.input_size)
    combine = cfg.predict.combine == "weighted"
    step, per_call = frame_step(
        predictor.model, batch_size, size, dev, torch_dtype, "predict", combine=combine
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
    model_s: list[float] = []
    e2e_s: list[float] = []
    for _ in range(repeats):
        model_s += time_runs(model_only, 0, 1, dev)
        e2e_s += time_runs(end_to_end, 0, 1, dev)
    model_fps = [calls * per_call / s for s in model_s]
    e2e_fps = [frames / s for s in e2e_s]
    m, e = statistics.median(model_fps), statistics.median(e2e_fps)
    return {
        "model_fps": m,
        "end_to_end_fps": e,
        "ratio": e / m,
        "model_fps_runs": model_fps,
        "end_to_end_fps_runs": e2e_fps,
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
