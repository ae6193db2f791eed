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
# # Solutions: 9. Evaluation: what the numbers see, and what they miss
#
# [← 9. Evaluation: what the numbers see, and what they miss](../09_evaluation.ipynb)
#
# Worked solutions to the chapter's exercises. The setup cell loads the same codec
# (`book_codec()`) and the same held-out clips as the chapter.

# %%
import sys

sys.path.insert(0, "..")

import math

import numpy as np
import torch
from book import book_codec, sizes
from IPython.display import Markdown, display
from scipy import signal as sps
from scipy import stats

from dac_minimal.data import VALID_SEED_OFFSET, ensure_toy_corpus, rotate_phase, toy_clip
from dac_minimal.evaluate import metrics as M
from dac_minimal.evaluate.baselines import codec_roundtrip, ffmpeg_available
from dac_minimal.evaluate.evaluation import load_clips, reconstruct

SR = 44100
# held-out clips per domain and their length (s), as in the chapter; clips and resamples of 9.6
CLIPS_PER_DOMAIN, MAX_SECONDS, N_CLIPS, N_BOOT = sizes((4, 1), (2.0, 1.0), (12, 4), (2000, 300))
torch.set_num_threads(1)
torch.manual_seed(0)
rng = np.random.default_rng(0)

model, source = book_codec()
print("the codec:", source)
clips = load_clips(ensure_toy_corpus().valid, SR, CLIPS_PER_DOMAIN, MAX_SECONDS)
music = toy_clip("music", seconds=1.5, seed=7).astype(np.float64)  # the clip of section 9.8
music -= music.mean()

# %% [markdown]
# ### Solution 9.1
#
# With $\hat x = 0.5\,x$ the error is $x - \hat x = 0.5\,x$, half the signal in amplitude, a
# quarter in power: SNR $= 10\log_{10} 4 = 20\log_{10} 2 \approx 6.02$ dB. SI-SDR projects $\hat x$
# on $x$ first: $\gamma = 0.5$, so $\gamma x = \hat x$ exactly and the residual is zero, SI-SDR
# $= +\infty$. A pure gain is no distortion to SI-SDR, and a 6 dB one to SNR.

# %%
half = 0.5 * music
snr_half, si_sdr_half = M.snr_db(half, music), M.si_sdr_db(half, music)
print(f"SNR {snr_half:.2f} dB (20 log10 2 = {20 * np.log10(2):.2f} dB), SI-SDR {si_sdr_half}")
assert abs(snr_half - 20 * np.log10(2)) < 1e-9 and si_sdr_half == math.inf

# %% [markdown]
# ### Solution 9.2
#
# Utilization counts the distinct entries seen so far, so adding clips can only add entries: it
# never decreases. And $L$ frames can show at most $L$ distinct entries, so it never exceeds
# $\min(1, L/1024)$.

# %%
K = model.config.codebook_size
all_codes = [reconstruct(model, c.audio, [1])[1].numpy() for c in clips]  # each (n_q, L)
growth = [M.codebook_utilization(all_codes[: n + 1], K).mean for n in range(len(all_codes))]
frames = np.cumsum([c.shape[1] for c in all_codes])
print("clips:          ", list(range(1, len(growth) + 1)))
print("frames:         ", frames.tolist())
print("utilization (%):", np.round(100 * np.array(growth), 2).tolist())
assert all(b >= a for a, b in zip(growth, growth[1:]))
assert all(u <= min(1.0, f / K) + 1e-12 for u, f in zip(growth, frames))

# %% [markdown]
# ### Solution 9.3
#
# An ideal entropy coder spends about $H_i$ bits on a code of codebook $i$, so the rate is the
# frame rate times $\sum_i H_i$. The cell computes it on the held-out set.
#
# Why a small set flatters it: the entropy is estimated from code frequencies counted on $L$
# frames, and $L$ frames can show at most $L$ distinct codes, so the estimate is at most
# $\log_2 L$ bits, whatever the true distribution. The second half of the cell shows it on codes
# drawn *uniformly* from 1024 entries (true entropy 10 bits): the estimate from a few hundred frames
# falls well short. The honest estimate of what entropy coding saves needs a set much longer than
# $K$ frames per codebook, or a model that predicts codes from context (chapter 12's transformer is
# one), which is what a real entropy coder uses.

