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
# # 0. Preface
#
# A second of CD-quality mono sound is 44,100 numbers. That is too many to send cheaply over a
# network, and far too many for a language model, which reads one token at a time and pays for every
# token it attends to. A **neural audio codec** solves both problems at once: a network learns to
# turn sound into a short grid of integers, and another network learns to turn those integers back
# into sound that is hard to tell from the original. This book rebuilds one such codec, the Descript
# Audio Codec (DAC, "improved RVQGAN", Kumar et al., 2023), from first principles, one idea per
# chapter, and ends with a small language model that generates audio as DAC tokens.
#
# This preface is the map: what the codec computes, how its parts fit together, what you need
# before you start, where each idea is taught, and where the ideas came from.
#
# ## What you will learn
#
# - what a neural audio codec is, and why its output is a grid of integer **tokens**;
# - the arithmetic of frames, tokens and bits per second, computed from the package's own
#   configuration;
# - the whole system in one picture: the generator (encoder, residual vector quantizer, decoder),
#   the discriminators and the five loss terms that train it;
# - the notation and the vocabulary the chapters use, and which chapter teaches what;
# - the codecs and vocoders DAC builds on, and the ones that followed it.

# %%
# %matplotlib inline
import math

import torch

from dac_minimal import DAC, LOSS_WEIGHTS, PRESETS, ResidualUnit, Snake, count_parameters
from dac_minimal.tools.diagram import draw_system

torch.manual_seed(0)

# %% [markdown]
# ## 0.1 What a neural audio codec is
#
# A **codec** (coder-decoder) is a pair of programs: the coder turns a signal into a compact
# description, the decoder turns the description back into a signal. MP3 and Opus are codecs whose
# rules were designed by hand from what we know about hearing. A *neural* codec learns its rules
# from data. DAC has three learned parts:
#
# 1. an **encoder**, a stack of strided convolutions, that turns $T$ samples into $L = T / M$
#    latent vectors, one for every $M$ samples (the **hop**);
# 2. a **residual vector quantizer** (RVQ), that replaces each latent vector by the indices of its
#    nearest entries in $n_q$ learned tables (**codebooks**) of $K$ entries each: $n_q$ integers per
#    frame, each worth $\log_2 K$ bits;
# 3. a **decoder**, that turns the quantized latents back into $T$ samples.
#
# The integers are the **tokens** (or **codes**). They matter twice.
#
# - **Storage and streaming.** Tokens are what you store or send. Their cost in bits per second is
#   the **bitrate**: frames per second, times codebooks, times bits per code,
#   $\frac{f_s}{M} \cdot n_q \cdot \log_2 K$. Uncompressed 16-bit audio costs $16 f_s$ bits per
#   second.
# - **Language models over audio.** A transformer can predict the next token of a sequence of
#   integers from a finite vocabulary, whether the integers stand for words or for sound. Systems
#   such as AudioLM, VALL-E and MusicGen generate audio by generating codec tokens and decoding
#   them. For them the number that matters is tokens per second: attention costs grow with the
#   square of the sequence length, so a codec with few frames per second makes long audio possible.
#
# The cell below does the arithmetic for the 44.1 kHz model. Every number comes from the package:
# `PRESETS["44khz"]` is the configuration of the official model, and `DAC.from_preset("tiny")` is
# a model with the same rate, hop and codebooks but about a hundredth of the weights, small enough
# to build in a moment.

# %%
cfg = PRESETS["44khz"]  # the official 44.1 kHz model's configuration (a DACConfig)
model = DAC.from_preset("tiny").eval()  # same f_s, hop and codebooks, far fewer weights

f_s, M, n_q, K = cfg.sample_rate, cfg.hop_length, cfg.n_codebooks, cfg.codebook_size
bits = math.log2(K)
frames_per_second = f_s / M
bitrate = frames_per_second * n_q * bits
pcm = 16 * f_s
print(f"hop M = {' x '.join(map(str, cfg.encoder_rates))} = {M} samples")
print(f"{f_s} Hz / {M} = {frames_per_second:.2f} frames per second")
print(f"{frames_per_second:.2f} frames/s x {n_q} codebooks x {bits:g} bits", end=" ")
print(f"= {bitrate / 1e3:.2f} kbps")
print(f"16-bit PCM: {f_s} x 16 bits = {pcm / 1e3:.1f} kbps, {pcm / bitrate:.1f} times more")
assert math.isclose(model.frame_rate, frames_per_second) and math.isclose(model.bitrate(), bitrate)

# %% [markdown]
# The hop is the product of the encoder's strides, and the bitrate follows from four integers.
# The last line checks that the model's own `frame_rate` and `bitrate()` agree with the arithmetic.
#
# Here is what those tokens look like. We encode one second of noise with the tiny model. It is
# untrained, so its tokens mean nothing yet (chapter 8 trains it); what matters is their shape and
# type: one row per codebook, one column per frame, integers in $0 \ldots K-1$.

