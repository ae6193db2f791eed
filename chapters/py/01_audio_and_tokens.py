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
# # 1. Audio and tokens
#
# A neural audio codec turns sound into a short sequence of integers, its **tokens** (or
# **codes**), and turns the tokens back into sound. Audio language models generate such tokens the
# way text models generate words, so the codec decides what they can ever say. Before we build
# one we need to know what we are compressing, how we will judge a reconstruction, and how much
# smaller the tokens are than the samples they stand for.
#
# ## What you will learn
#
# - What digital audio is: $f_s = 44{,}100$ samples a second, the Nyquist frequency $f_s / 2$, and
#   what happens to sound above it (aliasing).
# - How to look at sound: waveforms, the short-time Fourier transform (STFT) and the
#   **mel spectrogram**, each built from NumPy pieces and checked against `dac_minimal.loss`.
# - Why one window length is never enough, which is why DAC's mel loss uses seven.
# - The bitrate arithmetic: 16-bit PCM against DAC's 9 codebooks of 10 bits per frame, and what
#   the codec's tokens look like as a tensor.
# - The book's toy corpus of speech-like, music-like and general sounds.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import interact, sizes
from IPython.display import Audio, display
from ipywidgets import IntSlider

SECONDS = sizes((2.0, 1.0))  # length of the toy clips we look at
SR = 44_100  # f_s: samples per second, the rate DAC works at
torch.manual_seed(0)
torch.set_num_threads(1)  # small computations: one core avoids the overhead of parallel work

# %% [markdown]
# ## 1.1 Sampling and aliasing
#
# A microphone gives a continuous voltage $x(t)$. A sound card measures it $f_s$ times a second and
# stores the numbers $x[n] = x(n / f_s)$. DAC works at $f_s = 44{,}100$ Hz, the CD rate.
#
# The **Nyquist–Shannon theorem** says that $x[n]$ determines $x(t)$ exactly if $x(t)$ contains no
# frequency at or above $f_s / 2$, the **Nyquist frequency**: 22.05 kHz here, just above the
# upper limit of human hearing, around 20 kHz, which is why 44.1 kHz was chosen.
#
# What happens to a frequency *above* Nyquist? A sine at $f$ and one at $f_s - f$ pass through the
# same samples, up to sign:
# $\sin(2\pi (f_s - f) n / f_s) = \sin(2\pi n - 2\pi f n / f_s) = -\sin(2\pi f n/f_s)$.
# After sampling the two cannot be told apart, and the high tone "folds back" to a low one. This
# is **aliasing**. It is easiest to see at a tiny sample rate: a 7 Hz sine sampled 8 times a
# second looks exactly like a (sign-flipped) 1 Hz sine.

# %%
fs_toy, f_high = 8, 7  # Hz; 7 Hz is above this toy rate's Nyquist frequency of 4 Hz
t_fine = np.linspace(0, 2, 2000)
n = np.arange(2 * fs_toy + 1)
samples = np.sin(2 * np.pi * f_high * n / fs_toy)

fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(t_fine, np.sin(2 * np.pi * f_high * t_fine), lw=0.8, label=f"{f_high} Hz sine")
alias = -np.sin(2 * np.pi * (fs_toy - f_high) * t_fine)
ax.plot(t_fine, alias, lw=1.5, ls="--", label=f"alias: {fs_toy - f_high} Hz (sign-flipped)")
ax.plot(n / fs_toy, samples, "ko", label=f"samples at {fs_toy} Hz")
ax.set(xlabel="time (s)", ylabel="amplitude", title="Aliasing: both sines pass through the samples")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The same happens at 44.1 kHz: a 30 kHz tone sampled at 44.1 kHz gives exactly the samples of a
# 14.1 kHz tone. That is why every recording chain low-passes the signal *before* sampling, and why
# a codec at 44.1 kHz can never reproduce anything above 22.05 kHz. The cell below checks both
# claims on one second of samples.

# %%
n = np.arange(SR)  # one second of sample indices
tone_30k = np.sin(2 * np.pi * 30_000 * n / SR)
tone_14k = np.sin(2 * np.pi * (SR - 30_000) * n / SR)
np.testing.assert_allclose(tone_30k, -tone_14k, atol=1e-6)
peak_hz = np.argmax(np.abs(np.fft.rfft(tone_30k))) * SR / len(tone_30k)  # bins 1 Hz apart
print(f"a 30 kHz tone sampled at {SR} Hz has its spectral peak at {peak_hz:.0f} Hz")
assert peak_hz == SR - 30_000

