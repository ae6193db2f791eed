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
# # Chapter 4: Residual vector quantization and quantizer dropout
#
# Chapter 3 quantized a vector with one codebook of $K$ entries: $\log_2 K$ bits. To send more detail we need
# more bits per frame, and one codebook with $2^{90}$ entries is not an option. **Residual vector quantization**
# (RVQ) uses $N_q$ small codebooks in a cascade instead: the first quantizes the latent, the second quantizes what
# the first got wrong, and so on. DAC uses $N_q = 9$ codebooks of 1024 entries: 90 bits per frame from nine
# lookups in tables of 1024.
#
# The cascade has a gift: the first $n_q$ codes alone are already a (coarser) code, so one model can run at many
# bitrates. **Quantizer dropout** trains the model to make use of that gift. This chapter:
#
# 1. builds the cascade inline and checks it against `dac_minimal.quantize.ResidualVectorQuantize`;
# 2. trains one and plots its quantization error against the number of codebooks;
# 3. does the bitrate arithmetic for every $n_q$;
# 4. trains small codecs with quantizer dropout $p \in \{0, 0.5, 1\}$ and compares them (the report's Fig. 4);
# 5. encodes a toy clip and lets you *hear* what each extra codebook adds.

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Audio, display
from ipywidgets import IntSlider, interact
from torch import nn

from dac_minimal import DAC
from dac_minimal.data import toy_clip
from dac_minimal.model import PRESETS
from dac_minimal.quantize import ResidualVectorQuantize

SMOKE = os.environ.get("DAC_BOOK_SMOKE") == "1"
torch.manual_seed(0)
rng = np.random.default_rng(0)
# Every model here is tiny: a second thread only adds synchronisation, which on a busy shared CPU can make
# training many times slower.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. The cascade
#
# Write $Q_i$ for quantizer $i$ (chapter 3's factorized, L2-normalised VQ: project to 8-d, cosine lookup, project
# back). Starting from the encoder output $z$ and the residual $r_0 = z$:
#
# $$\hat z_i = Q_i(r_{i-1}), \qquad r_i = r_{i-1} - \hat z_i, \qquad z_q^{(n_q)} = \sum_{i=1}^{n_q} \hat z_i .$$
#
# Each stage sees only what the earlier ones left over, so $z - z_q^{(n_q)} = r_{n_q}$: the error of the whole
# cascade *is* the last residual. We write it out with the package's own quantizer modules (so the weights are the
# same), doing the lookup and the projections by hand.


