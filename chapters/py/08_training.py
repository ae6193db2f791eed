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
# # 8. Training: two players, one loop
#
# We have every piece: the codec $G$ (chapters 3–5), the discriminators $D$
# ([chapter 6](06_discriminators.ipynb)) and the losses ([chapter 7](07_losses.ipynb)). None of
# them knows anything yet: training is what turns random weights into a codec, and for a GAN it
# is a game with two players who take turns. Each iteration, $D$ first learns a little more about
# telling real audio from $G$'s reconstructions, then $G$ learns a little more about fooling the
# updated $D$ while staying close to its input. What the codec can learn is bounded by what it is
# shown, so this chapter is also about the data: which recordings DAC trains on, how each excerpt
# is prepared, and why the sampler prefers full-band recordings. We read the loop in
# `dac_minimal.train`, run one iteration of it, give the tiny codec a short training run on a
# CPU, listen, and end with how to train the full model on one or several GPUs.
#
# ## What you will learn
#
# - How one iteration alternates a discriminator step and a generator step, what `detach()` and
#   `backward(inputs=...)` do in them, and which weights each gradient reaches.
# - What DAC is trained on: the report's datasets, loudness normalisation to −24 LUFS, random
#   phase and polarity, and batches balanced over domains that prefer full-band recordings.
# - Why that preference matters: a codec trained on band-limited audio stops reproducing the top
#   octave, which you will watch happen in a few dozen steps.
# - How to run, log, check, resume and listen to a training run, from a notebook and from the
#   command line, and how the CPU recipe of the `tiny` preset differs from the paper's.
# - How the same trainer scales to the full model on GPUs: bf16, `torch.compile`, gradient
#   accumulation and `torchrun` with DistributedDataParallel.

# %%
import copy
import inspect
import shutil
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf
import torch
from book import REFERENCE_CODEC, ROOT, sizes
from IPython.display import Audio, display
from scipy import signal

from dac_minimal import DAC, LOSS_WEIGHTS
from dac_minimal.data import (
    DOMAINS,
    SAMPLE_RATE,
    VALID_SEED_OFFSET,
    AudioDataWarning,
    AudioFolder,
    DataConfig,
    ensure_toy_corpus,
    loudness,
    normalize_loudness,
    rotate_phase,
    toy_clip,
)
from dac_minimal.tools.diagram import draw_training_step
from dac_minimal.train import LOSS_TERMS, RECIPES, TrainConfig, Trainer, draw_batch, read_csv

STEPS, GAN_START, VAL_EVERY, BAND_STEPS = sizes((150, 3), (101, 2), (25, 1), (30, 3))
BATCH, DURATION = 3, 0.2  # one excerpt per domain, 0.2 s each (the paper: 72 excerpts of 0.38 s)
torch.manual_seed(0)
RUNS = ROOT / "runs" / "ch08"  # git-ignored; chapters 9-12 can load RUNS / "tiny.pt"
shutil.rmtree(RUNS, ignore_errors=True)  # a fresh run every time the notebook is executed
corpus = ensure_toy_corpus()  # chapter 1's toy corpus: train and valid splits
REAL = ROOT / "data" / "real"  # python -m dac_minimal.tools.corpus --out data/real
# %matplotlib inline

# %% [markdown]
# ## 8.1 One iteration, drawn
#
# The schematic below is drawn by `dac_minimal.tools.diagram.draw_training_step` from the
# package's own settings (the loss weights `LOSS_WEIGHTS`, the GAN loss and the clipping
# thresholds of a `TrainConfig`), so it cannot drift from the code. Read it left to right:
#
# 1. **The discriminator step.** Reconstruct a batch, $\hat x = G(x)$. Show $D$ the real $x$ and
#    the reconstruction with its gradient cut, $\mathrm{sg}[\hat x]$ (`x_hat.detach()`), and lower
#    $D$'s least-squares loss, summed over its sub-discriminators $k$:
#    $\mathcal L_D = \sum_k (1 - D_k(x))^2 + D_k(\mathrm{sg}[\hat x])^2$. Because of the cut,
#    this loss leaves no gradient in $G$.
# 2. **The generator step.** Judge the same $\hat x$ again, now with the *updated* $D$ and with
#    the graph kept, and lower
#
#    $$\mathcal L_G = 15\,\mathcal L_\text{mel} + 2\,\mathcal L_\text{feat}
#      + 1\,\mathcal L_\text{adv} + 1\,\mathcal L_\text{codebook}
#      + 0.25\,\mathcal L_\text{commit} .$$
#
#    The adversarial and feature-matching gradients flow back *through* $D$ into $G$, but only
#    $G$'s weights are updated: $D$ is a fixed judge for the length of this step.
#
# Both players use AdamW (learning rate $10^{-4}$, $\beta = (0.8, 0.99)$ in the paper), with
# gradient norms clipped at 10 ($D$) and 1000 ($G$), and quantizer dropout $p = 0.5$. The
# official model ran this loop 400,000 times with batches of 72 excerpts of 0.38 s: days on a
# GPU. The figure is drawn for the `tiny` preset's recipe, whose warm-up its title explains
# (section 8.5).

