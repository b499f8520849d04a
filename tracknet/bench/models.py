"""``tracknet bench model``: forward frames per second and peak memory of one or more models.

Frames per second are counted the way ``tracknet predict`` consumes them:

- a ViT model encodes each frame once and decodes it from the window centred on it, so one
  "frame" costs ``encode(1 frame) + decode_window(1 window, centre only)``;
- the baseline (``model.type=unet``) is multi-in multi-out: one forward pass of a T-frame window
  yields T heatmaps, so it is credited with T frames per window (TrackNetV2/V3's own protocol).

Timings: a warm-up, then ``repeats`` timed runs; we report the median and the spread (min, max).
With a second configuration (``--vs``) both run in the same process, alternating, so that both
see the same machine state, and the ratio of the medians is reported. ``--onnx`` also times the
first model's whole-window forward in PyTorch and under onnxruntime (an optional dependency).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from tracknet.bench.timing import (
    DTYPES,
    machine_info,
    peak_rss_mb,
    peak_rss_reset,
    rss_mb,
    summarize_runs,
    time_runs,
    write_json,
)
from tracknet.config import Config, load_config, wh_to_hw
from tracknet.errors import BackboneNotFoundError
from tracknet.infer.device import keep_freed_memory, prepare_for_inference
from tracknet.infer.export import export_onnx
from tracknet.models import build_model
from tracknet.models.backbones.random_vit import save_random_vit

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


# --------------------------------------------------------------------------- models to time
def build_for_bench(cfg: Config, workdir: str | Path | None = None) -> tuple[torch.nn.Module, str]:
    """Build ``cfg``'s model; when its backbone is not in the cache, the same shape at random.

    Returns the model and a note saying which weights were used.
    """
    cfg.model.backbone.device_map = None
    try:
        return build_model(cfg), "weights from the cache" if cfg.model.type == "vit" else "random"
    except BackboneNotFoundError:
        shape = DINOV3_SHAPES.get(cfg.model.pretrained_model_name)
        if shape is None:
            raise
        folder = Path(workdir or tempfile.mkdtemp(prefix="tracknet-bench-")) / "backbone"
        save_random_vit(folder, patch_size=cfg.model.backbone.patch_size, **shape)
        cfg.model.pretrained_model_name = str(folder)
        return build_model(cfg), "random weights of the same shape (not in the cache)"


def load_spec(spec: str | None, extra: Sequence[str] = ()) -> Config:
    """A configuration from ``"FILE key=value ..."`` (either part optional; empty: defaults).

    The text comes from the command line (``--config`` or ``--vs``), hence argparse's error.
    """
    words = (spec or "").split()
    files = [w for w in words if "=" not in w]
    if len(files) > 1:
        raise argparse.ArgumentTypeError(f"one config file per model, got {files}")
    overrides = [w for w in words if "=" in w] + list(extra)
    return load_config(files[0] if files else None, overrides)


def describe(cfg: Config, backbone: str | None = None) -> str:
    """A short name of ``cfg``'s model: ``"unet(base=32) T=3"``, ``"dinov3-vits16... T=3"``."""
    m = cfg.model
    if m.type == "unet":
        return f"unet(base={m.unet.base_channels}) T={m.frames}"
    return f"{Path(backbone or m.pretrained_model_name).name} T={m.frames}"