# %%
x = 0.1 * torch.randn(1, 1, f_s)  # one second, (B, 1, T)
with torch.no_grad():
    codes = model.encode(x).codes  # (B, n_q, L)
    x_hat = model.decode_codes(codes, length=x.shape[-1])  # (B, 1, T)
print(f"x {tuple(x.shape)} -> codes {tuple(codes.shape)} {codes.dtype}", end=" ")
print(f"-> x_hat {tuple(x_hat.shape)}")
print(f"L = ceil({x.shape[-1]} / {M}) = {model.n_frames(x.shape[-1])} frames")
print("first 8 frames of every codebook:\n", codes[0, :, :8])
assert codes.shape == (1, n_q, model.n_frames(f_s)) and 0 <= codes.min() and codes.max() < K

# %% [markdown]
# For a language model, the same arithmetic reads as sequence lengths. The cell below counts the
# tokens in a minute of audio: every codebook of every frame is one token to predict. Thanks to
# quantizer dropout ([chapter 4](04_residual_vq.ipynb)), the first few codebooks alone are already
# a coarser description of the sound, so a model may also work with fewer of them.

# %%
minute = 60 * f_s
frames = model.n_frames(minute)
print(f"one minute: {minute:,} samples, or {frames:,} frames x {n_q} codebooks")
print(f"  = {frames * n_q:,} tokens (all codebooks), {frames * 4:,} with the first 4 codebooks")
print(f"  that is {frames_per_second * n_q:.1f} tokens per second of audio", end=", ")
print(f"each standing for {minute / (frames * n_q):.1f} samples on average")

# %% [markdown]
# ## 0.2 The whole system in one picture
#
# The figure below is drawn by `dac_minimal.tools.diagram.draw_system` from three configurations
# in the package: the codec's (`DACConfig`), the discriminators' (`DiscriminatorConfig`) and the
# loss weights (`LossWeights`). Change one of them and the figure changes with it.

# %%
draw_system()  # the official 44.1 kHz codec, its discriminators and its loss weights

# %% [markdown]
# Read it from left to right, then from top to bottom.
#
# - **The generator $G$** (middle row) is everything that runs when you compress and decompress:
#   the encoder ([chapter 5](05_encoder_decoder.ipynb)) maps $x$ `(B, 1, T)` to $z_e$
#   `(B, C, L)`; the residual vector quantizer ([chapters 3](03_vector_quantization.ipynb) and
#   [4](04_residual_vq.ipynb)) replaces $z_e$ by $z_q$, the sum of one (projected) entry from
#   each of its $n_q$ codebooks, and emits the codes; the decoder maps $z_q$ back to $\hat x$
#   `(B, 1, T)`. Their activations are Snake ([chapter 2](02_snake.ipynb)), apart from the
#   decoder's final tanh.
# - **The tokens** (top) are the codes $c$ `(B, n_q, L)`: what a file stores
#   ([chapter 10](10_compression_in_practice.ipynb)) and what a language model reads
#   ([chapter 12](12_generating_with_tokens.ipynb)).
# - **The discriminators $D$** (bottom right) exist only in training
#   ([chapter 6](06_discriminators.ipynb)). They see real clips $x$ and reconstructions
#   $\hat x$ and learn to tell them apart: the multi-period discriminator looks at the waveform
#   folded by several periods, the multi-band multi-scale STFT discriminator at complex
#   spectrograms, band by band, at three window lengths.
# - **The losses** (bottom left) are what the generator is asked to lower
#   ([chapter 7](07_losses.ipynb)): a multi-scale mel distance between $x$ and $\hat x$, an
#   adversarial term and a feature-matching term computed through $D$, and the quantizer's
#   codebook and commitment terms. Their weights $\lambda$ are fixed, and training alternates one
#   step of $D$ with one step of $G$ ([chapter 8](08_training.ipynb)).
#
# How big is each part? The cell below builds the full 44.1 kHz model on PyTorch's `meta` device,
# which creates every tensor's shape without allocating or initialising its values, so counting
# its parameters costs almost nothing.

# %%
with torch.device("meta"):  # shapes only: no memory, no random initialisation
    full = DAC()
for name in ("encoder", "quantizer", "decoder"):
    print(f"{name:>9}: {count_parameters(getattr(full, name)) / 1e6:6.2f}M parameters")
print(f"{'total':>9}: {count_parameters(full) / 1e6:6.2f}M (the tiny preset: ", end="")
print(f"{count_parameters(model) / 1e6:.2f}M)")
print(f"generator loss weights: {LOSS_WEIGHTS}")

