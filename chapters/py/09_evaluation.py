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
# # 9. Evaluation: what the numbers see, and what they miss
#
# Training tells you how well a codec fits the losses it was given. Evaluation asks a different
# question: how close is $\hat x$ to $x$ on audio the codec never heard, by measures it was *not*
# trained on, and how does it compare with the codecs people already use? The report answers with
# three numbers (its Table 1) and three pictures (its Figs. 5–7); the field adds mel and STFT
# distances, SI-SDR, ViSQOL, and Opus and MP3 at the same bitrate. The idea of this chapter: **a
# metric is a loss you did not train on; know what it is blind to before you trust it.** We build
# every number by hand, check each against `dac_minimal.evaluate.metrics`, recompute Table 1 and the
# figures, and then watch SNR and MSE punish a change no one can hear.
#
# ## What you will learn
#
# - MSE, SNR and SI-SDR, computed by hand, and the one thing SI-SDR forgives (a gain);
# - the phase-blind spectral distances: mel, multi-resolution STFT and MFCC;
# - codebook utilization and perplexity, and why a utilization figure needs its set size;
# - how to recompute the report's Table 1 and Figs. 5–7, and how to read them critically;
# - how to compare a codec with Opus and MP3 at the same bitrate;
# - why an inaudible phase rotation is the worst possible reconstruction by SNR.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import book_codec, interact, sizes
from IPython.display import Audio, Markdown, display
from ipywidgets import IntSlider

from dac_minimal import DAC
from dac_minimal.data import ensure_toy_corpus, toy_clip

SR = 44100  # f_s
# held-out clips per domain, seconds of each, numbers of codebooks (bitrate = n_q x 0.86 kbps)
CLIPS_PER_DOMAIN, MAX_SECONDS, N_QS = sizes((4, 1), (2.0, 1.0), ((1, 3, 9), (1, 9)))
torch.set_num_threads(1)
torch.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 9.1 The codec under test and the held-out clips
#
# This chapter measures the book's reference codec, `book_codec()`: the `tiny` preset (the full
# model's sample rate, hop $M = 512$, 9 codebooks of $K = 1024$ entries and bitrate, in a fraction
# of its parameters) after 15 minutes of CPU training. It is committed in
# `benchmarks/reference_curves/`, whose README gives the command that trained it and the data it was
# trained on. We measure this one because every reader has it: it ships with the repository,
# evaluates in seconds on a CPU, and chapters 10–12 use the same codec, so their numbers read
# together. Every score below is computed by this notebook; `book_codec(path="runs/tiny/best.pt")`
# measures your own model instead. The official 44.1 kHz model, the one the report measures, comes
# in section 9.9.
#
# The clips are the toy corpus's `valid` split ([chapter 1](01_audio_and_tokens.ipynb)), which no
# codec in the book trains on.

# %%
model, source = book_codec()
print(
    f"evaluating {source}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
    f"{model.n_codebooks} codebooks of {model.config.codebook_size}"
)

corpus = ensure_toy_corpus()  # the train and valid splits
print("held-out clips in", corpus.valid)

# %% [markdown]
# One clip first: a held-out music clip through the codec with all 9 codebooks (7.75 kbps).
# `reconstruct` encodes once and decodes from the first $n_q$ codebooks for each $n_q$: residual VQ
# is sequential, so the first $n_q$ codes do not depend on how many follow.

# %%
from dac_minimal.evaluate.evaluation import load_clips, reconstruct

clips = load_clips(corpus.valid, SR, CLIPS_PER_DOMAIN, MAX_SECONDS)
clip = next(c for c in clips if c.domain == "music")
x = clip.audio.astype(np.float64)  # (T,) the original
recons, codes = reconstruct(model, clip.audio, [1, model.n_codebooks])
y = recons[model.n_codebooks].astype(np.float64)  # (T,) the reconstruction x̂
print(f"{clip.domain}/{clip.name}: T = {len(x)} samples, codes {tuple(codes.shape)} (n_q, L)")
display(Audio(x, rate=SR), Audio(y, rate=SR))