# %%
draw_training_step(TrainConfig(preset="tiny"))

# %% [markdown]
# ## 8.2 One iteration, in the package's own words
#
# Here is the loop body exactly as the trainer runs it: `Trainer.train_step` does a discriminator
# step, then a generator step, and we print the source instead of copying it (a copy would drift).
# Three details matter:
#
# - `out.audio.detach()` in the discriminator step: $D$'s loss must not push on $G$.
# - The generator step runs $D$ on $\hat x$ *with* its graph (the adversarial and feature losses
#   flow back through $D$ into $G$), but on the real $x$ without one: feature matching treats $D(x)$
#   as a target.
# - The generator step would also leave gradients in $D$'s weights unless told otherwise; the
#   package asks autograd for $G$'s gradients only (`backward(inputs=...)`) and skips that work.
#
# The rest is engineering you can skip on a first reading: the discriminator judges real and fake
# in one concatenated batch; `self.G` is the codec with its quantizer kept in fp32 under autocast
# (`CodecForward`); before `gan_start` there is no discriminator step at all (section 8.5); with
# gradient accumulation each micro-batch adds $1/K$ of the gradient, and under `torchrun`
# `_no_sync` holds back the all-reduce until the last one; `check_finite` reads every loss back
# once per side and stops before a NaN reaches the weights (exercise 8.3); `revive` moves unused
# codebook entries (section 8.5).

# %%
for method in (
    Trainer.train_step,
    Trainer.discriminator_step,
    Trainer.generator_step,
    Trainer.generator_losses,
):
    print(inspect.getsource(method))

# %% [markdown]
# Now we run one iteration on a batch of the toy corpus with the paper's recipe (the
# discriminator plays from step 1) and check what it did: every term is finite, the generator's
# loss is the weighted sum $15\,\mathcal L_\text{mel} + 2\,\mathcal L_\text{feat} + \dots$ of the
# terms it reports, and both players' weights moved. Building the `Trainer` checks the data
# folders first: a bad folder fails there, not hours into training.

# %%
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
    threads=1,
    **RECIPES["official"],
)
trainer = Trainer(cfg)
x = draw_batch(trainer.data, BATCH, seed=0, rank=0, step=1)  # (B, 1, T), one item per domain
print("domains:", trainer.data.domains, "| batch:", tuple(x.shape))
display(Audio(x[2, 0].numpy(), rate=SAMPLE_RATE))  # the speech excerpt of step 1

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
n_sub = len(trainer.discriminator.discriminators)
n_scales = len(trainer.mel.window_lengths)
print(
    f"sums over {n_scales} mel scales, {n_sub} sub-discriminators and "
    f"{trainer.generator.quantizer.n_codebooks} codebooks"
)

# %% [markdown]
# The numbers are large because they are *sums*, over the scales, sub-discriminators and
# codebooks the last line counts. An untrained sub-discriminator answers about 0 for everything,
# so each adds $(1 - 0)^2 + 0^2 = 1$ to $D$'s loss and $(1 - 0)^2 = 1$ to $G$'s adversarial loss:
# both start near the number of sub-discriminators. Both players took their step; from here on
# we let the package repeat it. But first, what do we feed it?
#
# ## 8.3 What the codec is trained on
#
# A codec is only as general as its data. DAC's report (section 4.1) trains one model on three
# domains, all resampled to 44.1 kHz:
#
# - **speech**: DAPS (studio speech at 44.1 kHz), the clean speech of the DNS Challenge 4,
#   Common Voice (many voices, languages and microphones, often recorded at only 8–16 kHz) and
#   VCTK (110 English speakers at 48 kHz);
# - **music**: MUSDB18 (150 mixed tracks with their stems) and MTG-Jamendo (some 55,000 tracks of
#   many genres);
# - **general sound**: AudioSet in the official configuration (its balanced and unbalanced
#   training segments): environments, animals, machines, effects.
#
# The official configuration (`conf/base.yml` in the official repository) groups these folders
# into six *sources* by what is known of their bandwidth: full-band speech (DAPS), high-quality
# speech (VCTK and more), speech of unknown quality (Common Voice and more), high-quality music
# (MUSDB18), music of unknown quality (Jamendo) and general sound (AudioSet). Its loader cycles
# through the sources, so a batch holds about as many items of each. Held out for evaluation:
# DAPS speakers F10 and M10 and MUSDB18's test split.
#
# Each training item is an excerpt of 0.38 s, prepared in four steps (our loader,
# `dac_minimal.data.AudioFolder`, does each; `data/README.md` lists them all):
#
# 1. cut at a random place (and redrawn when it lands on a pause), mixed to mono and resampled
#    to 44.1 kHz;
# 2. **loudness-normalised** to −24 LUFS (ITU-R BS.1770: K-weighted, gated), so a whisper and a
#    drum kit reach the codec at the same perceived level (the report says −24 LUFS; the official
#    code uses −16 dB; `TrainConfig.loudness_db` chooses);
# 3. **augmented** by a random constant phase shift $\varphi \sim U(-\pi, \pi)$ of every frequency
#    component, $x \cos\varphi + \mathcal H\{x\}\sin\varphi$ with $\mathcal H$ the Hilbert
#    transform, and a random polarity flip (the shift by $\pi$), each with probability 0.5: the
#    magnitude spectrum, which is what we hear, stays; the waveform changes;
# 4. drawn by a **balanced sampler**: item $i$ of a batch comes from domain $i \bmod 3$, and within
#    a domain a full-band file (measurable energy above 16 kHz) is preferred.
#
# Let us watch the package do steps 2 and 3 to one clip of the toy corpus.