# %% [markdown]
# ## 1.2 Waveforms and the toy corpus
#
# Each sample is a number in $[-1, 1]$. A CD stores it as a 16-bit integer (65,536 levels), so one
# second of mono audio takes $44{,}100 \times 16$ bits. We come back to that number in section 1.5.
#
# The book's examples use a small corpus that `dac_minimal.data` *generates* from a seed, so that
# every reader hears exactly the same clips and can recompute every number in the text. It covers
# the three domains DAC is trained on:
#
# - **speech**: glottal pulses (the buzz of the vocal folds) filtered through vowel formants, with
#   fricatives ("s", "f") and plosives ("t", "k");
# - **music**: chords, a melody and drums on an equal-tempered scale;
# - **general**: noise textures (rain, wind), frequency sweeps and ringing impacts.
#
# `toy_clip(domain, seconds, seed)` returns a float32 array of shape $(T,)$; the same seed always
# gives the same clip. Real recordings come later, for training in
# [chapter 8](08_training.ipynb): `python -m dac_minimal.tools.corpus` builds a real corpus from
# freely licensed recordings that Debian packages install, and
# `python -m dac_minimal.tools.datasets` downloads DAPS, VCTK and MUSDB18, the paper's own speech
# and music data ([`data/README.md`](../data/README.md) describes both). Any folder of WAV, FLAC,
# OGG or MP3 files works as well.

# %%
from dac_minimal.data import DOMAINS, toy_clip

clips = {domain: toy_clip(domain, seconds=SECONDS, seed=0) for domain in DOMAINS}
for domain, clip in clips.items():
    print(f"{domain:8s} shape {clip.shape}, dtype {clip.dtype}, peak {np.abs(clip).max():.2f}")
    assert clip.shape == (round(SECONDS * SR),) and clip.dtype == np.float32
    assert np.abs(clip).max() <= 1.0
# the same seed gives the same clip
np.testing.assert_array_equal(clips["speech"], toy_clip("speech", seconds=SECONDS, seed=0))

