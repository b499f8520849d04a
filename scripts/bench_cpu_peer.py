"""tracknet against an open-source peer on the same CPU, end to end, whole processes timed.

Every system is one process started from scratch on the same video clip, timed with the wall
clock around the whole command (interpreter start, imports, model load, decoding, the model,
writing the CSV): ``tracknet predict VIDEO --checkpoint RUN --device cpu`` for each checkpoint
(and each variant, e.g. ``--half``), and the peer's own inference script as its README runs it,
by default asigatchov/fast-volleyball-tracking-inference's

    python src/inference_onnx_seq_gray_v2.py --video_path VIDEO \\
        --model_path models/VballNetV1_seq9_grayscale_330_h288_w512.onnx --output_dir OUT --only_csv

run in the peer's checkout with the peer's own interpreter (the README says ``uv run``; the
interpreter of its ``uv sync``, ``PEER/.venv/bin/python``, is the default where it exists).
Each repeat runs every system back to back, the order alternating from one repeat to the next
(forwards, backwards, ...), so a change in the machine's load hits all of them alike; the table
gives the median over the repeats and, per system, the median of its paired ratios to the peer
(the peer's seconds over the system's in the same repeat). The GPU is hidden from every process
(``CUDA_VISIBLE_DEVICES=``) unless ``--allow-gpu``.

Prints a markdown table with the CPU's model name and the flags that matter for inference
(avx2, avx512f, avx512_bf16, avx512_vnni, amx_*), the torch and onnxruntime versions, and writes
it to OUT/bench_cpu_peer.md, the raw timings to OUT/bench_cpu_peer.json, each process's output
to OUT/logs/ and its CSVs to OUT/outputs/.

    python scripts/bench_cpu_peer.py --peer PEER_DIR --video CLIP.mp4 --checkpoint RUN
        [--checkpoint [LABEL=]RUN_OR_MODEL ...] [--half] [--variant NAME=ARGS ...]
        [--repeats 3] [--warmup 0] [--out runs/bench_cpu_peer] [--peer-python PY]
        [--peer-model MODEL] [--peer-command TEMPLATE] [--tracknet CMD]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

PEER_MODEL = "models/VballNetV1_seq9_grayscale_330_h288_w512.onnx"
PEER_COMMAND = (
    "{python} src/inference_onnx_seq_gray_v2.py --video_path {video} --model_path {model} "
    "--output_dir {out} --only_csv"
)
FALLBACK_PEER_PYTHON = "/work/peer_venv/bin/python"
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni")
LFS_POINTER = b"version https://git-lfs"

# Run by each system's interpreter: the versions that decide its speed, as one JSON line.
PROBE = r"""
import json, sys
from importlib import metadata
info = {"python": sys.version.split()[0], "packages": {}}
for name in ("tracknet", "torch", "onnxruntime", "onnxruntime-gpu", "openvino",
             "opencv-python-headless", "opencv-python", "numpy", "av", "pandas"):
    try:
        info["packages"][name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
if "torch" in info["packages"]:
    import torch
    info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    info["torch_threads"] = torch.get_num_threads()
try:
    import onnxruntime
    info["onnxruntime_providers"] = onnxruntime.get_available_providers()
except Exception:
    pass
try:
    import cv2
    info["opencv_threads"] = cv2.getNumThreads()
except Exception:
    pass
print(json.dumps(info))
"""


class System:
    """One command to time (``{out}`` in it: its output folder); ``kind``: tracknet or peer.

    (A plain class: the script tests load this file without registering it as a module, which a
    dataclass needs.)"""

    def __init__(self, name: str, kind: str, command: list[str], cwd: Path | None = None):
        self.name, self.kind, self.command, self.cwd = name, kind, command, cwd
        self.seconds: list[float] = []
        self.csv_rows: list[int | None] = []

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name).strip("_")


def cpu_info() -> dict:
    """The CPU's model name, CPU count and the inference-relevant flags (Linux /proc/cpuinfo)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and value.strip():
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    wanted = {flag: flag in flags for flag in CPU_FLAGS}
    amx = sorted(flag for flag in flags if flag.startswith("amx"))
    return {"model": model, "cpus": usable, "flags": wanted, "amx": amx}


def clip_info(path: Path) -> dict:
    """Frame count (the container's, else by decoding), size and codec, with PyAV."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {
            "path": str(path),
            "frames": stream.frames,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "codec": stream.codec_context.name,
            "fps": float(stream.average_rate) if stream.average_rate else None,
        }
        if not info["frames"]:
            info["frames"] = sum(1 for _ in container.decode(stream))
    return info


def probe(python: str, cwd: Path | None = None) -> dict:
    """Versions seen by the interpreter ``python`` run in ``cwd`` (as the system runs), or the
    error that stopped it; this interpreter's own in this process (torch imported once)."""
    if python == sys.executable and cwd is None:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(PROBE, {})
        return json.loads(printed.getvalue())
    try:
        done = subprocess.run(
            [python, "-c", PROBE], cwd=cwd, capture_output=True, text=True, timeout=120, check=True
        )
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"error": str(exc)}


