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
# # Chapter 1: Audio and tokens
#
# A neural audio codec turns sound into a short sequence of integers ("tokens") and back. Before we
# build one, we need to know what we are compressing and how much. This chapter answers three
# questions:
#
# 1. What is digital audio? Samples at 44.1 kHz, the Nyquist limit, and what goes wrong above it
#    (aliasing).
# 2. How do we *look* at sound? Waveforms, the short-time Fourier transform (STFT) and the mel
#    spectrogram, which is also what DAC's main reconstruction loss compares.
# 3. How small is DAC's output? 16-bit PCM needs 705.6 kbps; DAC's 9 codebooks of 10 bits at 86.13
#    frames per second need 7.75 kbps, about 91 times less.
#
# Along the way we meet the project's toy data set: speech-like, music-like and general sounds,
# generated from a seed so that every reader hears exactly the same clips.

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Audio, display
from ipywidgets import IntSlider, interact

SMOKE = os.environ.get("DAC_BOOK_SMOKE") == "1"
SR = 44_100  # samples per second, the rate DAC works at
SECONDS = 1.0 if SMOKE else 2.0  # length of the toy clips we look at
torch.manual_seed(0)
rng = np.random.default_rng(0)
# Our tensors are small: on a busy shared CPU a second torch thread mostly waits for the first one,
# and one thread runs this chapter about twice as fast.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. Sampling
#
# A microphone gives a continuous voltage $x(t)$. A sound card measures it $f_s$ times a second and
# stores the numbers $x[n] = x(n / f_s)$. DAC works at $f_s = 44{,}100$ Hz, the CD rate.
#
# The **Nyquist–Shannon theorem** says that $x[n]$ determines $x(t)$ exactly if $x(t)$ contains no
# frequency at or above $f_s / 2$, the **Nyquist frequency** (22.05 kHz here, just above the ~20 kHz
# limit of human hearing; that is why 44.1 kHz was chosen).
#
# What happens to a frequency *above* Nyquist? A sine at $f$ and one at $f_s - f$ pass through the
# same samples (up to sign): $\sin(2\pi (f_s - f) n / f_s) = \sin(2\pi n - 2\pi f n / f_s) =
# -\sin(2\pi f n/f_s)$. After sampling, the two are indistinguishable, and the high tone "folds
# back" to a low one. This is **aliasing**. It is easiest to see with a tiny sample rate: a 7 Hz sine
# sampled 8 times a second looks exactly like a (sign-flipped) 1 Hz sine.

# %%
fs_toy, f_high = 8, 7  # Hz; 7 Hz is above this toy rate's Nyquist frequency of 4 Hz
t_fine = np.linspace(0, 2, 2000)
n = np.arange(2 * fs_toy + 1)
samples = np.sin(2 * np.pi * f_high * n / fs_toy)

fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(t_fine, np.sin(2 * np.pi * f_high * t_fine), lw=0.8, label=f"{f_high} Hz sine")
ax.plot(
    t_fine,
    -np.sin(2 * np.pi * (fs_toy - f_high) * t_fine),
    lw=1.5,
    ls="--",
    label=f"alias: {fs_toy - f_high} Hz (sign-flipped)",
)
ax.plot(n / fs_toy, samples, "ko", label=f"samples at {fs_toy} Hz")
ax.set(
    xlabel="time (s)",
    ylabel="amplitude",
    title="Aliasing: both sines pass through the same samples",
)
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The same happens at 44.1 kHz: a 30 kHz tone, sampled at 44.1 kHz, gives exactly the samples of a
# 14.1 kHz tone. That is why every recording chain low-passes the signal *before* sampling, and why
# DAC's output can never contain anything above 22.05 kHz.

# %%
n = np.arange(SR)  # one second of sample indices
tone_30k = np.sin(2 * np.pi * 30_000 * n / SR)
tone_14k = np.sin(2 * np.pi * (SR - 30_000) * n / SR)
np.testing.assert_allclose(tone_30k, -tone_14k, atol=1e-6)
peak_hz = np.argmax(np.abs(np.fft.rfft(tone_30k))) * SR / len(tone_30k)
print(f"a 30 kHz tone sampled at {SR} Hz has its spectral peak at {peak_hz:.0f} Hz")
assert peak_hz == SR - 30_000

