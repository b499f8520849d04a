#!/usr/bin/env bash
# Speed benchmarks on a CUDA machine, in about 8 minutes; writes one JSON file.
#
#   scripts/bench_gpu.sh [OUT_DIR] [DEVICE]     (defaults: bench_gpu/ and cuda:0)
#
# 1. Model only and end to end (`tracknet bench predict`: a 1280x720 H.264 video decoded in a
#    background thread, copied through pinned memory, resized on the GPU, the model, heatmap
#    decoding, tracking, CSV; next to the model alone on the same number of frames), bf16, for
#      - the default DINOv3 ViT-S/16 at 288x512 with T = 1 and T = 3 (batch 8 and 32, and T = 3
#        compiled with torch.compile at batch 32), and at 720x1280 (T = 3, batch 32),
#      - the TrackNetV2-style baseline (model.type=unet) at 288x512 with T = 3 and T = 8.
#    Target (issue 17): ViT-S/16 T = 3 at 288x512 >= 1000 frames/s end to end on one H200, and
#    end to end >= 0.9 of model only.
# 2. `tracknet bench model` in bf16 at batch 1, 8 and 32 (the same models, timed alternately).
# Without the gated DINOv3 weights in the cache, random weights of the same shapes are timed.
# Results: OUT_DIR/predict_*.json, OUT_DIR/model_bs*.json and OUT_DIR/bench_gpu.json (all of them
# together, with the GPU's name). Set PYTHON to choose the interpreter (default: .venv/bin/python,
# else python); FRAMES for the video's length (default 512).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT="${1:-bench_gpu}"
DEVICE="${2:-cuda:0}"
FRAMES="${FRAMES:-512}"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
mkdir -p "$OUT"

"$PYTHON" - "$DEVICE" <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("bench_gpu.sh: no CUDA device visible to torch")
index = torch.device(sys.argv[1]).index or 0
print(f"GPU: {torch.cuda.get_device_name(index)}, torch {torch.__version__}")
PY

VIT_288="model.input_size=[512,288]"
VIT_720="model.frames=3 model.input_size=[1280,720]"
UNET="model.type=unet model.heatmap.size=[512,288] model.input_size=[512,288]"

start=$SECONDS
predict() {  # NAME BATCH [extra flags and overrides...]
    local name=$1 bs=$2
    shift 2
    echo "== bench predict: $name, bf16, batch $bs"
    timeout 240 "$PYTHON" -m tracknet bench predict --device "$DEVICE" --dtype bf16 \
        --batch-size "$bs" --frames "$FRAMES" --repeats 3 --json "$OUT/predict_$name.json" "$@" \
        || echo "bench_gpu.sh: $name failed or timed out" >&2
}
# shellcheck disable=SC2086  # the overrides are separate words on purpose
predict vit_t3_288_bs8 8 $VIT_288 model.frames=3
predict vit_t3_288_bs32 32 $VIT_288 model.frames=3
predict vit_t1_288_bs32 32 $VIT_288 model.frames=1
predict vit_t3_288_bs32_compiled 32 --compile $VIT_288 model.frames=3
predict vit_t3_720_bs32 32 $VIT_720
predict unet_t3_288_bs32 32 $UNET model.frames=3
predict unet_t8_288_bs32 32 $UNET model.frames=8

for bs in 1 8 32; do
    echo "== bench model, bf16, batch $bs"
    # shellcheck disable=SC2086  # the main model's overrides are separate words on purpose
    timeout 150 "$PYTHON" -m tracknet bench model --device "$DEVICE" --dtype bf16 \
        --batch-size "$bs" --warmup 3 --repeats 10 \
        --vs "$VIT_288 model.frames=1" --vs "$VIT_720" \
        --vs "$UNET model.frames=3" --vs "$UNET model.frames=8" \
        --json "$OUT/model_bs$bs.json" $VIT_288 model.frames=3 \
        || echo "bench_gpu.sh: bench model batch $bs failed or timed out" >&2
done

"$PYTHON" - "$OUT" "$DEVICE" <<'PY'
import json, sys
from pathlib import Path

import torch

out, device = Path(sys.argv[1]), torch.device(sys.argv[2])
files = sorted(out.glob("predict_*.json")) + sorted(out.glob("model_bs*.json"))
combined = {
    "gpu": torch.cuda.get_device_name(device.index or 0),
    "torch": torch.__version__,
    "runs": {p.stem: json.loads(p.read_text()) for p in files},
}
(out / "bench_gpu.json").write_text(json.dumps(combined, indent=2) + "\n")
print(f"wrote {out / 'bench_gpu.json'} ({len(files)} runs)")
for name, run in combined["runs"].items():
    if name.startswith("predict_"):
        print(
            f"{name[8:]:28s} model {run['model_fps']:8.1f}  end to end "
            f"{run['end_to_end_fps']:8.1f} frames/s  ratio {run['ratio']:.3f}"
        )
PY
echo "done in $((SECONDS - start)) s"