def csv_rows(folder: Path) -> int | None:
    """Data rows of the longest ``*ball.csv`` under ``folder`` (header left out)."""
    counts = [max(0, len(path.read_text().splitlines()) - 1) for path in folder.rglob("*ball.csv")]
    return max(counts) if counts else None


def checkpoint_label(spec: str) -> tuple[str, str]:
    """``LABEL=PATH`` or ``PATH``: (label, path); the label defaults to the run folder's name."""
    label, sep, path = spec.partition("=")
    if sep and label and not Path(spec).exists():
        return label, path
    path = Path(spec)
    name = path.parent.name if path.name in ("best", "last") else path.name
    return name or spec, spec


def parse_variant(spec: str) -> tuple[str | None, str, list[str]]:
    """``[LABEL:]NAME=ARGS`` -> (the checkpoint label it is limited to or None, NAME, ARGS)."""
    name, _, args = spec.partition("=")
    label, colon, vname = name.partition(":")
    if not colon:
        return None, name.strip(), shlex.split(args)
    return label.strip(), vname.strip(), shlex.split(args)


def build_systems(args: argparse.Namespace, video: Path, out: Path) -> list[System]:
    # no variant: the checkpoint as its config.yaml runs it (a bundled model's precision included)
    variants = [parse_variant(v) for v in args.variant] or [(None, "its settings", [])]
    if args.half:
        variants.append((None, "--half", ["--half"]))
    tracknet = shlex.split(args.tracknet) if args.tracknet else [sys.executable, "-m", "tracknet"]
    labels = [checkpoint_label(spec)[0] for spec in args.checkpoint]
    unknown = sorted({v[0] for v in variants if v[0] is not None} - set(labels))
    if unknown:
        raise SystemExit(
            f"bench_cpu_peer: --variant for {', '.join(unknown)}, which no --checkpoint is "
            f"labelled (labels: {', '.join(labels)})"
        )
    systems = []
    for spec in args.checkpoint:
        label, path = checkpoint_label(spec)
        for only, vname, vargs in variants:
            if only is not None and only != label:
                continue
            name = f"tracknet {label}, {vname}"
            cmd = [*tracknet, "predict", str(video), "--checkpoint", path, "--out", "{out}"]
            cmd += ["--device", "cpu", "--no-progress", *vargs]
            systems.append(System(name, "tracknet", cmd))
    peer = Path(args.peer).resolve()
    model = args.peer_model
    template = shlex.split(args.peer_command)
    fill = {"python": args.peer_python, "video": str(video), "model": model}
    command = [token.format(**fill, out="{out}") for token in template]
    label = args.peer_label or f"peer {Path(model).name}"
    systems.append(System(label, "peer", command, cwd=peer))
    return systems


def check_peer(args: argparse.Namespace) -> None:
    peer = Path(args.peer)
    if not peer.is_dir():
        raise SystemExit(f"bench_cpu_peer: no peer checkout at {peer}")
    if not Path(args.peer_python).exists() and "/" in args.peer_python:
        raise SystemExit(
            f"bench_cpu_peer: no peer interpreter {args.peer_python} (make a venv with the "
            "peer's requirements and pass --peer-python)"
        )
    if "{model}" in args.peer_command:
        model = peer / args.peer_model
        if not model.is_file():
            raise SystemExit(f"bench_cpu_peer: no peer model {model}")
        with model.open("rb") as f:
            if f.read(len(LFS_POINTER)) == LFS_POINTER:
                raise SystemExit(
                    f"bench_cpu_peer: {model} is a Git LFS pointer, not the model: run "
                    "`git lfs pull` in the peer's checkout or pick another --peer-model"
                )


