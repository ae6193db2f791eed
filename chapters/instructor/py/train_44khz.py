# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py//py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Training the 44.1 kHz codec: the instructor's notebook
#
# This notebook trains the full DAC model (76M parameters, 44.1 kHz, 9 codebooks of 1024 entries,
# 7.75 kbps) on real recordings, on a machine with one or several GPUs. It is meant to be left
# open while the run goes on for hours or days:
#
# 1. **Start or resume** (section 1): the first run of the cell starts training in a background
#    process (one GPU: `python -m dac_minimal.train`; several: `torchrun`); running it again later,
#    even from a fresh kernel or after a crash, resumes the same run exactly from its last
#    checkpoint. The run does not depend on this notebook: close it, and training goes on.
# 2. **Watch** (sections 2 and 3): re-run those cells whenever you like. They read what the run
#    writes (`metrics.csv`, `val.csv`, `latest.pt`) and show the loss and validation curves against
#    the committed reference curves, the time left, and the latest model decoding a held-out clip at
#    1, 4 and 9 codebooks, with spectrograms.
#
# Chapter [8](../08_training.ipynb) explains what one training iteration does; this notebook only
# runs them. Without a GPU the same cells train the tiny preset for a few steps, so that you can
# try every cell anywhere before you rent a GPU.

# %%
import os
import shlex
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Audio, display

sys.path.insert(0, "..")  # chapters/book.py: the book's paths
from book import ROOT

from dac_minimal import DAC, DACConfig
from dac_minimal.utils.audio import load_audio
from dac_minimal.utils.training import load_generator_weights, read_csv

GPUS = torch.cuda.device_count()
if not GPUS:
    print("No GPU found: the cells below train the tiny preset for a few steps instead.")

# %% [markdown]
# ## Your choices
#
# The corpus is the first that exists of: a folder you name in `DAC_TRAIN_DATA` (for example
# `data/full/train`, made by `python -m dac_minimal.tools.datasets --out data/full`: DAPS, VCTK and
# MUSDB18, the report's speech and music), the Debian corpus of real recordings
# (`data/real/train`, made by `python -m dac_minimal.tools.corpus --out data/real` from game
# voices, music and effects that Debian packages ship), and the generated toy corpus. Each has a
# held-out `valid/` split beside `train/`; the validation curve is measured on it. (The tiny
# preset's few steps without a GPU use the toy corpus unless you set `DAC_TRAIN_DATA`.)
#
# The recipe is the paper's (the `44khz` preset's defaults: AdamW at $10^{-4}$, betas (0.8, 0.99),
# an exponential decay, the discriminators from the first step) with bf16 autocast. `BATCH` is per
# GPU: the paper used 72 excerpts of 0.38 s per step in all (for example 8 GPUs of 9); the
# committed reference curves used 15 on one GPU. `STEPS` is the length of the run: the paper
# trained for 400,000 steps; stop earlier when the validation curve has flattened.

# %%
candidates = [os.environ.get("DAC_TRAIN_DATA")] + (
    [ROOT / "data" / "real" / "train"] if GPUS else []
)
DATA = next((Path(c) for c in candidates if c and Path(c).is_dir()), None)  # None: the toy corpus

if GPUS:
    PRESET, STEPS, BATCH = "44khz", 400_000, 15
    RUN = ROOT / "runs" / "instructor_44khz"
    EVERY = {"log_every": 50, "val_every": 1000, "sample_every": 5000, "ckpt_every": 1000}
    EXTRA = ["--amp", "--workers", "4"]
    REFERENCE = "gpu_44khz"  # benchmarks/reference_curves/gpu_44khz_*.csv
else:
    PRESET, STEPS, BATCH = "tiny", 12, 3
    RUN = ROOT / "runs" / "instructor_tiny"
    EVERY = {"log_every": 1, "val_every": 6, "sample_every": 6, "ckpt_every": 6}
    EXTRA = ["--duration", "0.2", "--gan-start", "7", "--threads", "1"]
    REFERENCE = "tiny_cpu"  # benchmarks/reference_curves/tiny_cpu_*.csv
print(f"preset {PRESET}, {STEPS} steps of {BATCH} excerpts per device, run folder {RUN}")
print(f"training data: {DATA or 'the toy corpus'}")

# %% [markdown]
# ## 1. Start or resume
#
# The command is the package's own command line (every option is a field of `TrainConfig`, listed
# by `python -m dac_minimal.train --help`). With `latest.pt` in the run folder it adds `--resume`,
# which restores the models, the optimisers, the schedules, the random states and the position in
# the data stream: a resumed run takes the same steps it would have taken without the stop. The
# process writes its output to `train.log` in the run folder and its id to `train.pid`, so that
# running this cell again while it trains does not start a second one.


# %%
def command(resume: bool) -> list[str]:
    """The training command: ``torchrun`` with one process per GPU when there are several."""
    if GPUS > 1:
        launcher = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={GPUS}"]
    else:
        launcher = [sys.executable]
    args = ["-m", "dac_minimal.train", "--preset", PRESET, "--steps", str(STEPS)]
    args += ["--batch-size", str(BATCH), "--out", str(RUN), "--no-progress", *EXTRA]
    args += [f"--{k.replace('_', '-')}={v}" for k, v in EVERY.items()]
    args += ["--data", str(DATA)] if DATA else []
    return launcher + args + (["--resume"] if resume else [])


