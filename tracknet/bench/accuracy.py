"""``tracknet bench accuracy``: train model variants on one fixed synthetic benchmark, side by side.

The benchmark is a preset (``tracknet/configs/bench/synth.yaml``): synthetic footage with fixed
seeds on the hard difficulty, a random-init DINOv3-shaped backbone shared by the ViT variants, and
one training budget (optimizer steps x windows per step) given to every variant. Each variant is a
full configuration file next to the preset (``t1.yaml`` the spec's single-frame model, ``t3.yaml``
three frames with temporal fusion and the detail path, ``unet3.yaml`` the TrackNetV2-style
baseline). The footage is written once; each variant is trained, its run scored on the test split
through the streaming predictor (as ``tracknet eval``), and the scores are written side by side as
``results.md`` (a markdown table) and ``results.json``. ``--cost-only`` trains nothing: it times
the per-frame streaming cost (encode + decode) of the runs already there (``cost.md``,
``cost.json``).
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import yaml

from tracknet.bench.timing import machine_info
from tracknet.config import load_config, wh_to_hw
from tracknet.data.synth import synthesize
from tracknet.evaluate.score import evaluate_checkpoint
from tracknet.infer.device import keep_freed_memory, prepare_for_inference
from tracknet.infer.loading import load_run
from tracknet.models.backbones.random_vit import save_random_vit
from tracknet.train.trainer import Trainer
from tracknet.utils import atomic_write_text

log = logging.getLogger("tracknet.bench")

COLUMNS = ("f1", "precision", "recall", "accuracy", "rmse")


def default_preset() -> Path:
    """The shipped preset, ``tracknet/configs/bench/synth.yaml``."""
    return Path(str(resources.files("tracknet") / "configs" / "bench" / "synth.yaml"))


def load_preset(path: str | Path | None = None) -> dict[str, Any]:
    """The preset as a dict, with ``variants`` resolved to absolute config paths."""
    path = Path(path) if path else default_preset()
    preset = yaml.safe_load(path.read_text())
    for key in ("synth", "backbone", "budget", "variants"):
        if key not in preset:
            raise ValueError(f"benchmark preset {path} has no '{key}' section")
    preset["variants"] = {
        name: str((path.parent / file).resolve()) for name, file in preset["variants"].items()
    }
    preset.setdefault("default_variants", list(preset["variants"]))
    return preset


def synthesize_preset(preset: dict[str, Any], root: Path) -> dict[str, Any]:
    """Write the preset's footage into ``root`` (skipped when a finished copy is already there)."""
    s = preset["synth"]
    stamp = root / "bench_synth.json"
    if stamp.exists() and json.loads(stamp.read_text()) == s:
        log.info("reusing the footage in %s", root)
        return s
    synthesize(
        root,
        s["fmt"],
        clips=int(s["clips"]),
        frames=int(s["frames"]),
        size=tuple(s["size"]),
        seed=int(s["seed"]),
        fps=float(s.get("fps", 30.0)),
        difficulty=s.get("difficulty", "hard"),
        clips_per_game=int(s.get("clips_per_game", 2)),
    )
    stamp.write_text(json.dumps(s))
    return s


def variant_config(preset: dict[str, Any], name: str, out: Path, steps: int | None, overrides=()):
    """The full configuration of one variant: its file + data, backbone, run folder and budget."""
    b = preset["budget"]
    max_steps = int(steps if steps is not None else b["max_steps"])
    every = max_steps  # validate (and save) once, at the end: the budget goes to training
    base = [
        f"data.root={out / 'data'}",
        f"run.dir={out / 'runs' / name}",
        f"model.pretrained_model_name={out / 'backbone'}",
        f"train.max_steps={max_steps}",
        f"train.batch_size={int(b['batch_size'])}",
        f"train.seed={int(b.get('seed', 0))}",
        f"train.eval_every={every}",
        f"train.save_every={every}",
        f"train.warmup_steps={min(max_steps // 10 + 1, 20)}",
    ]
    cfg = load_config(preset["variants"][name], [*base, *overrides])
    if cfg.model.type == "vit":  # the decoder starts at the backbone's width
        hidden = int(preset["backbone"]["hidden_size"])
        cfg.model.decoder.channels = [hidden, *cfg.model.decoder.channels[1:]]
    return cfg