# %%
def rvq_inline(
    rvq: ResidualVectorQuantize, z: torch.Tensor, n_q: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The residual cascade over the first ``n_q`` quantizers of ``rvq``: z (B, D, S) → (z_q (B, D, S), codes (B, n_q, S))."""
    residual, z_q, codes = z, torch.zeros_like(z), []
    for quantizer in rvq.quantizers[:n_q]:
        z_e = quantizer.in_proj(residual)  # (B, d, S): this stage's view of the residual
        book = F.normalize(quantizer.codebook.weight, dim=1)  # (K, d)
        k = torch.einsum("bds,kd->bsk", F.normalize(z_e, dim=1), book).argmax(
            -1
        )  # (B, S) cosine lookup
        z_hat = quantizer.out_proj(
            quantizer.codebook.weight[k].transpose(1, 2)
        )  # (B, D, S) back to D
        z_q, residual = z_q + z_hat, residual - z_hat
        codes.append(k)
    return z_q, torch.stack(codes, dim=1)


D, N_Q, K = 32, 6, 64
rvq = ResidualVectorQuantize(input_dim=D, n_codebooks=N_Q, codebook_size=K, codebook_dim=8).eval()
z = torch.randn(2, D, 25)  # (B, D, S)
with torch.no_grad():
    for n_q in range(1, N_Q + 1):
        ours_z_q, ours_codes = rvq_inline(rvq, z, n_q)
        out = rvq(z, n_quantizers=n_q)
        assert torch.equal(ours_codes, out.codes)
        torch.testing.assert_close(ours_z_q, out.z_q)
        torch.testing.assert_close(rvq.from_codes(out.codes), out.z_q)  # codes alone rebuild z_q
print(
    f"inline cascade == ResidualVectorQuantize for n_q = 1..{N_Q}: same codes, same z_q; codes shape {tuple(out.codes.shape)}"
)

# %% [markdown]
# Because stage $i$ never looks at stages after it, the codes of a short cascade are a **prefix** of the codes of a
# long one. That is what makes one model serve many bitrates: encode once with all $N_q$ codebooks, and a receiver
# that wants fewer bits just keeps the first rows.

# %%
with torch.no_grad():
    full = rvq(z).codes  # (B, N_q, S)
    for n_q in range(1, N_Q + 1):
        assert torch.equal(rvq(z, n_quantizers=n_q).codes, full[:, :n_q])
print("codes with n_q codebooks == the first n_q rows of the full codes, for every n_q")

# %% [markdown]
# ## 2. Error against the number of codebooks
#
# A freshly initialised RVQ is a poor quantizer: its projections are random, so a stage can even *add* error.
# We train one on a stream of latent vectors. They come from a fixed, non-linear 8-dimensional manifold inside
# $\mathbb{R}^{32}$, a stand-in for what an encoder produces. The loss is the quantization error
# $\lVert z - z_q\rVert^2$ plus the codebook and commitment losses of chapter 3 (weights 1 and 0.25), which the
# package returns summed over the codebooks.

# %%
LATENT_DIM = 32
_g = torch.Generator().manual_seed(0)
_lift = torch.randn(8, LATENT_DIM, generator=_g)
_mix = torch.randn(LATENT_DIM, LATENT_DIM, generator=_g) / LATENT_DIM**0.5


def latents(n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` vectors (n, 32) on a curved 8-d manifold: tanh of a random linear lift of 8 Gaussian factors, mixed."""
    return 2 * torch.tanh(torch.randn(n, 8, generator=gen) @ _lift / 2) @ _mix


held_out = latents(4096, torch.Generator().manual_seed(5))


def relative_error_db(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Error energy relative to the signal's variance, in dB (−10 dB: the error holds 10 % of the variance)."""
    return 10 * math.log10(((x - x_hat) ** 2).sum().item() / ((x - x.mean(0)) ** 2).sum().item())


def rvq_error_curve(rvq: ResidualVectorQuantize) -> list[float]:
    """Relative quantization error (dB) on the held-out latents with the first 1..N_q codebooks."""
    with torch.no_grad():
        return [
            relative_error_db(held_out, rvq(held_out[:, :, None], n)[0][:, :, 0])
            for n in range(1, N_Q + 1)
        ]


torch.manual_seed(0)
rvq = ResidualVectorQuantize(LATENT_DIM, n_codebooks=N_Q, codebook_size=K, codebook_dim=8)
untrained = rvq_error_curve(rvq.eval())
rvq.train()
opt = torch.optim.Adam(rvq.parameters(), lr=3e-3)
gen = torch.Generator().manual_seed(1)
for _ in range(150 if SMOKE else 400):
    z = latents(256, gen)[:, :, None]  # (B, D, S=1)
    out = rvq(z)
    loss = F.mse_loss(out.z_q, z) + out.codebook_loss + 0.25 * out.commitment_loss
    opt.zero_grad()
    loss.backward()
    opt.step()
trained = rvq_error_curve(rvq.eval())

plt.figure(figsize=(6, 3.5))
plt.plot(range(1, N_Q + 1), untrained, "o--", label="untrained")
plt.plot(range(1, N_Q + 1), trained, "o-", label="trained")
plt.xlabel("codebooks used, $n_q$")
plt.ylabel("quantization error (dB)")
plt.title(f"RVQ on 32-d latents, K = {K}")
plt.legend()
plt.grid(alpha=0.3)
plt.show()
print("untrained, dB per n_q:", np.round(untrained, 1))
print("trained,   dB per n_q:", np.round(trained, 1))
assert all(b < a for a, b in zip(trained, trained[1:]))  # every codebook removes error
assert trained[-1] < trained[0] - 3

# %% [markdown]
# Untrained, every stage makes things *worse*: random projections add more error than they remove. Trained, every
# extra codebook removes part of what is left: the first stage captures the coarse shape of the latent and later
# ones refine it, the "most to least significant" ordering the report describes (§3.4). Each stage spends only $\log_2 K = 6$ bits;
# six stages together index $2^{36}$ distinct reconstructions, from six tables of 64 entries.
#
# ## 3. Bitrate arithmetic
#
# A frame is sent as $n_q$ indices of $\log_2 K$ bits each, and there are $f_s / M$ frames per second ($M$: the hop
# length, the product of the encoder strides). So
#
# $$\text{bitrate} = \frac{f_s}{M} \cdot n_q \cdot \log_2 K .$$
#
# For DAC at 44.1 kHz: $44100/512 \approx 86.13$ frames/s, $\log_2 1024 = 10$ bits, so each codebook costs
# 861.3 bit/s and all nine 7.75 kbps, against 705.6 kbps for 16-bit PCM. We check our arithmetic against
# `DAC.bitrate` (on the `tiny` preset, which has the same rate, hop and codebooks with 1 % of the weights).

# %%
tiny = DAC.from_preset("tiny")
frame_rate = 44100 / 512
pcm = 44100 * 16
print(" n_q   kbps   compression vs 16-bit PCM")
for n_q in range(1, 10):
    bps = frame_rate * n_q * math.log2(1024)
    assert abs(bps - tiny.bitrate(n_q)) < 1e-6
    print(f"{n_q:4d} {bps / 1000:6.2f}   {pcm / bps:6.1f}x")

# %% [markdown]
# The other published models trade the same three numbers differently:

# %%
for name, cfg in PRESETS.items():
    rate = cfg.sample_rate / cfg.hop_length
    kbps = rate * cfg.n_codebooks * math.log2(cfg.codebook_size) / 1000
    print(
        f"{name:13s} {cfg.sample_rate:6d} Hz / hop {cfg.hop_length:3d} = {rate:6.2f} frames/s "
        f"x {cfg.n_codebooks:2d} codebooks x {math.log2(cfg.codebook_size):.0f} bits = {kbps:5.2f} kbps"
    )

# %% [markdown]
# ## 4. Quantizer dropout
#
# Trained as above, every codebook is always used, and nothing asks the first few to be good *on their own*. The
# decoder, in a codec, only ever sees full-quality $z_q$. SoundStream's answer is **quantizer dropout**: for each
# training example draw
#
# $$n \sim \mathcal{U}\{1, \dots, N_q\} \qquad \text{(report eq. 2)}$$
#
# and use only the first $n$ quantizers (the others add nothing and give no loss). DAC applies it to a fraction
# $p$ of each batch only. The report's Fig. 4 compares $p = 0$ (never), $p = 1$ (always, SoundStream) and
# $p = 0.5$ (DAC): $p = 0$ is poor at low bitrates, $p = 1$ pays at the full bitrate, $p = 0.5$ stays close to the
# better of the two at both ends. In the package this is the `quantizer_dropout` argument of
# `ResidualVectorQuantize`; it acts in training mode only, and only when `n_quantizers` is not given.
#
# Our miniature: a small autoencoder, an MLP encoder $\mathbb{R}^{32} \to \mathbb{R}^{32}$, an RVQ of $N_q = 6$
# codebooks of $K = 16$ entries, an MLP decoder, trained for a few hundred steps on the latents of section 2 with
# the reconstruction error plus the codebook and commitment losses. Three copies, identical but for $p$. Small
# codebooks keep it bit-starved, as a real codec is, so that every codebook matters.


# %%
class TinyRVQAutoencoder(nn.Module):
    """MLP encoder → ResidualVectorQuantize → MLP decoder, on vectors (B, 32) treated as one-frame latents."""

    def __init__(
        self,
        quantizer_dropout: float,
        n_codebooks: int = 6,
        codebook_size: int = 16,
        hidden: int = 128,
    ):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(32, hidden), nn.GELU(), nn.Linear(hidden, 32))
        self.quantizer = ResidualVectorQuantize(
            32, n_codebooks, codebook_size, 8, quantizer_dropout=quantizer_dropout
        )
        self.decoder = nn.Sequential(nn.Linear(32, hidden), nn.GELU(), nn.Linear(hidden, 32))

    def forward(self, x: torch.Tensor, n_quantizers: int | None = None):
        out = self.quantizer(self.encoder(x)[:, :, None], n_quantizers)
        return self.decoder(out.z_q[:, :, 0]), out


DROPOUT_STEPS = 150 if SMOKE else 400
curves = {}
for p in (0.0, 0.5, 1.0):
    torch.manual_seed(0)
    model = TinyRVQAutoencoder(quantizer_dropout=p)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)  # the same batches for all three
    for _ in range(DROPOUT_STEPS):
        x = latents(256, gen)
        x_hat, out = model(x)
        loss = F.mse_loss(x_hat, x) + out.codebook_loss + 0.25 * out.commitment_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        curves[p] = [relative_error_db(held_out, model(held_out, n)[0]) for n in range(1, 7)]