# %% [markdown]
# The decoder holds most of the weights: it is the wider network (its first convolution has
# `decoder_dim` channels, halved by each block, while the encoder starts from `encoder_dim` and
# doubles). The quantizer, which holds the codebooks, is tiny by comparison, because each codebook
# entry has only $d$ dimensions (chapter 3 explains why that helps).
#
# ## 0.3 Prerequisites
#
# You will need:
#
# - **Python**: functions, classes, dataclasses, list comprehensions, NumPy arrays and their
#   shapes.
# - **PyTorch basics**: tensors and broadcasting, `nn.Module`, autograd (`loss.backward()`), and
#   what one optimizer step does. The book explains every layer it uses (1-D convolutions, strided
#   and transposed convolutions, weight normalisation, embeddings, attention) where it first
#   appears.
# - **A little signal processing**: what a sine wave, a frequency and a sample are. Chapter 1
#   teaches the rest from scratch: sampling and the Nyquist limit, aliasing, the short-time Fourier
#   transform and the mel spectrogram.
# - **A little probability**: expectations, sampling from a distribution, and entropy in bits
#   (used to measure how evenly a codebook is used, and in the language model of chapter 12).
#
# No GAN experience is needed: chapters 6 to 8 build the adversarial part from the ground up.
#
# ## 0.4 Three ways to read this book
#
# **A student** reads the chapters in order, 1 to 12. Chapters 1 to 7 each build one idea inline,
# in a few lines of NumPy or PyTorch, and then check that it equals the package's version, so by
# chapter 8 every line of the training step is familiar. Run every cell, move the sliders, listen
# to the audio players, and try the ★ and ★★ exercises before moving on; the worked solutions are
# in `chapters/solutions/`, one notebook per chapter. Each chapter chooses its experiment sizes in
# one line of its setup cell (`sizes(...)` from `chapters/book.py`): raise them to run longer
# experiments.
#
# **An instructor** can assign chapters 1 to 7 as the core, one or two a week (2 and 3, 6 and 7
# pair well), then chapter 8 as the lab: its first sections train the tiny codec on a laptop CPU,
# and its last sections give the command lines for the full 44.1 kHz model on one GPU or several
# (`torchrun ... -m dac_minimal.train --preset 44khz`). Chapters 9 to 11 make a unit on
# evaluation and reproducibility, and chapter 12 a final project. The ★★★ exercises are open-ended
# experiments that work as projects; the solution notebooks give a worked way into each, so you may
# want to hand them out after the deadline.
#
# **A researcher** can start from the package: `from dac_minimal import DAC`, then `DAC.load` (our
# checkpoints and the official ones), `encode`, `decode_codes`, `compress` and `decompress` (the
# README, and the docstrings, which carry shapes and the paper's symbols). Then read chapters 9
# (what the metrics measure and miss), 10 (bitrates, the file format, long files, the official
# weights) and 11 (the paper's ablations in miniature), and `benchmarks/README.md`: every
# benchmark script with its command, numerical parity with the official package, training
# recipes, reference curves and the stored ablation results.
#
# ## 0.5 Contents
#
# - [1. Audio and tokens](01_audio_and_tokens.ipynb): sampling and aliasing, the STFT and the mel
#   spectrogram, the bitrates of PCM and of tokens, and the toy data set.
# - [2. Snake, a periodic activation](02_snake.ipynb): $x + \frac{1}{\alpha}\sin^2(\alpha x)$, its
#   gradients, and why a periodic bias extrapolates periodic signals where ReLUs do not.
# - [3. Vector quantization and straight-through gradients](03_vector_quantization.ipynb):
#   nearest-neighbour lookup, the codebook and commitment losses, the straight-through estimator,
#   codebook collapse and its cure.
# - [4. Residual vector quantization and quantizer dropout](04_residual_vq.ipynb): quantizing what
#   is left over, the bitrate of each codebook, one model for many bitrates.
# - [5. The encoder and the decoder](05_encoder_decoder.ipynb): strided and transposed
#   convolutions, residual units, weight normalisation, the receptive field, the parameter budget.
# - [6. The discriminators](06_discriminators.ipynb): the multi-period and the multi-band
#   multi-scale complex STFT discriminators.
# - [7. Losses: what the generator is asked to do](07_losses.ipynb): the multi-scale mel loss, GAN
#   losses, feature matching, the loss weights, and EnCodec's balancer for contrast.
# - [8. Training: two players, one loop](08_training.ipynb): the data, one training step, a CPU run
#   of the tiny codec, and the full recipe on GPUs.
# - [9. Evaluation: what the numbers see, and what they miss](09_evaluation.ipynb): MSE, SNR,
#   SI-SDR, mel and STFT distances, codebook utilization, the report's Table 1 and Figures 5-7,
#   Opus and MP3 at the same bitrate.
# - [10. Compression in practice: bitrates, bytes, long files and real
#   weights](10_compression_in_practice.ipynb): quality against bitrate, the `.dacm` file byte by
#   byte, long audio in chunks, the official weights, faster inference.
# - [11. Reproducing the claims](11_reproducing_the_claims.ipynb): the paper's ablations in
#   miniature: Snake, factorized codes, quantizer dropout, mel bins, the multi-band discriminator.
# - [12. Generating audio with codec tokens](12_generating_with_tokens.ipynb): from a grid of codes
#   to a sequence, a small transformer over tokens, continuing a clip.
#
# ## 0.6 Notation
#
# The chapters use one set of symbols. The last column gives the 44.1 kHz model's values; the cell
# after the table checks its numbers against the package.
#
# | symbol | meaning | shape or value (44.1 kHz model) |
# |---|---|---|
# | $x$ | a waveform | `(B, 1, T)`, samples in $[-1, 1]$ |
# | $\hat x$ | its reconstruction | `(B, 1, T)` |
# | $T$ | number of samples | |
# | $f_s$ | sample rate | 44,100 Hz |
# | $B$ | batch size | |
# | $s$ | a block's stride | encoder 2, 4, 8, 8; decoder 8, 8, 4, 2 |
# | $M = \prod s$ | the hop: samples per latent frame | 512 |
# | $L = T / M$ | number of frames (rounded up) | $f_s / M$ per second |
# | $\kappa$ | a kernel size | 7 in the residual units, $2s$ in a strided convolution |
# | $\delta$ | a dilation | 1, 3, 9 in each block's residual units |
# | $C$ | channels | encoder 64 to 1024, decoder 1536 to 96 |
# | $z_e$ | the encoder's output | `(B, C, L)`, $C$ = 1024 |
# | $z_q$ | its quantized version | `(B, C, L)` |
# | $n_q$ | number of codebooks | 9 |
# | $K$ | entries per codebook | 1024 ($\log_2 K$ = 10 bits) |
# | $d$ | codebook dimension | 8 |
# | $e_k$ | codebook entry $k$ | `(d,)` |
# | $k^\star$ | the chosen entry (nearest neighbour) | an integer in $0 \ldots K-1$ |
# | $r_i$ | the residual codebook $i$ quantizes | `(B, C, L)`, $r_1 = z_e$ |
# | $c$ | a code (token) | an integer in $0 \ldots K-1$; all codes `(B, n_q, L)` |
# | $\alpha$ | Snake's per-channel frequency | `(1, C, 1)`, starts at 1 |
# | $p$ | quantizer dropout probability | 0.5 |
# | $\beta$ | commitment weight | 0.25 |
# | $\lambda$ | loss weights | mel 15, feature matching 2, adversarial 1, codebook 1 |
# | $G$ | the generator: encoder, quantizer, decoder | |
# | $D$ | a discriminator | |
# | $\tau$ | a sampling temperature | chapter 12 |
# | $W$, $h$ | an STFT's window length and hop | $h = W/4$ in the losses and discriminators |

