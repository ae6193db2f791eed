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
# # Solutions: 1. Audio and tokens
#
# [← 1. Audio and tokens](../01_audio_and_tokens.ipynb)
#
# Worked solutions to the chapter's exercises. Try each exercise before you read its solution.

# %%
import math
import sys

sys.path.insert(0, "..")  # chapters/, for the book's helpers

import numpy as np
import torch
from book import sizes

SECONDS = sizes((2.0, 1.0))  # length of the toy clips in Solution 1.5
SR = 44_100
torch.set_num_threads(1)  # small computations: one core avoids the overhead of parallel work

# %% [markdown]
# ### Solution 1.1
#
# A tone at $f$ between $f_s/2$ and $f_s$ folds back to $f_s - f = 44{,}100 - 25{,}000 = 19{,}100$
# Hz. One second of samples gives FFT bins exactly 1 Hz apart, so the peak lands on that bin:

# %%
predicted = SR - 25_000
sampled = np.sin(2 * np.pi * 25_000 * np.arange(SR) / SR)
found = np.argmax(np.abs(np.fft.rfft(sampled))) * SR / len(sampled)
print(f"predicted {predicted} Hz, found {found:.0f} Hz")
assert found == predicted == 19_100

# %% [markdown]
# ### Solution 1.2
#
# The hop is the product of the strides, $M = 2 \cdot 4 \cdot 5 \cdot 8 = 320$ samples, so the
# model emits $24{,}000 / 320 = 75$ frames a second. Each frame carries 32 codes of
# $\log_2 1024 = 10$ bits: $75 \times 32 \times 10 = 24{,}000$ bits a second, 24 kbps. 16-bit PCM at
# 24 kHz is $24{,}000 \times 16 = 384$ kbps, 16 times more. (The 24 kHz model buys its quality with
# many more bits than the 44.1 kHz one: 32 codebooks instead of 9.)

# %%
from dac_minimal.model import PRESETS

M_24 = 2 * 4 * 5 * 8
frames_24 = 24_000 / M_24
bps_24 = frames_24 * 32 * 10
ratio_24 = 24_000 * 16 / bps_24
print(f"hop {M_24}, {frames_24:.0f} frames/s, {bps_24 / 1000:.1f} kbps, {ratio_24:.0f}x smaller")
config = PRESETS["24khz"]  # the preset's configuration, without building its weights
from_config = config.sample_rate / config.hop_length * config.n_codebooks
from_config *= math.log2(config.codebook_size)
print(f"from the configuration: {config.encoder_rates}, {from_config / 1000:.1f} kbps")
assert config.hop_length == M_24 and config.n_codebooks == 32
assert math.isclose(from_config, bps_24)
assert bps_24 == 24_000 and ratio_24 == 16

# %% [markdown]
# ### Solution 1.3
#
# The two tones are $466.16 - 440 = 26.16$ Hz apart. A Hann window's main lobe spans $\pm 2$ bins,
# $4 f_s / W$ Hz in all; two peaks stand apart once the lobes' centres are more than about half a
# lobe apart, $2 f_s / W < 26$ Hz, that is $W > 3400$ or so. The next power of two is 4096: bins
# 10.8 Hz apart, the tones 2.4 bins apart. We test it with the package's STFT, which chapter 1
# showed equal to the inline one:

# %%
from dac_minimal.loss import stft_magnitude

t = np.arange(SR) / SR
two_tones = torch.from_numpy(np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 466.16 * t))


