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
# # 9. Evaluation: what the numbers see, and what they miss
#
# The report judges DAC with three numbers (its Table 1) and three pictures (its Figs. 5–7):
#
# | | official DAC, 44.1 kHz, 9 codebooks |
# |---|---|
# | codebook utilization | 92.45 % |
# | SNR | 27.86 dB |
# | MSE | 0.001835 |
#
# plus MFCCs, waveforms and spectrograms of an original next to its reconstruction. The field adds mel
# distance, multi-resolution STFT distance, SI-SDR, ViSQOL, and Opus/MP3 at the same bitrate.
#
# This chapter builds every one of those numbers by hand, checks each against `dac_minimal.evaluate.metrics`,
# recomputes Table 1 and the figures for the tiny codec trained in chapter 8, and then asks the
# uncomfortable question: **what does a number reward?** The one idea: *a metric is a loss you did not
# train on; know what it is blind to before you trust it.* We will see that SNR and MSE punish a change
# no one can hear, which matters a great deal for a GAN codec that was never asked to match phase.

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import book_codec
from IPython.display import Audio, Markdown, display
from ipywidgets import IntSlider, interact

from dac_minimal import DAC
from dac_minimal.data import ensure_toy_corpus, toy_clip

SMOKE = os.environ.get("DAC_BOOK_SMOKE") == "1"
SR = 44100
CLIPS_PER_DOMAIN = 1 if SMOKE else 4  # held-out toy clips per domain (speech, music, general)
MAX_SECONDS = 1.0 if SMOKE else 2.0  # each clip cut to this length
N_QS = (
    [1, 9] if SMOKE else [1, 3, 9]
)  # numbers of codebooks to evaluate (bitrate = n_q x 0.86 kbps)
STAND_IN_STEPS = 2 if SMOKE else 6  # training steps if no trained model is there (see section 1)
torch.set_num_threads(
    1
)  # small tensors: one thread skips the cost of synchronising two on a busy CPU
torch.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The model under test and the held-out clips
#
# The codec under test is the tiny codec after 15 minutes of training on two CPU cores, the one chapter 8
# plays at the end of its section 4 (`benchmarks/reference_curves/tiny_15min.pt`, committed with the
# command that made it). `book_codec()` loads it; without that file it takes chapter 8's one-minute model
# (`runs/ch08/tiny.pt`), and without both it trains a stand-in for a few steps so that every cell runs. A
# stand-in that has seen a dozen batches is a *bad* codec; the line printed below says which one you have.
# To measure your own model, pass its file: `book_codec(path="runs/tiny/best.pt")`.

# %%
model, source = book_codec(STAND_IN_STEPS)  # the 15-minute model, chapter 8's, or a stand-in
print(
    f"evaluating {source}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
    f"{model.n_codebooks} codebooks of {model.config.codebook_size}"
)

corpus = ensure_toy_corpus()  # the train and valid splits: the valid clips were never trained on
print("held-out clips in", corpus.valid)

# %% [markdown]
# One clip first: a held-out music clip through the codec with all 9 codebooks (7.75 kbps).
# `reconstruct` encodes once and decodes from the first $k$ codebooks for each $k$: residual VQ is
# sequential, so the first $k$ codes do not depend on how many follow.

# %%
from dac_minimal.evaluate.evaluation import load_clips, reconstruct

clips = load_clips(corpus.valid, SR, CLIPS_PER_DOMAIN, MAX_SECONDS)
clip = next(c for c in clips if c.domain == "music")
x = clip.audio.astype(np.float64)  # (T,) the original
recons, codes = reconstruct(model, clip.audio, [1, model.n_codebooks])
y = recons[model.n_codebooks].astype(np.float64)  # (T,) the reconstruction x̂
print(f"{clip.domain}/{clip.name}: {len(x)} samples, codes {tuple(codes.shape)} (n_q, frames)")
display(Audio(x, rate=SR), Audio(y, rate=SR))