# %% [markdown]
# ## 9.2 Sample by sample: MSE, SNR and SI-SDR
#
# The report's two waveform numbers compare $x$ and $\hat x$ one sample at a time:
#
# $$\text{MSE} = \frac1T\sum_t (\hat x_t - x_t)^2, \qquad
#   \text{SNR} = 10\log_{10}\frac{\sum_t x_t^2}{\sum_t (x_t - \hat x_t)^2}\ \text{dB}.$$
#
# SI-SDR (scale-invariant signal-to-distortion ratio) first projects $\hat x$ on $x$, so that a
# change of gain is forgiven: with $\gamma = \langle \hat x, x\rangle / \lVert x\rVert^2$,
# $\text{SI-SDR} = 10\log_{10} \lVert \gamma x\rVert^2 / \lVert \hat x - \gamma x\rVert^2$.

# %%
mse_by_hand = np.mean((y - x) ** 2)
snr_by_hand = 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2))
gain = (y @ x) / (x @ x)  # γ
si_sdr_by_hand = 10 * np.log10(np.sum((gain * x) ** 2) / np.sum((y - gain * x) ** 2))
print(
    f"MSE {mse_by_hand:.3e}   SNR {snr_by_hand:.2f} dB   "
    f"SI-SDR {si_sdr_by_hand:.2f} dB   (γ = {gain:.3f})"
)

# %% [markdown]
# The package's versions take `(estimate, reference)` in that order (like the losses), accept
# NumPy or torch `(..., T)`, and return one value per item. They also decide the edge cases once: a
# perfect reconstruction (silence of silence included) has SNR $+\infty$; shapes that differ raise
# a `ValueError`.

# %%
from dac_minimal.evaluate import metrics as M

np.testing.assert_allclose(M.mse(y, x), mse_by_hand, rtol=1e-9)
np.testing.assert_allclose(M.snr_db(y, x), snr_by_hand, rtol=1e-9)
np.testing.assert_allclose(M.si_sdr_db(y, x), si_sdr_by_hand, rtol=1e-9)
assert M.snr_db(x, x) == math.inf and M.snr_db(np.zeros(8), np.zeros(8)) == math.inf
try:
    M.snr_db(y[:-1], x)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## 9.3 Through the ear's eyes: mel, STFT and MFCC distances
#
# A spectral distance compares magnitudes $|\mathrm{STFT}(\hat x)|$ and $|\mathrm{STFT}(x)|$ frame
# by frame and throws the phase away. Three of them:
#
# - **mel distance**: exactly the training mel loss of [chapter 7](07_losses.ipynb) (7 scales,
#   log10 mel magnitudes, L1).
# - **multi-resolution STFT distance** (from Parallel WaveGAN): for windows $W$ = 2048, 1024, 512
#   (hop $h = W/4$), the spectral convergence $\lVert S - \hat S\rVert_F / \lVert S\rVert_F$ plus
#   $\operatorname{mean}|\ln \hat S - \ln S|$, averaged over the three, with $S$ and $\hat S$ the
#   magnitudes of $x$ and $\hat x$.
# - **MFCC distance**: the mean over frames of $\lVert c(\hat x) - c(x)\rVert_2$, with $c$ the first
#   13 MFCCs (the DCT of the dB mel spectrum): a smooth spectral envelope, the quantity of the
#   report's Fig. 5.

# %%
from dac_minimal.loss import MultiScaleMelLoss


def as_batch(a: np.ndarray) -> torch.Tensor:
    """(T,) -> (1, 1, T) float32, the shape the losses take."""
    return torch.tensor(a, dtype=torch.float32)[None, None]


mel_by_loss = MultiScaleMelLoss()(as_batch(y), as_batch(x)).item()


def stft_mag(a: np.ndarray, w: int) -> np.ndarray:
    """|STFT| (1 + w/2, frames): Hann window, centred, reflect-padded, hop w/4."""
    a = torch.from_numpy(a)
    window = torch.hann_window(w, dtype=a.dtype)
    spec = torch.stft(
        a, w, w // 4, window=window, center=True, pad_mode="reflect", return_complex=True
    )
    return spec.abs().numpy()