# --------------------------------------------------------------------------- timing a model
def frame_step(
    model: torch.nn.Module,
    batch: int,
    size_hw: tuple[int, int],
    device,
    dtype,
    protocol: str = "native",
    compile: bool = False,
    combine: bool = False,
    *,
    unet: bool,
):
    """A callable that processes ``batch`` windows as predict does; returns (callable, frames).

    ``unet``: the model is the multi-in multi-out baseline (``model.type=unet``).
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
    encode, decode = model.encode, model.decode_window
    if compile:
        encode, decode = torch.compile(encode), torch.compile(decode)

    @torch.inference_mode()
    def step():
        with amp:
            if unet:
                return model(windows) if protocol == "native" else decode(windows, select=t // 2)
            tokens = encode(windows[:, t // 2])  # one new frame per window
            cached = tokens.unsqueeze(1).expand(-1, t, *tokens.shape[1:])
            return decode(cached, windows, select=None if combine else t // 2)

    return step, batch * (t if unet and protocol == "native" else 1)


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
            model,
            batch_size,
            size,
            dev,
            torch_dtype,
            compile=compiled,
            combine=combine,
            unet=cfg.model.type == "unet",
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
    import onnxruntime as ort  # optional dependency: only --onnx needs it

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


# --------------------------------------------------------------------------- the command
def run_model_benchmark(
    *,
    config: str | None = None,
    overrides: Sequence[str] = (),
    vs: Sequence[str] = (),
    input_size: tuple[int, int] | None = None,
    batch_size: int = 1,
    dtype: str = "fp32",
    device: str = "cpu",
    threads: int | None = None,
    warmup: int = 2,
    repeats: int = 5,
    compile: bool = False,
    onnx: bool = False,
    json_path: str | None = None,
) -> dict[str, Any]:
    """Time ``config`` + ``overrides`` (and each ``vs`` spec) alternately; print, write JSON.

    Each ``vs`` is ``"FILE key=value ..."`` (:func:`load_spec`). ``threads``: torch's CPU threads
    (default: torch's). Returns the result as written: ``results`` (one per model, labelled
    ``main``, ``vs1``...; with ``onnx`` also ``torch`` and ``onnx``), ``ratios`` (main / each vs,
    ``ratio`` with one vs), ``onnx_vs_torch`` and ``machine``.
    """
    if threads:
        torch.set_num_threads(threads)
    cfgs = [load_spec(config, overrides)] + [load_spec(v) for v in vs]
    labels = ["main"] + [f"vs{i + 1}" for i in range(len(vs))]
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-") as tmp:
        results = bench_models(
            cfgs,
            batch_size=batch_size,
            input_size=input_size,
            dtype=dtype,
            device=device,
            warmup=warmup,
            repeats=repeats,
            compile=compile,
            workdir=tmp,
            onnx=onnx,
        )
    if onnx:
        cfgs += [cfgs[0], cfgs[0]]
        labels += ["torch", "onnx"]
    for label, cfg, r in zip(labels, cfgs, results, strict=True):
        r["label"], r["name"] = label, describe(cfg, r["backbone"])
        r["spec"] = (
            " ".join([config or "", *overrides]).strip()
            if label in ("main", "torch", "onnx")
            else vs[int(label[2:]) - 1]
        )
        if label in ("torch", "onnx"):
            r["name"] += f" whole window ({r['backend']})"
    base = results[0]["fps_median"]
    ratios = {
        r["label"]: base / r["fps_median"] for r in results[1:] if r["label"].startswith("vs")
    }
    result: dict[str, Any] = {"benchmark": "model", "results": results, "ratios": ratios}
    if len(vs) == 1:
        result["ratio"] = ratios["vs1"]
    if onnx:
        result["onnx_vs_torch"] = results[-1]["fps_median"] / results[-2]["fps_median"]
    result["machine"] = machine_info()
    print(
        f"tracknet bench model ({dtype}, batch {batch_size}, {device}, "
        f"{torch.get_num_threads()} threads; median of {repeats}, alternating)"
    )
    for r in results:
        h, w = r["input_hw"]
        mem = r["peak_memory_mb"]
        print(
            f"  {r['label']:<5} {r['name']:<40} {w}x{h}  {r['fps_median']:8.2f} frames/s "
            f"(min {r['fps_min']:.2f}, max {r['fps_max']:.2f})  "
            f"peak {mem if mem is None else round(mem)} MiB  [{r['weights']}]"
        )
    for label, ratio in ratios.items():
        print(f"  ratio main / {label}: {ratio:.2f}")
    if onnx:
        print(f"  ratio onnxruntime / torch (whole window): {result['onnx_vs_torch']:.2f}")
    write_json(json_path, result)
    return result