# %%
units = [m for m in full.modules() if isinstance(m, ResidualUnit)]
snakes = [m for m in model.modules() if isinstance(m, Snake)]  # the untrained tiny model's
table = {
    "f_s": (cfg.sample_rate, 44_100),
    "s (encoder)": (cfg.encoder_rates, (2, 4, 8, 8)),
    "s (decoder)": (cfg.decoder_rates, (8, 8, 4, 2)),
    "M": (cfg.hop_length, 512),
    "kappa (residual units)": ({u.block[1].kernel_size[0] for u in units}, {7}),
    "delta": ({u.block[1].dilation[0] for u in units}, {1, 3, 9}),
    "C (encoder's first, latent, decoder's first)": (
        (cfg.encoder_dim, cfg.latent_dim, cfg.decoder_dim),
        (64, 1024, 1536),
    ),
    "n_q, K, d": ((n_q, K, cfg.codebook_dim), (9, 1024, 8)),
    "alpha at initialisation": (
        {a for m in snakes for a in m.alpha.detach().flatten().tolist()},
        {1.0},
    ),
    "p": (cfg.quantizer_dropout, 0.5),
    "beta": (LOSS_WEIGHTS.commitment, 0.25),
    "lambda": (
        (LOSS_WEIGHTS.mel, LOSS_WEIGHTS.feature, LOSS_WEIGHTS.adversarial, LOSS_WEIGHTS.codebook),
        (15, 2, 1, 1),
    ),
}
for symbol, (package, in_table) in table.items():
    assert package == in_table, (symbol, package, in_table)
print(f"the {len(table)} rows checked agree with the package")