stft_by_hand = 0.0
for w in (2048, 1024, 512):
    S, S_hat = stft_mag(x, w), stft_mag(y, w)
    convergence = np.linalg.norm(S - S_hat) / np.linalg.norm(S)
    log_mag = np.mean(np.abs(np.log(np.maximum(S_hat, 1e-5)) - np.log(np.maximum(S, 1e-5))))
    stft_by_hand += (convergence + log_mag) / 3

c, c_hat = M.mfcc(x, SR), M.mfcc(y, SR)  # (13, frames): librosa, 2048-sample frames, hop 512
mfcc_by_hand = np.mean(np.linalg.norm(c_hat - c, axis=0))
print(f"mel {mel_by_loss:.3f}   STFT {stft_by_hand:.3f}   MFCC {mfcc_by_hand:.2f}")

np.testing.assert_allclose(M.mel_distance(y, x), mel_by_loss, rtol=1e-6)
np.testing.assert_allclose(M.stft_distance(y, x), stft_by_hand, rtol=1e-9)
np.testing.assert_allclose(M.mfcc_distance(y, x, SR), mfcc_by_hand, rtol=1e-9)

# %% [markdown]
# ## 9.4 Codebook utilization and perplexity
#
# Utilization is the share of a codebook's $K = 1024$ entries that occur at least once on an
# evaluation set; an entry never used is a wasted tenth of a bit. Perplexity $2^H$, with
# $H = -\sum_k p_k\log_2 p_k$ the entropy of the code frequencies, says how many entries are used
# *in effect* (1024 at best). Both describe a **set**, not a clip, so we pool the codes of every
# held-out clip.

# %%
all_codes = [reconstruct(model, c.audio, [1])[1].numpy() for c in clips]  # each (n_q, L)
pooled = np.concatenate(all_codes, axis=1)  # (n_q, all frames)
K = model.config.codebook_size
util_by_hand = np.array([len(np.unique(row)) / K for row in pooled])
p = np.stack([np.bincount(row, minlength=K) for row in pooled]) / pooled.shape[1]
entropy_by_hand = -np.sum(np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0), axis=1)

util = M.codebook_utilization(all_codes, K)
np.testing.assert_allclose(util.per_codebook, util_by_hand, rtol=1e-12)
np.testing.assert_allclose(M.codebook_entropy_bits(all_codes, K), entropy_by_hand, rtol=1e-9)
np.testing.assert_allclose(M.codebook_perplexity(all_codes, K), 2**entropy_by_hand, rtol=1e-9)
print(f"{pooled.shape[1]} frames pooled from {len(clips)} clips")
print(
    "utilization per codebook (%):",
    np.round(100 * util.per_codebook, 1),
    f" mean {100 * util.mean:.2f} %",
)
print("perplexity per codebook:     ", np.round(2**entropy_by_hand, 1))

fig, ax = plt.subplots(figsize=(8, 2.5))
ax.bar(np.arange(1, len(util_by_hand) + 1), 100 * util_by_hand, label="utilization (%)")
ceiling = 100 * min(1.0, pooled.shape[1] / K)
ax.axhline(ceiling, color="k", ls="--", lw=1, label="ceiling: frames / K")
ax.axhline(92.45, color="C3", ls=":", lw=1, label="report: 92.45 %")
ax.set(xlabel="codebook", ylabel="% of entries used", ylim=(0, 105))
ax.legend(fontsize=8, loc="center right")
plt.show()

# %% [markdown]
# Bars near 0.1 % (one entry per codebook, perplexity 1) would mean the codebooks have
# **collapsed**: every frame picks the same code. [Chapter 8](08_training.ipynb) shows how a young
# codec gets there: while the latent $z_e$ is small, the biases of the quantizers' input
# projections, which every Adam step moves by about the learning rate, soon outweigh the
# differences between frames, and all frames point the same way. The scale that matters is the
# latent's; here it is for this clip, from a freshly initialised tiny encoder (the
# variance-preserving initialisation of [chapter 5](05_encoder_decoder.ipynb)) and from our codec:

# %%
fresh = DAC.from_preset("tiny").eval()
with torch.inference_mode():
    xt = as_batch(x)
    rms = {
        name: m.encoder(m.preprocess(xt)).pow(2).mean().sqrt().item()
        for name, m in (("freshly initialised", fresh), ("the codec under test", model))
    }
print(f"the clip's RMS: {np.sqrt(np.mean(x**2)):.3f}")
for name, value in rms.items():
    print(f"RMS of z_e, {name}: {value:.3f}")

# %% [markdown]
# Note the dashed line of the bar chart: with $L$ frames in the set, a codebook can use at most $L$
# entries, so utilization is capped at $L/1024$. The cell below prints how much audio 1024 frames
# are; a "92.45 %" measured on a shorter set would be impossible, and one measured on hours of audio
# says little about rarely used entries. A utilization figure needs its set size beside it.

# %%
print(
    f"1024 frames = {1024 * model.hop_length / SR:.1f} s of audio at "
    f"{model.frame_rate:.2f} frames/s; this set: {pooled.shape[1]} frames = "
    f"{pooled.shape[1] / model.frame_rate:.1f} s"
)

# %% [markdown]
# ## 9.5 Table 1, recomputed
#
# `dac_minimal.evaluate.evaluation.evaluate` does all of the above for every clip, every domain and
# every bitrate, and pools the codes per domain for the codebook columns. From the repository root,
# `python -m dac_minimal.evaluate --weights benchmarks/reference_curves/tiny_15min.pt --data
# ~/.cache/dac_minimal/data/toy/valid --out runs/eval` writes the same table as CSV and Markdown,
# with the figures of section 9.6 as PNG files.

# %%
from dac_minimal.evaluate.evaluation import REPORT_TABLE1, evaluate, markdown_table

result = evaluate(
    model, corpus.valid, N_QS, clips_per_domain=CLIPS_PER_DOMAIN, max_seconds=MAX_SECONDS
)
display(Markdown(markdown_table(result.rows)))

# %% [markdown]
# Beside the report's numbers (official model, real speech and music, 9 codebooks):

# %%
ours = next(r for r in result.rows if r["domain"] == "all" and r["n_q"] == model.n_codebooks)
display(
    Markdown(
        "| | report (official DAC) | the book's codec, toy clips |\n|---|---|---|\n"
        f"| codebook utilization | {100 * REPORT_TABLE1['codebook_utilization']:.2f} % | "
        f"{100 * ours['codebook_utilization']:.2f} % |\n"
        f"| SNR | {REPORT_TABLE1['snr_db']:.2f} dB | {ours['snr_db']:.2f} dB |\n"
        f"| MSE | {REPORT_TABLE1['mse']:.6f} | {ours['mse']:.6f} |\n"
        f"| mel distance | (not reported) | {ours['mel_distance']:.3f} |\n"
    )
)
assert ours["clips"] == len(clips) and 0 < ours["codebook_utilization"] <= 1

# %% [markdown]
# Read the report's two waveform numbers together. If SNR and MSE were measured on the same
# waveforms, the mean signal power would be $\text{MSE}\cdot 10^{\text{SNR}/10}$:

# %%
implied_power = REPORT_TABLE1["mse"] * 10 ** (REPORT_TABLE1["snr_db"] / 10)
print(
    f"implied mean signal power {implied_power:.2f}, i.e. an RMS of {math.sqrt(implied_power):.2f} "
    "(full scale is 1; music mastered loud has an RMS near 0.1-0.3)"
)
assert implied_power > 1.0