plt.figure(figsize=(6, 3.8))
for p, curve in curves.items():
    plt.plot(range(1, 7), curve, "o-", label=f"p = {p}")
plt.xlabel("codebooks used, $n_q$ (bitrate ∝ $n_q$)")
plt.ylabel("reconstruction error (dB)")
plt.title("quantizer dropout (cf. report Fig. 4)")
plt.legend()
plt.grid(alpha=0.3)
plt.show()
for p, curve in curves.items():
    print(f"p = {p}: " + "  ".join(f"{c:6.1f}" for c in curve))

# %% [markdown]
# Read the two ends of the curves. At one codebook, the model trained without dropout is clearly the worst: its
# first codebook was never asked to stand alone. At six codebooks the order turns around: $p = 1$ trained its full
# cascade on only a sixth of the examples and its decoder on a mixture of bitrates, and it is the worst there.
# $p = 0.5$ sits between the two at both ends, much closer to the best at low bitrates; at the full bitrate it
# keeps part of the gap to $p = 0$ in our miniature, where the report finds it very close. Toys this small are
# noisy (change the seeds and the middle of the curves shuffles), but the two crossings are the robust part:

# %%
if not SMOKE:  # the smoke run trains too briefly for the ordering to settle
    assert curves[0.0][0] > max(curves[0.5][0], curves[1.0][0])  # p = 0: worst at n_q = 1
    assert curves[0.0][-1] < curves[1.0][-1]  # p = 1: worse than p = 0 at full n_q