# %%
clip = toy_clip("music", seconds=1.0, seed=0, index=0).astype(np.float64)  # (T,) at 44.1 kHz
level = normalize_loudness(clip, SAMPLE_RATE, -24.0)
print(f"loudness {loudness(clip, SAMPLE_RATE):.1f} LUFS -> {loudness(level, SAMPLE_RATE):.1f} LUFS")
assert abs(loudness(level, SAMPLE_RATE) + 24.0) < 0.1

shifted = rotate_phase(level, np.pi / 2)  # every component shifted by 90 degrees
spectrum, spectrum_shifted = np.abs(np.fft.rfft(level)), np.abs(np.fft.rfft(shifted))
np.testing.assert_allclose(spectrum_shifted[1:-1], spectrum[1:-1], atol=1e-6 * spectrum.max())
np.testing.assert_allclose(rotate_phase(level, np.pi), -level, atol=1e-9)  # pi: polarity flip
print(f"waveform changed by {np.abs(shifted - level).max():.2f} (peak {np.abs(level).max():.2f})")

fig, axes = plt.subplots(1, 2, figsize=(10, 2.8))
t = np.arange(2000) / SAMPLE_RATE * 1000
axes[0].plot(t, level[:2000], label="normalised to −24 LUFS")
axes[0].plot(t, shifted[:2000], label="phase shifted by π/2", alpha=0.8)
axes[0].set(xlabel="ms", title="the waveform changes")
axes[0].legend(fontsize=8)
freqs = np.fft.rfftfreq(len(level), 1 / SAMPLE_RATE) / 1000
axes[1].plot(freqs, 20 * np.log10(spectrum + 1e-9), lw=0.6)
axes[1].plot(freqs, 20 * np.log10(spectrum_shifted + 1e-9), lw=0.6, ls="--")
axes[1].set(xlabel="kHz", ylabel="dB", title="its magnitude spectrum does not", ylim=(-40, None))
fig.tight_layout()
plt.show()

# %% [markdown]
# Step 4 needs to know which files are full band. A file recorded at 16 kHz and resampled to
# 44.1 kHz has a spectrum that stops at 8 kHz; nothing in its name says so. The loader measures
# it once, when it scans the folder: `highband_db` is the energy above 16 kHz relative to the
# total, and a file with at least −60 dB there counts as full band. Every fourth clip of the toy
# corpus is band-limited on purpose (to 8, 11.025 or 12 kHz), so the detector has both kinds to
# tell apart. `AudioFolder.choose` then draws a domain's file from its full-band files with
# probability `fullband_prob` (0.75) and from all of them otherwise.

# %%
folder = AudioFolder(corpus.train, DataConfig(duration=DURATION))
for domain in folder.domains:
    items = folder.items[domain]
    levels = " ".join(f"{it.highband_db:6.1f}" for it in items)
    print(f"{domain:>8}: energy above 16 kHz (dB) {levels}")
    print(f"{'':>8}  full band: {sum(it.fullband for it in items)} of {len(items)} files")

rng = np.random.default_rng(0)
draws = [folder.choose("speech", rng).fullband for _ in range(4000)]
share = np.mean([it.fullband for it in folder.items["speech"]])
print(
    f"speech: {share:.0%} of the files are full band, {np.mean(draws):.0%} of 4000 draws "
    f"(fullband_prob = {folder.config.fullband_prob})"
)
assert np.mean(draws) > share

# %% [markdown]
# ## 8.4 What band-limited data costs: the top octave
#
# Why prefer full-band files at all? The report's answer (section 4.2): trained on data whose
# true bandwidth varies, a codec fails to reconstruct above roughly the *average* bandwidth of
# its data. The mel loss explains it: where the target has no energy, the loss asks the codec
# for none, and a codec that never sees the top octave filled learns to leave it empty.
#
# We can watch this happen in a few dozen steps. Start two fine-tuning runs from the same
# codec, the tiny model trained for 15 minutes on real recordings
# (`benchmarks/reference_curves/tiny_15min.pt`, committed with the command that made it). One
# keeps training on the toy corpus as it is; the other on a copy of it low-passed at 8 kHz, as if
# every file had been recorded at 16 kHz. Then both reconstruct held-out full-band clips, and we
# compare how much energy each puts into the top octave, 11.025–22.05 kHz.