def format_markdown(rows: list[dict[str, Any]]) -> str:
    head = "| variant | frames | F1 | precision | recall | accuracy | RMSE px | params | train s | eval s |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        m = r["metrics"]
        rmse = f"{m['rmse']:.2f}" if m.get("rmse") is not None else "-"
        lines.append(
            f"| {r['variant']} | {r['frames']} | {m['f1']:.3f} | {m['precision']:.3f} | "
            f"{m['recall']:.3f} | {m['accuracy']:.3f} | {rmse} | {r['params'] / 1e6:.2f} M | "
            f"{r['train_s']:.0f} | {r['eval_s']:.0f} |"
        )
    return "\n".join(lines)


def run_benchmark(
    variants: list[str] | None = None,
    steps: int | None = None,
    out: str | Path = "runs/bench-accuracy",
    preset_path: str | Path | None = None,
    overrides=(),
) -> dict[str, Any]:
    """Synthesise the preset once, train and score every variant; returns (and writes) the table."""
    preset = load_preset(preset_path)
    variants = list(variants or preset["default_variants"])
    unknown = [v for v in variants if v not in preset["variants"]]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; known: {sorted(preset['variants'])}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    synth = synthesize_preset(preset, out / "data")
    bb = preset["backbone"]
    save_random_vit(
        out / "backbone",
        hidden_size=int(bb["hidden_size"]),
        num_layers=int(bb["num_layers"]),
        num_heads=int(bb["num_heads"]),
        patch_size=int(bb.get("patch_size", 16)),
        num_register_tokens=int(bb.get("num_register_tokens", 4)),
        seed=int(bb.get("seed", 0)),
    )
    synth_s = time.perf_counter() - t0

    rows = []
    for name in variants:
        cfg = variant_config(preset, name, out, steps, overrides)
        log.info(
            "[%s] training %d steps x %d windows", name, cfg.train.max_steps, cfg.train.batch_size
        )
        t0 = time.perf_counter()
        run_dir = Trainer(cfg).fit()
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model, run_cfg = load_run(run_dir)
        assert isinstance(model, torch.nn.Module)  # a trained run (for its parameter count)
        result = evaluate_checkpoint(model, run_cfg, "test", out / "eval" / name, progress=False)
        eval_s = time.perf_counter() - t0
        overall = result.overall.as_dict()
        row = {
            "variant": name,
            "config": preset["variants"][name],
            "frames": int(cfg.model.frames),
            "params": int(sum(p.numel() for p in model.parameters())),
            "steps": int(cfg.train.max_steps),
            "batch_size": int(cfg.train.batch_size),
            "train_s": round(train_s, 1),
            "eval_s": round(eval_s, 1),
            "run_dir": str(run_dir),
            "metrics": {k: overall[k] for k in (*COLUMNS, "tp", "fp1", "fp2", "fn", "tn")},
        }
        rows.append(row)
        log.info(
            "[%s] test F1 %.3f (%.0f s train, %.0f s eval)",
            name,
            row["metrics"]["f1"],
            train_s,
            eval_s,
        )
        _write(out, preset, synth, synth_s, rows)  # partial results survive a later failure
    return _write(out, preset, synth, synth_s, rows)


