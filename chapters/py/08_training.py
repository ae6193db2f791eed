# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 8. Training: two players, one loop
#
# We have every piece: the codec $G$ (chapters 3–5), the discriminators $D$ (chapter 6) and the
# losses (chapter 7). Training is the loop that makes them play against each other. Each iteration
# has two moves:
#
# 1. **The discriminator step.** Reconstruct a batch, $\hat x = G(x)$. Show $D$ the real $x$ and the
#    reconstruction with its gradient cut, $\mathrm{sg}[\hat x]$, and lower $D$'s loss
#    $\sum_k (1 - D_k(x))^2 + D_k(\mathrm{sg}[\hat x])^2$ (least squares, summed over the 8
#    sub-discriminators).
# 2. **The generator step.** Judge $\hat x$ again with the *updated* $D$ and lower
#
#    $$\mathcal L_G = 15\,\mathcal L_\text{mel} + 2\,\mathcal L_\text{feat}
#      + 1\,\mathcal L_\text{adv} + 1\,\mathcal L_\text{codebook}
#      + 0.25\,\mathcal L_\text{commit} .$$
#
# Both players use AdamW (learning rate $10^{-4}$, $\beta = (0.8, 0.99)$), decayed by
# $\gamma = 0.999996$ per iteration, with gradient norms clipped at 10 ($D$) and 1000 ($G$);
# quantizer dropout $p = 0.5$. The official model ran this loop 400,000 times with batches of 72
# excerpts of 0.38 s: days on a GPU. We will run it for about a minute on a CPU with the tiny
# preset, which is enough to watch the losses fall and to hear the codec start to work, and then
# listen to the same codec after 15 minutes of CPU training with a recipe made for minutes instead
# of days. This chapter reads the loop in `dac_minimal.train`, runs one iteration of it, trains,
# listens, and ends with how to train for real.

# %%
import copy
import inspect
import os
import shutil
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import REFERENCE_CODEC, ROOT
from IPython.display import Audio, display
from torch import nn

from dac_minimal import DAC, LOSS_WEIGHTS
from dac_minimal.data import ensure_toy_corpus
from dac_minimal.train import (
    LOSS_TERMS,
    RECIPES,
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    draw_batch,
    read_csv,
)

SMOKE = os.environ.get("DAC_BOOK_SMOKE") == "1"
STEPS = 3 if SMOKE else 150  # training iterations in section 3
GAN_START = 2 if SMOKE else 101  # the discriminator joins here (the CPU recipe: step 5000)
VAL_EVERY = 1 if SMOKE else 25
BATCH, DURATION = 3, 0.2  # one excerpt per domain, 0.2 s each (the paper: 72 excerpts of 0.38 s)
torch.set_num_threads(
    1
)  # small tensors: one thread skips the cost of synchronising two on a busy CPU
torch.manual_seed(0)
rng = np.random.default_rng(0)
RUNS = ROOT / "runs" / "ch08"  # git-ignored; chapter 9 loads RUNS / "tiny.pt"
shutil.rmtree(RUNS, ignore_errors=True)  # a fresh run every time the notebook is executed
# %matplotlib inline

# %% [markdown]
# ## 1. What the loop eats
#
# The toy corpus of chapter 1 has a `train` and a held-out `valid` split, each with `speech`,
# `music` and `general` folders. The trainer draws *balanced* batches: item $i$ comes from domain
# $i \bmod 3$, cut at a random place, loudness-normalised to −24 LUFS, randomly flipped in polarity
# and phase. Every batch is a function of `(seed, rank, step)` only: that is what lets a resumed run
# see exactly the batches the interrupted one would have seen (section 5).