# %%
def lowpass(x: np.ndarray, cutoff: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Remove everything above cutoff Hz (a brick wall in the FFT)."""
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(len(x), 1 / sr) > cutoff] = 0.0
    return np.fft.irfft(spectrum, len(x))


narrow = RUNS / "data_8khz"
for path in sorted(corpus.train.rglob("*.wav")):
    audio, sr = sf.read(path)
    out = narrow / path.relative_to(corpus.train)
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out, lowpass(audio, 8000.0, sr).astype(np.float32), sr)


def fine_tune(data, name):
    """BAND_STEPS steps of the tiny CPU recipe (mel and VQ losses), from the 15-minute codec."""
    cfg = TrainConfig(
        preset="tiny",
        data=str(data),
        valid_data=str(corpus.valid),
        out=str(RUNS / name),
        steps=BAND_STEPS,
        batch_size=BATCH,
        duration=DURATION,
        init_from=str(REFERENCE_CODEC),
        log_every=0,
        val_every=0,
        sample_every=0,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
        threads=1,
    )
    return Trainer(cfg)


wide_run, narrow_run = fine_tune(corpus.train, "wide"), fine_tune(narrow, "narrow")
fullband = {d: sum(it.fullband for it in narrow_run.data.items[d]) for d in DOMAINS}
print("full-band files the loader finds in the 8 kHz copy:", fullband)
start = time.perf_counter()
for run in (wide_run, narrow_run):
    run.fit()
print(f"two runs of {BAND_STEPS} steps in {time.perf_counter() - start:.0f} s")

# %%
held_out = np.stack(
    [
        normalize_loudness(
            toy_clip(d, 1.0, seed=VALID_SEED_OFFSET, index=i).astype(np.float64), SAMPLE_RATE, -24.0
        )
        for d in DOMAINS
        for i in (0, 1, 2)  # clips 0-2 of each domain are full band (every 4th is not)
    ]
)
x_test = torch.from_numpy(held_out).float()[:, None]  # (9, 1, T), never trained on
signals = {
    "original": x_test,
    "fine-tuned on full band": wide_run.reconstruct(x_test),
    "fine-tuned on 8 kHz audio": narrow_run.reconstruct(x_test),
}
fig, ax = plt.subplots(figsize=(9, 3.4))
top = {}
for name, y in signals.items():
    f, power = signal.welch(y[:, 0].numpy(), fs=SAMPLE_RATE, nperseg=2048)  # (9, F)
    top[name] = 10 * np.log10(power[:, f >= 11025].sum(-1) / power.sum(-1)).mean()
    label = f"{name}: top octave {top[name]:.1f} dB"
    ax.plot(f / 1000, 10 * np.log10(power.mean(0) + 1e-12), label=label)
ax.axvline(8, color="0.5", ls=":")
ax.axvspan(11.025, 22.05, color="0.92")
ax.set(xlabel="kHz", ylabel="power (dB)", title="held-out full-band clips, mean spectrum")
ax.legend(fontsize=8)
plt.show()
loss = top["fine-tuned on full band"] - top["fine-tuned on 8 kHz audio"]
print(f"the 8 kHz run puts {loss:.1f} dB less of its energy into the top octave")
assert loss > 0

# %% [markdown]
# The shaded band is the top octave; the legend gives each signal's energy there relative to its
# total, averaged over the nine clips, and the last line the difference between the two runs.
# The run on 8 kHz audio was never shown anything above the dotted line, and the mel loss
# rewarded it for every bit of energy it took away from there: after a few dozen steps it has
# forgotten part of what 15 minutes of full-band training taught it. Nothing in a band-limited
# file says that it is one, which is why the loader measures every file, and why the official
# recipe keeps full-band sources in every batch. Exercises 8.5 and 8.6 take this further.
#
# ## 8.5 A short run, with the CPU recipe
#
# Now the run you can keep. It trains on real recordings when you have them: `data/real` is a
# corpus of speech, music and sound effects laid out from freely licensed Debian packages, with
# held-out speakers, tracks and effects in `valid/`. If the cell below reports the toy corpus,
# build the real one once with `python -m dac_minimal.tools.corpus --out data/real` from the
# repository root (it names the packages to install; `data/README.md` describes the corpus).
#
# The paper's recipe is tuned for 400k steps on GPUs. For a few thousand steps on a CPU, the `tiny`
# preset's defaults change four things (`dac_minimal.train.RECIPES["cpu"]`, printed below;
# `benchmarks/tiny_vs_opus.py` measures the result, and the big presets keep the paper's recipe):
#
# - **a larger learning rate**: a 0.6M-parameter model tolerates it, and at the paper's rate a
#   few thousand steps barely move it;
# - a **discriminator warm-up**: before step `gan_start` no discriminator runs and the generator
#   learns from
#   $15\,\mathcal L_\text{mel} + \mathcal L_\text{codebook} + 0.25\,\mathcal L_\text{commit}$ alone.
#   Such a step costs much less than a full one, and early in training the mel loss is what
#   improves the codec; the adversarial game is about the fine detail a codec learns later
#   (AudioDec trains its codec this way at first);
# - **dead-code revival** (`quantize.CodeReviver`): every `revive_every` steps, each codebook
#   entry that no frame chose in those steps moves onto an encoder output, where the data is
#   (Jukebox and EnCodec do the same). The outputs are drawn from a pool of frames of the recent
#   batches: one batch holds a few excerpts whose neighbouring frames are nearly alike, and entries
#   revived onto it crowd together and die again (section 8.6);
# - a **learning rate that holds, then falls**: constant for the first three quarters of the
#   steps, then linearly to 0 at the last one (`lr_schedule="linear"`, `lr_decay_from`). The
#   paper's exponential decay barely moves in a few thousand steps; a run this short is far from
#   converged, and letting the rate fall at the end settles the weights and the codes where a
#   constant rate keeps them jittering.
#
# `Trainer.fit` (printed below: a plain loop, data → step → log → validate and sample →
# checkpoint) repeats `train_step`, logs every loss to `metrics.csv`, measures the **validation
# mel distance** (the un-weighted mel loss on held-out clips, eval mode, all 9 codebooks) to
# `val.csv`, writes audio samples and spectrograms, and checkpoints to `latest.pt`. So that you
# see both phases in a short run, this run lets the discriminator join at step
# `GAN_START` instead of 5000. Before training, we keep the untrained model's reconstructions of
# the validation clips to compare with later.

# %%
train_dir = REAL / "train" if (REAL / "train").is_dir() else corpus.train
cfg = TrainConfig(
    preset="tiny",
    data=str(train_dir),  # the trainer finds the held-out split in train_dir/../valid
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
    threads=1,
)
print("the CPU recipe:", RECIPES["cpu"], "| this run's gan_start:", cfg.gan_start)
print(inspect.getsource(Trainer.fit))
with warnings.catch_warnings(record=True) as skipped:
    warnings.simplefilter("always", AudioDataWarning)
    trainer = Trainer(cfg)
print("training on", train_dir, "| held out:", trainer.val_domains)
for domain, items in trainer.data.items.items():
    minutes = sum(it.num_samples for it in items) / SAMPLE_RATE / 60
    n_full = sum(it.fullband for it in items)
    print(f"{domain:>8}: {len(items):4d} files, {minutes:6.1f} min, {n_full:4d} of them full band")
for warning in skipped:
    print(warning.message)  # files the loader cannot use (too short, unreadable), counted once

# %%
before = trainer.reconstruct(trainer.val_audio)
start = time.perf_counter()
trainer.fit()
elapsed = time.perf_counter() - start
after = trainer.reconstruct(trainer.val_audio)
metrics, val = read_csv(RUNS / "train" / "metrics.csv"), read_csv(RUNS / "train" / "val.csv")
rate = np.median(metrics["steps_per_s"])
print(f"{STEPS} steps in {elapsed:.0f} s with validation; median {rate:.2f} steps/s")
mel_distance = val["mel_distance"]
print(f"validation mel distance: {mel_distance[0]:.3f} before, {mel_distance[-1]:.3f} after")

# %% [markdown]
# The curves, next to a reference run of the same configuration on the same corpus (the real one
# or the toy one, whichever this run trained on), 300 steps long (committed in
# `benchmarks/reference_curves/`; its README has the commands and the code version they were made
# with). Compare shapes rather than digits: the mel loss falling fast and then slowly,
# the two players' losses starting together at `gan_start` and parting, the validation mel
# distance following the training loss. A run whose curves have another shape (a mel loss that
# stalls from the start, a discriminator loss at zero, a validation distance that climbs) tells
# you that something differs: the data, the settings, or the code.

# %%
on_real = train_dir != corpus.train
ref_name, ref_label = (
    ("tiny_cpu_real", "reference (real)") if on_real else ("tiny_cpu", "reference (toy)")
)
ref_path = ROOT / "benchmarks" / "reference_curves" / f"{ref_name}_metrics.csv"
ref_val_path = ROOT / "benchmarks" / "reference_curves" / f"{ref_name}_val.csv"
reference = read_csv(ref_path) if ref_path.is_file() else None
reference_val = read_csv(ref_val_path) if ref_val_path.is_file() else None

fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
ax = axes[0]
if reference is not None:
    ax.plot(reference["step"], reference["mel"], color="0.75", label=ref_label)
ax.plot(metrics["step"], metrics["mel"], label="this run")
ax.set(title="mel loss (train)", xlabel="step")
ax.legend()
ax = axes[1]  # the game, from gan_start on (before it, neither adversarial loss is computed)
if reference is not None:
    game = reference["step"] >= 101
    ax.plot(reference["step"][game], reference["discriminator"][game], color="0.75")
    ax.plot(reference["step"][game], reference["adversarial"][game], color="0.85")
game = metrics["step"] >= GAN_START
ax.plot(metrics["step"][game], metrics["discriminator"][game], label="D loss")
ax.plot(metrics["step"][game], metrics["adversarial"][game], label="G adversarial")
ax.set(title="the two players", xlabel="step")
ax.legend()
ax = axes[2]
if reference_val is not None:
    ax.plot(
        reference_val["step"],
        reference_val["mel_distance"],
        "o-",
        color="0.75",
        label=ref_label,
    )
ax.plot(val["step"], val["mel_distance"], "o-", label="this run")
ax.set(title="validation mel distance", xlabel="step")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the middle panel as a game that starts at `gan_start`. Both losses start near the number
# of sub-discriminators (section 8.2). The discriminator's loss falls as it learns to score real
# audio near 1 and reconstructions near 0; the generator's adversarial loss answers as $\hat x$
# earns higher scores. Neither should reach zero in a healthy run: a discriminator that wins
# outright gives the generator no useful gradient. The mel loss (left) does most of the work
# early on, and the validation mel distance (right), measured on clips the model never trains on,
# follows it. (The mel loss can jump a little when the game starts: the generator now also
# answers to $D$.)
#
# ## 8.6 Listening
#
# The first held-out speech clip: the original, the untrained codec, the codec after this short
# run, and the committed tiny codec after 15 minutes of training with the CPU recipe on the
# corpus of real recordings of section 8.5 (batches of 6 × 0.38 s, no discriminator yet; the
# command is in `benchmarks/reference_curves/README.md`, which also gives its scores; committed as
# `benchmarks/reference_curves/tiny_15min.pt`, the model chapters 9–12 measure).

# %%
fifteen = DAC.load(REFERENCE_CODEC).eval()
speech = trainer.val_domains.index("speech")  # the first held-out speech clip
with torch.no_grad():
    fifteen_audio = fifteen(trainer.val_audio).audio
clips = {
    "original": trainer.val_audio[speech, 0],
    "before": before[speech, 0],
    "after": after[speech, 0],
    "15 minutes": fifteen_audio[speech, 0],
}
for name, clip in clips.items():
    print(name)
    display(Audio(clip.numpy(), rate=SAMPLE_RATE))

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
        extent=(0, len(clip) / SAMPLE_RATE, 0, SAMPLE_RATE / 2000),
    )
    ax.set(title=name, xlabel="time (s)")
axes[0].set_ylabel("kHz")
fig.tight_layout()
plt.show()

mel_before = trainer.mel(before, trainer.val_audio).item()
mel_after = trainer.mel(after, trainer.val_audio).item()
mel_fifteen = trainer.mel(fifteen_audio, trainer.val_audio).item()
np.testing.assert_allclose(mel_after, val["mel_distance"][-1], rtol=1e-5)  # what fit logged
print(
    f"validation mel distance, all 9 codebooks: before {mel_before:.3f}, "
    f"after {mel_after:.3f}, after 15 minutes {mel_fifteen:.3f}"
)
assert mel_fifteen < mel_after

# %% [markdown]
# Listen and look before reading the numbers. A run this short is far too little for this codec to
# follow its input; the 15-minute model is further along, and it is still 400k steps away from
# the paper's. One way to see what a codec can *send* is chapter 3's codebook utilization: how
# many of the 1024 entries each codebook uses on the held-out clips.


# %%
def entries_used(model, audio):
    """Distinct codes per codebook over all frames of audio (N, 1, T), and the frame count."""
    model.eval()
    with torch.no_grad():
        codes = model.encode(audio).codes  # (N, n_q, L)
    used = [len(codes[:, k].unique()) for k in range(codes.shape[1])]
    return used, codes.shape[0] * codes.shape[2]


used, frames = entries_used(trainer.generator, trainer.val_audio)
print(f"entries used per codebook on the {frames} held-out frames")
print(f"{'this run':>12}: {used}")
print(f"{'15 minutes':>12}: {entries_used(fifteen, trainer.val_audio)[0]}")
trainer.generator.save(RUNS / "tiny.pt")
print("saved", RUNS / "tiny.pt")

# %% [markdown]
# A codebook cannot use more entries than there are frames, so read the two rows against the
# frame count. A codebook that uses a handful of entries sends almost nothing: most frames get
# the same few codes and decode to the same sound (chapter 3's collapse). Why does a young codec
# collapse, revival or not? Its latent is still small, and every Adam step moves each quantizer's
# input bias by about the learning rate in whatever direction the gradient keeps pointing; within
# tens of steps a shared offset can outweigh the differences between frames, all frames point the
# same way, and the cosine lookup gives them the same code. Revival moves the unused entries onto
# recent encoder outputs, but when those outputs all point alike it can only spread entries
# around one direction. As the encoder learns to give different frames different latents, the
# codes spread out again, and revival keeps them spread: after 15 minutes of training nearly every
# entry of every codebook is in use on held-out clips (measured by
# `python benchmarks/tiny_vs_opus.py`, see `benchmarks/README.md`). Chapter 9 measures the
# utilization on a larger set. The cell saved this run's model; chapters 9–12 measure the
# 15-minute one, and `book_codec(path=...)` measures yours.
#
# Last, the 15-minute codec on recordings it never heard: a held-out speaker, a held-out music
# track and a desktop sound, each decoded with the first 1, 4 and 9 codebooks (committed in
# `benchmarks/reference_curves/clips/`, made with the command in that folder's README; their
# sources and licences are in `sources.json` beside them). Listen for what each added codebook
# brings back.

# %%
CLIPS = ROOT / "benchmarks" / "reference_curves" / "clips"
for clip in ("speech", "music", "effect"):
    for version in ("original", "1cb", "4cb", "9cb"):
        audio, sr = sf.read(CLIPS / f"{clip}_{version}.ogg")
        label = version if version == "original" else f"{version[0]} codebook(s)"
        print(f"{clip}, {label}")
        display(Audio(audio, rate=sr))

# %% [markdown]
# ## 8.7 Training for real: the command line
#
# The same trainer runs from a terminal, with a progress bar, CSV logs (and TensorBoard when it is
# installed), audio samples and spectrogram PNGs of a validation clip in `OUT/samples/`,
# checkpoints every `--ckpt-every` steps and the best model by validation mel distance in
# `best.pt`:
#
# ```bash
# python -m dac_minimal.tools.corpus --out data/real    # once: the real corpus
# python -m dac_minimal.train --preset tiny --data data/real/train --steps 5000 \
#     --batch-size 6 --duration 0.38 --out runs/tiny
# python -m dac_minimal.train --preset tiny --data data/real/train --steps 10000 \
#     --batch-size 6 --duration 0.38 --out runs/tiny --resume   # from step 5000 on, D joins
# python -m dac_minimal.train --preset tiny --data my_audio/ --init-from runs/tiny/best.pt \
#     --out runs/ft                                       # fine-tune on your own recordings
# ```
#
# `--data` takes any folder with one subfolder per domain (`speech/`, `music/`, `general/`) of
# wav/flac/ogg/mp3 files; problems (an empty folder, unreadable or too-short files) are reported
# before the first step (section 8.5's cell prints any it met). `latest.pt` holds the weights, both
# optimizers and schedulers, the step and every random generator's state, written atomically, so
# `--resume` continues as if nothing had happened (exercise 8.1) and a killed process loses at
# most the steps since its last checkpoint. A NaN or infinite loss stops the run with the step and
# the loss term in the message, before it can be saved (exercise 8.3).
#
# ## 8.8 Full scale: the 44.1 kHz model on GPUs
#
# The official recipe needs a GPU. On one, the trainer can run the encoder, decoder and
# discriminators in bfloat16 (`--amp`; the quantizer and the losses stay in fp32, where
# nearest-neighbour ties and small losses are safe) and compile them with `torch.compile`:
# `--compile snake` fuses only the Snake activations (seconds to compile), `--compile` the whole
# generator and discriminator (minutes to compile, paid once per run). The full model's step is
# bound by launching many small kernels rather than by arithmetic, so what bf16 and the compiled
# Snakes save is mostly memory (`benchmarks/train_step_speed.py` measures the step time and
# memory of each variant, see `benchmarks/README.md`). With a CUDA GPU, the cell below runs two
# iterations of the full model in bf16 with the Snakes compiled; the first includes compilation,
# so read the second.

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
    print("The full-scale run needs a CUDA GPU; the commands below start one.")

# %% [markdown]
# On a machine with 8 GPUs, `torchrun` starts one process per GPU; each draws its own excerpts (the
# batch stream is seeded by the process rank), DistributedDataParallel averages the gradients, and
# rank 0 alone writes logs and checkpoints. Nine excerpts per GPU make the paper's batch of 72:
#
# ```bash
# python -m dac_minimal.tools.datasets --out data/full   # DAPS, VCTK, MUSDB18 in train/, valid/
# torchrun --standalone --nproc_per_node=8 -m dac_minimal.train --preset 44khz \
#     --data data/full/train --batch-size 9 --steps 400000 --amp --compile --workers 4 \
#     --out runs/44khz
# ```
#
# With fewer GPUs, `--accum K` accumulates K micro-batches per optimizer step (one GPU:
# `--batch-size 9 --accum 8`); the discriminator step then reconstructs each micro-batch without
# keeping its graph and the generator step reconstructs it again, trading a little compute for the
# memory that accumulation saves.

# %% [markdown]
# ## Key takeaways
#
# - One iteration is two moves: $D$ learns on $x$ and $\mathrm{sg}[\hat x]$ (the detach keeps its
#   loss out of $G$), then $G$ learns on the weighted sum of five losses, with gradients flowing
#   through the fixed, just-updated $D$ into $G$ alone.
# - The data is part of the recipe: three domains in every batch, each excerpt at −24 LUFS with a
#   random phase and polarity, and full-band files preferred, because a codec trained on
#   band-limited audio learns to leave the top octave empty.
# - Short runs on a CPU need their own recipe (a larger, falling learning rate, a discriminator
#   warm-up, dead-code revival); the paper's is tuned for 400k GPU steps.
# - A run is checked by its logs: validation mel distance on held-out clips, codebook
#   utilization, the two players' losses, and a reference curve that a deterministic run repeats.
# - The same loop scales from a notebook to `torchrun` on 8 GPUs: bf16, compiled Snakes,
#   accumulation and DDP change how a step runs, not what it computes.

# %% [markdown]
# ## Exercises
#
# ### Exercise 8.1 (★★) Resume exactly
#
# Train 4 steps in one go, and 2 steps followed by a `resume=True` run to step 4, with tiny
# excerpts (3 × 0.05 s). Show that the per-step losses of steps 3 and 4 are identical. What would
# break the equality if the checkpoint did not store torch's random state?
#
# [Solution](solutions/08_training.ipynb)
#
# ### Exercise 8.2 (★) The paper's learning-rate decay
#
# The paper's learning rate decays as $\eta_t = \eta_0 \gamma^t$ with $\gamma = 0.999996$. After
# how many iterations is it halved? What is it at the end of the official 400k iterations? Check
# your formula against `torch.optim.lr_scheduler.ExponentialLR` for 1000 steps.
#
# [Solution](solutions/08_training.ipynb)
#
# ### Exercise 8.3 (★★) Make the run fail
#
# Replace the trainer's mel loss by a module that returns NaN and run one step. What does the
# error say, and is anything written to `latest.pt`?
#
# [Solution](solutions/08_training.ipynb)
#
# ### Exercise 8.4 (★) What the detach protects
#
# In the discriminator step, $D$ judges `out.audio.detach()`. Suppose the `detach()` were
# missing. Which weights would $D$'s loss then send gradients to, and in which direction would
# they push $G$? Check your answer by computing, for one batch, the gradient norm that
# $\mathcal L_D$ leaves in $G$'s weights with and without the detach.
#
# [Solution](solutions/08_training.ipynb)
#
# ### Exercise 8.5 (★★) How often is a draw full band?
#
# A domain has a fraction $f$ of full-band files, and `AudioFolder.choose` draws from the full-band
# files with probability $q$ = `fullband_prob`, otherwise from all files. Derive the probability
# that a draw is full band, and the share of full-band draws in a batch when $f = 3/4$ and
# $q = 0.75$. Check your formula against `choose` on the toy corpus, and find which $q$ the loader
# would need for a domain with $f = 0.1$ to give half of its draws from full-band files.
#
# [Solution](solutions/08_training.ipynb)
#
# ### Exercise 8.6 (★★★) Open-ended: how much full-band data is enough?
#
# Section 8.4 compared all full band with none. Build corpora in which a share $s$ of each
# domain's files is low-passed at 8 kHz ($s$ = 0, 0.5, 0.9, 1) and fine-tune the 15-minute codec
# on each, with the loader's preference for full-band files on (`fullband_prob` 0.75) and off
# (0). How does the energy of the top octave depend on $s$ and on the preference? Does the
# preference cost anything on band-limited inputs?
#
# [Solution](solutions/08_training.ipynb)

# %% [markdown]
# ## Further reading
#
# - [Kumar et al., "High-Fidelity Audio Compression with Improved
#   RVQGAN" (NeurIPS 2023)](https://arxiv.org/abs/2306.06546): the paper; its sections on data,
#   balanced sampling and the training recipe are this chapter's source.
# - [The official training
#   script](https://github.com/descriptinc/descript-audio-codec/blob/main/scripts/train.py) and its
#   [configuration](https://github.com/descriptinc/descript-audio-codec/blob/main/conf/base.yml):
#   the same D step then G step in about thirty lines, and the six data sources with their folders.
# - [Kong et al., "HiFi-GAN" (NeurIPS 2020)](https://arxiv.org/abs/2010.05646): the GAN training
#   recipe DAC inherits (AdamW with $\beta = (0.8, 0.99)$, exponential decay, least-squares losses,
#   feature matching, multi-period discriminators).
# - [nanoGPT](https://github.com/karpathy/nanoGPT): a training loop written as one plain loop, the
#   style `Trainer.fit` follows.
# - [PyTorch's DistributedDataParallel
#   tutorial](https://docs.pytorch.org/tutorials/intermediate/ddp_tutorial.html) and
#   [torchrun](https://docs.pytorch.org/docs/stable/elastic/run.html): what section 8.8's
#   multi-GPU command relies on.

# %% [markdown]
# [← 7. Losses](07_losses.ipynb) · [Contents](00_preface.ipynb) ·
# [9. Evaluation →](09_evaluation.ipynb)