# %%
fig, axes = plt.subplots(2, 3, figsize=(10, 4))
zoom_len = int(0.03 * SR)  # 30 ms: long enough to show a few periods of a pitch
for col, (domain, clip) in enumerate(clips.items()):
    t = np.arange(len(clip)) / SR
    axes[0, col].plot(t, clip, lw=0.3)
    axes[0, col].set(title=domain, xlabel="time (s)", ylim=(-1, 1))
    loudest = int(np.argmax(np.abs(clip)))
    start = min(max(loudest - zoom_len // 2, 0), len(clip) - zoom_len)
    zoom = slice(start, start + zoom_len)
    axes[1, col].plot(t[zoom] * 1000, clip[zoom], lw=0.8)
    axes[1, col].set(xlabel="time (ms)")
axes[0, 0].set_ylabel("whole clip")
axes[1, 0].set_ylabel("30 ms around the peak")
plt.tight_layout()
plt.show()

# %% [markdown]
# Listen to them. The synthetic voice is a buzzing, vowel-like babble, not words:

# %%
for domain, clip in clips.items():
    print(domain)
    display(Audio(clip, rate=SR))

# %% [markdown]
# ## 1.3 The short-time Fourier transform
#
# A waveform shows *when* things happen but hides *which frequencies* are present. The STFT cuts the
# signal into overlapping frames of $W$ samples (the window length), one every $h$ samples (the
# hop), multiplies each frame by a smooth window $w$ (Hann) so that its edges do not create false
# high frequencies, and takes the discrete Fourier transform of each:
#
# $$X[m, k] = \sum_{n=0}^{W-1} x[mh + n - W/2]\, w[n]\, e^{-2\pi i k n / W},
#   \qquad k = 0, \dots, W/2.$$
#
# Bin $k$ is the frequency $k f_s / W$; frame $m$ is centred at time $mh / f_s$. The signal is
# reflect-padded by $W/2$ at each end, so frame $m$ is centred on sample $mh$ (`center=True`).
# We build it from NumPy pieces.


# %%
def stft_inline(x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """|STFT| of ``x`` ``(T,)`` as ``(window // 2 + 1, frames)``: Hann, centred, reflect-padded."""
    padded = np.pad(x, window // 2, mode="reflect")
    n_frames = 1 + (len(padded) - window) // hop
    frames = np.stack([padded[m * hop : m * hop + window] for m in range(n_frames)])  # (frames, W)
    # the periodic Hann window, the DFT's natural one: its period is exactly W samples
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)
    return np.abs(np.fft.rfft(frames * hann, axis=1)).T


WINDOW, HOP = 2048, 512  # W and h
mag = stft_inline(clips["music"].astype(np.float64), WINDOW, HOP)
print("inline |STFT|:", mag.shape, "(frequency bins, frames)")

# %% [markdown]
# The same thing with `torch.stft`, and with the package's helper `dac_minimal.loss.stft_magnitude`,
# which the multi-scale mel loss uses. All three agree:

# %%
from dac_minimal.loss import mel_filters, stft_magnitude

x = torch.from_numpy(clips["music"]).double()
hann = torch.hann_window(WINDOW, dtype=torch.float64)
mag_torch = torch.stft(
    x, WINDOW, HOP, window=hann, center=True, pad_mode="reflect", return_complex=True
).abs()
mag_pkg = stft_magnitude(x.view(1, 1, -1), WINDOW, HOP)[0]  # (B, 1, T) in, (B, bins, frames) out
np.testing.assert_allclose(mag, mag_torch.numpy(), atol=1e-8)
torch.testing.assert_close(mag_pkg, mag_torch)
print("inline STFT == torch.stft == dac_minimal.loss.stft_magnitude")

# %% [markdown]
# We look at magnitudes in decibels, $20 \log_{10} |X|$, because hearing is roughly logarithmic in
# level. Below, the music clip: horizontal lines are the harmonics of notes, vertical stripes are
# drum hits.


# %%
def show_spectrogram(ax, mag: np.ndarray, hop: int, title: str = "", floor_db: float = -80.0):
    """Plot ``mag`` ``(bins, frames)`` in dB relative to its maximum, frequency in kHz."""
    db = 20 * np.log10(np.maximum(mag, 1e-10) / mag.max())
    extent = (0, mag.shape[1] * hop / SR, 0, SR / 2000)
    ax.imshow(np.maximum(db, floor_db), origin="lower", aspect="auto", extent=extent, cmap="magma")
    ax.set(xlabel="time (s)", ylabel="frequency (kHz)", title=title)


fig, ax = plt.subplots(figsize=(9, 3.5))
show_spectrogram(ax, mag, HOP, f"music clip, |STFT| in dB (window {WINDOW}, hop {HOP})")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### The time–frequency trade-off
#
# A window of $W$ samples lasts $W / f_s$ seconds and has bins $f_s / W$ Hz apart. Long windows
# resolve pitch finely but smear drum hits in time; short windows catch every hit but blur the
# harmonics together. No single window does both, which is why DAC's mel loss looks at **seven**
# window lengths, from 32 to 2048 samples, instead of one
# ([chapter 7](07_losses.ipynb)). Move the slider to see it:


# %%
def stft_tradeoff(log2_window: int = 11) -> None:
    window = 2**log2_window
    hop = window // 4
    m = stft_inline(clips["music"][: SR // 2].astype(np.float64), window, hop)  # first 0.5 s
    fig, ax = plt.subplots(figsize=(9, 3))
    ms, bin_hz = 1000 * window / SR, SR / window
    show_spectrogram(
        ax, m, hop, f"window {window} samples = {ms:.1f} ms, bins {bin_hz:.1f} Hz apart"
    )
    ax.set_ylim(0, 5)  # the bottom 5 kHz, where the notes are
    plt.tight_layout()
    plt.show()


_ = interact(stft_tradeoff, log2_window=IntSlider(value=11, min=5, max=13, description="log2(W)"))

# %% [markdown]
# ## 1.4 The mel spectrogram
#
# Our ears resolve low frequencies finely and high frequencies coarsely: 100 Hz against 200 Hz is an
# octave, 10,100 Hz against 10,200 Hz barely a difference. The **mel scale** warps frequency to
# match. The variant DAC uses (Slaney's, librosa's default) is linear below 1 kHz and logarithmic
# above:
#
# $$\mathrm{mel}(f) = \begin{cases} 3f / 200 & f < 1000 \text{ Hz} \\
#   15 + 27\,\ln(f / 1000) / \ln 6.4 & f \ge 1000 \text{ Hz} \end{cases}$$
#
# A **mel filterbank** is a set of triangular filters, equally spaced on the mel scale (so they get
# wider with frequency), each summing a band of STFT bins. Slaney normalisation divides each
# triangle by its width, so that every filter has the same area. The mel spectrogram is the matrix
# product $\text{filters} \cdot |X|$.


# %%
def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(
        f < 1000, 3 * f / 200, 15 + 27 * np.log(np.maximum(f, 1e-9) / 1000) / np.log(6.4)
    )


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m < 15, 200 * m / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))


def mel_filters_inline(sr: int, window: int, n_mels: int) -> np.ndarray:
    """Triangular, Slaney-normalised mel filters ``(n_mels, window // 2 + 1)``, 0 Hz to Nyquist."""
    bin_hz = np.linspace(0, sr / 2, window // 2 + 1)  # centre frequency of each STFT bin
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(sr / 2), n_mels + 2))
    lo, centre, hi = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bin_hz - lo) / (centre - lo)
    falling = (hi - bin_hz) / (hi - centre)
    triangles = np.maximum(0, np.minimum(rising, falling))
    return triangles * (2 / (hi - lo))  # equal area per filter


N_MELS = 80
fb = mel_filters_inline(SR, WINDOW, N_MELS)
np.testing.assert_allclose(fb, mel_filters(SR, WINDOW, N_MELS), rtol=1e-4, atol=1e-9)
print("inline mel filterbank == dac_minimal.loss.mel_filters:", fb.shape)

fig, ax = plt.subplots(figsize=(9, 3))
freqs = np.linspace(0, SR / 2, WINDOW // 2 + 1)
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
# Then the log. DAC's mel loss clamps mel magnitudes at $10^{-5}$ before $\log_{10}$, so that
# silence does not send the log to $-\infty$. We check our pipeline against the package's loss
# module, which computes exactly this at each of its seven scales (the scale with window 512 has
# 80 mels):

# %%
from dac_minimal.loss import MultiScaleMelLoss


def log_mel(x: np.ndarray, window: int, n_mels: int) -> np.ndarray:
    """log10 mel magnitudes ``(n_mels, frames)`` of ``x`` ``(T,)``, hop W / 4, clamped at 1e-5."""
    mel = mel_filters_inline(SR, window, n_mels) @ stft_inline(x, window, window // 4)
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
    extent = (0, len(clip) / SR, 0, 128)
    axes[1, col].imshow(
        lm, origin="lower", aspect="auto", cmap="magma", vmin=lm.max() - 4, extent=extent
    )
    axes[1, col].set(xlabel="time (s)")
axes[0, 0].set_ylabel("waveform")
axes[1, 0].set_ylabel("mel bin")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 1.5 Bits per second: PCM against tokens
#
# **PCM**, the uncompressed format of a WAV file, stores every sample as a 16-bit integer:
#
# $$44{,}100 \ \text{samples/s} \times 16 \ \text{bits}
#   = 705{,}600 \ \text{bits/s} = 705.6 \ \text{kbps}.$$
#
# **DAC** runs the waveform through an encoder whose strides multiply to the **hop**
# $M = \prod s = 2 \cdot 4 \cdot 8 \cdot 8 = 512$ samples, so it emits one latent vector, one
# **frame**, per 512 samples: $f_s / M = 44{,}100 / 512 \approx 86.13$ frames a second. Each frame
# is quantized by $n_q = 9$ residual **codebooks** of $K = 1024$ entries; each code is an integer in
# $[0, K)$, that is $\log_2 1024 = 10$ bits. The **bitrate** of the tokens is
#
# $$86.13 \times 9 \times 10 \approx 7{,}752 \ \text{bits/s} \approx 7.75 \ \text{kbps}.$$

# %%
pcm_bps = SR * 16
M, n_q, K = 512, 9, 1024  # hop, codebooks, entries per codebook
frame_rate = SR / M
bits_per_code = math.log2(K)
dac_bps = frame_rate * n_q * bits_per_code
print(f"PCM: {pcm_bps / 1000:.1f} kbps")
print(
    f"DAC: {frame_rate:.2f} frames/s x {n_q} codebooks x {bits_per_code:.0f} bits "
    f"= {dac_bps / 1000:.2f} kbps"
)
print(f"compression ratio: {pcm_bps / dac_bps:.1f}x")
assert pcm_bps == 705_600
assert abs(dac_bps - 7751.95) < 0.01
assert 90 < pcm_bps / dac_bps < 92

# %% [markdown]
# The package's model agrees. `DAC()` is the full 44.1 kHz model; its `bitrate()` is computed from
# its own configuration, not from our numbers. To read its configuration and count its parameters
# we need no weights, so we build it on PyTorch's `meta` device, which gives every parameter its
# shape but no memory and no values:

# %%
from dac_minimal import DAC

with torch.device("meta"):
    model = DAC()
n_params = sum(p.numel() for p in model.parameters())
print(
    f"{n_params / 1e6:.2f}M parameters; hop {model.hop_length}, {model.frame_rate:.2f} frames/s, "
    f"{model.n_codebooks} codebooks, bitrate {model.bitrate():.1f} bits/s"
)
assert model.hop_length == M and model.n_codebooks == n_q
assert model.frame_rate == frame_rate
assert math.isclose(model.bitrate(), dac_bps)

# %% [markdown]
# Thanks to **quantizer dropout** ([chapter 4](04_residual_vq.ipynb)), a DAC model can decode from
# the first few of its codebooks alone, so one model offers nine bitrates, 0.861 kbps for each
# codebook it uses:

# %%
used = np.arange(1, n_q + 1)
rates = [model.bitrate(int(q)) for q in used]
print("codebooks   kbps   ratio to PCM")
for q, r in zip(used, rates):
    print(f"{q:9d} {r / 1000:6.2f} {pcm_bps / r:12.0f}x")
np.testing.assert_allclose(rates, used * frame_rate * bits_per_code)

fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(used, np.array(rates) / 1000)
ax.set(
    xlabel="codebooks used", ylabel="kbps", title="The bitrate grows linearly with the codebooks"
)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Tokens, concretely
#
# What does the codec hand us for a clip? We encode the speech clip with the `tiny` preset: the
# same hop, codebooks and bitrate as the full model, with far fewer weights (the cell prints how
# many). This model is **untrained**, so its codes mean nothing yet, but their *shape* and their
# *bit count* are already right. The waveform enters as $x$ of shape $(B, 1, T)$; it is padded to
# a multiple of the hop, so $T$ samples become $L = \lceil T / M \rceil$ frames, and the codes have
# shape $(B, n_q, L)$.

# %%
tiny = DAC.from_preset("tiny").eval()
n_tiny = sum(p.numel() for p in tiny.parameters())
print(f"tiny: {n_tiny / 1e6:.2f}M parameters, {n_params / n_tiny:.0f} times fewer than DAC()")
assert tiny.bitrate() == model.bitrate()  # the same bitrate from far fewer weights
x = torch.from_numpy(clips["speech"]).view(1, 1, -1)  # (B, 1, T)
with torch.no_grad():
    codes = tiny.encode(x).codes  # (B, n_q, L)
T = x.shape[-1]
L = math.ceil(T / M)
print(
    f"x {tuple(x.shape)} -> codes {tuple(codes.shape)}, integers in [{codes.min()}, {codes.max()}]"
)
print("the first frame's 9 tokens:", codes[0, :, 0].tolist())
assert codes.shape == (1, n_q, L)
assert codes.min() >= 0 and codes.max() < K
bits = codes.numel() * bits_per_code
print(f"PCM:    {T:,} samples x 16 bits = {T * 16:,} bits, {T * 16 / SECONDS / 1000:.1f} kbps")
print(
    f"tokens: {n_q} x {L} = {codes.numel():,} codes x 10 bits = {bits:,.0f} bits, "
    f"{bits / SECONDS / 1000:.2f} kbps"
)
print(f"the last frame is padded: {L} frames hold {L * M:,} samples for the clip's {T:,}")

# %% [markdown]
# The cell above prints both sides for the clip: $T$ numbers of 16 bits as PCM, and $n_q \times L$
# numbers of 10 bits as tokens. The tokens come out a hair above 7.75 kbps because the last frame
# is padded. The rest of the book is about making those few integers sound like the original.

# %% [markdown]
# ## Key takeaways
#
# - Digital audio is $f_s$ samples a second; nothing above $f_s/2$ survives sampling, and whatever
#   is not filtered out above it beforehand aliases down to $f_s - f$.
# - The STFT shows frequency content over time; its window length trades time resolution against
#   frequency resolution, so a loss that must hear both looks at several windows.
# - The mel filterbank warps the STFT's frequency axis towards human hearing; DAC's mel loss
#   compares clamped $\log_{10}$ mel magnitudes, which our inline version reproduces.
# - 16-bit PCM at 44.1 kHz is 705.6 kbps; DAC's $9 \times 10$ bits per hop of $M = 512$ samples is
#   7.75 kbps, about 91 times smaller, and 0.861 kbps per codebook when fewer are used.
# - A codec's output for $x$ of shape $(B, 1, T)$ is a tensor of integers of shape $(B, n_q, L)$,
#   with $L = \lceil T / M \rceil$ frames.

# %% [markdown]
# ## Exercises
#
# ### Exercise 1.1 (★) Where does a 25 kHz tone go?
#
# A recording chain with a broken anti-aliasing filter samples a 25 kHz tone at 44.1 kHz. At what
# frequency does it appear? Predict it, then find the peak of the FFT of one second of the sampled
# tone.
#
# [Solution](solutions/01_audio_and_tokens.ipynb)
#
# ### Exercise 1.2 (★) The 24 kHz preset's bitrate
#
# The 24 kHz DAC preset has encoder strides $(2, 4, 5, 8)$ and $n_q = 32$ codebooks of 1024
# entries. Compute its hop $M$, its frame rate and its bitrate by hand, and its compression ratio
# against 16-bit PCM at 24 kHz; check them against the preset's configuration,
# `dac_minimal.model.PRESETS["24khz"]`.
#
# [Solution](solutions/01_audio_and_tokens.ipynb)
#
# ### Exercise 1.3 (★★) Resolving a semitone
#
# The notes A4 (440 Hz) and A♯4 (466.16 Hz) are a semitone apart. What is the shortest
# power-of-two STFT window (at 44.1 kHz, Hann) whose magnitude spectrum shows them as **two
# separate peaks**? Reason first (a Hann window's main lobe is $4 f_s / W$ Hz wide), then test
# windows $W = 2^{9} \dots 2^{14}$ on a signal holding both tones: count the local maxima between
# 400 and 500 Hz in a frame in the middle.
#
# [Solution](solutions/01_audio_and_tokens.ipynb)
#
# ### Exercise 1.4 (★★) Empty mel filters
#
# A window of $W = 32$ samples has only 17 STFT bins, 1378 Hz apart. Build an 80-band mel
# filterbank for it with `mel_filters(44_100, 32, 80)` and count the filters that are zero
# everywhere. Why are they empty, and why are none of them at the top of the spectrum? How many
# mel bands can a 32-sample window afford before the first empty filter appears? Compare with the
# bands that `MultiScaleMelLoss` uses at each of its windows, and with a fixed 64 bands.
#
# [Solution](solutions/01_audio_and_tokens.ipynb)
#
# ### Exercise 1.5 (★★★) Open-ended: what does a lower sample rate cost?
#
# DAC also comes at 24 kHz and 16 kHz. Take each toy clip down to $f_s / 3 = 14.7$ kHz and back up
# to 44.1 kHz, once with a proper resampler (`dac_minimal.utils.audio.resample`, which low-passes
# first) and once by naive decimation (keep every third sample). Measure what is lost: the energy
# above the new Nyquist frequency, the error below it, and the mel distance to the original. Which
# domain suffers most? Where does the aliased energy of the naive version land in the
# spectrogram? Then try $f_s / 2$, and a recording of your own.
#
# [Solution](solutions/01_audio_and_tokens.ipynb)

# %% [markdown]
# ## Further reading
#
# - [Kumar et al., *High-Fidelity Audio Compression with Improved RVQGAN*
#   (2023)](https://arxiv.org/abs/2306.06546): the DAC paper; its introduction makes the case for
#   44.1 kHz tokens at 8 kbps.
# - [The official DAC repository](https://github.com/descriptinc/descript-audio-codec): the code
#   and weights the book rebuilds; `dac/nn/loss.py` holds the mel loss of section 1.4.
# - [librosa's `filters.mel`](https://librosa.org/doc/latest/generated/librosa.filters.mel.html):
#   the Slaney mel scale and area normalisation that `dac_minimal.loss.mel_filters` uses.
# - [PyTorch's `torch.stft`](https://pytorch.org/docs/stable/generated/torch.stft.html): the
#   centring, padding and window conventions of section 1.3.
# - [The Nyquist–Shannon
#   theorem](https://en.wikipedia.org/wiki/Nyquist%E2%80%93Shannon_sampling_theorem) and
#   [aliasing](https://en.wikipedia.org/wiki/Aliasing): the theorem of section 1.1, with proofs
#   and pictures.
# - [Julius O. Smith, *Mathematics of the DFT*](https://ccrma.stanford.edu/~jos/mdft/): a free
#   textbook on sampling, the DFT and windows, written for audio.

# %% [markdown]
# [← 0. Preface](00_preface.ipynb) · [Contents](00_preface.ipynb) ·
# [2. Snake, a periodic activation →](02_snake.ipynb)
