#!/usr/bin/env bash
# Speed benchmarks on a CUDA machine, in under 5 minutes; writes one JSON file.
#
#   scripts/bench_gpu.sh [OUT_DIR]          (default: bench_gpu/)
#
# In bf16 on the first GPU, for batch sizes 1, 8 and 32, timed alternately in one process:
#   - the default DINOv3 ViT-S/16 model (T = 3) at 288x512 and at 720x1280 input,
#   - the TrackNetV2-style baseline (model.type=unet) with T = 3 and T = 8 at 288x512 and
#     T = 3 at 720x1280;
# then end-to-end `tracknet predict` next to the model alone (batch 8 and 32, 288x512).
# Without the gated DINOv3 weights in the cache, random weights of the same shapes are timed.
# Results: OUT_DIR/model_bs{1,8,32}.json, OUT_DIR/predict_bs{8,32}.json and OUT_DIR/bench_gpu.json
# (all of them together). Set PYTHON to choose the interpreter (default: .venv/bin/python, else
# python).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT="${1:-bench_gpu}"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
mkdir -p "$OUT"

"$PYTHON" - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("bench_gpu.sh: no CUDA device visible to torch")
print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
PY

VIT_288="model.frames=3 model.input_size=[512,288]"
VIT_720="model.frames=3 model.input_size=[1280,720]"
UNET="model.type=unet model.heatmap.size=[512,288] model.input_size=[512,288]"
UNET_720="model.type=unet model.heatmap.size=[1280,720] model.input_size=[1280,720] model.frames=3"

start=$SECONDS
for bs in 1 8 32; do
    echo "== bench model, bf16, batch $bs"
    # shellcheck disable=SC2086  # the main model's overrides are separate words on purpose
    timeout 150 "$PYTHON" -m tracknet bench model --device cuda --dtype bf16 --batch-size "$bs" \
        --warmup 3 --repeats 10 \
        --vs "$VIT_720" --vs "$UNET model.frames=3" --vs "$UNET model.frames=8" --vs "$UNET_720" \
        --json "$OUT/model_bs$bs.json" $VIT_288
done
for bs in 8 32; do
    echo "== bench predict, bf16, batch $bs"
    # shellcheck disable=SC2086
    timeout 90 "$PYTHON" -m tracknet bench predict --device cuda --dtype bf16 --batch-size "$bs" \
        --frames 256 --repeats 3 --json "$OUT/predict_bs$bs.json" $VIT_288
done

"$PYTHON" - "$OUT" <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
files = sorted(out.glob("model_bs*.json")) + sorted(out.glob("predict_bs*.json"))
combined = {p.stem: json.loads(p.read_text()) for p in files}
(out / "bench_gpu.json").write_text(json.dumps(combined, indent=2) + "\n")
print(f"wrote {out / 'bench_gpu.json'} ({len(files)} runs)")
PY
echo "done in $((SECONDS - start)) s"