# %% [markdown]
# ## 2. Sample by sample: MSE, SNR and SI-SDR
#
# The report's two waveform numbers compare $x$ and $\hat x$ one sample at a time:
#
# $$\text{MSE} = \frac1T\sum_t (\hat x_t - x_t)^2, \qquad
#   \text{SNR} = 10\log_{10}\frac{\sum_t x_t^2}{\sum_t (x_t - \hat x_t)^2}\ \text{dB}.$$
#
# SI-SDR (scale-invariant signal-to-distortion ratio) first projects $\hat x$ on $x$, so a change of
# gain is forgiven: $\alpha = \langle \hat x, x\rangle / \lVert x\rVert^2$,
# $\text{SI-SDR} = 10\log_{10} \lVert \alpha x\rVert^2 / \lVert \hat x - \alpha x\rVert^2$.

# %%
mse_by_hand = np.mean((y - x) ** 2)
snr_by_hand = 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2))
alpha = (y @ x) / (x @ x)
si_sdr_by_hand = 10 * np.log10(np.sum((alpha * x) ** 2) / np.sum((y - alpha * x) ** 2))
print(
    f"MSE {mse_by_hand:.3e}   SNR {snr_by_hand:.2f} dB   SI-SDR {si_sdr_by_hand:.2f} dB   (alpha = {alpha:.3f})"
)

# %% [markdown]
# The package's versions take `(estimate, reference)` in that order (like the losses), accept NumPy or
# torch `(..., T)`, and return one value per item. They also decide the edge cases once: a perfect
# reconstruction (silence of silence included) has SNR $+\infty$; shapes that differ raise a `ValueError`.

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
# ## 3. Through the ear's eyes: mel, STFT and MFCC distances
#
# A spectral distance compares magnitudes $|S(\hat x)|$ and $|S(x)|$ frame by frame and throws the phase
# away. Three of them:
#
# - **mel distance**: exactly the training mel loss of chapter 7 (7 scales, log10 mel magnitudes, L1).
# - **multi-resolution STFT distance** (Parallel WaveGAN): for windows 2048, 1024, 512 (hop = window/4),
#   spectral convergence $\lVert S - \hat S\rVert_F / \lVert S\rVert_F$ plus
#   $\operatorname{mean}|\ln \hat S - \ln S|$, averaged over the three.
# - **MFCC distance**: the mean over frames of $\lVert c(\hat x) - c(x)\rVert_2$, with $c$ the first 13
#   MFCCs (the DCT of the dB mel spectrum): a smooth spectral envelope, the quantity of the report's Fig. 5.

# %%
from dac_minimal.loss import MultiScaleMelLoss

as_batch = lambda a: torch.tensor(a, dtype=torch.float32)[None, None]  # noqa: E731  (T,) -> (1, 1, T)
mel_by_loss = MultiScaleMelLoss()(as_batch(y), as_batch(x)).item()


