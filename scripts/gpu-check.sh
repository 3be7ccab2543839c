#!/usr/bin/env bash
# The GPU check, one command on a machine with a GPU (docs/gpu.md, "Measuring on a GPU"): the same model
# and batch through `cai bench infer --device webgpu` and `--device cpu`, predictions of both compared,
# and a summary of samples/s, GFLOP/s achieved against the GPU's FP32 peak and max |diff|.
#
# The machine needs no Node.js, npm or network: everything comes from the pack that
# `npm run build && node scripts/gpu-pack.mjs` makes here (.gpu-pack/cai-gpu-pack.tar.xz, about 40 MiB).
# Run from the repository root:
#   scripts/gpu-check.sh [pack] [results-dir]        (defaults: .gpu-pack/cai-gpu-pack.tar.xz, $OUT or ./gpu-check)
# Sizes: SAMPLES (default 8192), BATCH (1024), CPU_SAMPLES (2048: the CPU is the slow side), REPEATS (2).
# On a machine without a GPU it runs on llvmpipe, which takes hours at these sizes: use e.g.
#   SAMPLES=64 CPU_SAMPLES=64 BATCH=32 REPEATS=1 scripts/gpu-check.sh
set -euo pipefail

PACK=${1:-.gpu-pack/cai-gpu-pack.tar.xz}
RESULTS=${2:-${OUT:-./gpu-check}}
SAMPLES=${SAMPLES:-8192}
CPU_SAMPLES=${CPU_SAMPLES:-2048}
BATCH=${BATCH:-1024}
REPEATS=${REPEATS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)

[ -f "$PACK" ] || { echo "gpu-check: no pack at $PACK (make it with: npm run build && node scripts/gpu-pack.mjs)" >&2; exit 7; }
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
W=$(mktemp -d /tmp/cai-gpu-check.XXXXXX)
trap 'rm -rf "$W"' EXIT
tar -xJf "$PACK" -C "$W"

# The pack's Node, vulkaninfo and Vulkan loader come first; the machine's own driver (its Vulkan ICD) is used.
export PATH="$W/node/bin:$W/sysroot/usr/bin:$PATH"
export LD_LIBRARY_PATH="$W/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$W/xdg} CAI_GPU_CACHE=${CAI_GPU_CACHE:-$W/gpu-cache}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if ! vulkaninfo --summary 2>/dev/null | grep -q deviceName; then
  # NVIDIA's driver mounted where the loader does not look (as on this project's lent GPU machines).
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
  done
fi
cai() { node "$W/app/dist/cli/main.js" "$@"; }

{
  echo "== machine"
  uname -srm
  nproc
  (nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null || echo "nvidia-smi: not here")
  echo "== vulkaninfo --summary"
  vulkaninfo --summary 2>&1 || true
} | tee "$RESULTS/machine.txt"

echo "== model and data"
# A seeded AstroMAE graph: the speed and the WebGPU-vs-CPU difference do not depend on calibrated weights.
cai model build --uncalibrated --seed 1 --out "$W/model.onnx" --json > "$RESULTS/model-build.json"
cai model inspect "$W/model.onnx" --json > "$RESULTS/model.json"
cai data synth --samples "$CPU_SAMPLES" --seed 1 --partition-samples "$BATCH" --out "$W/data" --json > /dev/null

echo "== predictions: cpu, then webgpu, on the same $CPU_SAMPLES samples"
cai infer --data "$W/data" --model "$W/model.onnx" --out "$W/cpu" --device cpu --batch-size "$BATCH" --json > "$RESULTS/infer-cpu.json"
cai infer --data "$W/data" --model "$W/model.onnx" --out "$W/webgpu" --device webgpu --batch-size "$BATCH" --json > "$RESULTS/infer-webgpu.json"
cp "$W/cpu/predictions.csv" "$RESULTS/predictions-cpu.csv"
cp "$W/webgpu/predictions.csv" "$RESULTS/predictions-webgpu.csv"

echo "== cai bench infer: webgpu ($SAMPLES samples), cpu ($CPU_SAMPLES samples), batch $BATCH"
cai bench infer --model "$W/model.onnx" --device webgpu --samples "$SAMPLES" --batch-size "$BATCH" --repeats "$REPEATS" --json > "$RESULTS/bench-webgpu.json"
cai bench infer --model "$W/model.onnx" --device cpu --samples "$CPU_SAMPLES" --batch-size "$BATCH" --repeats "$REPEATS" --json > "$RESULTS/bench-cpu.json"

echo "== GPU profile for the planner"
# --quick keeps it within the check's few minutes; the profile is what `cai estimate/plan --profile` read.
cai calibrate --device webgpu --model "$W/model.onnx" --quick --out "$RESULTS/gpu-profile.json" --json > "$RESULTS/calibrate-webgpu.json" \
  || echo "cai calibrate --device webgpu failed (exit $?): the bench figures above still stand"

node "$HERE/gpu-report.mjs" "$RESULTS" | tee "$RESULTS/summary.txt"