# %% [markdown]
# ## 0.7 Glossary
#
# - **Codec**: a coder that turns a signal into a compact description and a decoder that turns it
#   back; lossy if the decoded signal only approximates the original
#   ([chapter 1](01_audio_and_tokens.ipynb)).
# - **Token / code**: one integer emitted by the quantizer, the index of a codebook entry; a clip
#   becomes a grid of $n_q \times L$ of them ([chapter 3](03_vector_quantization.ipynb)).
# - **Codebook**: a learned table of $K$ vectors; quantizing a vector means replacing it by its
#   nearest entry ([chapter 3](03_vector_quantization.ipynb)).
# - **RVQ (residual vector quantization)**: a cascade of codebooks, each quantizing what the
#   previous ones left over, so each added codebook refines the approximation
#   ([chapter 4](04_residual_vq.ipynb)).
# - **Quantizer dropout**: in training, a fraction $p$ of the batch uses only the first $n$
#   codebooks (random $n$), so that one model works at every bitrate
#   ([chapter 4](04_residual_vq.ipynb)).
# - **Bitrate**: bits per second of the compressed stream: frames per second times codebooks times
#   $\log_2 K$ ([chapter 1](01_audio_and_tokens.ipynb),
#   [chapter 10](10_compression_in_practice.ipynb)).
# - **Frame**: one time step of the latent, standing for $M$ consecutive samples
#   ([chapter 5](05_encoder_decoder.ipynb)).
# - **Hop**: the step between consecutive frames, in samples: $M$ for the encoder, $h$ for an
#   STFT ([chapter 1](01_audio_and_tokens.ipynb), [chapter 5](05_encoder_decoder.ipynb)).
# - **Snake**: the activation $x + \frac{1}{\alpha}\sin^2(\alpha x)$ with a learned frequency
#   $\alpha$ per channel; a periodic bias for periodic signals ([chapter 2](02_snake.ipynb)).
# - **Weight normalisation**: writing a weight as $g \cdot v / \lVert v \rVert$, so that its size
#   $g$ and its direction $v$ are learned separately ([chapter 5](05_encoder_decoder.ipynb)).
# - **Mel spectrogram**: STFT magnitudes pooled into bands spaced like human pitch perception,
#   narrow at low frequencies and wide at high ones ([chapter 1](01_audio_and_tokens.ipynb)).
# - **Mel distance**: the L1 distance between log mel spectrograms of $x$ and $\hat x$, summed over
#   several window lengths; DAC's main reconstruction loss ([chapter 7](07_losses.ipynb)) and a
#   standard metric ([chapter 9](09_evaluation.ipynb)).
# - **GAN (generative adversarial network)**: two networks trained against each other, a generator
#   that produces samples and a discriminator that tells them from real ones
#   ([chapter 6](06_discriminators.ipynb), [chapter 8](08_training.ipynb)).
# - **Generator**: here, the whole codec $G$ (encoder, quantizer, decoder), whose output $\hat x$
#   the discriminators judge ([chapter 8](08_training.ipynb)).
# - **Discriminator**: a network $D$ that scores how real a clip looks; DAC uses a multi-period
#   and a multi-band multi-scale STFT discriminator ([chapter 6](06_discriminators.ipynb)).
# - **Feature matching**: a loss that makes the discriminator's intermediate feature maps of
#   $\hat x$ match those of $x$ (L1), a steadier signal than the final score alone
#   ([chapter 7](07_losses.ipynb)).
# - **Commitment loss**: $\lVert z_e - \mathrm{sg}[e] \rVert^2$, which pulls the encoder's output
#   towards its chosen codebook entry, weighted by $\beta$
#   ([chapter 3](03_vector_quantization.ipynb)).
# - **Codebook loss**: $\lVert \mathrm{sg}[z_e] - e \rVert^2$, which pulls the chosen codebook
#   entry towards the encoder's output ([chapter 3](03_vector_quantization.ipynb)).
# - **Straight-through estimator**: passing the gradient through the non-differentiable lookup as
#   if it were the identity, $z_q = z_e + \mathrm{sg}[e - z_e]$
#   ([chapter 3](03_vector_quantization.ipynb)).
# - **Codebook collapse**: training that ends up using only a few entries of a codebook, wasting
#   its bits ([chapter 3](03_vector_quantization.ipynb),
#   [chapter 11](11_reproducing_the_claims.ipynb)).
# - **Utilization**: the share of a codebook's entries that are used on an evaluation set; with
#   perplexity, the measure of collapse ([chapter 3](03_vector_quantization.ipynb),
#   [chapter 9](09_evaluation.ipynb)).
# - **LUFS**: loudness units relative to full scale (ITU-R BS.1770), a loudness measure weighted
#   like hearing; training clips are normalised to a fixed LUFS level
#   ([chapter 8](08_training.ipynb)).
#
# ## 0.8 From the report to the chapters
#
# The chapters cite the DAC report by its section, equation, table and figure numbers (for
# example "report §3.5" or "the report's Fig. 4"). It summarises Kumar et al., 2023; the numbers
# are the report's.
#
# | report | topic | chapters |
# |---|---|---|
# | Abstract, §1 | tokens for language models; 8 kbps at 44.1 kHz | [1][c1], [12][c12] |
# | §2.1 | GAN vocoders: MelGAN, HiFi-GAN, UnivNet, BigVGAN | [2][c2], [6][c6], [7][c7] |
# | §2.2 | neural codecs: VQ-VAE, SoundStream, EnCodec | [3][c3], [4][c4], [7][c7] |
# | §2.3 | language models of natural signals | [12][c12] |
# | §3.1 | the encoder-decoder, the frame rate $f_s / M$, the code matrix | [1][c1], [5][c5] |
# | §3.2, eq. 1 | the Snake activation | [2][c2], [11][c11] |
# | §3.3 | the multi-period and multi-band STFT discriminators | [6][c6], [11][c11] |
# | §3.4, eq. 2, Fig. 4 | quantizer dropout; quality vs bitrate | [4][c4], [10][c10], [11][c11] |
# | §3.5, eq. 3 | codebook and commitment losses, straight-through gradients | [3][c3] |
# | §3.5, eq. 4 | the adversarial loss and feature matching | [7][c7] |
# | §3.5, eq. 5 | EnCodec's gradient balancer, which DAC does without | [7][c7] |
# | §3.5 | the multi-scale mel loss, its mel bins, the loss weights | [7][c7], [11][c11] |
# | §4.1, §4.2 | data, loudness normalisation, balanced sampling | [8][c8] |
# | §4.3 | the model and the recipe (and garbled stride lists) | [5][c5], [6][c6], [8][c8] |
# | §4.4 | objective metrics | [9][c9] |
# | §5, Table 1, Figs. 5-7 | utilization, SNR, MSE, MFCC and spectrograms | [9][c9] |
# | §6 | conclusions and limits | [9][c9], [11][c11] |
#
# [c1]: 01_audio_and_tokens.ipynb
# [c2]: 02_snake.ipynb
# [c3]: 03_vector_quantization.ipynb
# [c4]: 04_residual_vq.ipynb
# [c5]: 05_encoder_decoder.ipynb
# [c6]: 06_discriminators.ipynb
# [c7]: 07_losses.ipynb
# [c8]: 08_training.ipynb
# [c9]: 09_evaluation.ipynb
# [c10]: 10_compression_in_practice.ipynb
# [c11]: 11_reproducing_the_claims.ipynb
# [c12]: 12_generating_with_tokens.ipynb
#
# ## 0.9 Where DAC comes from
#
# DAC introduced few entirely new parts. Its strength is a careful choice among ideas from
# vocoders (networks that turn spectrograms into waveforms), from earlier neural codecs and from
# image tokenizers, plus a few changes of its own: the multi-band complex STFT discriminator, the
# multi-scale mel loss with scaled mel bins, quantizer dropout applied to only part of each batch,
# and fixed loss weights instead of a balancer.
#
# | year | work | what it introduced | what DAC kept |
# |---|---|---|---|
# | 2017 | [VQ-VAE][vqvae] | codebook and commitment losses, straight-through gradients | all |
# | 2019 | [MelGAN][melgan] | a multi-scale waveform $D$; feature matching | feature matching |
# | 2020 | [HiFi-GAN][hifigan] | the multi-period $D$; an L1 mel loss beside the GAN losses | both |
# | 2020 | [Snake][snake] | the activation $x + \frac{1}{\alpha}\sin^2(\alpha x)$ | Snake |
# | 2020 | [VQGAN][vqgan] | a quantized autoencoder trained adversarially, as tokenizer | recipe |
# | 2021 | [SoundStream][ss] | a codec for all audio; conv encoder/decoder, RVQ, dropout | all |
# | 2021 | [UnivNet][univnet] | a multi-resolution spectrogram $D$ | several resolutions |
# | 2021 | [Improved VQGAN][vit] | factorized (low-dimensional) and L2-normalised codes | both |
# | 2022 | [EnCodec][encodec] | a multi-scale complex STFT $D$; a loss balancer | the STFT $D$ |
# | 2022 | [BigVGAN][bigvgan] | Snake in a universal vocoder: a periodic inductive bias | Snake |
#
# [vqvae]: https://arxiv.org/abs/1711.00937
# [melgan]: https://arxiv.org/abs/1910.06711
# [hifigan]: https://arxiv.org/abs/2010.05646
# [snake]: https://arxiv.org/abs/2006.08195
# [vqgan]: https://arxiv.org/abs/2012.09841
# [ss]: https://arxiv.org/abs/2107.03312
# [univnet]: https://arxiv.org/abs/2106.07889
# [vit]: https://arxiv.org/abs/2110.04627
# [encodec]: https://arxiv.org/abs/2210.13438
# [bigvgan]: https://arxiv.org/abs/2206.04658
#
# What DAC changed in what it kept: MelGAN's multi-scale waveform discriminator is only an option,
# off in the 44.1 kHz recipe; HiFi-GAN's mel loss became a sum over seven window lengths, with the
# number of mel bins growing with the window; SoundStream's quantizer dropout applies to a fraction
# $p$ of each batch instead of all of it; UnivNet's magnitude spectrograms became EnCodec's complex
# ones, split into frequency bands with a conv stack each; the codes are factorized and
# L2-normalised as in the improved VQGAN; and EnCodec's balancer gave way to fixed weights.
#
# Codecs that followed DAC kept its parts and moved the trade-offs, mostly towards fewer tokens
# per second for language models; they are in the further reading below: Mimi (from Moshi), which
# runs at a much lower frame rate and makes its first codebook carry speech content; SNAC, which
# lets coarse codebooks tick more slowly than fine ones; and WavTokenizer, which uses a single
# large codebook.
#
# ## Key takeaways
#
# - A neural codec is an encoder, a quantizer and a decoder trained together; its output is a
#   grid of integers, $n_q$ codebooks by $L = T/M$ frames.
# - The bitrate follows from four numbers, $\frac{f_s}{M} \cdot n_q \cdot \log_2 K$; the cell in
#   section 0.1 computes it from the package's configuration and compares it with 16-bit PCM.
# - For a language model, what counts is tokens per second: a long hop $M$ and few codebooks make
#   short sequences.
# - Only the generator runs at compression time; the discriminators and the five weighted loss
#   terms exist to train it.
# - DAC is a careful assembly of earlier ideas (VQ-VAE, MelGAN, HiFi-GAN, SoundStream, EnCodec,
#   improved VQGAN, BigVGAN's Snake) with a few changes of its own, most of which chapter 11
#   tests in miniature.
#
# ## Exercises
#
# ### Exercise 0.1 (★) Bitrates of the other configurations
#
# The package has four more presets: `"44khz_16kbps"`, `"24khz"`, `"16khz"` and `"tiny"`. From
# each one's sample rate, encoder strides, number of codebooks and codebook size (print
# `PRESETS[name]`), work out by hand its hop, frames per second, bitrate with all codebooks, and
# how many times smaller that is than 16-bit PCM at the same sample rate. Then check your numbers
# against a model built with `DAC.from_preset(name)`.
#
# [Solution](solutions/00_preface.ipynb)
#
# ### Exercise 0.2 (★) Which loss trains which part?
#
# Using the figure in section 0.2 and the glossary's formulas (with $\mathrm{sg}$, the stop
# gradient): which loss terms send a gradient to the codebook entries, which to the encoder, and
# which to the decoder? Why does the straight-through estimator leave the codebook entries out of
# the reconstruction losses' reach? Check your answer with autograd on the tiny model.
#
# [Solution](solutions/00_preface.ipynb)
#
# ### Exercise 0.3 (★★) Tokens per second for a language model
#
# A language model over DAC tokens reads 30 seconds of audio. Compute, for the 44.1 kHz model:
# (a) the number of frames; (b) the sequence length when all codebooks are flattened into one
# sequence, frame after frame; (c) the same with only the first 4 codebooks; (d) the number of
# steps with MusicGen's delay layout (chapter 12), where the $n_q$ codebooks are predicted in
# parallel, codebook $k$ shifted right by $k$ steps. How many seconds of audio fit in a context of
# 2048 positions in (b), where a position is one token, and in (d), where it is one step of $n_q$
# tokens? By what factor does attention's quadratic cost differ between (b) and (d)? Confirm (a)
# by encoding a clip with the tiny model.
#
# [Solution](solutions/00_preface.ipynb)
#
# ### Exercise 0.4 (★★★) Open-ended: a codec for 16 kHz speech at a bitrate you choose
#
# Design a DAC configuration for 16 kHz speech at 1.5 kbps (or a target of your own). Choose the
# encoder strides (and the decoder's, in reverse), $n_q$ and $K$ so that the bitrate meets the
# target, and argue for your frame rate: what does a longer hop cost, and what does it buy a
# language model? Build your candidates with `DACConfig` (or `DAC.from_preset("16khz", ...)` with
# overrides), check their bitrate, frame rate and the shapes of their codes and output, and count
# their parameters. Compare your design with the official 16 kHz preset.
#
# [Solution](solutions/00_preface.ipynb)
#
# ## Further reading
#
# **The codec itself**
#
# - [Kumar et al., "High-Fidelity Audio Compression with Improved RVQGAN",
#   2023](https://arxiv.org/abs/2306.06546): the DAC paper, the source of every design choice in
#   this book.
# - [descriptinc/descript-audio-codec](https://github.com/descriptinc/descript-audio-codec): the
#   official code and weights, against which the package is checked numerically.
#
# **What DAC builds on** (the table in section 0.9)
#
# - [van den Oord et al., "Neural Discrete Representation Learning" (VQ-VAE),
#   2017](https://arxiv.org/abs/1711.00937): codebooks, the commitment loss and straight-through
#   gradients.
# - [Kumar et al., "MelGAN", 2019](https://arxiv.org/abs/1910.06711): GAN vocoders, the multi-scale
#   waveform discriminator and feature matching.
# - [Kong et al., "HiFi-GAN", 2020](https://arxiv.org/abs/2010.05646): the multi-period
#   discriminator and the mel loss.
# - [Liu Ziyin et al., "Neural Networks Fail to Learn Periodic Functions and How to Fix It",
#   2020](https://arxiv.org/abs/2006.08195): the Snake activation.
# - [Esser et al., "Taming Transformers for High-Resolution Image Synthesis" (VQGAN),
#   2020](https://arxiv.org/abs/2012.09841): quantized autoencoders trained adversarially, as
#   tokenizers for transformers.
# - [Zeghidour et al., "SoundStream", 2021](https://arxiv.org/abs/2107.03312): residual VQ and
#   quantizer dropout in an end-to-end neural codec.
# - [Jang et al., "UnivNet", 2021](https://arxiv.org/abs/2106.07889): the multi-resolution
#   spectrogram discriminator.
# - [Yu et al., "Vector-quantized Image Modeling with Improved VQGAN",
#   2021](https://arxiv.org/abs/2110.04627): factorized and L2-normalised codes.
# - [Défossez et al., "High Fidelity Neural Audio Compression" (EnCodec),
#   2022](https://arxiv.org/abs/2210.13438): the multi-scale STFT discriminator and the loss
#   balancer.
# - [Lee et al., "BigVGAN", 2022](https://arxiv.org/abs/2206.04658): Snake in a universal vocoder.
#
# **The methods the chapters use**
#
# - [Salimans and Kingma, "Weight Normalization", 2016](https://arxiv.org/abs/1602.07868): the
#   reparametrization on every generator convolution (chapter 5).
# - [Odena et al., "Deconvolution and Checkerboard Artifacts",
#   2016](https://distill.pub/2016/deconv-checkerboard/): why transposed convolutions leave a grid
#   in their output (chapter 5).
# - [Goodfellow et al., "Generative Adversarial Networks", 2014](https://arxiv.org/abs/1406.2661),
#   [Mao et al., "Least Squares GANs", 2016](https://arxiv.org/abs/1611.04076) and [Lim and Ye,
#   "Geometric GAN", 2017](https://arxiv.org/abs/1705.02894): the original, least squares and hinge
#   objectives compared in chapter 7.
# - [Bengio et al., "Estimating or Propagating Gradients Through Stochastic Neurons",
#   2013](https://arxiv.org/abs/1308.3432): the straight-through estimator (chapter 3).
# - [Loshchilov and Hutter, "Decoupled Weight Decay Regularization" (AdamW),
#   2017](https://arxiv.org/abs/1711.05101): the optimizer of chapter 8.
# - [ITU-R BS.1770](https://www.itu.int/rec/R-REC-BS.1770): the loudness measure (LUFS) that
#   training clips are normalised with (chapter 8).
# - [Le Roux et al., "SDR - Half-baked or Well Done?", 2018](https://arxiv.org/abs/1811.02508) and
#   [Chinen et al., "ViSQOL v3", 2020](https://arxiv.org/abs/2004.09584): SI-SDR and ViSQOL, two of
#   chapter 9's metrics.
# - [RFC 6716, the Opus codec](https://datatracker.ietf.org/doc/html/rfc6716): the hand-designed
#   codec chapters 9 and 10 compare against.
#
# **Language models over tokens** (chapter 12)
#
# - [Vaswani et al., "Attention Is All You Need", 2017](https://arxiv.org/abs/1706.03762): the
#   transformer.
# - [Dhariwal et al., "Jukebox", 2020](https://arxiv.org/abs/2005.00341): music generated as VQ
#   tokens, and the dead-code reset chapters 3 and 11 use.
# - [Borsos et al., "AudioLM", 2022](https://arxiv.org/abs/2209.03143), [Wang et al., "VALL-E",
#   2023](https://arxiv.org/abs/2301.02111) and [Agostinelli et al., "MusicLM",
#   2023](https://arxiv.org/abs/2301.11325): audio, speech and music generated as codec tokens.
# - [Copet et al., "Simple and Controllable Music Generation" (MusicGen),
#   2023](https://arxiv.org/abs/2306.05284): the delay layout of chapter 12.
# - [karpathy/nanoGPT](https://github.com/karpathy/nanoGPT): a small, readable transformer and
#   training loop, the style the package's training loop and chapter 12's model follow.
#
# **Codecs that followed DAC**
#
# - [Défossez et al., "Moshi: a speech-text foundation model for real-time dialogue",
#   2024](https://arxiv.org/abs/2410.00037) ([code](https://github.com/kyutai-labs/moshi)): its
#   codec, Mimi, is a streaming codec at 12.5 frames per second whose first codebook is distilled
#   from a self-supervised speech model.
# - [Siuzdak et al., "SNAC: Multi-Scale Neural Audio Codec", 2024](https://arxiv.org/abs/2410.14411)
#   ([code](https://github.com/hubertsiuzdak/snac)): RVQ levels at different frame rates, built on
#   DAC's modules.
# - [Ji et al., "WavTokenizer", 2024](https://arxiv.org/abs/2408.16532): one quantizer with a large
#   codebook, a few dozen tokens per second of 24 kHz audio.

# %% [markdown]
# [Contents](00_preface.ipynb) · [1. Audio and tokens →](01_audio_and_tokens.ipynb)