def stft_mag(a: np.ndarray, w: int) -> np.ndarray:
    """|STFT| (1 + w/2, frames): Hann window, centred, reflect-padded, hop w/4."""
    a = torch.from_numpy(a)
    return (
        torch.stft(
            a,
            w,
            w // 4,
            window=torch.hann_window(w, dtype=a.dtype),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        .abs()
        .numpy()
    )


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
# ## 4. Codebook utilization and perplexity
#
# Utilization is the share of a codebook's $K = 1024$ entries that occur at least once on an evaluation
# set; an entry never used is a wasted tenth of a bit. Perplexity $2^H$, with $H = -\sum_k p_k\log_2 p_k$
# the entropy of the code frequencies, says how many entries are used *in effect* (1024 at best).
# Both describe a **set**, not a clip, so we pool the codes of every held-out clip.

# %%
all_codes = [reconstruct(model, c.audio, [1])[1].numpy() for c in clips]  # each (N_q, S)
pooled = np.concatenate(all_codes, axis=1)  # (N_q, all frames)
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
ax.axhline(
    100 * min(1.0, pooled.shape[1] / K), color="k", ls="--", lw=1, label="ceiling: frames / K"
)
ax.axhline(92.45, color="C3", ls=":", lw=1, label="report: 92.45 %")
ax.set(xlabel="codebook", ylabel="% of entries used", ylim=(0, 105))
ax.legend(fontsize=8, loc="center right")
plt.show()

# %% [markdown]
# If the bars sit near 0.1 % (one entry per codebook, perplexity 1), the codebooks have **collapsed**:
# every frame picks the same code. That is what the few-step stand-in of section 1 looks like: the tiny
# encoder starts with a latent of about $10^{-6}$, so after one optimizer step the bias of each
# quantizer's input projection outweighs the signal and decides the code. It is exactly the failure
# this number exists to catch; the 15-minute model should do far better.
#
# Note the dashed line: with $S$ frames in the set, a codebook can use at most $S$ entries, so
# utilization is capped at $S/1024$. 1024 frames are 11.9 s of audio at 86.13 frames/s; a "92.45 %"
# measured on a short set would be impossible, and one measured on hours of audio says little about
# rarely used entries. A utilization figure needs its set size beside it.
#
# ## 5. Table 1, recomputed
#
# `dac_minimal.evaluate.evaluation.evaluate` does all of the above for every clip, every domain and every bitrate,
# and pools the codes per domain for the codebook columns. (`python -m dac_minimal.evaluate --weights
# benchmarks/reference_curves/tiny_15min.pt --data ~/.cache/dac_minimal/data/toy/valid --out runs/eval` writes the same table as CSV and Markdown,
# with the figures of section 6 as PNG files.)

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
        "| | report (official DAC) | ours (tiny, toy data) |\n|---|---|---|\n"
        f"| codebook utilization | {100 * REPORT_TABLE1['codebook_utilization']:.2f} % | "
        f"{100 * ours['codebook_utilization']:.2f} % |\n"
        f"| SNR | {REPORT_TABLE1['snr_db']:.2f} dB | {ours['snr_db']:.2f} dB |\n"
        f"| MSE | {REPORT_TABLE1['mse']:.6f} | {ours['mse']:.6f} |\n"
        f"| mel distance | (not reported) | {ours['mel_distance']:.3f} |\n"
    )
)
assert ours["clips"] == len(clips) and 0 < ours["codebook_utilization"] <= 1

# %% [markdown]
# Read the report's two waveform numbers together. If SNR and MSE were measured on the same waveforms,
# the mean signal power would be $\text{MSE}\cdot 10^{\text{SNR}/10}$:

# %%
implied_power = REPORT_TABLE1["mse"] * 10 ** (REPORT_TABLE1["snr_db"] / 10)
print(
    f"implied mean signal power {implied_power:.2f}, i.e. an RMS of {math.sqrt(implied_power):.2f} "
    "(full scale is 1; music mastered loud has an RMS near 0.1-0.3)"
)
assert implied_power > 1.0

# %% [markdown]
# An RMS above full scale is not audio in $[-1, 1]$. Averaging per-clip values can bend this a little
# (the mean of dB values is not the dB of the means), but not by a factor of ten: the two numbers were
# probably computed on different signals or scales (normalised clips, spectrograms...), and the report
# does not say which. That is the practical lesson of this chapter: **a metric is only defined by its
# code**. Ours are in `dac_minimal/metrics.py`, each checked against an independent computation in
# `tests/test_metrics.py`.
#
# ## 6. Figures 5–7: MFCC, waveform and spectrogram
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
# ## 7. Baselines at the same bitrate: Opus and MP3
#
# A number alone means little; the report puts DAC beside classic codecs at the same bitrate.
# `dac_minimal.evaluate.baselines` runs a clip through `ffmpeg` (libopus, LAME) and aligns the decoded audio
# sample for sample (Opus runs at 48 kHz inside and its low-bitrate mode adds a few samples of delay;
# MP3 needs a low sample rate to reach 8 kbps). The bitrate is measured from the encoded packets.
# libopus cannot go below about 6 kbps and MP3 below 8 kbps, so only the 9-codebook row is a fair match.

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
    display(Markdown(markdown_table([r for r in base.rows if r["domain"] == "all"])))