# %%
corpus = ensure_toy_corpus()
cfg = TrainConfig(
    preset="tiny",
    data=str(corpus.train),
    valid_data=str(corpus.valid),
    out=str(RUNS / "check"),
    steps=1,
    batch_size=BATCH,
    duration=DURATION,
    val_clips_per_domain=1,
    progress=False,
    tensorboard=False,
    **RECIPES["official"],
)  # the paper's recipe: lr 1e-4, D from step 1
trainer = Trainer(
    cfg
)  # checks the data folders first: a bad folder fails here, not hours into training
x = draw_batch(trainer.data, BATCH, seed=0, rank=0, step=1)
print(
    "domains:",
    trainer.data.domains,
    "| batch:",
    tuple(x.shape),
    "| validation clips:",
    tuple(trainer.val_audio.shape),
)
display(Audio(x[2, 0].numpy(), rate=44100))  # the speech excerpt of step 1

# %% [markdown]
# ## 2. One iteration, in the package's own words
#
# Here is the loop body exactly as the trainer runs it: `Trainer.train_step` does a discriminator
# step, then a generator step, and we print the source instead of copying it (a copy would drift).
# Three details matter:
#
# - `out.audio.detach()` in the discriminator step: $D$'s loss must not push on $G$.
# - The generator step runs $D$ on $\hat x$ *with* its graph (the adversarial and feature losses
#   flow back through $D$ into $G$), but on the real $x$ without one: feature matching treats $D(x)$
#   as a target.
# - The generator step also leaves gradients in $D$'s weights unless told otherwise; the package
#   asks autograd for $G$'s gradients only (`backward(inputs=...)`) and skips that work.
#
# The rest is engineering you can skip on a first reading: the discriminator judges real and fake in
# one concatenated batch; `self.G` is the codec with its quantizer kept in fp32 under autocast
# (`CodecForward`); before `gan_start` there is no discriminator step at all (section 3); with
# gradient accumulation each micro-batch adds $1/K$ of the gradient, and under `torchrun` `_no_sync`
# holds back the all-reduce until the last one; `check_finite` reads every loss back once per side
# and stops before a NaN reaches the weights (exercise 3); `revive` moves unused codebook entries
# (section 3).

# %%
for method in (
    Trainer.train_step,
    Trainer.discriminator_step,
    Trainer.generator_step,
    Trainer.generator_losses,
):
    print(inspect.getsource(method))

# %% [markdown]
# Now we run one iteration on the batch of section 1 and check what it did: every term is finite,
# the generator's loss is the weighted sum
# $15\,\mathcal L_\text{mel} + 2\,\mathcal L_\text{feat} + \dots$ of the terms it reports, and both
# players' weights moved.

# %%
g_before = copy.deepcopy(trainer.generator.state_dict())
d_before = copy.deepcopy(trainer.discriminator.state_dict())
torch.manual_seed(1)
logs = trainer.train_step(1, x[None])  # (accum, B, 1, T): one micro-batch
for name, value in logs.items():
    print(f"{name:>13}: {value:11.5f}")
    assert np.isfinite(value), name
terms = {name: torch.tensor(logs[name]) for name in LOSS_TERMS}
np.testing.assert_allclose(logs["generator"], LOSS_WEIGHTS.total(terms).item(), rtol=1e-5)
for before, network in ((g_before, trainer.generator), (d_before, trainer.discriminator)):
    moved = [not torch.equal(before[k], v) for k, v in network.state_dict().items()]
    assert any(moved), type(network).__name__