def run_once(system: System, out: Path, tag: str, env: dict, timeout: float) -> float:
    """Run ``system`` once, its outputs under ``out/outputs/<slug>/<tag>``; return its seconds."""
    work = out / "outputs" / system.slug / tag
    work.mkdir(parents=True, exist_ok=True)
    log = out / "logs" / f"{system.slug}_{tag}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [token.replace("{out}", str(work)) for token in system.command]
    with log.open("w") as sink:
        start = time.perf_counter()
        done = subprocess.run(
            command, cwd=system.cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, timeout=timeout
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise SystemExit(
            f"bench_cpu_peer: {system.name} exited with {done.returncode}:\n"
            f"  {shlex.join(command)}\n{tail}"
        )
    if not tag.startswith("warmup"):
        system.csv_rows.append(csv_rows(work))
    return seconds


def paired_ratio(system: System, peer: System) -> float:
    """Median over repeats of the peer's seconds over the system's (> 1: the system is faster)."""
    return statistics.median(p / s for p, s in zip(peer.seconds, system.seconds, strict=True))


def describe_versions(info: dict) -> str:
    if "error" in info:
        return f"(did not run: {info['error']})"
    pkgs = info.get("packages", {})
    parts = [f"Python {info.get('python')}"]
    if "torch" in pkgs:
        parts.append(
            f"torch {pkgs['torch']} (CPU capability {info.get('torch_cpu_capability')}, "
            f"{info.get('torch_threads')} threads)"
        )
    for name in ("onnxruntime", "onnxruntime-gpu"):
        if name in pkgs:
            providers = ", ".join(info.get("onnxruntime_providers", []))
            parts.append(f"{name} {pkgs[name]} ({providers})")
    for name in ("opencv-python-headless", "opencv-python"):
        if name in pkgs:
            parts.append(f"OpenCV {pkgs[name]} ({info.get('opencv_threads')} threads)")
            break
    for name in ("openvino", "numpy", "av", "tracknet"):
        if name in pkgs:
            parts.append(f"{name} {pkgs[name]}")
    return ", ".join(parts)


def render(result: dict) -> str:
    cpu, clip = result["cpu"], result["clip"]
    flags = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in cpu["flags"].items())
    amx = ", ".join(cpu["amx"]) or "none"
    lines = [
        f"- CPU: {cpu['model']}, {cpu['cpus']} CPUs usable; {flags}; AMX: {amx}",
        f"- tracknet: {describe_versions(result['versions']['tracknet'])}",
        f"- peer: {describe_versions(result['versions']['peer'])}",
        f"- clip: {Path(clip['path']).name}, {clip['frames']} frames, {clip['width']}x"
        f"{clip['height']} {clip['codec']}; median of {result['repeats']} paired runs "
        f"(order alternating), {result['warmup']} warm-up run(s) each; load average "
        f"{result['load_before'][0]:.2f} before, {result['load_after'][0]:.2f} after",
        "",
        "| system | end to end | seconds (median) | runs (s) | vs peer (paired median) |",
        "|---|---:|---:|---|---:|",
    ]
    for row in result["systems"]:
        runs = ", ".join(f"{s:.2f}" for s in row["seconds"])
        lines.append(
            f"| {row['name']} | {row['fps']:.1f} fr/s | {row['median_s']:.2f} | {runs} | "
            f"{row['vs_peer']:.2f}x |"
        )
    short = [r for r in result["systems"] if any(n != clip["frames"] for n in r["csv_rows"])]
    for row in short:
        lines.append(
            f"\nNote: {row['name']} wrote {row['csv_rows']} CSV rows for {clip['frames']} frames."
        )
    lines += ["", "Commands (cwd: this folder for tracknet, the peer's checkout for the peer):", ""]
    lines += [f"    {row['command']}" for row in result["systems"]]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--peer", required=True, help="the peer's checkout (its work tree)")
    p.add_argument("--video", required=True, help="the clip every system tracks")
    p.add_argument(
        "--checkpoint",
        action="append",
        required=True,
        metavar="[LABEL=]RUN",
        help="a tracknet run folder or model name, as `tracknet predict --checkpoint` takes "
        "it (repeat for several)",
    )
    p.add_argument("--half", action="store_true", help="also time each checkpoint with --half")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="[LABEL:]NAME=ARGS",
        help="extra `tracknet predict` arguments timed as their own row (repeatable; given, "
        "they replace the plain row of the checkpoint's own settings), e.g. 'onnx=--backend onnx'; with LABEL: for that "
        "checkpoint only, e.g. 'badminton:384x224=model.input_size=[384,224]'",
    )
    p.add_argument("--repeats", type=int, default=3, help="paired runs (default 3)")
    p.add_argument("--warmup", type=int, default=0, help="untimed runs of each system first")
    p.add_argument("--out", default="runs/bench_cpu_peer", help="output folder")
    p.add_argument(
        "--peer-python",
        help="the peer's interpreter (default: PEER/.venv/bin/python if it exists, else "
        f"{FALLBACK_PEER_PYTHON})",
    )
    p.add_argument("--peer-model", default=PEER_MODEL, help="relative to the peer's checkout")
    p.add_argument(
        "--peer-command",
        default=PEER_COMMAND,
        help="the peer's command line, run in its checkout; {python}, {video}, {model} and "
        "{out} are filled in (default: its README's detection step)",
    )
    p.add_argument("--peer-label", help="the peer's row name")
    p.add_argument(
        "--tracknet", help="the command that runs tracknet (default: this python -m tracknet)"
    )
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per process")
    p.add_argument("--allow-gpu", action="store_true", help="leave CUDA_VISIBLE_DEVICES alone")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        p.error("--repeats must be >= 1 and --warmup >= 0")
    if args.peer_python is None:
        uv_python = Path(args.peer) / ".venv" / "bin" / "python"
        args.peer_python = str(uv_python.resolve()) if uv_python.exists() else None
        args.peer_python = args.peer_python or FALLBACK_PEER_PYTHON
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_peer(args)
    video = Path(args.video).resolve()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    clip = clip_info(video)
    systems = build_systems(args, video, out)
    first = shlex.split(args.tracknet)[0] if args.tracknet else sys.executable
    tracknet_python = first if Path(first).name.startswith("python") else sys.executable
    versions = {
        "tracknet": probe(tracknet_python),
        "peer": probe(args.peer_python, systems[-1].cwd),
    }
    env = dict(os.environ)
    if not args.allow_gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""

    load_before = os.getloadavg()
    runs = []
    for w in range(args.warmup):
        for system in systems:
            run_once(system, out, f"warmup{w}", env, args.timeout)
    for r in range(args.repeats):
        order = systems if r % 2 == 0 else systems[::-1]
        for position, system in enumerate(order):
            seconds = run_once(system, out, f"r{r}", env, args.timeout)
            system.seconds.append(seconds)
            runs.append({"repeat": r, "position": position, "system": system.name, "s": seconds})
            print(f"repeat {r + 1}/{args.repeats}: {system.name}: {seconds:.2f} s", flush=True)
    load_after = os.getloadavg()

    peer = systems[-1]
    rows = []
    for system in systems:
        median = statistics.median(system.seconds)
        rows.append(
            {
                "name": system.name,
                "kind": system.kind,
                "command": shlex.join(system.command),
                "cwd": str(system.cwd) if system.cwd else os.getcwd(),
                "seconds": system.seconds,
                "median_s": median,
                "fps": clip["frames"] / median,
                "vs_peer": paired_ratio(system, peer),
                "csv_rows": system.csv_rows,
            }
        )
    result = {
        "cpu": cpu_info(),
        "versions": versions,
        "clip": clip,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "cuda_visible_devices": env.get("CUDA_VISIBLE_DEVICES"),
        "thread_env": {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")},
        "load_before": list(load_before),
        "load_after": list(load_after),
        "systems": rows,
        "runs": runs,
    }
    table = render(result)
    result["table"] = table
    (out / "bench_cpu_peer.md").write_text(table)
    (out / "bench_cpu_peer.json").write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table, end="")
    print(f"\nwrote {out / 'bench_cpu_peer.md'} and {out / 'bench_cpu_peer.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
