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


def peak_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def frame_step(model: torch.nn.Module, batch: int, size_hw: tuple[int, int], device, dtype):
    """A callable that processes ``batch`` windows as predict does; returns (callable, frames)."""
    t = int(getattr(model, "frames", 1))
    h, w = size_hw
    windows = torch.rand(batch, t, 3, h, w, device=device)
    amp = (
        torch.autocast(device.type, dtype=dtype)
        if dtype != torch.float32
        else contextlib.nullcontext()
    )
    is_unet = getattr(model.model_config, "type", "vit") == "unet"

    @torch.inference_mode()
    def step():
        with amp:
            if is_unet:
                return model(windows)
            tokens = model.encode(windows[:, t // 2])  # one new frame per window
            cached = tokens.unsqueeze(1).expand(-1, t, *tokens.shape[1:])
            return model.decode_window(cached, windows, select=t // 2)

    return step, batch * (t if is_unet else 1)


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
) -> list[dict[str, Any]]:
    """Time each configuration's model, alternating between them run after run."""
    dev = torch.device(device)
    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    entries = []
    for cfg in cfgs:
        model, note = build_for_bench(cfg)
        model = model.to(dev).eval()
        size = wh_to_hw(input_size) if input_size else wh_to_hw(cfg.model.input_size)
        step, frames = frame_step(model, batch_size, size, dev, torch_dtype)
        entries.append(
            {
                "cfg": cfg,
                "model": model,
                "step": step,
                "frames": frames,
                "note": note,
                "size": size,
                "times": [],
            }
        )
    for e in entries:  # warm-up (and peak memory of one step)
        peak_rss_reset()
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        time_runs(e["step"], warmup, 1, dev)
        e["peak_mb"] = (
            torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else peak_rss_mb()
        )
    for _ in range(repeats):
        for e in entries:
            e["times"] += time_runs(e["step"], 0, 1, dev)
    results = []
    for e in entries:
        cfg = e["cfg"]
        results.append(
            {
                "model": cfg.model.type,
                "backbone": cfg.model.pretrained_model_name if cfg.model.type == "vit" else None,
                "weights": e["note"],
                "frames_per_window": cfg.model.frames,
                "input_hw": list(e["size"]),
                "batch_size": batch_size,
                "dtype": dtype,
                "device": str(dev),
                "threads": torch.get_num_threads(),
                "frames_per_call": e["frames"],
                "peak_memory_mb": e["peak_mb"],
                **summarize_runs(e["times"], e["frames"]),
            }
        )
    return results
