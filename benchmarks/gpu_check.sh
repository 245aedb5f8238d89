#!/usr/bin/env bash
# The GPU measurement of issue 14, for a lent GPU machine (nvidia-h100-x1: one H100, 16 cores,
# Python 3.12 with JAX+CUDA, PyTorch; NO TensorFlow, no Keras, no network). Nothing is run here by
# the test suite; the lead runs it through the device tool.
#
# Prepare on the development machine, in the repository root (once):
#   echo /.whl/ >> .git/info/exclude && echo /.data/ >> .git/info/exclude
#   bash benchmarks/gpu_check.sh fetch      # Keras & co. as Python 3.12 wheels into .whl (pip download)
#   mkdir -p .data/tinyshakespeare && cp ../shared/corpora/tinyshakespeare/input.txt .data/tinyshakespeare/
# Then on the device (carry [".whl", ".data"], each call one command of at most 10 minutes):
#   bash benchmarks/gpu_check.sh check      # GPU facts, install, dry run, scaling --gpu: about 3-5 min
#   bash benchmarks/gpu_check.sh full       # transformer_shakespeare.py --gpu, 5,000 steps: <= 9 min
# Everything lands in $OUT (gpu_check.log and the results JSON files).
#
# TensorFlow cannot travel (its wheel is far over the 64 MiB a call may carry), so the device runs
# Keras on JAX. On this branch the Transformer's input pipeline still imports TensorFlow (tf.data
# in models/transformer.py random_windows and datasets/batching.py); with a TensorFlow-free path
# (main's models/window_lm.py numpy streams) it runs, and without one `check` stops at the dry run
# in about a minute, saying so, before the long run spends device time.
set -uo pipefail
MODE=${1:-check}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
WHEELS="keras==3.15.1 namex==0.1.0 optree==0.20.0 keras-hub==0.32.0 keras-nlp==0.32.0 kagglehub==1.0.2"

if [ "$MODE" = fetch ]; then
  mkdir -p .whl
  # shellcheck disable=SC2086
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl $WHEELS
  du -sh .whl
  exit
fi

OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=${KERAS_BACKEND:-jax} LMZOO_DATA="$REPO/.data"
stage() { echo "== $(date -u +%H:%M:%S) $*"; }

stage "GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
stage "install carried wheels and this project into /tmp/site (no network there)"
ls .whl/*.whl >/dev/null 2>&1 || { echo "no .whl/: run 'bash benchmarks/gpu_check.sh fetch' here and carry .whl"; exit 2; }
[ -f .data/tinyshakespeare/input.txt ] || { echo "no .data/tinyshakespeare/input.txt: copy it and carry .data"; exit 2; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 2
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir --upgrade --target /tmp/site . || exit 2
export PYTHONPATH=/tmp/site
python3 -c "import keras, jax; print('keras', keras.__version__, keras.config.backend(), jax.devices())" || exit 2
python3 -c "import tensorflow" 2>/dev/null && echo "TensorFlow present" || echo "no TensorFlow: Keras runs on $KERAS_BACKEND"

if [ "$MODE" = check ]; then
  stage "dry run: build the GPU model and trace one step"
  timeout -s KILL 240 python3 benchmarks/transformer_shakespeare.py --gpu --dry-run --out "$OUT/dry_run.json" \
    || { echo "dry run failed (see above): stop here, no device time spent on the long run"; exit 1; }
  stage "scaling benchmark, one replica of the GPU config (300 steps)"
  timeout -s KILL 240 python3 benchmarks/scaling.py --gpu --steps 300 --timeout 230 --out "$OUT/scaling_gpu.json"
elif [ "$MODE" = full ]; then
  stage "nanoGPT's GPU config: 5,000 steps (target: val loss <= 1.47, under nanoGPT's ~3 min on an A100)"
  timeout -s KILL 540 python3 benchmarks/transformer_shakespeare.py --gpu --out "$OUT/transformer_shakespeare_gpu.json"
else
  echo "usage: bash benchmarks/gpu_check.sh [fetch|check|full]"; exit 2
fi
status=$?
stage "done (exit $status); files in $OUT"
ls -l "$OUT"
exit $status