else:
    print(
        "ffmpeg with libopus and libmp3lame is not installed: skipping the baselines "
        "(apt-get install ffmpeg, brew install ffmpeg or conda install -c conda-forge ffmpeg)"
    )

# %% [markdown]
# One clip per domain ranks nothing; `benchmarks/tiny_vs_opus.py` scores the 15-minute codec on 72 held-out
# toy clips and 35 real recordings. It beats Opus at 8 kbps on toy general sound (3.04 vs 4.46) and music
# (2.99 vs 4.95) and loses on toy speech (1.92 vs 1.25) and real recordings (3.46 vs 2.18). Is the quantizer
# to blame? The same script with `--no-quantizer` trains the same encoder and decoder for the same 15 minutes
# with $z_q = z$, an autoencoder with unlimited bits: 2.90, 2.81, **1.40** and **3.09**. Quantization costs
# 0.5 on speech and 0.4 on real recordings, but even with no quantizer at all this architecture, in this
# budget, stays behind Opus on both. Given 35 % more steps in the same 15 minutes (the whole model compiled,
# `--set compile=full`), it draws level with Opus on speech (1.26) and stays at 3.12 on real recordings.
# Speech is what SILK, Opus's speech coder, is built for (a pitch
# predictor and a vocal-tract filter: the source–filter model our toy speech is made of). The real
# recordings hold sounds the toy corpus never taught: the unquantized model scores 3.09 on them at 5 minutes
# and still 3.09 at 15, while its toy scores keep falling. A better quantizer alone cannot close that gap;
# what might is more capacity, real training data and more training: the 44.1 kHz preset's GPU recipe.

# %% [markdown]
# ## 8. What SNR and MSE miss
#
# DAC is trained with a mel loss (phase-blind by construction), feature matching and discriminators that
# judge whether audio *sounds* real. Nothing asks the decoder to reproduce the waveform's phase, and the
# training data is even augmented with random phase rotations. How much does that cost in SNR?
#
# Take a clip and rotate the phase of every frequency component by the same angle $\varphi$: with
# $\mathcal H$ the Hilbert transform, $x_\varphi = x\cos\varphi + \mathcal H\{x\}\sin\varphi$. This is an
# **all-pass** filter: every magnitude stays, only phases move. We build it with an FFT (multiply the
# positive frequencies by $e^{-i\varphi}$, the negative ones by $e^{+i\varphi}$) and check it against the
# package's training augmentation `dac_minimal.data.rotate_phase`.

# %%
from book import book_codec

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
# The two play back the same to most ears (listen). Now compare them with degradations that you *can*
# hear: hiss at 10 dB SNR, and a low-pass at 3 kHz (telephone-like).

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
header = "| version | SNR (dB) | SI-SDR (dB) | MSE | mel distance | STFT distance | MFCC distance |\n|---|---|---|---|---|---|---|\n"
lines = []
scores = {}
for name, v in versions.items():
    scores[name] = s = {
        f.__name__: f(v, music) for f in (M.snr_db, M.si_sdr_db, M.mse, M.stft_distance)
    }
    s["mel_distance"], s["mfcc_distance"] = M.mel_distance(v, music), M.mfcc_distance(v, music, SR)
    lines.append(
        f"| {name} | {s['snr_db']:.2f} | {s['si_sdr_db']:.2f} | {s['mse']:.2e} | {s['mel_distance']:.3f} | "
        f"{s['stft_distance']:.3f} | {s['mfcc_distance']:.2f} |"
    )
