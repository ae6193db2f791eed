#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run of under ten minutes:
#
#   OUT=runs/gpu_checks bash benchmarks/gpu_checks.sh
#
#   1. the CUDA tests (skipped everywhere else): CPU/GPU agreement, bf16 autocast with the quantizer in fp32,
#      the trainer with --amp --compile snake (resume, checkpoints that load on the CPU), the compiled Snake
#      against the eager one, the hand-written Snake on the GPU against the CPU, chunked compression on the GPU;
#   2. benchmarks/train_step_speed.py: one D+G iteration of the 44.1 kHz model, batch 15 x 0.38 s, the official
#      package's modules in fp32 against ours in fp32 and bf16, each with the default Snake (layers.snake, a
#      hand-written backward) and the unfused one (+unfused: autograd through eq. (1), the Snake before
#      2026-12-08), and bf16 with the compiled Snake, each profiled once; first the gradients of one G step with
#      the fused and the unfused Snake are compared (--check-gradients);
#   3. ours in bf16 with torch.compile of the whole generator and discriminator, then with CUDA graphs as well
#      (mode="reduce-overhead"; the second compile reuses most of the first's work from inductor's cache).
# An earlier run (2026-11-28) also timed cudnn.benchmark (slower on both sides) and a channels-last discriminator
# (slower): `--official fp32 fp32+cudnn --ours fp32 fp32+cudnn bf16+cudnn fp32+snake+cudnn bf16+snake+cudnn
# bf16+snake+cudnn+cl`.
#
# (The GPU reference curve in benchmarks/reference_curves/gpu_44khz_* came from an earlier version of this script:
#   python3 -m dac_minimal.train --preset 44khz --steps 270 --batch-size 15 --amp --workers 4 --out /tmp/run_44khz \
#       --log-every 10 --val-every 45 --sample-every 0 --ckpt-every 0 --no-progress --no-tensorboard
# and the tiny preset's GPU speed from --preset tiny --steps 300 --batch-size 6 --duration 0.38.)
#
# Everything it reports lands in $OUT. It installs nothing from the network: on a machine without one, put wheels
# of what is missing in .whl/ and they are installed into /tmp/site first (on the H200 image of 2026-11 with torch
# 2.11: soundfile cffi pycparser librosa soxr audioread pooch decorator platformdirs pyloudnorm future, and for the
# official side descript-audio-codec==1.0.0 descript-audiotools==0.7.2 argbind docstring-parser julius flatten-dict
# markdown2 pystoi torch-stoi randomname fire termcolor ffmpy importlib-resources; `pip download --no-deps
# --python-version 3.12 ...` for pure wheels, `pip wheel` for argbind and randomname, which ship sdists only).
# Each stage has its own time limit, so a slow stage cannot starve the rest. On that H200, torch.compile of the full
# generator and discriminator took about 4 minutes to compile; stage 3 has 5.
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

stage "1. the CUDA tests"
timeout 110 python3 -m pytest tests/test_cuda.py tests/test_layers.py -k cuda -v -p no:cacheprovider -o addopts="" 2>&1 \
    | tail -15 | tee "$OUT/test_cuda.txt"

stage "2. training-step speed, 44.1 kHz model (and a profile of each variant)"
official=(--official fp32) reference=()
python3 -c "import dac" 2>/dev/null \
    || { official=(--no-official) reference=(--no-official); echo "official package not importable: ours only"; }
timeout 180 python3 benchmarks/train_step_speed.py --device cuda --batch-size 15 --steps 10 "${official[@]}" \
    --check-gradients --ours fp32 fp32+unfused bf16 bf16+unfused bf16+snake --profile 20 2>&1 \
    | grep -v Warning > "$OUT/train_step_speed_profiles.txt"
grep -E "^one D|^  (official|dac-minimal|speed-up|load average|no ratios|gradients)" "$OUT/train_step_speed_profiles.txt" | tee "$OUT/train_step_speed.txt"

stage "3. torch.compile of the whole generator and discriminator, then the same with CUDA graphs"
timeout 300 python3 benchmarks/train_step_speed.py --device cuda --batch-size 15 --steps 5 --compile-warmup 3 \
    ${reference[@]+"${reference[@]}"} --ours bf16+compile bf16+compile+graphs 2>&1 | grep -v Warning \
    | tee "$OUT/train_step_speed_compile.txt"
stage "done"