# %% [markdown]
# An RMS above full scale is not audio in $[-1, 1]$. Averaging per-clip values can bend this a
# little (the mean of dB values is not the dB of the means), but not by a factor of ten: the two
# numbers were probably computed on different signals or scales (normalised clips,
# spectrograms...), and the report does not say which. That is the practical lesson of this chapter:
# **a metric is only defined by its code**. Ours are in `dac_minimal/evaluate/metrics.py`, each
# checked against an independent computation in `tests/test_metrics.py`.
#
# ## 9.6 Figures 5–7: MFCC, waveform and spectrogram
#
# The report's figures for one clip, here the held-out speech clip through all 9 codebooks.

# %%
from dac_minimal.evaluate.evaluation import plot_mfcc, plot_spectrograms, plot_waveforms

speech = next(c for c in clips if c.domain == "speech")
speech_hat = reconstruct(model, speech.audio, [model.n_codebooks])[0][model.n_codebooks]
title = f"{speech.name}, {model.n_codebooks} codebooks ({model.bitrate() / 1000:.2f} kbps)"
plot_mfcc(speech.audio, speech_hat, SR, f"Fig. 5 - MFCC: {title}")
plt.show()
plot_waveforms(speech.audio, speech_hat, SR, f"Fig. 6 - waveform: {title}")
plt.show()
plot_spectrograms(speech.audio, speech_hat, SR, f"Fig. 7 - spectrogram: {title}")
plt.show()
display(Audio(speech.audio, rate=SR), Audio(speech_hat, rate=SR))

# %% [markdown]
# ## 9.7 Baselines at the same bitrate: Opus and MP3
#
# A number alone means little until it stands beside another codec's. The report gives none: its
# Table 1 has one row, DAC's, and its closing claim that DAC outperforms competing methods in every
# domain comes without a number. The DAC paper itself (Kumar et al., in Further reading) does
# compare with competing codecs. Here we make the comparison ourselves, against the two classic
# codecs anyone can run. `dac_minimal.evaluate.baselines` passes a clip through `ffmpeg` (libopus,
# LAME) and aligns the decoded audio sample for sample (Opus runs at 48 kHz inside and its
# low-bitrate mode adds a few samples of delay; MP3 needs a low sample rate to reach 8 kbps). The
# bitrate is measured from the encoded packets. libopus cannot go below about 6 kbps and MP3 below
# 8 kbps, so only the 9-codebook row is a fair match.

# %%
from dac_minimal.evaluate.baselines import ffmpeg_available

if ffmpeg_available("opus") and ffmpeg_available("mp3"):
    base = evaluate(
        model,
        corpus.valid,
        [model.n_codebooks],
        baselines=["opus", "mp3"],
        clips_per_domain=1,
        max_seconds=MAX_SECONDS,
    )
    display(Markdown(markdown_table(base.rows)))
else:
    print(
        "ffmpeg with libopus and libmp3lame is not installed: skipping the baselines "
        "(apt-get install ffmpeg, brew install ffmpeg or conda install -c conda-forge ffmpeg)"
    )

# %% [markdown]
# One clip per domain ranks nothing (exercise 9.6 asks how many clips a ranking needs). The script
# `python benchmarks/tiny_vs_opus.py` scores the 15-minute tiny codec against Opus at 8, 12 and 16
# kbps on many held-out toy clips and, with `--real CORPUS`, on held-out real recordings, per
# domain; `benchmarks/README.md` keeps its tables with their commands. Two habits from it are worth
# copying. First, score per domain: Opus is a hybrid of a linear-prediction speech coder (SILK,
# built on the source–filter model of speech) and an MDCT transform coder (CELT), RFC 6716 in
# Further reading, so a codec can beat it on music and lose to it on speech at the same bitrate.
# Second, measure the ceiling: with `--no-quantizer` the script trains the same encoder and decoder
# for the same time with $z_q = z_e$, an autoencoder with unlimited bits; the gap between that and
# the codec is what the quantizer costs, and the gap between that and Opus is what the architecture
# and the training budget cost, which no better quantizer can close.
#
# ## 9.8 What SNR and MSE miss
#
# DAC is trained with a mel loss (phase-blind by construction), feature matching and discriminators
# that judge whether audio *sounds* real. Nothing asks the decoder to reproduce the waveform's
# phase, and the training data is even augmented with random phase rotations. How much does that
# cost in SNR?
#
# Take a clip and rotate the phase of every frequency component by the same angle $\varphi$: with
# $\mathcal H$ the Hilbert transform, $x_\varphi = x\cos\varphi + \mathcal H\{x\}\sin\varphi$. This
# is an **all-pass** filter: every magnitude stays, only phases move. We build it with an FFT
# (multiply the positive frequencies by $e^{-i\varphi}$, the negative ones by $e^{+i\varphi}$) and
# check it against the package's training augmentation `dac_minimal.data.rotate_phase`.