# %% [markdown]
# The numbers are large because they are *sums*: the mel loss adds 7 scales, the adversarial loss 8
# sub-discriminators ($(1 - D)^2 \approx 1$ each at the start), and the codebook and commitment
# losses 9 codebooks. Both players took their step; from here on we let the package repeat it.
#
# ## 3. A minute of training, with the CPU recipe
#
# The paper's recipe is tuned for 400k steps on GPUs. For a few thousand steps on a CPU, the `tiny`
# preset's defaults change four things (`dac_minimal.train.RECIPES["cpu"]`;
# `benchmarks/tiny_vs_opus.py` measures the result, and the big presets keep the paper's recipe):
#
# - **learning rate** $10^{-3}$ instead of $10^{-4}$: a 0.6M-parameter model tolerates it, and at
#   $10^{-4}$ a few thousand steps barely move it;
# - a **discriminator warm-up**: before step `gan_start` no discriminator runs and the generator
#   learns from
#   $15\,\mathcal L_\text{mel} + \mathcal L_\text{codebook} + 0.25\,\mathcal L_\text{commit}$ alone.
#   Such a step costs less than half of a full one, and early in training the mel loss is what
#   improves the codec; the adversarial game is about the fine detail a codec learns later (AudioDec
#   trains this way for its first 200k steps);
# - **dead-code revival** (`quantize.CodeReviver`): every 50 steps, each codebook entry that no
#   frame chose in those steps moves onto an encoder output, where the data is (Jukebox and EnCodec
#   do the same). The outputs are drawn from a pool of frames of the last 50 batches: one batch
#   holds six excerpts whose neighbouring frames are nearly alike, and entries revived onto it crowd
#   together and die again. Chapter 3's factorized codes make collapse less likely but do not stop
#   it; section 4 shows what revival does and does not do;
# - a **learning rate that holds, then falls**: constant for the first three quarters of the steps,
#   then linearly to 0 at the last one (`lr_schedule="linear"`, `lr_decay_from=0.75`). The paper's
#   exponential decay barely moves in a few thousand steps; a run this short is far from converged,
#   and letting the rate fall at the end settles the weights and the codes where a constant rate
#   keeps them jittering.
#
# `Trainer.fit` (printed below: a plain loop, data → step → log → validate and sample → checkpoint)
# repeats `train_step`, logs every loss to `metrics.csv`, measures the **validation mel distance**
# (the un-weighted mel loss on held-out clips, eval mode, all 9 codebooks) to `val.csv`, writes
# audio samples and spectrograms, and checkpoints to `latest.pt`. So that you see both phases in a
# minute, this run lets the discriminator join after 100 steps (`gan_start=101`) instead of 5000.
# Before training, we keep the untrained model's reconstructions of the validation clips to compare
# with later.

# %%
cfg = TrainConfig(
    preset="tiny",
    data=str(corpus.train),
    valid_data=str(corpus.valid),
    out=str(RUNS / "train"),
    steps=STEPS,
    batch_size=BATCH,
    duration=DURATION,
    log_every=1,
    gan_start=GAN_START,
    val_every=VAL_EVERY,
    sample_every=STEPS,
    ckpt_every=STEPS,
    progress=False,
    tensorboard=False,
)
print(
    {
        name: getattr(cfg, name)
        for name in ("lr", "gan_start", "revive_every", "lr_schedule", "lr_decay_from")
    }
)
print(inspect.getsource(Trainer.fit))
trainer = Trainer(cfg)
before = trainer.reconstruct(trainer.val_audio)
start = time.perf_counter()
trainer.fit()
elapsed = time.perf_counter() - start
after = trainer.reconstruct(trainer.val_audio)
metrics, val = read_csv(RUNS / "train" / "metrics.csv"), read_csv(RUNS / "train" / "val.csv")
rate = np.median(metrics["steps_per_s"])
print(
    f"{STEPS} steps in {elapsed:.0f} s (with validation); median {rate:.2f} "
    f"steps/s for batches of {BATCH} x {DURATION} s on {torch.get_num_threads()} CPU thread(s)"
)
mel_distance = val["mel_distance"]
print(f"validation mel distance: {mel_distance[0]:.3f} before, {mel_distance[-1]:.3f} after")

# %% [markdown]
# The curves, next to a reference run of the same configuration for 300 steps (committed in
# `benchmarks/reference_curves/`; its README has the command and the code version it was made with).
# With the same code, seed and data, a run on one CPU thread repeats the reference to the last
# digits, so a run that strays from it tells you something changed: the data, the settings, or the
# code. (When the model's initialisation or the losses change on purpose, the reference is
# regenerated with that command.)