# %% [markdown]
# ## 2. Waveforms and the toy data set
#
# Each sample is a number in $[-1, 1]$. A CD stores it as a 16-bit integer (65,536 levels), so one
# second of mono audio takes $44{,}100 \times 16$ bits. We come back to that number in section 5.
#
# We cannot download real speech or music on this project's machines, so `dac_minimal.data`
# *synthesises* a small corpus in the three domains DAC is trained on:
#
# - **speech**: glottal pulses (the buzz of the vocal folds) filtered through vowel formants, with
#   fricatives ("s", "f") and plosives ("t", "k");
# - **music**: chords, a melody and drums on an equal-tempered grid;
# - **general**: noise textures (rain, wind), frequency sweeps and ringing impacts.
#
# `toy_clip(domain, seconds, seed)` returns a float32 array `(T,)`; the same seed always gives the
# same clip.

# %%
from dac_minimal.data import DOMAINS, toy_clip

clips = {domain: toy_clip(domain, seconds=SECONDS, seed=0) for domain in DOMAINS}
for domain, clip in clips.items():
    print(f"{domain:8s} shape {clip.shape}, dtype {clip.dtype}, peak {np.abs(clip).max():.2f}")
    assert clip.shape == (round(SECONDS * SR),) and clip.dtype == np.float32
    assert np.abs(clip).max() <= 1.0
np.testing.assert_array_equal(
    clips["speech"], toy_clip("speech", seconds=SECONDS, seed=0)
)  # reproducible

# %%
fig, axes = plt.subplots(2, 3, figsize=(10, 4))
for col, (domain, clip) in enumerate(clips.items()):
    t = np.arange(len(clip)) / SR
    axes[0, col].plot(t, clip, lw=0.3)
    axes[0, col].set(title=domain, xlabel="time (s)", ylim=(-1, 1))
    start = min(max(int(np.argmax(np.abs(clip))) - int(0.015 * SR), 0), len(clip) - int(0.03 * SR))
    zoom = slice(
        start, start + int(0.03 * SR)
    )  # 30 ms around the loudest sample: periods become visible
    axes[1, col].plot(t[zoom] * 1000, clip[zoom], lw=0.8)
    axes[1, col].set(xlabel="time (ms)")
axes[0, 0].set_ylabel("whole clip")
axes[1, 0].set_ylabel("30 ms zoom")
plt.tight_layout()
plt.show()

# %% [markdown]
# Listen to them (each player is a short clip; the synthetic voice is a buzzing vowel-like
# babble, not words):

# %%
for domain, clip in clips.items():
    print(domain)
    display(Audio(clip, rate=SR))

# %% [markdown]
# ## 3. The short-time Fourier transform
#
# A waveform shows *when* things happen but hides *which frequencies* are present. The STFT cuts the
# signal into overlapping frames of $N$ samples (the window length), every $H$ samples (the hop),
# multiplies each frame by a smooth window $w$ (Hann) so its edges do not create false high
# frequencies, and takes the discrete Fourier transform of each:
#
# $$X[m, k] = \sum_{n=0}^{N-1} x[mH + n - N/2]\, w[n]\, e^{-2\pi i k n / N}, \qquad k = 0, \dots, N/2.$$
#
# Bin $k$ is the frequency $k f_s / N$; frame $m$ is centred at time $mH / f_s$. The signal is
# reflect-padded by $N/2$ at each end so frame $m$ is centred on sample $mH$ (`center=True`).
# Let us build it from numpy pieces.