# %%
entropy = M.codebook_entropy_bits(all_codes, K)  # (n_q,) bits per code
entropy_rate = model.frame_rate * entropy.sum()  # bits per second
frames_in_set = sum(c.shape[1] for c in all_codes)
print(f"entropy per codebook (bits): {np.round(entropy, 2).tolist()}")
print(
    f"entropy-coded: {entropy_rate / 1000:.2f} kbps vs nominal {model.bitrate() / 1000:.2f} kbps "
    f"(estimated on {frames_in_set} frames)"
)
assert entropy_rate <= model.bitrate() + 1e-9

for n in (100, 1000, 10000):
    uniform = rng.integers(0, K, size=(1, n))
    estimate = M.codebook_entropy_bits([uniform], K)[0]
    print(f"uniform codes, {n:5d} frames: estimated entropy {estimate:.2f} bits (true 10)")
    assert estimate <= min(10, np.log2(n)) + 1e-9

# %% [markdown]
# ### Solution 9.4
#
# A delay of $\Delta$ samples is a phase shift of $2\pi f \Delta / f_s$ at frequency $f$: small at
# low frequencies, large at high ones. For music with energy up to several kHz, a few samples are
# enough to push the SNR below 0 dB, while the magnitude spectra barely change. Any codec, or
# baseline, must be aligned sample-exactly before SNR, MSE or SI-SDR mean anything, which is why
# `dac_minimal.evaluate.baselines` aligns Opus and MP3 before scoring them.

# %%
noise = rng.standard_normal(len(music))
noise *= np.sqrt(np.sum(music**2) / np.sum(noise**2) / 10)  # 10 dB below the music
hiss_mel = M.mel_distance(music + noise, music)
for delay in range(1, 50):
    shifted = np.concatenate([np.zeros(delay), music[:-delay]])
    if M.snr_db(shifted, music) < 0:
        break
print(
    f"{delay} samples ({1000 * delay / SR:.2f} ms): SNR {M.snr_db(shifted, music):.2f} dB, "
    f"mel distance {M.mel_distance(shifted, music):.3f} (hiss at 10 dB SNR: {hiss_mel:.3f})"
)
assert M.snr_db(shifted, music) < 0 and M.mel_distance(shifted, music) < hiss_mel

# %% [markdown]
# ### Solution 9.5
#
# A worked way in: ten degradations of the music clip, six metrics, and the rank correlation
# between every pair of metrics (1: the same order, −1: the reverse). Every metric is turned into a
# "higher is worse" score first (SNR and SI-SDR are negated), so that rank 1 is the best version.