# %%
ref_path = ROOT / "benchmarks" / "reference_curves" / "tiny_cpu_metrics.csv"
ref_val_path = ROOT / "benchmarks" / "reference_curves" / "tiny_cpu_val.csv"
reference = read_csv(ref_path) if ref_path.is_file() else None
reference_val = read_csv(ref_val_path) if ref_val_path.is_file() else None

fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
ax = axes[0]
if reference is not None:
    ax.plot(reference["step"], reference["mel"], color="0.75", label="reference")
ax.plot(metrics["step"], metrics["mel"], label="this run")
ax.set(title="mel loss (train)", xlabel="step")
ax.legend()
ax = axes[
    1
]  # the game, from gan_start on (before it D's and G's adversarial losses are not computed)
if reference is not None:
    game = reference["step"] >= GAN_START
    ax.plot(reference["step"][game], reference["discriminator"][game], color="0.75")
    ax.plot(reference["step"][game], reference["adversarial"][game], color="0.85")
game = metrics["step"] >= GAN_START
ax.plot(metrics["step"][game], metrics["discriminator"][game], label="D loss")
ax.plot(metrics["step"][game], metrics["adversarial"][game], label="G adversarial")
ax.set(title="the two players", xlabel="step", xlim=(0, max(STEPS, 1)))
ax.legend()
ax = axes[2]
if reference_val is not None:
    ax.plot(
        reference_val["step"], reference_val["mel_distance"], "o-", color="0.75", label="reference"
    )
ax.plot(val["step"], val["mel_distance"], "o-", label="this run")
ax.set(title="validation mel distance", xlabel="step")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the middle panel as a game that starts at `gan_start`. Both losses start near 8: the
# untrained discriminators answer about 0 for everything, so each of the 8 adds
# $(1 - 0)^2 + 0^2 = 1$ to $D$'s loss and $(1 - 0)^2 = 1$ to $G$'s. The discriminator's loss falls
# as it learns to score real audio near 1; the generator's adversarial loss falls as well, as
# $\hat x$ earns higher scores. Neither reaches zero in a healthy run: a discriminator that wins
# outright gives the generator no useful gradient. The mel loss (left) does most of the work early
# on, and the validation mel distance (right), measured on clips the model never trains on, follows
# it. (The mel loss jumps a little when the game starts: the generator now also answers to $D$.)
#
# ## 4. Listening
#
# The held-out speech clip: the original, the untrained codec, the codec after this short run, and
# the same codec after 15 minutes of training on two CPU cores with the CPU recipe (batches of 6 ×
# 0.38 s, no discriminator yet: `benchmarks/tiny_vs_opus.py --save`, committed as
# `benchmarks/reference_curves/tiny_15min.pt`; chapters 9–12 measure that model).

# %%
fifteen = DAC.load(REFERENCE_CODEC).eval() if REFERENCE_CODEC.is_file() else None
speech = trainer.val_domains.index("speech")  # the first held-out speech clip
clips = {
    "original": trainer.val_audio[speech, 0],
    "before": before[speech, 0],
    "after": after[speech, 0],
}
if fifteen is not None:
    with torch.no_grad():
        clips["15 minutes"] = fifteen(trainer.val_audio[speech : speech + 1]).audio[0, 0]
for name, clip in clips.items():
    print(name)
    display(Audio(clip.numpy(), rate=44100))

fig, axes = plt.subplots(1, len(clips), figsize=(3.4 * len(clips), 3), sharey=True)
for ax, (name, clip) in zip(axes, clips.items()):
    spec = torch.stft(clip, 1024, 256, window=torch.hann_window(1024), return_complex=True).abs()
    ax.imshow(
        20 * torch.log10(spec.clamp(min=1e-5)).numpy(),
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=-100,
        vmax=0,
        extent=(0, len(clip) / 44100, 0, 22.05),
    )
    ax.set(title=name, xlabel="time (s)")
axes[0].set_ylabel("kHz")
fig.tight_layout()
plt.show()