def running() -> int | None:
    """The id of this run's training process, if it is alive."""
    try:
        pid = int((RUN / "train.pid").read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def start() -> subprocess.Popen | None:
    """Start the run, or resume it from ``latest.pt``; nothing when it is already running."""
    if pid := running():
        print(f"already training (process {pid}); see {RUN / 'train.log'}")
        return None
    RUN.mkdir(parents=True, exist_ok=True)
    cmd = command(resume=(RUN / "latest.pt").is_file())
    print(("resuming: " if "--resume" in cmd else "starting: ") + shlex.join(cmd))
    log = open(RUN / "train.log", "a")  # noqa: SIM115 (the child process keeps it open)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (RUN / "train.pid").write_text(str(proc.pid))
    return proc


proc = start()
if proc is not None and not GPUS:  # the tiny run takes seconds: wait, so the next cells see it
    proc.wait()
    print("the tiny run finished with exit code", proc.returncode)

# %% [markdown]
# To stop the run, run `os.kill(running(), 15)` (or `kill` the process id in a terminal); to
# continue it later, run the cell above again. To start afresh, delete the run folder.
#
# ## 2. The curves, against the reference
#
# The reference curves in `benchmarks/reference_curves/` come from documented runs of the same
# recipe (their README gives each command): if your validation curve stays well above them after
# the same number of steps, something differs (data, batch size, learning rate). The time left is
# the remaining steps at the median speed of the last 50 logged steps.

# %%
REFERENCE_DIR = ROOT / "benchmarks" / "reference_curves"


def show_curves() -> None:
    if not (RUN / "metrics.csv").is_file():
        print("no metrics yet")
        return
    m, v = read_csv(RUN / "metrics.csv"), read_csv(RUN / "val.csv")
    ref_m = read_csv(REFERENCE_DIR / f"{REFERENCE}_metrics.csv")
    ref_v = read_csv(REFERENCE_DIR / f"{REFERENCE}_val.csv")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, key in zip(axes[:2], ("mel", "discriminator")):
        ax.plot(ref_m["step"], ref_m[key], color="0.7", label="reference")
        if m:
            ax.plot(m["step"], m[key], label="this run")
        ax.set(title=f"train: {key} loss", xlabel="step")
    axes[2].plot(ref_v["step"], ref_v["mel_distance"], "o-", color="0.7", label="reference")
    if v:
        axes[2].plot(v["step"], v["mel_distance"], "o-", label="this run")
    axes[2].set(title="validation: mel distance", xlabel="step")
    axes[2].legend()
    fig.tight_layout()
    plt.show()
    if m:
        step, speed = int(m["step"][-1]), float(np.median(m["steps_per_s"][-50:]))
        left = (STEPS - step) / max(speed, 1e-9)
        print(f"step {step} of {STEPS}, {speed:.2f} steps/s: about {left / 3600:.1f} h left")
        print("training" if running() else "not running: run section 1 to resume")


show_curves()

# %% [markdown]
# ## 3. Listening to the latest checkpoint
#
# The cell loads the generator from the run's `latest.pt` (written every `ckpt_every` steps) and
# decodes the first held-out clip of the run (`samples/original.wav`, which the trainer saved) with
# the first 1, 4 and 9 codebooks (the titles give each bitrate). Listen for what the first codebook
# alone keeps (the coarse spectral envelope) and what the later ones add (detail, noise, the top
# octave); as training goes on, fewer codebooks are needed for the same quality.


# %%
def latest_model() -> DAC | None:
    if not (RUN / "latest.pt").is_file():
        return None
    weights = load_generator_weights(RUN / "latest.pt")
    model = DAC(DACConfig(**weights.model_config))
    model.load_state_dict(weights.generator)
    return model.eval()


def show_samples(codebooks: tuple[int, ...] = (1, 4, 9)) -> None:
    model = latest_model()
    if model is None or not (RUN / "samples" / "original.wav").is_file():
        print("no checkpoint yet")
        return
    audio, sr = load_audio(RUN / "samples" / "original.wav", model.sample_rate)
    x = torch.from_numpy(audio[:1])[None]
    fig, axes = plt.subplots(1, len(codebooks) + 1, figsize=(14, 3), sharey=True)
    versions = {"original": x}
    with torch.inference_mode():
        for n in codebooks:
            codes = model.encode(x, n_quantizers=n).codes
            versions[f"{n} codebooks, {model.bitrate(n) / 1000:.2f} kbps"] = model.decode_codes(
                codes, length=x.shape[-1]
            )
    for ax, (name, y) in zip(axes, versions.items()):
        ax.specgram(y[0, 0].numpy(), NFFT=1024, Fs=sr, noverlap=768, cmap="magma")
        ax.set(title=name, xlabel="seconds")
        print(name)
        display(Audio(y[0, 0].numpy(), rate=sr))
    axes[0].set_ylabel("Hz")
    fig.tight_layout()
    plt.show()


show_samples()

# %% [markdown]
# When the run ends, `model.pt` in the run folder is the trained codec: `DAC.load(RUN / "model.pt")`
# loads it, and chapters [9](../09_evaluation.ipynb) to [12](../12_generating_with_tokens.ipynb)
# measure any model you pass to `book_codec(path=...)`.