# %%
def delayed(a: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([np.zeros(n), a[:-n]])


def with_hiss(a: np.ndarray, snr_db: float) -> np.ndarray:
    n = rng.standard_normal(len(a))
    return a + n * np.sqrt(np.sum(a**2) / np.sum(n**2) / 10 ** (snr_db / 10))


def low_pass(a: np.ndarray, hz: float) -> np.ndarray:
    return sps.sosfiltfilt(sps.butter(8, hz, fs=SR, output="sos"), a)


def coarse(a: np.ndarray, bits: int) -> np.ndarray:
    step = 2.0 / 2**bits  # a uniform quantizer over [-1, 1]
    return np.round(a / step) * step


codec_out, _ = reconstruct(model, music.astype(np.float32), [1, 3, 9])
degraded = {
    "phase 90°": rotate_phase(music, np.pi / 2),
    "delay 5 samples": delayed(music, 5),
    "hiss 20 dB": with_hiss(music, 20),
    "hiss 10 dB": with_hiss(music, 10),
    "low-pass 8 kHz": low_pass(music, 8000),
    "low-pass 3 kHz": low_pass(music, 3000),
    "6-bit samples": coarse(music, 6),
    **{f"codec n_q = {k}": codec_out[k].astype(np.float64) for k in (1, 3, 9)},
}
metrics = {
    "SNR": lambda v: -M.snr_db(v, music),
    "SI-SDR": lambda v: -M.si_sdr_db(v, music),
    "mel": lambda v: M.mel_distance(v, music),
    "STFT": lambda v: M.stft_distance(v, music),
    "MFCC": lambda v: M.mfcc_distance(v, music, SR),
}
scores = {m: np.array([f(v) for v in degraded.values()]) for m, f in metrics.items()}
ranks = {m: stats.rankdata(s) for m, s in scores.items()}

table = "| version | " + " | ".join(metrics) + " |\n|---|" + "---|" * len(metrics) + "\n"
for i, name in enumerate(degraded):
    table += f"| {name} | " + " | ".join(f"{int(ranks[m][i])}" for m in metrics) + " |\n"
display(Markdown("Rank of each version by each metric (1 = best):\n\n" + table))

names = list(metrics)
rho = np.array([[stats.spearmanr(scores[a], scores[b])[0] for b in names] for a in names])
corr = "| | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
for a, row in zip(names, rho):
    corr += f"| {a} | " + " | ".join(f"{r:+.2f}" for r in row) + " |\n"
display(Markdown("Spearman's rank correlation between metrics:\n\n" + corr))
assert np.allclose(np.diag(rho), 1)
# the phase rotation: last or nearly by SNR, first or nearly by the mel distance
i_phase = list(degraded).index("phase 90°")
assert ranks["SNR"][i_phase] >= len(degraded) - 2 and ranks["mel"][i_phase] <= 3

# %% [markdown]
# What to look for: the waveform metrics (SNR, SI-SDR) agree with each other and the spectral ones
# (mel, STFT, MFCC) with each other, while the two families disagree most on the phase rotation and
# the delay, which are inaudible, and on the codec, which renders its own phase. Then listen
# (`IPython.display.Audio` on each version) and write down your own order before you compare it
# with the tables: most ears put the phase rotation and the delay with the original, the 3 kHz
# low-pass and the 10 dB hiss last.
#
# To extend it: add ViSQOL (`pip install visqol-python`, then `M.visqol_score`), more kinds of
# damage (clipping, reverberation, a pitch shift of a few cents, MP3 and Opus through
# `codec_roundtrip`), and other clips (speech, and the real recordings of `data/README.md`); ask
# several listeners, and measure which metric's ranking correlates best with theirs. That is, in
# small, how perceptual metrics such as ViSQOL are validated.
#
# ### Solution 9.6
#
# A worked way in, on one domain (speech) with `N_CLIPS` held-out toy clips of one second: score
# the codec at 9 codebooks and Opus at the same bitrate (or, without `ffmpeg`, the codec at one
# codebook) on each clip, take the per-clip difference in mel distance, and bootstrap its mean:
# draw clips with replacement, recompute the mean, and read the 2.5 % and 97.5 % quantiles.

# %%
other = "opus" if ffmpeg_available("opus") else "the codec at n_q = 1"
diffs = []
for i in range(N_CLIPS):
    clip = toy_clip("speech", 1.0, seed=VALID_SEED_OFFSET, index=i)
    out, _ = reconstruct(model, clip, [1, model.n_codebooks])
    ours = M.mel_distance(out[model.n_codebooks], clip)
    if other == "opus":
        theirs = M.mel_distance(
            codec_roundtrip(clip, SR, "opus", model.bitrate() / 1000).audio, clip
        )
    else:
        theirs = M.mel_distance(out[1], clip)
    diffs.append(ours - theirs)
diffs = np.array(diffs)  # < 0: the codec at 9 codebooks is closer


def bootstrap_interval(d: np.ndarray, n_boot: int = N_BOOT) -> tuple[float, float]:
    """95 % bootstrap interval of the mean of d."""
    means = rng.choice(d, size=(n_boot, len(d)), replace=True).mean(axis=1)
    return tuple(np.quantile(means, [0.025, 0.975]))


print(f"codec at 9 codebooks minus {other}, mel distance per clip: {np.round(diffs, 3).tolist()}")
for n in sorted({3, N_CLIPS // 2, N_CLIPS}):
    lo, hi = bootstrap_interval(diffs[:n])
    verdict = "undecided" if lo < 0 < hi else ("codec closer" if hi < 0 else f"{other} closer")
    print(
        f"{n:3d} clips: mean {diffs[:n].mean():+.3f}, "
        f"95 % interval [{lo:+.3f}, {hi:+.3f}], s/√n {diffs[:n].std(ddof=1) / np.sqrt(n):.3f}: "
        f"{verdict}"
    )

# %% [markdown]
# What to look for: a ranking is settled only when the interval excludes 0. Its width shrinks on
# average like the standard error $s/\sqrt n$ printed beside it (four times the clips, half the
# width), but with very few clips the interval is itself unreliable: a bootstrap of 3 clips can only
# resample those 3 values, and can look narrow by luck. A difference that is large compared with the
# spread $s$ between clips is settled with a few clips; a small one needs dozens. The toy clips of
# one domain are much alike; real recordings vary more and need more.
#
# To extend it: run it for every domain (the verdict can change sign between speech and music,
# which is why chapter 9 scores per domain), raise `N_CLIPS`, compare the paired interval with one
# from two independent means (the difference per clip removes the clips' own difficulty, which
# usually makes it much tighter), and do the same for real recordings with
# `python benchmarks/tiny_vs_opus.py --real CORPUS` (see `benchmarks/README.md`).