mel_before = trainer.mel(before, trainer.val_audio).item()
mel_after = trainer.mel(after, trainer.val_audio).item()
print(
    f"validation mel distance, all 9 codebooks: before {mel_before:.3f}, after {mel_after:.3f}",
    end="",
)
np.testing.assert_allclose(
    mel_after, val["mel_distance"][-1], rtol=1e-5
)  # the number the trainer logged
if not SMOKE:
    assert mel_after < mel_before
if fifteen is not None:
    with torch.no_grad():
        mel_fifteen = trainer.mel(fifteen(trainer.val_audio).audio, trainer.val_audio).item()
    print(f", after 15 minutes {mel_fifteen:.3f}")
    assert mel_fifteen < mel_after

# %% [markdown]
# Listen and look before reading the numbers. A minute of training is far too little for this codec
# to follow its input: in our run the reconstruction is a broadband noise whose bands shift where
# the clip changes, a faint trace of its timing but none of its spectrum (its codes have collapsed,
# see below), and the validation mel distance falls mostly because the untrained decoder's output
# was even further from any audio. After 15 minutes the syllables, the noise bursts and the pauses
# sit where they belong and the formant bands roughly so, but the harmonics are smeared and a noise
# floor fills the gaps: the codec works, and it is still 400k steps away from the paper's. One way
# to see what a codec can *send* is chapter 3's codebook utilization: how many of the 1024 entries
# each codebook uses.


# %%
def entries_used(model, audio):
    """Distinct codes per codebook over all frames of audio (N, 1, T)."""
    model.eval()
    with torch.no_grad():
        codes = model.encode(audio).codes  # (N, 9, S)
    return [len(codes[:, k].unique()) for k in range(codes.shape[1])], codes.shape[0] * codes.shape[
        2
    ]


used, frames = entries_used(trainer.generator, trainer.val_audio)
print(f"entries used per codebook on the {frames} validation frames, this run: {used}")
if fifteen is not None:
    print(f"{'':>57}15 minutes: {entries_used(fifteen, trainer.val_audio)[0]}")

# %% [markdown]
# A codebook that uses a handful of entries sends almost nothing: most frames get the same few codes
# and decode to the same sound. That is where this one-minute run stands (chapter 3's collapse), and
# where the 15-minute model does not: hundreds of entries per codebook on the same frames (at most
# one per frame, so chapter 9 measures utilization on a larger set). Why does a young codec
# collapse, revival or not? Its latent is still small (about 0.03 per channel), and every Adam step
# moves each quantizer's input bias by about the learning rate in whatever direction the gradient
# keeps pointing; within tens of steps a shared offset outweighs the differences between frames, all
# frames point the same way, and the cosine lookup gives them the same code. Revival moves the
# unused entries onto recent encoder outputs every 50 steps, but when those outputs all point alike
# it can only spread entries around one direction. As the encoder learns to give different frames
# different latents, the codes spread out again, and revival keeps them spread: after 15 minutes
# (3450 steps) 94–99 % of each codebook is used on 72 held-out toy clips (97.4 % on average;
# `benchmarks/tiny_vs_opus.py`). Two details matter, measured with the same script after 8 minutes
# on one thread (about 1250 steps, one run each): where revived entries land, and the falling
# learning rate. Drawn from the current batch alone, they crowd around its few excerpts and most die
# again (83–92 % over four such runs; 87 % after 15 minutes); drawn from a pool of frames of the
# last 50 batches, 89 % at a constant rate and 96 % with a falling rate (falling from the first
# step, in that run: as the rate falls the codes stop jittering). Without revival, 77 % (codebook 0
# alone: 43 %). At 3 minutes, though, the runs with revival stood at 12–39 % and the one without it
# at 72 %: early on, revival moves entries faster than the encoder can use them. Few runs, so read
# these as a direction, not a law. We save this run's model; chapters 9–12 measure the 15-minute
# one, and `book_codec(path=...)` measures yours.

# %%
trainer.generator.save(RUNS / "tiny.pt")
print("saved", RUNS / "tiny.pt")