# %%
from dac_minimal.data import rotate_phase

music = toy_clip("music", seconds=1.5, seed=7).astype(np.float64)
music -= music.mean()


def all_pass(a: np.ndarray, phi: float) -> np.ndarray:
    """Rotate every frequency component of a (T,) signal by phi radians: |FFT| unchanged."""
    spec = np.fft.fft(a)
    f = np.fft.fftfreq(len(a))
    spec *= np.where(f > 0, np.exp(-1j * phi), np.where(f < 0, np.exp(1j * phi), 1.0))
    return np.real(np.fft.ifft(spec))


rotated = all_pass(music, np.pi / 2)
np.testing.assert_allclose(rotated, rotate_phase(music, np.pi / 2), atol=1e-9)
np.testing.assert_allclose(
    np.abs(np.fft.rfft(rotated))[1:-1], np.abs(np.fft.rfft(music))[1:-1], rtol=1e-6
)
display(Audio(music, rate=SR), Audio(rotated, rate=SR))

# %% [markdown]
# The two play back the same to most ears (listen). Now compare them with degradations that you
# *can* hear: hiss at 10 dB SNR, and a low-pass at 3 kHz (telephone-like).

# %%
from scipy import signal as sps

noise = rng.standard_normal(len(music))
noise *= np.sqrt(np.sum(music**2) / np.sum(noise**2) / 10)  # exactly 10 dB below the music
lowpass = sps.sosfiltfilt(sps.butter(8, 3000, fs=SR, output="sos"), music)  # zero-phase: no delay
versions = {
    "phase rotated 90°": rotated,
    "hiss at 10 dB SNR": music + noise,
    "low-pass 3 kHz": lowpass,
}
header = (
    "| version | SNR (dB) | SI-SDR (dB) | MSE | mel distance | STFT distance | MFCC distance |\n"
    "|---|---|---|---|---|---|---|\n"
)
lines = []
scores = {}
for name, v in versions.items():
    s = {f.__name__: f(v, music) for f in (M.snr_db, M.si_sdr_db, M.mse, M.stft_distance)}
    s["mel_distance"], s["mfcc_distance"] = M.mel_distance(v, music), M.mfcc_distance(v, music, SR)
    scores[name] = s
    lines.append(
        f"| {name} | {s['snr_db']:.2f} | {s['si_sdr_db']:.2f} | {s['mse']:.2e} | "
        f"{s['mel_distance']:.3f} | {s['stft_distance']:.3f} | {s['mfcc_distance']:.2f} |"
    )
display(Markdown(header + "\n".join(lines)))
display(Audio(music + noise, rate=SR), Audio(lowpass, rate=SR))

# the inaudible change is the worst by SNR and SI-SDR, the best by every spectral distance
rot, hiss, lp = (scores[k] for k in versions)
assert rot["snr_db"] < 0 < hiss["snr_db"] and rot["snr_db"] < lp["snr_db"]
assert rot["mel_distance"] < min(hiss["mel_distance"], lp["mel_distance"])
assert rot["mfcc_distance"] < min(hiss["mfcc_distance"], lp["mfcc_distance"])

