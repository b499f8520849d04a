#!/usr/bin/env bash
# tracknet against an open-source peer on the same CPU, end to end (issue 26): every system one
# whole process on the same clip, wall clock around it, median of N paired runs in alternating
# order; prints a markdown table (CPU model and flags, torch / onnxruntime versions) and writes it
# with the raw timings to OUT/bench_cpu_peer.{md,json}.
#
#   scripts/bench_cpu_peer.sh --peer PEER_DIR --video CLIP.mp4 --checkpoint RUN [--checkpoint RUN2]
#       [--half] [--repeats 3] [--out runs/bench_cpu_peer] [--peer-python PY] [--peer-model M]
#
# The peer is asigatchov/fast-volleyball-tracking-inference, checked out OUTSIDE this repository
# (never commit its code or models), its dependencies in their own venv, e.g.
#   python3.12 -m venv /work/peer_venv && /work/peer_venv/bin/pip install onnxruntime \
#       opencv-python-headless numpy pandas tqdm
# (the default --peer-python is PEER_DIR/.venv/bin/python, what its `uv sync` makes, else
# /work/peer_venv/bin/python). Its command is its README's detection step with `uv run` replaced
# by that interpreter, run in PEER_DIR:
#   PY src/inference_onnx_seq_gray_v2.py --video_path CLIP --model_path \
#       models/VballNetV1_seq9_grayscale_330_h288_w512.onnx --output_dir OUT --only_csv
# `--peer-command TEMPLATE` changes it. All options: scripts/bench_cpu_peer.py --help.
# Set PYTHON to choose tracknet's interpreter (default: this checkout's .venv/bin/python, else
# python).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$here/../.venv/bin/python" ]]; then PYTHON="$here/../.venv/bin/python"; else PYTHON=python; fi
fi
exec "$PYTHON" "$here/bench_cpu_peer.py" "$@"
