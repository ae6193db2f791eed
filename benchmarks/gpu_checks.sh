#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run of under ten minutes:
#
#   OUT=runs/gpu_checks bash benchmarks/gpu_checks.sh
#
#   1. tests/test_cuda.py (skipped everywhere else): CPU/GPU agreement, bf16 autocast with the quantizer in fp32,
#      the trainer with --amp (resume, checkpoints that load on the CPU), chunked compression on the GPU;
#   2. benchmarks/train_step_speed.py: one D+G iteration of the 44.1 kHz model, batch 15 x 0.38 s, the official
#      package's modules in fp32 against ours in fp32, bf16, and bf16 + torch.compile;
#   3. a short 44.1 kHz training run with the paper's recipe and --amp (the GPU reference curve in
#      benchmarks/reference_curves/), as many steps as fit in about a minute and a half;
#   4. the tiny preset's training speed on the GPU.
#
# Everything it reports lands in $OUT. It installs nothing from the network: on a machine without one, put wheels
# of what is missing in .whl/ and they are installed into /tmp/site first (on the H200 image of 2026-11 with torch
# 2.11: soundfile cffi pycparser librosa soxr audioread pooch decorator platformdirs pyloudnorm future, and for the
# official side descript-audio-codec==1.0.0 descript-audiotools==0.7.2 argbind docstring-parser julius flatten-dict
# markdown2 pystoi torch-stoi randomname fire termcolor ffmpy importlib-resources; `pip download --no-deps
# --python-version 3.12 ...` for pure wheels, `pip wheel` for argbind and randomname, which ship sdists only).
# Each stage has its own time limit, so a slow stage cannot starve the rest. On that H200, torch.compile of the full
# generator and discriminator had not finished compiling after 4 minutes, so the bf16 + compile row came out empty.
set -u
OUT=${OUT:-runs/gpu_checks}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
SECONDS=0
stage() { echo "== [$SECONDS s] $*"; }

stage "environment"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda)"
} 2>&1 | tee "$OUT/env.txt"

stage "1. tests/test_cuda.py"
timeout 110 python3 -m pytest tests/test_cuda.py -v -p no:cacheprovider -o addopts="" 2>&1 | tail -15 | tee "$OUT/test_cuda.txt"

stage "2. training-step speed, 44.1 kHz model"
official=()
python3 -c "import dac" 2>/dev/null || { official=(--no-official); echo "official package not importable: ours only"; }
timeout 260 python3 benchmarks/train_step_speed.py --device cuda --batch-size 15 --steps 10 ${official[@]+"${official[@]}"} \
    --ours fp32 bf16 bf16+compile 2>&1 | grep -v Warning | tee "$OUT/train_step_speed.txt"

stage "3. 44.1 kHz training run, paper's recipe, bf16 autocast"
seconds=$(awk '/dac-minimal \(bf16\) /{print $3}' "$OUT/train_step_speed.txt")
steps=$(python3 -c "print(max(50, min(2000, int(90 / float('${seconds:-1}')))))")
python3 -m dac_minimal.data >/dev/null  # the toy corpus in data/toy
timeout 150 python3 -m dac_minimal.train --preset 44khz --steps "$steps" --batch-size 15 --amp --workers 4 \
    --out /tmp/run_44khz --log-every 10 --val-every 45 --sample-every 0 --ckpt-every 0 --no-progress \
    --no-tensorboard 2>&1 | grep -v Warning | tail -5 | tee "$OUT/run_44khz.txt"
cp /tmp/run_44khz/metrics.csv "$OUT/gpu_44khz_metrics.csv"
cp /tmp/run_44khz/val.csv "$OUT/gpu_44khz_val.csv"

stage "4. tiny preset on the GPU (mel + VQ phase of the CPU recipe)"
timeout 40 python3 -m dac_minimal.train --preset tiny --steps 300 --batch-size 6 --duration 0.38 --out /tmp/run_tiny \
    --log-every 50 --val-every 0 --sample-every 0 --ckpt-every 0 --no-progress --no-tensorboard >/dev/null 2>&1
cut -d, -f1,3,12 /tmp/run_tiny/metrics.csv | tee "$OUT/tiny_gpu.txt"
stage "done"