# %% [markdown]
# ## 5. Hearing the codebooks
#
# Now audio, with a model that really encodes and decodes. `TinyCodec` is a codec in miniature with DAC's
# interface: a strided convolution cuts the waveform into frames of 32 samples (hop $M = 32$), a 1x1 convolution
# maps each frame to a 32-d latent, the package's `ResidualVectorQuantize` (8 codebooks of 256 entries, $p = 0.5$)
# quantizes it, and a transposed convolution turns the quantized latent back into overlapping frames. We train it
# for a few seconds on the toy corpus with a waveform MSE, then play a held-out clip decoded from its first $n_q$
# codebooks with `decode_codes(codes[:, :n_q])`, exactly the call you would make on a trained `DAC`.


# %%
class TinyCodec(nn.Module):
    """Audio (B, 1, T) → codes (B, n_q, T/hop) → audio (B, 1, T): strided conv, RVQ, transposed conv."""

    def __init__(
        self,
        hop: int = 32,
        channels: int = 64,
        latent_dim: int = 32,
        n_codebooks: int = 8,
        codebook_size: int = 256,
        quantizer_dropout: float = 0.5,
    ):
        super().__init__()
        self.hop_length, self.sample_rate = hop, 44100
        self.encoder = nn.Sequential(
            nn.Conv1d(1, channels, 2 * hop, stride=hop, padding=hop // 2),
            nn.GELU(),
            nn.Conv1d(channels, latent_dim, 1),
        )
        self.quantizer = ResidualVectorQuantize(
            latent_dim, n_codebooks, codebook_size, 8, quantizer_dropout
        )
        self.decoder = nn.Sequential(
            nn.Conv1d(latent_dim, channels, 1),
            nn.GELU(),
            nn.ConvTranspose1d(channels, 1, 2 * hop, stride=hop, padding=hop // 2),
        )

    def encode(self, x: torch.Tensor, n_quantizers: int | None = None):
        """x (B, 1, T), T a multiple of the hop → QuantizerOutput with codes (B, n_q, T / hop)."""
        return self.quantizer(self.encoder(x), n_quantizers)

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, k, S) of the first k codebooks → audio (B, 1, S · hop)."""
        return self.decoder(self.quantizer.from_codes(codes))

    def forward(self, x: torch.Tensor):
        out = self.encode(x)
        return self.decoder(out.z_q), out


SR = 44100
train_audio = torch.from_numpy(
    np.concatenate(
        [
            toy_clip(domain, 2.0, seed=0, index=i)
            for domain in ("speech", "music", "general")
            for i in range(4)
        ]
    )
)
torch.manual_seed(0)
codec = TinyCodec()
opt = torch.optim.Adam(codec.parameters(), lr=3e-3)
gen = torch.Generator().manual_seed(1)
EXCERPT = 4096  # samples per training excerpt (93 ms), a multiple of the hop
for _ in range(100 if SMOKE else 400):
    starts = torch.randint(len(train_audio) - EXCERPT, (16,), generator=gen)
    x = torch.stack([train_audio[s : s + EXCERPT] for s in starts])[:, None]  # (16, 1, 4096)
    x_hat, out = codec(x)
    # The waveform MSE is ~1e-2 for these levels; x100 puts it on the scale of the codebook losses.
    loss = 100 * F.mse_loss(x_hat, x) + out.codebook_loss + 0.25 * out.commitment_loss
    opt.zero_grad()
    loss.backward()
    opt.step()
codec.eval()
print(
    f"TinyCodec: {SR / codec.hop_length:.0f} frames/s x 8 bits per codebook = "
    f"{SR / codec.hop_length * 8 / 1000:.1f} kbps per codebook"
)

# %% [markdown]
# Encode a held-out clip once, with all codebooks, then decode prefixes of the codes. The SNR
# $10 \log_{10}(\sum x^2 / \sum (x - \hat x)^2)$ measures each reconstruction.


# %%
def snr_db(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    return 10 * math.log10((x**2).sum().item() / ((x - x_hat) ** 2).sum().item())


clips = {
    domain: torch.from_numpy(toy_clip(domain, 1.5, seed=1, index=0))[None, None]
    for domain in ("speech", "music")
}
clips = {
    domain: x[..., : x.shape[-1] // codec.hop_length * codec.hop_length]
    for domain, x in clips.items()
}
with torch.no_grad():
    codes = {domain: codec.encode(x).codes for domain, x in clips.items()}  # (1, 8, S)
    decoded = {
        domain: [codec.decode_codes(c[:, :k]) for k in range(1, 9)] for domain, c in codes.items()
    }
snrs = {domain: [snr_db(clips[domain], y) for y in ys] for domain, ys in decoded.items()}

plt.figure(figsize=(6, 3.5))
for domain, curve in snrs.items():
    plt.plot(range(1, 9), curve, "o-", label=f"toy {domain}")
plt.xlabel("codebooks used, $n_q$")
plt.ylabel("SNR (dB)")
plt.title("TinyCodec on held-out clips")
plt.legend()
plt.grid(alpha=0.3)
plt.show()
for domain, curve in snrs.items():
    print(f"{domain:7s} SNR by n_q: " + "  ".join(f"{c:5.1f}" for c in curve))
if not SMOKE:
    assert snrs["speech"][-1] > snrs["speech"][0] + 3  # more codebooks, clearly better

# %% [markdown]
# Turn the knob and listen. With one codebook the voice comes through a loud hiss; each extra codebook lowers it.
# (In a headless run the slider just plays $n_q = 1$.)

# %%
speech = clips["speech"]


def listen(n_q: int = 1):
    y = codec.decode_codes(codes["speech"][:, :n_q]).detach()[0, 0]
    print(
        f"n_q = {n_q}: {SR / codec.hop_length * 8 * n_q / 1000:.0f} kbps, SNR {snr_db(speech, y):.1f} dB"
    )
    display(Audio(np.clip(y.numpy(), -1, 1), rate=SR, normalize=False))


display(Audio(speech[0, 0].numpy(), rate=SR, normalize=False))  # the original
_ = interact(listen, n_q=IntSlider(value=1, min=1, max=8, description="n_q"))

# %% [markdown]
# Our toy spends 11 kbps per codebook (1378 frames/s) and still sounds rough at 88 kbps: it is a two-layer codec
# trained for seconds with a waveform loss. DAC gets far more from 0.86 kbps per codebook with a deep encoder, mel and
# adversarial losses, and days of training (chapters 5 to 8). The mechanism is the same, and so is the call:
# for a `DAC` model `model.decode_codes(codes[:, :k])` decodes the first $k$ codebooks. On the (untrained) tiny
# preset we can at least check that this is the same as encoding with $n_q = k$ in the first place:

# %%
tiny = DAC.from_preset("tiny").eval()
x = torch.from_numpy(toy_clip("speech", 0.1, seed=2))[None, None]  # (1, 1, 4410)
with torch.no_grad():
    codes_all = tiny.encode(x).codes  # (1, 9, 9)
    for k in (1, 4, 9):
        direct = tiny.decode(tiny.encode(x, n_quantizers=k).z, length=x.shape[-1])
        torch.testing.assert_close(tiny.decode_codes(codes_all[:, :k], length=x.shape[-1]), direct)
print("DAC.decode_codes(codes[:, :k]) == decode(encode(x, n_quantizers=k).z) for k = 1, 4, 9")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** The official `.dac` file stores each 10-bit code in 16 bits (`uint16`). How many kilobytes does
# one minute of 44.1 kHz audio take at $n_q = 9$ that way, and how many with the codes bit-packed? What is the
# ratio?

# %% jupyter={"source_hidden": true} tags=["solution"]
frames = math.ceil(60 * 44100 / 512)  # 5168 frames in a minute
stored = frames * 9 * 16 / 8 / 1000  # kB with uint16
packed = frames * 9 * 10 / 8 / 1000  # kB with 10 bits per code
print(
    f"{frames} frames: uint16 {stored:.1f} kB, bit-packed {packed:.1f} kB, ratio {stored / packed:.1f}"
)
assert abs(stored / packed - 1.6) < 1e-12 and abs(packed * 8 / 60 - tiny.bitrate(9) / 1000) < 0.01

# %% [markdown]
# **Exercise 2.** Show, on the RVQ trained in section 2, that the residual $r_i$ shrinks at every stage, and that
# the final error of the cascade is exactly its last residual: $z - z_q^{(N_q)} = r_{N_q}$.

# %% jupyter={"source_hidden": true} tags=["solution"]
with torch.no_grad():
    z = held_out[:, :, None]  # (4096, 32, 1)
    residual, norms = z, [z.norm().item()]
    for quantizer in rvq.quantizers:
        residual = residual - quantizer(residual).z_q
        norms.append(residual.norm().item())
    torch.testing.assert_close(z - rvq(z).z_q, residual, atol=1e-5, rtol=1e-5)
print("‖r_i‖:", np.round(norms, 1))
assert all(b < a for a, b in zip(norms, norms[1:]))

# %% [markdown]
# **Exercise 3.** Watch quantizer dropout act. Put a `ResidualVectorQuantize` with `quantizer_dropout=1.0` in
# training mode and quantize a batch of 64 latents. The codes still have $N_q$ rows for every item, but each item's
# $z_q$ only sums its first $n_b$ codebooks. Recover every $n_b$ from `from_codes` and show that they vary.

# %% jupyter={"source_hidden": true} tags=["solution"]
torch.manual_seed(3)
dropper = ResidualVectorQuantize(32, n_codebooks=6, codebook_size=16, quantizer_dropout=1.0).train()
with torch.no_grad():
    out = dropper(latents(64, torch.Generator().manual_seed(7))[:, :, None])
    n_used = []
    for b in range(64):
        errors = [
            (dropper.from_codes(out.codes[b : b + 1, :n]) - out.z_q[b : b + 1]).abs().max().item()
            for n in range(1, 7)
        ]
        n_used.append(1 + int(np.argmin(errors)))
        assert min(errors) < 1e-4  # z_q of item b is exactly a prefix sum
print("codebooks used per item:", np.bincount(n_used, minlength=7)[1:], "(counts for n = 1..6)")
assert out.codes.shape == (64, 6, 1) and len(set(n_used)) > 3