# %%
def stft_inline(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT| of ``x`` ``(T,)`` as ``(n_fft // 2 + 1, frames)``: Hann window, centred, reflect-padded."""
    padded = np.pad(x, n_fft // 2, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = np.stack(
        [padded[m * hop : m * hop + n_fft] for m in range(n_frames)]
    )  # (frames, n_fft)
    # periodic Hann (the DFT's natural window: its period is exactly n_fft samples)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    return np.abs(np.fft.rfft(frames * window, axis=1)).T


N_FFT, HOP = 2048, 512
mag = stft_inline(clips["music"].astype(np.float64), N_FFT, HOP)
print("inline |STFT|:", mag.shape, "(frequency bins, frames)")

# %% [markdown]
# The same thing with `torch.stft`, and with the package's helper `dac_minimal.loss.stft_magnitude`
# (which the multi-scale mel loss uses). All three agree:

# %%
from dac_minimal.loss import mel_filters, stft_magnitude

x = torch.from_numpy(clips["music"]).double()
mag_torch = torch.stft(
    x,
    N_FFT,
    HOP,
    window=torch.hann_window(N_FFT, dtype=torch.float64),
    center=True,
    pad_mode="reflect",
    return_complex=True,
).abs()
mag_pkg = stft_magnitude(x.view(1, 1, -1), N_FFT, HOP)[0]  # (B, 1, T) in, (B, bins, frames) out
np.testing.assert_allclose(mag, mag_torch.numpy(), atol=1e-8)
torch.testing.assert_close(mag_pkg, mag_torch)
print("inline STFT == torch.stft == dac_minimal.loss.stft_magnitude")

# %% [markdown]
# We look at magnitudes in decibels, $20 \log_{10} |X|$, because hearing is roughly logarithmic in
# level. Below, the music clip: horizontal lines are the harmonics of notes, vertical stripes are
# drum hits.


# %%
def show_spectrogram(
    ax, mag: np.ndarray, hop: int, title: str = "", floor_db: float = -80.0
) -> None:
    """Plot ``mag`` ``(bins, frames)`` in dB relative to its maximum, frequency in kHz."""
    db = 20 * np.log10(np.maximum(mag, 1e-10) / mag.max())
    extent = (0, mag.shape[1] * hop / SR, 0, SR / 2000)
    ax.imshow(np.maximum(db, floor_db), origin="lower", aspect="auto", extent=extent, cmap="magma")
    ax.set(xlabel="time (s)", ylabel="frequency (kHz)", title=title)


fig, ax = plt.subplots(figsize=(9, 3.5))
show_spectrogram(ax, mag, HOP, f"music clip, |STFT| in dB (window {N_FFT}, hop {HOP})")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### The time–frequency trade-off
#
# A window of $N$ samples lasts $N / f_s$ seconds and has bins $f_s / N$ Hz apart. Long windows
# resolve pitch finely but smear drum hits in time; short windows catch every hit but blur the
# harmonics together. You cannot have both at once, which is exactly why DAC's mel loss looks at
# **seven** window lengths (32 to 2048 samples) instead of one. Turn the slider (in JupyterLab) to
# see it:


# %%
def stft_tradeoff(log2_window: int = 11) -> None:
    n_fft = 2**log2_window
    hop = n_fft // 4
    m = stft_inline(clips["music"][: SR // 2].astype(np.float64), n_fft, hop)  # first 0.5 s
    fig, ax = plt.subplots(figsize=(9, 3))
    show_spectrogram(
        ax,
        m,
        hop,
        f"window {n_fft} samples = {1000 * n_fft / SR:.1f} ms, bins {SR / n_fft:.1f} Hz apart",
    )
    ax.set_ylim(0, 5)  # the bottom 5 kHz, where the notes are
    plt.tight_layout()
    plt.show()


_ = interact(stft_tradeoff, log2_window=IntSlider(value=11, min=5, max=13, description="log2(N)"))

# %% [markdown]
# ## 4. The mel spectrogram
#
# Our ears resolve low frequencies finely and high frequencies coarsely: 100 Hz vs 200 Hz is an
# octave, 10,100 Hz vs 10,200 Hz is barely a difference. The **mel scale** warps frequency to match.
# The variant DAC uses (Slaney's, librosa's default) is linear below 1 kHz and logarithmic above:
#
# $$\mathrm{mel}(f) = \begin{cases} 3f / 200 & f < 1000 \text{ Hz} \\
#   15 + 27\,\ln(f / 1000) / \ln 6.4 & f \ge 1000 \text{ Hz} \end{cases}$$
#
# A **mel filterbank** is a set of triangular filters, equally spaced on the mel scale (so they get
# wider with frequency), each summing a band of STFT bins. Slaney normalisation divides each triangle
# by its width so every filter has the same area. The mel spectrogram is the matrix product
# $\text{filters} \cdot |X|$.


# %%
def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(
        f < 1000, 3 * f / 200, 15 + 27 * np.log(np.maximum(f, 1e-9) / 1000) / np.log(6.4)
    )


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m < 15, 200 * m / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))


def mel_filters_inline(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular, Slaney-normalised mel filters ``(n_mels, n_fft // 2 + 1)`` from 0 Hz to Nyquist."""
    bin_hz = np.linspace(0, sr / 2, n_fft // 2 + 1)  # centre frequency of each STFT bin
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(sr / 2), n_mels + 2))
    lo, centre, hi = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bin_hz - lo) / (centre - lo)
    falling = (hi - bin_hz) / (hi - centre)
    triangles = np.maximum(0, np.minimum(rising, falling))
    return triangles * (2 / (hi - lo))  # equal area per filter


N_MELS = 80
fb = mel_filters_inline(SR, N_FFT, N_MELS)
np.testing.assert_allclose(fb, mel_filters(SR, N_FFT, N_MELS), rtol=1e-4, atol=1e-9)
print("inline mel filterbank == dac_minimal.loss.mel_filters:", fb.shape)

fig, ax = plt.subplots(figsize=(9, 3))
freqs = np.linspace(0, SR / 2, N_FFT // 2 + 1)
for row in fb[::4]:  # every 4th filter, to keep the figure readable
    ax.plot(freqs / 1000, row / row.max(), lw=0.8)
ax.set(
    xlabel="frequency (kHz)",
    ylabel="weight (peak = 1)",
    title=f"{N_MELS} mel filters (every 4th shown): narrow at low, wide at high frequencies",
)
plt.tight_layout()
plt.show()

# %% [markdown]
# The mel spectrogram, then its log. DAC's mel loss clamps magnitudes at $10^{-5}$ before
# $\log_{10}$, so silence does not send the log to $-\infty$. We check our pipeline against the
# package's loss module, which computes exactly this at each of its seven scales (scale index 4 is
# window 512 with 80 mels):

# %%
from dac_minimal.loss import MultiScaleMelLoss


def log_mel(x: np.ndarray, n_fft: int, n_mels: int) -> np.ndarray:
    """log10 mel magnitudes ``(n_mels, frames)`` of ``x`` ``(T,)``, hop = n_fft / 4, clamped at 1e-5."""
    mel = mel_filters_inline(SR, n_fft, n_mels) @ stft_inline(x, n_fft, n_fft // 4)
    return np.log10(np.maximum(mel, 1e-5))


mel_loss = MultiScaleMelLoss()
scale = mel_loss.window_lengths.index(512)
assert mel_loss.n_mels[scale] == 80
x = clips["speech"]
ours = log_mel(x.astype(np.float64), 512, 80)
theirs = mel_loss.mel(torch.from_numpy(x).view(1, 1, -1), scale)[0].clamp(min=1e-5).log10()
np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-3)
print("inline log-mel == MultiScaleMelLoss.mel (window 512, 80 mels):", ours.shape)

# %% [markdown]
# Now every domain of the toy corpus as waveform and log-mel spectrogram (window 2048, 128 mels).
# Speech shows the formant bands of vowels and the noisy high-frequency bursts of fricatives; music
# shows stacked harmonics and drum strokes; general sound shows broadband noise and rising sweeps.

# %%
fig, axes = plt.subplots(2, 3, figsize=(10, 4.5), sharex=True)
for col, (domain, clip) in enumerate(clips.items()):
    axes[0, col].plot(np.arange(len(clip)) / SR, clip, lw=0.3)
    axes[0, col].set(title=domain, ylim=(-1, 1))
    lm = log_mel(clip.astype(np.float64), 2048, 128)
    axes[1, col].imshow(
        lm,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=lm.max() - 4,
        extent=(0, len(clip) / SR, 0, 128),
    )
    axes[1, col].set(xlabel="time (s)")
axes[0, 0].set_ylabel("waveform")
axes[1, 0].set_ylabel("mel bin")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Bits per second: PCM vs tokens
#
# **PCM**, the uncompressed format of a WAV file, stores every sample as a 16-bit integer:
#
# $$44{,}100 \ \text{samples/s} \times 16 \ \text{bits} = 705{,}600 \ \text{bits/s} = 705.6 \ \text{kbps}.$$
#
# **DAC** runs the waveform through an encoder whose strides multiply to a hop of 512 samples, so it
# emits one latent vector per 512 samples: $44{,}100 / 512 \approx 86.13$ frames per second. Each
# frame is quantized by $N_q = 9$ residual codebooks of 1024 entries; each code is an integer in
# $[0, 1024)$, i.e. $\log_2 1024 = 10$ bits. The tokens cost
#
# $$86.13 \times 9 \times 10 \approx 7{,}752 \ \text{bits/s} \approx 7.75 \ \text{kbps}.$$

# %%
pcm_bps = SR * 16
hop, n_codebooks, codebook_size = 512, 9, 1024
frame_rate = SR / hop
bits_per_code = math.log2(codebook_size)
dac_bps = frame_rate * n_codebooks * bits_per_code
print(f"PCM: {pcm_bps / 1000:.1f} kbps")
print(
    f"DAC: {frame_rate:.2f} frames/s x {n_codebooks} codebooks x {bits_per_code:.0f} bits "
    f"= {dac_bps / 1000:.2f} kbps"
)
print(f"compression ratio: {pcm_bps / dac_bps:.1f}x")
assert pcm_bps == 705_600
assert abs(dac_bps - 7751.95) < 0.01
assert 90 < pcm_bps / dac_bps < 92

# %% [markdown]
# The package's model agrees. `DAC()` builds the full 76M-parameter 44.1 kHz model (a second or
# two); its `bitrate()` is computed from its own configuration, not from our numbers:

# %%
from dac_minimal import DAC

model = DAC()
print(
    f"hop {model.hop_length}, {model.frame_rate:.2f} frames/s, {model.n_codebooks} codebooks, "
    f"bitrate {model.bitrate():.1f} bits/s"
)
assert model.hop_length == hop and model.n_codebooks == n_codebooks
assert model.frame_rate == frame_rate
assert math.isclose(model.bitrate(), dac_bps)

# %% [markdown]
# Thanks to **quantizer dropout** (chapter 4), a DAC model can decode from just the first $n_q$
# codebooks, so one model offers nine bitrates, $n_q \times 0.861$ kbps:

# %%
n_qs = np.arange(1, n_codebooks + 1)
rates = [model.bitrate(int(q)) for q in n_qs]
print(" n_q   kbps   ratio vs PCM")
for q, r in zip(n_qs, rates):
    print(f"{q:4d} {r / 1000:6.2f} {pcm_bps / r:10.0f}x")
np.testing.assert_allclose(rates, n_qs * frame_rate * bits_per_code)

fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(n_qs, np.array(rates) / 1000)
ax.set(xlabel="codebooks used, $n_q$", ylabel="kbps", title="Bitrate grows linearly with $n_q$")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Tokens, concretely
#
# What does the codec hand us for a clip? Let us encode the speech clip with the CPU-sized `tiny`
# preset (same hop, codebooks and bitrate as the full model, a hundredth of the weights). The model
# is **untrained**, so its codes are meaningless for now; the *shape* and the *bit count* are
# already right. The input is padded to a multiple of the hop, so $T$ samples become
# $\lceil T / 512 \rceil$ frames.

# %%
tiny = DAC.from_preset("tiny").eval()
assert tiny.bitrate() == model.bitrate()  # same bitrate, far fewer weights
audio = torch.from_numpy(clips["speech"]).view(1, 1, -1)  # (B, 1, T)
with torch.no_grad():
    codes = tiny.encode(audio).codes  # (B, N_q, frames)
n_frames = math.ceil(audio.shape[-1] / hop)
print(
    f"{audio.shape[-1]} samples -> codes {tuple(codes.shape)}, integers in [{codes.min()}, {codes.max()}]"
)
print("first frame's 9 tokens:", codes[0, :, 0].tolist())
assert codes.shape == (1, n_codebooks, n_frames)
assert codes.min() >= 0 and codes.max() < codebook_size
bits = codes.numel() * bits_per_code
print(
    f"{bits:.0f} bits for {SECONDS} s = {bits / SECONDS / 1000:.2f} kbps "
    f"(vs {audio.numel() * 16 / SECONDS / 1000:.1f} kbps as 16-bit PCM)"
)

# %% [markdown]
# A 2-second clip is 88,200 numbers of 16 bits as PCM, and $9 \times 173 = 1557$ numbers of 10 bits
# as tokens (a hair above 7.75 kbps because the last frame is padded: 173 frames hold 88,576
# samples). The rest of the book is about making those 1557 integers sound like the original.
#
# ## Summary
#
# - Digital audio is $f_s$ samples per second; nothing above $f_s/2$ survives, and anything above it
#   that is not filtered out beforehand aliases down.
# - The STFT shows frequency content over time, with a trade-off between time and frequency
#   resolution set by the window length; the mel filterbank warps it towards human hearing.
# - 16-bit PCM at 44.1 kHz is 705.6 kbps; DAC's $9 \times 10$ bits per 512 samples is 7.75 kbps,
#   about 91x smaller, and $n_q \times 0.861$ kbps when fewer codebooks are used.

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** A recording chain with a broken anti-aliasing filter samples a 25 kHz tone at
# 44.1 kHz. At what frequency does it appear? Predict it, then find the peak of the FFT of one second
# of the sampled tone.

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution: a tone at f in (fs/2, fs) folds to fs - f = 44100 - 25000 = 19100 Hz.
predicted = SR - 25_000
sampled = np.sin(2 * np.pi * 25_000 * np.arange(SR) / SR)
found = np.argmax(np.abs(np.fft.rfft(sampled))) * SR / len(sampled)  # bins are 1 Hz apart for 1 s
print(f"predicted {predicted} Hz, found {found:.0f} Hz")
assert found == predicted == 19_100

# %% [markdown]
# **Exercise 2.** The 24 kHz DAC preset has encoder strides $(2, 4, 5, 8)$ and $N_q = 32$ codebooks of
# 1024 entries. Compute its hop length, frame rate and bitrate by hand, and its compression ratio
# against 16-bit PCM at 24 kHz; check against `DAC.from_preset("24khz").bitrate()`.

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution: hop = 2*4*5*8 = 320, frames/s = 24000/320 = 75, bits/s = 75 * 32 * 10 = 24000 (24 kbps).
hop_24 = 2 * 4 * 5 * 8
bps_24 = 24_000 / hop_24 * 32 * 10
ratio_24 = 24_000 * 16 / bps_24
print(
    f"hop {hop_24}, {24_000 / hop_24:.0f} frames/s, {bps_24 / 1000:.1f} kbps, {ratio_24:.0f}x smaller than PCM"
)
model_24 = DAC.from_preset("24khz")
assert model_24.hop_length == hop_24 and math.isclose(model_24.bitrate(), bps_24)
assert bps_24 == 24_000 and ratio_24 == 16
del model_24

# %% [markdown]
# **Exercise 3.** The notes A4 (440 Hz) and A♯4 (466.16 Hz) are a semitone apart. What is the shortest
# power-of-two STFT window (at 44.1 kHz, Hann) whose magnitude spectrum shows them as **two separate
# peaks**? Reason first (a Hann window's main lobe is $4 f_s / N$ Hz wide), then test windows
# $2^{9} \dots 2^{14}$ on a signal holding both tones: count local maxima between 400 and 500 Hz in
# a middle frame.

# %% jupyter={"source_hidden": true} tags=["solution"]
# Solution: the two main lobes (each 4*fs/N wide, i.e. +-2 bins) separate once 2*fs/N < 26 Hz,
# roughly N > 3400; the next power of two is 4096 (bins 10.8 Hz apart, tones 2.4 bins apart).
two_tones = np.sin(2 * np.pi * 440 * np.arange(SR) / SR) + np.sin(
    2 * np.pi * 466.16 * np.arange(SR) / SR
)


def n_peaks(n_fft: int) -> int:
    spec = stft_inline(two_tones, n_fft, n_fft // 4)
    frame = spec[:, spec.shape[1] // 2]  # a frame in the middle, far from the padded edges
    f = np.arange(len(frame)) * SR / n_fft
    band = (f > 400) & (f < 500)
    m = frame[band]
    is_peak = (m[1:-1] > m[:-2]) & (m[1:-1] > m[2:]) & (m[1:-1] > 0.1 * m.max())
    return int(is_peak.sum())


peaks = {2**k: n_peaks(2**k) for k in range(9, 15)}
print("window -> peaks between 400 and 500 Hz:", peaks)
shortest = min(n for n, p in peaks.items() if p >= 2)
print("shortest window that separates the semitone:", shortest)
assert shortest == 4096