# %% [markdown]
# The rotated version's SI-SDR is hugely negative (in theory $-\infty$): $\mathcal H\{x\}$ is
# orthogonal to $x$, so the projection finds *nothing* of $x$ in it. The numbers follow from two
# lines of algebra. $\mathcal H\{x\}$ has the energy of $x$ and is orthogonal to it, so
# $\lVert x - x_\varphi\rVert^2 = \lVert x\rVert^2\,[(1-\cos\varphi)^2 + \sin^2\varphi] =
# \lVert x\rVert^2 (2 - 2\cos\varphi)$ and
#
# $$\text{SNR}(\varphi) = -10\log_{10}(2 - 2\cos\varphi)\ \text{dB}:$$
#
# 0 dB at 60°, −3 dB at 90°, −6 dB for a polarity flip (180°), whatever the audio. Inverting it
# gives the largest phase error the report's 27.86 dB leaves room for, at *every* frequency: the
# cell prints it. Turn the knob:


# %%
def phase_demo(degrees: int = 90) -> None:
    phi = np.radians(degrees)
    v = rotate_phase(music, phi)
    predicted = -10 * np.log10(2 - 2 * np.cos(phi)) if degrees else math.inf
    print(
        f"φ = {degrees:3d}°: SNR {M.snr_db(v, music):7.2f} dB (predicted {predicted:7.2f}), "
        f"SI-SDR {M.si_sdr_db(v, music):7.2f} dB, mel distance {M.mel_distance(v, music):.4f}"
    )


_ = interact(phase_demo, degrees=IntSlider(value=90, min=0, max=180, step=15))
phis = np.radians(np.arange(1, 181))
measured = [M.snr_db(rotate_phase(music, p_), music) for p_ in phis[::15]]
np.testing.assert_allclose(measured, -10 * np.log10(2 - 2 * np.cos(phis[::15])), atol=0.05)
print(
    "phase error that the report's SNR allows:",
    f"{np.degrees(np.arccos(1 - 10 ** (-REPORT_TABLE1['snr_db'] / 10) / 2)):.2f}°",
)

# %% [markdown]
# So, frankly:
#
# - **SNR and MSE** measure waveform matching. For a codec trained to match waveforms they are
#   informative; for one that renders a *plausible* phase they punish what no one hears, and a
#   perfectly usable reconstruction can score below 0 dB. They also depend on loudness (MSE scales
#   with the gain squared) and on alignment (one sample of delay is an 82° phase shift at 10 kHz).
# - **SI-SDR** forgives a gain, not a phase.
# - **Mel, STFT and MFCC distances** are phase-blind, like the ear (mostly) and like DAC's own loss;
#   but the mel distance *is* the training loss, so a codec can be good at it by construction. A
#   held-out measure of another design (STFT, MFCC, ViSQOL) and listening are the honest check.
# - **Codebook utilization** says codes are not wasted, not that they are used well: perplexity and
#   the set size belong next to it.
#
# ## 9.9 The official weights, when you have them
#
# `python -c "from dac_minimal.codec.official import download_official; download_official('44khz')"`
# fetches the published 44.1 kHz weights once into a cache ([chapter
# 10](10_compression_in_practice.ipynb) explains how they are loaded safely). When they are there,
# this cell evaluates them on the same held-out clips (slowly on a CPU: the model has 76.65M
# parameters); otherwise it says where it looked.

# %%
from dac_minimal.codec.official import official_weights_path

official = official_weights_path("44khz")
if official.is_file():
    big = DAC.load(official).eval()
    rows = evaluate(big, corpus.valid, [9], clips_per_domain=1, max_seconds=MAX_SECONDS).rows
    display(Markdown(markdown_table([r for r in rows if r["domain"] == "all"])))
else:
    print(f"no official weights at {official}: download them as above to evaluate them here")