def n_peaks(window: int) -> int:
    """Local maxima between 400 and 500 Hz in a frame in the middle of the signal."""
    spec = stft_magnitude(two_tones.view(1, 1, -1), window, window // 4)[0]
    frame = spec[:, spec.shape[1] // 2].numpy()  # far from the padded edges
    f = np.arange(len(frame)) * SR / window
    m = frame[(f > 400) & (f < 500)]
    is_peak = (m[1:-1] > m[:-2]) & (m[1:-1] > m[2:]) & (m[1:-1] > 0.1 * m.max())
    return int(is_peak.sum())


peaks = {2**k: n_peaks(2**k) for k in range(9, 15)}
print("window -> peaks between 400 and 500 Hz:", peaks)
shortest = min(w for w, p in peaks.items() if p >= 2)
print("shortest window that separates the semitone:", shortest)
assert shortest == 4096

# %% [markdown]
# ### Solution 1.4
#
# At $W = 32$ the STFT bins sit at $0, 1378, 2756, \dots$ Hz. A mel filter is a triangle between
# its two neighbours' centres, and a triangle narrower than the bin spacing can fall between two
# bins, catch none of them and be zero everywhere. The mel scale makes the low triangles narrow:
# 80 bands over 0 to 22 kHz leave each of them about 100 Hz wide below 1 kHz. They widen with
# frequency, and once a triangle is wider than 1378 Hz it always holds a bin, so the top of the
# spectrum has no empty filter. The cell checks both halves of that argument:

# %%
import librosa

from dac_minimal.loss import MultiScaleMelLoss, mel_filters


def empty_filters(window: int, n_mels: int) -> np.ndarray:
    """Indices of the filters of the bank that are zero everywhere."""
    return np.flatnonzero(mel_filters(SR, window, n_mels).max(axis=1) == 0)


empty = empty_filters(32, 80)
edges = librosa.mel_frequencies(80 + 2, fmin=0.0, fmax=SR / 2)  # the triangles' corners, Hz
width = edges[2:] - edges[:-2]  # each triangle's base
bin_spacing = SR / 32
print(f"{len(empty)} of 80 filters are empty at W = 32 (the highest is number {empty.max()})")
print(
    f"triangles of the empty filters: {width[empty].min():.0f} to {width[empty].max():.0f} Hz wide"
)
assert np.all(width[empty] < bin_spacing)  # only a triangle narrower than a bin step can miss
assert len(empty_filters(32, 80)) > 0 and empty.max() < 79


def most_bands(window: int) -> int:
    """The largest n_mels for which neither it nor any smaller count leaves an empty filter."""
    n = 1
    while len(empty_filters(window, n + 1)) == 0:
        n += 1
    return n


loss = MultiScaleMelLoss()
print(f"\nW = 32 affords {most_bands(32)} bands; the loss uses {loss.n_mels[0]}")
assert most_bands(32) == loss.n_mels[0] == 5
print("window   bands used   empty with them   empty with 64 bands")
for window, used in zip(loss.window_lengths, loss.n_mels):
    holes_used, holes_64 = len(empty_filters(window, used)), len(empty_filters(window, 64))
    print(f"{window:6d} {used:12d} {holes_used:17d} {holes_64:21d}")
    assert holes_used == 0

# %% [markdown]
# A 32-sample window affords exactly the 5 bands the loss uses there, and at every window the
# loss's band count leaves no empty filter, while a fixed 64 bands leaves holes at every short
# window. That is why the official configuration scales the bands with the window;
# [chapter 7](../07_losses.ipynb) compares the two losses.

# %% [markdown]
# ### Solution 1.5
#
# A way in. Going down from 44.1 kHz to $f_s / 3 = 14.7$ kHz, close to DAC's 16 kHz model, must
# lose everything above the new Nyquist frequency, 7.35 kHz. A proper resampler low-passes first,
# so what remains below 7.35 kHz is intact; naive decimation, keeping every third sample, folds the
# energy above 7.35 kHz down into the band below it (section 1.1). Both versions are brought back
# to 44.1 kHz with the proper resampler (going up cannot alias), and compared with the original
# in three numbers:
#
# - the share of the clip's energy above the new Nyquist frequency, which both versions lose;
# - the error below it, in dB relative to the signal there: the aliases of the naive version;
# - the mel distance, `dac_minimal.evaluate.metrics.mel_distance`: the training loss's multi-scale
#   mel comparison ([chapter 7](../07_losses.ipynb)), used as a metric in
#   [chapter 9](../09_evaluation.ipynb).

# %%
from dac_minimal.data import DOMAINS, toy_clip
from dac_minimal.evaluate.metrics import mel_distance
from dac_minimal.utils.audio import resample


def band(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The FFT coefficients of ``x`` from ``lo`` to ``hi`` Hz."""
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return np.fft.rfft(x)[(f >= lo) & (f < hi)]


def energy(c: np.ndarray) -> float:
    return float(np.sum(np.abs(c) ** 2))


def compare(x: np.ndarray, k: int) -> dict[str, float]:
    low = SR // k
    proper = resample(resample(x, SR, low), low, SR)[: len(x)]
    naive = resample(np.ascontiguousarray(x[::k]), low, SR)[: len(x)]
    nyquist = low / 2
    out = {"above": 100 * energy(band(x, nyquist, SR)) / energy(band(x, 0, SR))}
    ref = band(x, 0, 0.9 * nyquist)  # below the resampler's transition band
    for name, y in (("proper", proper), ("naive", naive)):
        err = energy(band(y, 0, 0.9 * nyquist) - ref) / energy(ref)
        out[f"{name} in-band dB"] = 10 * np.log10(err)
        out[f"{name} mel"] = mel_distance(y, x)
    return out


rows = {domain: compare(toy_clip(domain, SECONDS, seed=0), k=3) for domain in DOMAINS}
print(f"down to {SR // 3} Hz and back up")
print("domain   % above   proper dB   naive dB   proper mel   naive mel")
for domain, r in rows.items():
    db = f"{r['proper in-band dB']:11.1f} {r['naive in-band dB']:10.1f}"
    print(f"{domain:8s} {r['above']:8.2f} {db} {r['proper mel']:12.3f} {r['naive mel']:11.3f}")
for r in rows.values():
    assert r["proper in-band dB"] <= r["naive in-band dB"]  # aliases land below the new Nyquist
    assert r["proper mel"] <= r["naive mel"]
most_above = max(rows, key=lambda d: rows[d]["above"])
assert most_above == max(rows, key=lambda d: rows[d]["naive in-band dB"])
print(f"most energy above {SR // 6} Hz, and the largest naive error below it: {most_above}")

# %% [markdown]
# What to look for. The proper resampler's error below the new Nyquist frequency is tiny: it lost
# only what it had to. The naive version's error there is large, and largest for the domain with
# the most energy above 7.35 kHz (the table's first column): that energy did not vanish, it moved
# down. Plot the spectrograms of the naive versions (chapter 1's `show_spectrogram`, or
# `stft_magnitude` and `imshow`): any rising sweep above 7.35 kHz turns into a falling one,
# mirrored at the new Nyquist frequency. The mel distance agrees with
# the ranking, and adds a measure of what was lost above the cut.
#
# To go further: use `k=2` (22.05 kHz, close to the 24 kHz model); compare the band-limited toy
# clips (`toy_clip(domain, index=3)`, already empty above 8-12 kHz: what does the proper resampler
# lose on them?); and load a recording of your own with `dac_minimal.utils.audio.load_audio(path,
# 44_100)`, or one from the real corpus that `python -m dac_minimal.tools.corpus` lays out.
