"""``tracknet bench data``: frames per second delivered by the training DataLoader.

The DataLoader is the one training uses (:class:`tracknet.data.dataset.ClipWindowDataset` and
:func:`tracknet.data.dataset.make_loader`), reading a dataset folder or, by default, a temporary
synthetic 1280x720 dataset (tennis-layout JPEGs; ``synth_format="shuttlecock"``: H.264 videos),
and delivering windows at the model input size. Every clip counts as a training clip (the split
does not matter for throughput). The rate is the median over equal intervals after a warm-up
(:func:`tracknet.bench.timing.rate_over_intervals`).

With ``data.cache`` on (the default) the clips' frame caches are built first and that cold build
is timed and reported on its own (nothing to build when they are already there); the rate is
then that of warm reading. ``data.cache=off`` measures decoding from the files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path
from typing import Any

from tracknet.bench.timing import machine_info, print_table, rate_over_intervals, write_json
from tracknet.config import Config, load_config
from tracknet.data.codec import HeatmapCodec
from tracknet.data.dataset import ClipWindowDataset, load_split, make_loader
from tracknet.data.frame_cache import CacheReport, FrameCache, build_caches
from tracknet.data.synth import synthesize
from tracknet.data.transforms import WindowAugment


def write_synthetic_jpegs(root: Path, clips: int, frames: int, fmt: str = "tennis") -> None:
    """A dataset of ``clips`` synthetic 1280x720 clips of ``frames`` frames: tennis-layout JPEGs,
    or (``fmt="shuttlecock"`` / ``"generic"``) H.264 videos."""
    synthesize(root, fmt, clips=clips, frames=frames, size=(1280, 720), seed=0)


def _cache_row(report: CacheReport) -> str:
    """The table's description of the frame cache build."""
    if report.directory is None:
        return "off (frames decoded from the files)"
    if report.clips == 0:
        return "on, but no clip of this dataset is cached (data.cache_images=false)"
    rate = f", {report.built_frames / report.seconds:.0f} frames/s" if report.built else ""
    return (
        f"{report.clips} clips, {report.built} built in {report.seconds:.1f} s{rate}, "
        f"{report.bytes / 2**30:.2f} GiB at {report.directory}"
    )


def data_config(
    config: str | None,
    root: Path,
    workers: int,
    input_size: tuple[int, int] | None = None,
    overrides: Sequence[str] = (),
) -> Config:
    """``config`` (or the defaults) reading ``root`` with ``workers`` workers, at ``input_size``."""
    keys = [f"data.root={root}", f"data.num_workers={workers}", *overrides]
    if input_size:
        keys.append(f"model.input_size=[{input_size[0]},{input_size[1]}]")
    return load_config(config, keys)


def _batches(loader: Iterable[dict[str, Any]]) -> Generator[int, None, None]:
    """Frames per batch, epoch after epoch."""
    while True:
        for batch in loader:
            frames = batch["frames"]  # [B, T, 3, H, W]
            yield frames.shape[0] * frames.shape[1]


def run_data_benchmark(
    *,
    root: str | None = None,
    config: str | None = None,
    overrides: Sequence[str] = (),
    input_size: tuple[int, int] | None = None,
    workers: int = 2,
    batch_size: int = 8,
    seconds: float = 20.0,
    warmup: float = 3.0,
    intervals: int = 5,
    augment: bool = False,
    synth_clips: int = 4,
    synth_frames: int = 100,
    synth_format: str = "tennis",
    json_path: str | None = None,
) -> dict[str, Any]:
    """Measure the DataLoader's frames per second; print the table, write ``json_path``.

    ``root``: a dataset folder (tennis, shuttlecock or generic layout); without it a temporary
    synthetic one of ``synth_clips`` x ``synth_frames`` frames in the ``synth_format`` layout.
    Returns the result as written.
    """
    with tempfile.TemporaryDirectory(prefix="tracknet-bench-") as tmp:
        if root:
            data_root = Path(root)
        else:
            data_root = Path(tmp) / "data"
            kind = "JPEGs" if synth_format == "tennis" else "H.264 videos"
            print(f"writing {synth_clips} x {synth_frames} synthetic 1280x720 {kind} ...")
            write_synthetic_jpegs(data_root, synth_clips, synth_frames, synth_format)
        cfg = data_config(config, data_root, workers, input_size, overrides)
        window_augment = WindowAugment(cfg.data.augment) if augment else None
        # Every clip is a training clip here: the split does not matter for throughput.
        cfg.data.split.ratios = [1.0, 0.0, 0.0]
        cfg.data.split.train, cfg.data.split.val, cfg.data.split.test = [], [], []
        codec = HeatmapCodec.from_config(cfg)
        # The cold cache build, timed on its own (from_config finds the caches ready).
        cache = build_caches(FrameCache.from_config(cfg, codec), load_split(cfg, "train"))
        dataset = ClipWindowDataset.from_config(cfg, "train", augment=window_augment, codec=codec)
        loader = make_loader(dataset, batch_size, shuffle=True, num_workers=workers)
        batches = _batches(loader)
        rate = rate_over_intervals(batches, seconds, warmup, intervals)
        batches.close()
        del batches, loader  # stops the workers before the temporary data goes
        first = dataset.clips[0]
    result = {
        "benchmark": "data",
        "frames_per_s": rate["median"],
        "frames_per_s_min": rate["min"],
        "frames_per_s_max": rate["max"],
        "intervals": rate["intervals"],
        "interval_s": rate["interval_s"],
        "root": "synthetic" if not root else str(root),
        "frame_size": list(first.frame_size),
        "input_size": list(cfg.model.input_size),
        "frames_per_window": dataset.frames_per_clip,
        "windows": len(dataset),
        "batch_size": batch_size,
        "workers": workers,
        "augment": bool(augment),
        "cache": {
            "directory": str(cache.directory) if cache.directory else None,
            "clips": cache.clips,
            "built": cache.built,
            "built_frames": cache.built_frames,
            "build_s": cache.seconds,
            "bytes": cache.bytes,
        },
        "machine": machine_info(),
    }
    fs, ins = result["frame_size"], result["input_size"]
    print_table(
        "tracknet bench data",
        [
            ("frames/s (median)", f"{rate['median']:.1f}"),
            ("min / max", f"{rate['min']:.1f} / {rate['max']:.1f}"),
            ("intervals", f"{len(rate['intervals'])} x {rate['interval_s']:.1f} s"),
            ("source", f"{result['root']}, {len(dataset)} windows of {dataset.frames_per_clip}"),
            ("frames", f"{fs[0]}x{fs[1]} -> {ins[0]}x{ins[1]}"),
            ("loader", f"{workers} workers, batch {batch_size}, augment {augment}"),
            ("frame cache", _cache_row(cache)),
            ("machine", f"{result['machine']['cpu']} ({result['machine']['nproc']} cores)"),
        ],
    )
    write_json(json_path, result)
    return result