def _write(out: Path, preset, synth, synth_s: float, rows) -> dict[str, Any]:
    budget = rows[0] if rows else {}
    result = {
        "benchmark": "accuracy",
        "synth": synth,
        "backbone": preset["backbone"],
        "budget": {"steps": budget.get("steps"), "batch_size": budget.get("batch_size")},
        "tolerance": "4 px in the original frame",
        "synth_s": round(synth_s, 1),
        "variants": rows,
        "machine": machine_info(),
    }
    table = format_markdown(rows)
    atomic_write_text(out / "results.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(out / "results.md", table + "\n")
    result["table"] = table
    return result


# --------------------------------------------------------------------------- predict cost
def predict_cost(
    run_dirs: dict[str, Path], batch: int = 8, repeats: int = 5
) -> dict[str, dict[str, float]]:
    """Per-frame streaming cost of trained runs, timed alternately in one process.

    One "frame" is what :class:`tracknet.infer.predictor.Predictor` pays per frame: the backbone
    on the new frame (``encode``) and the decoder on the window centred on it
    (``decode_window(select=T // 2)``), in batches of ``batch`` frames at the model input size.
    Each model runs as ``Predictor`` sets it up on the CPU (attention kernel, memory layout; fp32).
    Returns ``{name: {"encode_ms", "decode_ms", "total_ms"}}`` (medians over ``repeats``).
    """
    keep_freed_memory()  # the allocator setting Predictor uses on the CPU
    models, sizes = {}, {}
    for name, path in run_dirs.items():
        model, run_cfg = load_run(path)
        p = run_cfg.predict
        cpu = torch.device("cpu")
        models[name] = prepare_for_inference(model, cpu, None, p.channels_last, p.attention)
        sizes[name] = wh_to_hw(run_cfg.model.input_size)
    times: dict[str, dict[str, list[float]]] = {n: {"encode": [], "decode": []} for n in models}
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for rep in range(repeats + 1):  # the first round warms up
            for name, model in models.items():
                h, w = sizes[name]
                images = torch.rand(batch, 3, h, w, generator=gen)
                t = int(getattr(model, "frames", 1))
                t0 = time.perf_counter()
                tokens = model.encode(images)
                t1 = time.perf_counter()
                windows = tokens.unsqueeze(1).expand(-1, t, *tokens.shape[1:])
                frames = images.unsqueeze(1).expand(-1, t, *images.shape[1:])
                model.decode_window(windows, frames, select=t // 2)
                t2 = time.perf_counter()
                if rep:
                    times[name]["encode"].append((t1 - t0) / batch)
                    times[name]["decode"].append((t2 - t1) / batch)
    out = {}
    for name, parts in times.items():
        pairs = zip(parts["encode"], parts["decode"], strict=True)
        out[name] = {
            "encode_ms": statistics.median(parts["encode"]) * 1e3,
            "decode_ms": statistics.median(parts["decode"]) * 1e3,
            "total_ms": statistics.median(a + b for a, b in pairs) * 1e3,
        }
    return out


def run_cost(variants: list[str], out: Path) -> dict[str, Any]:
    """Time the trained runs of ``variants`` in ``out/runs``; writes ``cost.json`` and ``cost.md``."""
    cost = predict_cost({v: out / "runs" / v for v in variants})
    base = cost[variants[0]]["total_ms"]
    lines = [
        f"| variant | encode ms/frame | decode ms/frame | total ms/frame | x {variants[0]} |",
        "|---|---|---|---|---|",
    ]
    for name, c in cost.items():
        lines.append(
            f"| {name} | {c['encode_ms']:.1f} | {c['decode_ms']:.1f} | {c['total_ms']:.1f} | "
            f"{c['total_ms'] / base:.2f} |"
        )
    table = "\n".join(lines)
    result = {"benchmark": "predict cost", "variants": cost, "machine": machine_info()}
    atomic_write_text(out / "cost.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(out / "cost.md", table + "\n")
    result["table"] = table
    return result


# --------------------------------------------------------------------------- the command
def run_accuracy_benchmark(
    variants: list[str] | None = None,
    steps: int | None = None,
    out: str | Path = "runs/bench-accuracy",
    preset_path: str | Path | None = None,
    overrides: Sequence[str] = (),
    cost_only: bool = False,
) -> dict[str, Any]:
    """``tracknet bench accuracy``: :func:`run_benchmark` and print its table.

    ``cost_only``: no training; :func:`run_cost` of the runs already in ``out`` (``variants``,
    default the preset's) and print that table instead. Returns the result.
    """
    if cost_only:
        result = run_cost(variants or load_preset(preset_path)["default_variants"], Path(out))
        print("tracknet bench accuracy --cost-only: per-frame streaming cost (encode + decode)")
        print(result["table"])
        return result
    result = run_benchmark(variants, steps, out, preset_path, overrides)
    print(f"tracknet bench accuracy: test split, {result['tolerance']}")
    print(result["table"])
    print(f"wrote {Path(out) / 'results.md'} and {Path(out) / 'results.json'}")
    return result