# %% [markdown]
# ## Key takeaways
#
# - A metric is a loss you did not train on: know its blind spots before you trust it, and read it
#   from its code, since two papers' "SNR" need not be the same number.
# - SNR, MSE and SI-SDR compare samples; a phase rotation no one hears costs up to 6 dB below zero,
#   so for a GAN codec they measure phase, not quality.
# - Mel, STFT and MFCC distances are phase-blind like the ear; the mel distance is also DAC's
#   training loss, so check with a measure of another design and by listening.
# - Codebook utilization describes a set, capped at frames / $K$: quote it with the set size and the
#   perplexity beside it.
# - A codec's number means something beside another codec's at the same bitrate, per domain, on
#   enough clips: Opus and MP3 through `ffmpeg`, aligned sample for sample.
#
# ## Exercises
#
# ### Exercise 9.1 (★) A pure gain
#
# Halve the reconstruction: $\hat x = 0.5\,x$. Predict SNR and SI-SDR before computing them.
#
# [Solution](solutions/09_evaluation.ipynb)
#
# ### Exercise 9.2 (★★) Utilization grows with the set
#
# Compute the mean utilization of the codec's codes on the first held-out clip alone, the first
# two, ..., all clips, and check that it never decreases and never exceeds the ceiling
# frames / 1024.
#
# [Solution](solutions/09_evaluation.ipynb)
#
# ### Exercise 9.3 (★★) Entropy coding the tokens
#
# Each code is sent with $\log_2 1024 = 10$ bits, but a codebook whose codes have entropy $H < 10$
# bits could be entropy-coded (with arithmetic coding, say) in about $H$ bits per code. What bitrate
# would that give the codec at 9 codebooks on the held-out set, next to the nominal 7.75 kbps? Why
# is a small set an optimistic estimate?
#
# [Solution](solutions/09_evaluation.ipynb)
#
# ### Exercise 9.4 (★★) A delay no one hears
#
# Find a delay, in whole samples, that takes the music clip of section 9.8 below 0 dB SNR while
# leaving its mel distance below that of the hiss version. What does this say about evaluating a
# codec whose output is not perfectly aligned with its input?
#
# [Solution](solutions/09_evaluation.ipynb)
#
# ### Exercise 9.5 (★★★) Open-ended: do the metrics agree?
#
# Build a handful of degradations of one clip (a phase rotation, a delay, hiss at several levels,
# low-passes, coarse amplitude quantization, the codec at $n_q$ = 1, 3, 9), rank them by each
# metric of this chapter, and measure how well the rankings agree (Spearman's rank correlation).
# Then listen and make your own ranking. Which metric agrees with you best, and where does each one
# fail?
#
# [Solution](solutions/09_evaluation.ipynb)
#
# ### Exercise 9.6 (★★★) Open-ended: how many clips does a ranking need?
#
# Section 9.7 compared the codec and Opus on one clip per domain. Score both on many held-out clips
# of one domain and bootstrap the mean per-clip difference in mel distance: how wide is its 95 %
# interval with 3 clips, 10, 30? When can you say which codec is better, and is the answer the same
# for every domain?
#
# [Solution](solutions/09_evaluation.ipynb)
#
# ## Further reading
#
# - Kumar et al., [High-Fidelity Audio Compression with Improved
#   RVQGAN](https://arxiv.org/abs/2306.06546) (NeurIPS 2023): the DAC paper, with the ablations and
#   the comparison with competing codecs that the report leaves out.
# - Le Roux et al., [SDR – half-baked or well done?](https://arxiv.org/abs/1811.02508): why SDR as
#   commonly computed misleads, and the definition of SI-SDR used in section 9.2.
# - Chinen et al., [ViSQOL v3: an open source production ready objective speech and audio
#   metric](https://arxiv.org/abs/2004.09584): a perceptual metric built on a model of hearing;
#   `dac_minimal.evaluate` runs it with `visqol=True` when `visqol-python` is installed.
# - Valin et al., [RFC 6716: Definition of the Opus Audio
#   Codec](https://datatracker.ietf.org/doc/html/rfc6716): the baseline of section 9.7, its SILK and
#   CELT layers and the bitrates it supports.
# - The official [descript-audio-codec](https://github.com/descriptinc/descript-audio-codec)
#   repository: the code this package rebuilds, and the weights of section 9.9.

# %% [markdown]
# [← 8. Training](08_training.ipynb) · [Contents](00_preface.ipynb) ·
# [10. Compression in practice →](10_compression_in_practice.ipynb)