display(Markdown(header + "\n".join(lines)))
display(Audio(music + noise, rate=SR), Audio(lowpass, rate=SR))

# the inaudible change is the worst by SNR and SI-SDR, the best by every spectral distance
rot, hiss, lp = (scores[k] for k in versions)
assert rot["snr_db"] < 0 < hiss["snr_db"] and rot["snr_db"] < lp["snr_db"]
assert rot["mel_distance"] < min(hiss["mel_distance"], lp["mel_distance"])
assert rot["mfcc_distance"] < min(hiss["mfcc_distance"], lp["mfcc_distance"])

# %% [markdown]
# The rotated version's SI-SDR is hugely negative (in theory $-\infty$): $\mathcal H\{x\}$ is orthogonal to
# $x$, so the projection finds *nothing* of $x$ in it. The numbers follow from two lines of algebra. $\mathcal H\{x\}$ has the energy of $x$ and is orthogonal
# to it, so $\lVert x - x_\varphi\rVert^2 = \lVert x\rVert^2\,[(1-\cos\varphi)^2 + \sin^2\varphi] =
# \lVert x\rVert^2 (2 - 2\cos\varphi)$ and
#
# $$\text{SNR}(\varphi) = -10\log_{10}(2 - 2\cos\varphi)\ \text{dB}:$$
#
# 0 dB at 60°, −3 dB at 90°, −6 dB for a polarity flip (180°), whatever the audio. The report's
# 27.86 dB leaves room for a phase error of only 2.3° at *every* frequency. Turn the knob:


# %%
def phase_demo(degrees: int = 90) -> None:
    phi = np.radians(degrees)
    v = rotate_phase(music, phi)
    predicted = -10 * np.log10(2 - 2 * np.cos(phi)) if degrees else math.inf
    print(
        f"φ = {degrees:3d}°: SNR {M.snr_db(v, music):7.2f} dB (predicted {predicted:7.2f}), "
        f"SI-SDR {M.si_sdr_db(v, music):7.2f} dB, mel distance {M.mel_distance(v, music):.4f}"
    )


interact(phase_demo, degrees=IntSlider(value=90, min=0, max=180, step=15))
phis = np.radians(np.arange(1, 181))
measured = [M.snr_db(rotate_phase(music, p_), music) for p_ in phis[::15]]
np.testing.assert_allclose(measured, -10 * np.log10(2 - 2 * np.cos(phis[::15])), atol=0.05)
print(
    "phase needed for the report's SNR:",
    f"{np.degrees(np.arccos(1 - 10 ** (-REPORT_TABLE1['snr_db'] / 10) / 2)):.2f}°",
)

# %% [markdown]
# So, frankly:
#
# - **SNR and MSE** measure waveform matching. For a codec trained to match waveforms (or a GAN codec
#   that happens to reproduce phase well, as the report's 27.86 dB suggests the official DAC does) they are informative;
#   for one that renders a *plausible* phase they punish what no one hears, and a perfectly usable
#   reconstruction can score below 0 dB. They also depend on loudness (MSE scales with the gain squared)
#   and on alignment (one sample of delay is an 82° phase shift at 10 kHz).
# - **SI-SDR** forgives a gain, not a phase.
# - **Mel, STFT and MFCC distances** are phase-blind, like the ear (mostly) and like DAC's own loss; but
#   the mel distance *is* the training loss, so a codec can be good at it by construction. A held-out
#   measure with another design (STFT, MFCC, ViSQOL) and listening are the honest check.
# - **Codebook utilization** says codes are not wasted, not that they are used well: perplexity and the
#   set size belong next to it.
#
# ## 9. The official weights, when you have them
#
# `python -c "from dac_minimal.codec.official import download_official; download_official('44khz')"` fetches the
# published 44.1 kHz weights (about 300 MB) where a network is available. If they are in the cache, we evaluate
# them on the same held-out clips (slow on a CPU: 76.65M parameters); otherwise this cell says so.