# %% [markdown]
# ## 5. Training for real: the command line
#
# The same trainer runs from a terminal, with a progress bar, CSV logs (and TensorBoard when it is
# installed), audio samples and spectrogram PNGs of a validation clip in `OUT/samples/`, checkpoints
# every `--ckpt-every` steps and the best model by validation mel distance in `best.pt`:
#
# ```bash python -m dac_minimal.train --preset tiny --steps 5000 --batch-size 6 --duration 0.38
# --threads 2 --out runs/tiny python -m dac_minimal.train --preset tiny --steps 10000 --batch-size 6
# --duration 0.38 --threads 2 \ --out runs/tiny --resume    # continue, exactly: from step 5000 the
# discriminator joins python -m dac_minimal.train --preset tiny --data my_audio/ --init-from
# runs/tiny/best.pt --out runs/ft  # fine-tune
# ```
#
# `--data` takes any folder with one subfolder per domain (`speech/`, `music/`, `general/`) of
# wav/flac/ogg/mp3 files; problems (an empty folder, unreadable or too-short files) are reported
# before the first step. `latest.pt` holds the weights, both optimizers and schedulers, the step and
# every random generator's state, written atomically, so `--resume` continues as if nothing had
# happened (exercise 1) and a killed process loses at most the steps since its last checkpoint. A
# NaN or infinite loss stops the run with the step and the loss term in the message, before it can
# be saved (exercise 3).
#
# ## 6. Full scale: the 44.1 kHz model on GPUs
#
# The official recipe needs a GPU. On one, the trainer can run the encoder, decoder and
# discriminators in bfloat16 (`--amp`; the quantizer and the losses stay in fp32, where
# nearest-neighbour ties and small losses are safe) and compile them with `torch.compile`:
# `--compile snake` fuses only the Snake activations (seconds to compile), `--compile` the whole
# generator and discriminator (minutes to compile, paid once per run). The cell below runs two
# iterations of the full model in bf16 with the Snakes compiled when CUDA is present; the first
# includes compilation, so time the second.
#
# Measured on one H200 (`benchmarks/train_step_speed.py`, batch 15 x 0.38 s): the step is bound by
# launching thousands of small kernels, not by arithmetic. The GPU is busy for only 70 % of the
# official fp32 step (167 of 236 ms), so bf16, which cuts the GPU time by a quarter, does not
# shorten the step; what it and the compiled Snake do cut is memory: 20.1 GiB in fp32, 16.5 in bf16,
# 8.2 with the Snakes compiled too.

# %%
if torch.cuda.is_available():
    full = TrainConfig(
        preset="44khz",
        data=str(corpus.train),
        valid_data=str(corpus.valid),
        out=str(RUNS / "full"),
        steps=2,
        batch_size=6,
        duration=0.38,
        amp=True,
        compile="snake",
        log_every=1,
        val_every=0,
        sample_every=0,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
    )
    Trainer(full).fit()
    steps = read_csv(RUNS / "full" / "metrics.csv")
    print(
        f"44khz, batch 6 x 0.38 s, bf16 + compiled Snake on {torch.cuda.get_device_name()}: "
        f"{steps['steps_per_s'][-1]:.2f} steps/s after compilation; mel loss {steps['mel'][-1]:.2f}"
    )
else:
    print(
        "No CUDA device here: skipping the full-scale run (it needs a GPU; see the commands below)."
    )