# %%
from dac_minimal.codec.official import official_weights_path

official = official_weights_path("44khz")
if official.is_file() and not SMOKE:
    big = DAC.load(official).eval()
    rows = evaluate(big, corpus.valid, [9], clips_per_domain=1, max_seconds=MAX_SECONDS).rows
    display(Markdown(markdown_table([r for r in rows if r["domain"] == "all"])))
else:
    print(f"official weights not found at {official} (or smoke run): skipped")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Halve the reconstruction: $\hat x = 0.5\,x$. Predict SNR and SI-SDR before computing them.

# %% jupyter={"source_hidden": true} tags=["solution"]
half = 0.5 * music
snr_half, si_sdr_half = M.snr_db(half, music), M.si_sdr_db(half, music)
print(
    f"SNR {snr_half:.2f} dB (= 20 log10 2 = 6.02 dB: the error is half the signal), SI-SDR {si_sdr_half}"
)
assert (
    abs(snr_half - 20 * np.log10(2)) < 1e-9 and si_sdr_half == math.inf
)  # a pure gain is no distortion

# %% [markdown]
# **Exercise 2.** Utilization depends on the size of the set. Compute the mean utilization of our model's
# codes on the first clip alone, the first two, ..., all clips, and check it never decreases and never
# exceeds the ceiling frames / 1024.

# %% jupyter={"source_hidden": true} tags=["solution"]
growth = [M.codebook_utilization(all_codes[: n + 1], K).mean for n in range(len(all_codes))]
frames = np.cumsum([c.shape[1] for c in all_codes])
print("clips:", list(range(1, len(growth) + 1)))
print("utilization (%):", np.round(100 * np.array(growth), 2))
assert all(b >= a for a, b in zip(growth, growth[1:]))
assert all(u <= min(1.0, f / K) + 1e-12 for u, f in zip(growth, frames))

# %% [markdown]
# **Exercise 3.** Each code is sent with $\log_2 1024 = 10$ bits, but a codebook with entropy $H_q < 10$
# bits could be entropy-coded (e.g. with arithmetic coding) with about $H_q$ bits. What bitrate would that
# give our model at 9 codebooks on this set, next to the nominal 7.75 kbps?

# %% jupyter={"source_hidden": true} tags=["solution"]
entropy_rate = model.frame_rate * M.codebook_entropy_bits(all_codes, K).sum()  # bits per second
print(f"entropy-coded: {entropy_rate / 1000:.2f} kbps vs nominal {model.bitrate() / 1000:.2f} kbps")
assert entropy_rate <= model.bitrate() + 1e-9
# A trained codec with high perplexity leaves little to gain; a collapsed one (few codes in use) wastes
# most of its 10 bits, which an entropy coder would recover, but the capacity is lost either way.

# %% [markdown]
# **Exercise 4.** Find a delay (in whole samples) that takes the music clip's SNR below 0 dB while leaving
# its mel distance below that of the hiss version. What does this say about evaluating a codec whose
# output is not perfectly aligned with its input?

# %% jupyter={"source_hidden": true} tags=["solution"]
for delay in range(1, 50):
    shifted = np.concatenate([np.zeros(delay), music[:-delay]])
    if M.snr_db(shifted, music) < 0:
        break
print(
    f"{delay} samples ({1000 * delay / SR:.2f} ms): SNR {M.snr_db(shifted, music):.2f} dB, "
    f"mel distance {M.mel_distance(shifted, music):.3f} (hiss: {hiss['mel_distance']:.3f})"
)
assert M.snr_db(shifted, music) < 0 and M.mel_distance(shifted, music) < hiss["mel_distance"]
# A fraction of a millisecond of delay, inaudible, destroys SNR: any codec or baseline must be aligned
# sample-exactly before SNR/MSE/SI-SDR mean anything (dac_minimal.evaluate.baselines aligns Opus and MP3 for that reason).