# %% [markdown]
# On a machine with 8 GPUs, `torchrun` starts one process per GPU; each draws its own excerpts (the
# batch stream is seeded by the process rank), DistributedDataParallel averages the gradients, and
# rank 0 alone writes logs and checkpoints. Nine excerpts per GPU make the paper's batch of 72:
#
# ```bash python -m dac_minimal.tools.datasets --out data/full    # DAPS, VCTK and MUSDB18 in
# data/full/{train,valid} torchrun --standalone --nproc_per_node=8 -m dac_minimal.train --preset
# 44khz --data data/full/train \ --batch-size 9 --steps 400000 --amp --compile --workers 4 --out
# runs/44khz
# ```
#
# With fewer GPUs, `--accum K` accumulates K micro-batches per optimizer step (one GPU:
# `--batch-size 9 --accum 8`); the discriminator step then reconstructs each micro-batch without
# keeping its graph and the generator step reconstructs it again, trading a little compute for the
# memory that accumulation saves.
#
# ## Exercises
#
# **Exercise 1.** Resume exactly. Train 4 steps in one go, and 2 steps followed by a `resume=True`
# run to step 4, with tiny excerpts (3 × 0.05 s). Show that the per-step losses of steps 3 and 4 are
# identical. What would break the equality if the checkpoint did not store torch's random state?


# %% jupyter={"source_hidden": true} tags=["solution"]
def tiny_run(out, steps, resume=False):
    c = TrainConfig(
        preset="tiny",
        data=str(corpus.train),
        valid_data=str(corpus.valid),
        out=str(out),
        steps=steps,
        batch_size=3,
        duration=0.05,
        val_duration=0.05,
        val_clips_per_domain=1,
        log_every=1,
        val_every=0,
        sample_every=0,
        ckpt_every=2,
        resume=resume,
        progress=False,
        tensorboard=False,
    )
    Trainer(c).fit()
    return read_csv(Path(out) / "metrics.csv")


straight = tiny_run(RUNS / "ex1_straight", 4)
tiny_run(RUNS / "ex1_resumed", 2)
resumed = tiny_run(RUNS / "ex1_resumed", 4, resume=True)
for name in ("discriminator", "mel", "feature", "adversarial", "codebook", "commitment"):
    np.testing.assert_array_equal(resumed[name], straight[name])
print("steps 1-4, mel:", straight["mel"].round(4), "identical after resuming")
# Without torch's random state, the resumed run would draw different quantizer-dropout choices
# (which items use fewer codebooks, and how many), so the codebook losses of step 3 would already
# differ.

# %% [markdown]
# **Exercise 2.** The learning rate decays as $\eta_t = \eta_0 \gamma^t$ with $\gamma = 0.999996$.
# After how many iterations is it halved? What is it at the end of the official 400k iterations?
# Check your formula against `torch.optim.lr_scheduler.ExponentialLR` for 1000 steps.

# %% jupyter={"source_hidden": true} tags=["solution"]
gamma = 0.999996
half_life = np.log(2) / -np.log(gamma)
print(
    f"halved after {half_life:,.0f} iterations; after 400k: {1e-4 * gamma**400_000:.2e} "
    f"({gamma**400_000:.2f} of the start)"
)
opt = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=1e-4)
sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
for _ in range(1000):
    opt.step()
    sched.step()
np.testing.assert_allclose(sched.get_last_lr()[0], 1e-4 * gamma**1000, rtol=1e-9)
assert 173_000 < half_life < 173_500

# %% [markdown]
# **Exercise 3.** Make the run fail. Replace the trainer's mel loss by a module that returns NaN and
# run one step. What does the error say, and is anything written to `latest.pt`?


# %% jupyter={"source_hidden": true} tags=["solution"]
class NaNLoss(nn.Module):
    def forward(self, x_hat, x):
        return x_hat.sum() * float("nan")


c = TrainConfig(
    preset="tiny",
    data=str(corpus.train),
    valid_data=str(corpus.valid),
    out=str(RUNS / "ex3"),
    steps=1,
    batch_size=3,
    duration=0.05,
    val_duration=0.05,
    val_clips_per_domain=1,
    val_every=0,
    sample_every=0,
    progress=False,
    tensorboard=False,
)
broken = Trainer(c)
broken.mel = NaNLoss()
try:
    broken.fit()
    raise AssertionError("the NaN went unnoticed")
except NonFiniteLossError as err:
    print(err)
    assert "step 1" in str(err) and "mel = nan" in str(err)
assert not (RUNS / "ex3" / "latest.pt").exists()  # nothing bad was saved
