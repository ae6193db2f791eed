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
# # 4. Residual vector quantization and quantizer dropout
#
# [Chapter 3](03_vector_quantization.ipynb) quantized a vector with one codebook of $K$ entries:
# $\log_2 K$ bits. To send more detail a codec needs more bits per frame, and one codebook of
# $2^{90}$ entries is not an option. **Residual vector quantization** (RVQ) uses a cascade of
# $n_q$ small codebooks instead: the first quantizes the latent, the second quantizes what the
# first got wrong, and so on. DAC uses $n_q = 9$ codebooks of $K = 1024$ entries: 90 bits per frame
# from nine lookups in tables of 1024. The cascade has a gift: the first $n$ codes alone are
# already a coarser code, so one model can serve many bitrates. **Quantizer dropout** trains the
# model to make good use of that gift, and its probability $p$ decides how the quality is shared
# between low and full bitrates.
#
# ## What you will learn
#
# - how the cascade quantizes what the earlier codebooks missed, drawn as a figure and built
#   inline, then checked against `dac_minimal.quantize.ResidualVectorQuantize`;
# - why the codes of a short cascade are a prefix of the codes of a long one;
# - how the error of a trained cascade falls with each codebook, and what each codebook costs in
#   bits per second;
# - quantizer dropout, and how its probability $p$ trades low-bitrate against full-bitrate
#   quality (the report's Fig. 4);
# - what each extra codebook adds, heard on a toy codec with DAC's interface.

# %%
# %matplotlib inline
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from book import interact, sizes
from IPython.display import Audio, display
from ipywidgets import IntSlider
from torch import nn

from dac_minimal import DAC
from dac_minimal.data import toy_clip
from dac_minimal.model import PRESETS
from dac_minimal.quantize import ResidualVectorQuantize
from dac_minimal.tools.diagram import draw_rvq

# Adam steps: the cascade of section 4.2, each dropout model of section 4.4, the codec of 4.5
RVQ_STEPS, DROPOUT_STEPS, CODEC_STEPS = sizes((400, 150), (300, 200), (400, 200))
torch.manual_seed(0)
torch.set_num_threads(1)

# %% [markdown]
# ## 4.1 The cascade
#
# Write $Q_i$ for quantizer $i$: chapter 3's factorized, L2-normalised VQ (project to $d = 8$
# dimensions, take the nearest entry $e_{k^\star}$ by cosine similarity, project back). The
# encoder output $z_e$ `(B, C, L)` is the first residual, $r_1 = z_e$, and
#
# $$\hat z_i = Q_i(r_i), \qquad r_{i+1} = r_i - \hat z_i, \qquad
# z_q = \sum_{i=1}^{n} \hat z_i \quad (n \le n_q).$$
#
# Codebook $i$ sends the index $c_i = k^\star$ it picked for $r_i$; those $n$ indices per frame are
# the codec's tokens. The figure below is drawn from the package's configuration of DAC by
# `dac_minimal.tools.diagram.draw_rvq`:

# %%
draw_rvq()  # DAC's quantizer at its full bitrate: all n_q = 9 codebooks

# %% [markdown]
# Each stage sees only what the earlier ones left over, so $z_e - z_q = r_{n+1}$: the error of the
# whole cascade *is* the last residual. We write the cascade out with the package's own quantizer
# modules (so the weights are the same), doing the lookup and the projections by hand.


# %%
def rvq_inline(
    rvq: ResidualVectorQuantize, z_e: torch.Tensor, n: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The cascade of the first ``n`` quantizers: z_e (B, C, L) → z_q (B, C, L), codes (B, n, L)."""
    residual, z_q, codes = z_e, torch.zeros_like(z_e), []
    for quantizer in rvq.quantizers[:n]:
        u = quantizer.in_proj(residual)  # (B, d, L): this stage's view of its residual r_i
        book = F.normalize(quantizer.codebook.weight, dim=1)  # (K, d)
        similarity = torch.einsum("bdl,kd->blk", F.normalize(u, dim=1), book)
        k = similarity.argmax(-1)  # (B, L) the cosine lookup: c_i = k*
        z_hat = quantizer.out_proj(quantizer.codebook.weight[k].transpose(1, 2))  # (B, C, L)
        z_q, residual = z_q + z_hat, residual - z_hat  # r_{i+1} = r_i − ẑ_i
        codes.append(k)
    return z_q, torch.stack(codes, dim=1)


C, n_q, K = 32, 6, 64
rvq = ResidualVectorQuantize(input_dim=C, n_codebooks=n_q, codebook_size=K, codebook_dim=8).eval()
z_e = torch.randn(2, C, 25)  # (B, C, L)
with torch.no_grad():
    for n in range(1, n_q + 1):
        ours_z_q, ours_codes = rvq_inline(rvq, z_e, n)
        out = rvq(z_e, n_quantizers=n)
        assert torch.equal(ours_codes, out.codes)
        torch.testing.assert_close(ours_z_q, out.z_q)
        torch.testing.assert_close(rvq.from_codes(out.codes), out.z_q)  # codes alone rebuild z_q
print(
    f"inline cascade == ResidualVectorQuantize for n = 1..{n_q}: same codes, same z_q; "
    f"codes of shape {tuple(out.codes.shape)}"
)

# %% [markdown]
# Because stage $i$ never looks at the stages after it, the codes of a short cascade are a
# **prefix** of the codes of a long one. That is what makes one model serve many bitrates: encode
# once with all $n_q$ codebooks, and a receiver that wants fewer bits keeps the first rows.

# %%
with torch.no_grad():
    full = rvq(z_e).codes  # (B, n_q, L)
    for n in range(1, n_q + 1):
        assert torch.equal(rvq(z_e, n_quantizers=n).codes, full[:, :n])
print("codes with n codebooks == the first n rows of the full codes, for every n")

# %% [markdown]
# ## 4.2 Error against the number of codebooks
#
# A freshly initialised RVQ is a poor quantizer: its projections are random. We train one on a
# stream of latent vectors. They come from a fixed, non-linear 8-dimensional manifold inside
# $\mathbb{R}^{32}$, a stand-in for what an encoder produces. The loss is the quantization error
# $\lVert z_e - z_q\rVert^2$ plus the codebook and commitment losses of chapter 3 (weights 1 and
# $\beta = 0.25$), which the package returns summed over the codebooks.

# %%
LATENT_DIM = 32
_g = torch.Generator().manual_seed(0)
_lift = torch.randn(8, LATENT_DIM, generator=_g)
_mix = torch.randn(LATENT_DIM, LATENT_DIM, generator=_g) / LATENT_DIM**0.5


def latents(count: int, gen: torch.Generator) -> torch.Tensor:
    """``count`` vectors (count, 32) on a curved 8-d manifold: tanh of a lifted Gaussian, mixed."""
    return 2 * torch.tanh(torch.randn(count, 8, generator=gen) @ _lift / 2) @ _mix


held_out = latents(4096, torch.Generator().manual_seed(5))


def relative_error_db(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Error energy relative to the variance of x, in dB (−10 dB: the error holds 10 % of it)."""
    return 10 * math.log10(((x - x_hat) ** 2).sum().item() / ((x - x.mean(0)) ** 2).sum().item())


def rvq_error_curve(rvq: ResidualVectorQuantize) -> list[float]:
    """Relative quantization error (dB) on the held-out latents with the first 1..n_q codebooks."""
    with torch.no_grad():
        return [
            relative_error_db(held_out, rvq(held_out[:, :, None], n).z_q[:, :, 0])
            for n in range(1, rvq.n_codebooks + 1)
        ]


torch.manual_seed(0)
rvq = ResidualVectorQuantize(LATENT_DIM, n_codebooks=n_q, codebook_size=K, codebook_dim=8)
untrained = rvq_error_curve(rvq.eval())
rvq.train()
opt = torch.optim.Adam(rvq.parameters(), lr=3e-3)
gen = torch.Generator().manual_seed(1)
for _ in range(RVQ_STEPS):
    z = latents(256, gen)[:, :, None]  # (B, C, L = 1)
    out = rvq(z)
    loss = F.mse_loss(out.z_q, z) + out.codebook_loss + 0.25 * out.commitment_loss
    opt.zero_grad()
    loss.backward()
    opt.step()
trained = rvq_error_curve(rvq.eval())

plt.figure(figsize=(6, 3.5))
plt.plot(range(1, n_q + 1), untrained, "o--", label="untrained")
plt.plot(range(1, n_q + 1), trained, "o-", label=f"trained ({RVQ_STEPS} steps)")
plt.xlabel("codebooks used, $n$")
plt.ylabel("quantization error (dB)")
plt.title(f"RVQ on 32-d latents, K = {K}")
plt.legend()
plt.grid(alpha=0.3)
plt.show()
print("untrained, dB per n:", np.round(untrained, 1))
print("trained,   dB per n:", np.round(trained, 1))
print(
    f"each codebook spends log2 K = {math.log2(K):g} bits; {n_q} of them index "
    f"2^{n_q * math.log2(K):g} distinct reconstructions from {n_q} tables of {K} entries"
)
assert untrained[-1] > untrained[0]  # random stages add more error than they remove
assert all(b < a for a, b in zip(trained, trained[1:]))  # every trained codebook removes error
assert trained[-1] < trained[0] - 3

# %% [markdown]
# Untrained, the extra stages make things *worse* overall: random projections add more error than
# they remove. Trained, every extra codebook removes part of what is left: the first stage captures
# the coarse shape of the latent and the later ones refine it, the "most to least significant"
# ordering the report describes (§3.4).
#
# ## 4.3 Bitrate arithmetic
#
# A frame is sent as $n$ indices of $\log_2 K$ bits each, and there are $f_s / M$ frames per second
# ($M$: the hop, the product of the encoder strides). So
#
# $$\text{bitrate} = \frac{f_s}{M} \cdot n \cdot \log_2 K .$$
#
# For DAC at $f_s$ = 44,100 Hz, $M = 512$ and $K = 1024$ the cell below prints the bitrate and the
# compression against 16-bit PCM for every $n$, and checks each against `DAC.bitrate` (on the
# `tiny` preset, which has the same rate, hop and codebooks with under 1 % of the weights).

# %%
tiny = DAC.from_preset("tiny")
frame_rate = 44100 / 512
pcm = 44100 * 16
print(
    f"{frame_rate:.2f} frames/s x {math.log2(1024):g} bits = {frame_rate * 10:.1f} bit/s a codebook"
)
print("   n   kbps   compression vs 16-bit PCM")
for n in range(1, 10):
    bps = frame_rate * n * math.log2(1024)
    assert abs(bps - tiny.bitrate(n)) < 1e-6
    print(f"{n:4d} {bps / 1000:6.2f}   {pcm / bps:6.1f}x")

# %% [markdown]
# The other published models trade the same three numbers differently:

# %%
for name, cfg in PRESETS.items():
    rate = cfg.sample_rate / cfg.hop_length
    kbps = rate * cfg.n_codebooks * math.log2(cfg.codebook_size) / 1000
    print(
        f"{name:13s} {cfg.sample_rate:6d} Hz / hop {cfg.hop_length:3d} = {rate:6.2f} frames/s "
        f"x {cfg.n_codebooks:2d} codebooks x {math.log2(cfg.codebook_size):.0f} bits "
        f"= {kbps:5.2f} kbps"
    )

# %% [markdown]
# ## 4.4 Quantizer dropout
#
# Trained as in section 4.2, every codebook is always used, and nothing asks the first few to be
# good *on their own*; in a codec the decoder, too, only ever sees full-quality $z_q$.
# SoundStream's answer is **quantizer dropout**: for each training example draw
#
# $$n \sim \mathcal{U}\{1, \dots, n_q\} \qquad \text{(report eq. 2)}$$
#
# and use only the first $n$ codebooks (the others add nothing and give no loss). DAC applies it
# to a fraction $p$ of each batch only; for an item that drew $n = 3$ its quantizer looks like
# this:

# %%
draw_rvq(n_used=3)

# %% [markdown]
# The report's Fig. 4 compares $p = 0$ (never), $p = 1$ (always, SoundStream) and $p = 0.5$ (DAC):
# $p = 0$ is poor at low bitrates, $p = 1$ pays at the full bitrate, and $p = 0.5$ stays close to
# the better of the two at both ends. In the package this is the `quantizer_dropout` argument of
# `ResidualVectorQuantize`; it acts in training mode only, and only when `n_quantizers` is not
# given.
#
# Our miniature: a small autoencoder, an MLP encoder $\mathbb{R}^{32} \to \mathbb{R}^{32}$, an RVQ
# of $n_q = 9$ codebooks of $K = 16$ entries, an MLP decoder, trained on the latents of section 4.2
# with the reconstruction error plus the codebook and commitment losses. Three copies, identical
# but for $p$. Small codebooks keep it bit-starved, as a real codec is, so that every codebook
# matters.


# %%
class TinyRVQAutoencoder(nn.Module):
    """MLP encoder → ResidualVectorQuantize → MLP decoder, on vectors (B, 32) as 1-frame latents."""

    def __init__(
        self,
        quantizer_dropout: float,
        n_codebooks: int = 9,
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


def train_with_dropout(p: float, steps: int = DROPOUT_STEPS, seed: int = 2) -> list[float]:
    """Train a TinyRVQAutoencoder with dropout p; its held-out error (dB) with n = 1..n_q."""
    torch.manual_seed(seed)
    model = TinyRVQAutoencoder(quantizer_dropout=p)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed + 1)  # the same batches for every p
    for _ in range(steps):
        x = latents(256, gen)
        x_hat, out = model(x)
        loss = F.mse_loss(x_hat, x) + out.codebook_loss + 0.25 * out.commitment_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        n_codebooks = model.quantizer.n_codebooks
        return [
            relative_error_db(held_out, model(held_out, n)[0]) for n in range(1, n_codebooks + 1)
        ]


curves = {p: train_with_dropout(p) for p in (0.0, 0.5, 1.0)}

plt.figure(figsize=(6, 3.8))
for p, curve in curves.items():
    plt.plot(range(1, len(curve) + 1), curve, "o-", label=f"p = {p}")
plt.xlabel("codebooks used, $n$ (bitrate ∝ $n$)")
plt.ylabel("reconstruction error (dB)")
plt.title("quantizer dropout (cf. report Fig. 4)")
plt.legend()
plt.grid(alpha=0.3)
plt.show()
print("error (dB) with n =  " + "  ".join(f"{n:5d}" for n in range(1, 10)))
for p, curve in curves.items():
    print(f"p = {p}:             " + "  ".join(f"{c:5.1f}" for c in curve))

# %% [markdown]
# Read the two ends of the curves. With one codebook, the model trained without dropout is the
# worst: its first codebook was never asked to stand alone. With all nine the order turns around:
# $p = 1$ trained its full cascade on only a ninth of the examples and its decoder on a mixture of
# bitrates, and it is worse there than $p = 0$. These two crossings are what the cell below
# checks. Where $p = 0.5$ lands in between is the delicate part: compare its row with the other two
# at both ends, and with the report's finding that it stays close to the best of them at both.
# Toys this small are noisy (change the seed of `train_with_dropout` and the middle of the curves
# shuffles); exercise 4.5 explores the middle ground.

# %%
assert curves[0.0][0] > max(curves[0.5][0], curves[1.0][0])  # p = 0: worst with one codebook
assert curves[0.0][-1] < curves[1.0][-1]  # p = 1: worse than p = 0 with all of them
print(
    f"n = 1: p = 0 is {curves[0.0][0] - min(curves[0.5][0], curves[1.0][0]):.1f} dB worse "
    f"than the best; n = {len(curves[0.0])}: p = 1 is "
    f"{curves[1.0][-1] - curves[0.0][-1]:.1f} dB worse than p = 0"
)

# %% [markdown]
# ## 4.5 Hearing the codebooks
#
# Now audio, with a model that really encodes and decodes. `TinyCodec` is a codec in miniature
# with DAC's interface: a strided convolution cuts the waveform into frames of 32 samples (hop
# $M = 32$), a 1x1 convolution maps each frame to a 32-d latent, the package's
# `ResidualVectorQuantize` (8 codebooks of 256 entries, $p = 0.5$) quantizes it, and a transposed
# convolution turns the quantized latent back into overlapping frames. We train it briefly on the
# toy corpus with a waveform MSE, then play a held-out clip decoded from its first $n$ codebooks
# with `decode_codes(codes[:, :n])`, exactly the call you would make on a trained `DAC`.


# %%
class TinyCodec(nn.Module):
    """Audio (B, 1, T) → codes (B, n, T/M) → audio (B, 1, T): strided conv, RVQ, transposed conv."""

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
        """x (B, 1, T), T a multiple of the hop → QuantizerOutput with codes (B, n, T / M)."""
        return self.quantizer(self.encoder(x), n_quantizers)

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, n, L) of the first n codebooks → audio (B, 1, L · M)."""
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
for _ in range(CODEC_STEPS):
    starts = torch.randint(len(train_audio) - EXCERPT, (16,), generator=gen)
    x = torch.stack([train_audio[s : s + EXCERPT] for s in starts])[:, None]  # (16, 1, 4096)
    x_hat, out = codec(x)
    # The waveform MSE is ~1e-2 for these levels; x100 puts it on the scale of the codebook losses.
    loss = 100 * F.mse_loss(x_hat, x) + out.codebook_loss + 0.25 * out.commitment_loss
    opt.zero_grad()
    loss.backward()
    opt.step()
codec.eval()
toy_kbps = SR / codec.hop_length * 8 / 1000
print(f"TinyCodec: {SR / codec.hop_length:.0f} frames/s x 8 bits = {toy_kbps:.1f} kbps a codebook")

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
    codes = {domain: codec.encode(x).codes for domain, x in clips.items()}  # (1, 8, L)
    decoded = {
        domain: [codec.decode_codes(c[:, :n]) for n in range(1, 9)] for domain, c in codes.items()
    }
snrs = {domain: [snr_db(clips[domain], y) for y in ys] for domain, ys in decoded.items()}

plt.figure(figsize=(6, 3.5))
for domain, curve in snrs.items():
    plt.plot(range(1, 9), curve, "o-", label=f"toy {domain}")
plt.xlabel("codebooks used, $n$")
plt.ylabel("SNR (dB)")
plt.title(f"TinyCodec on held-out clips ({CODEC_STEPS} training steps)")
plt.legend()
plt.grid(alpha=0.3)
plt.show()
for domain, curve in snrs.items():
    print(f"{domain:7s} SNR by n: " + "  ".join(f"{c:5.1f}" for c in curve))
for curve in snrs.values():
    assert curve[-1] > curve[0] + 0.5  # all eight codebooks: better than one

# %% [markdown]
# Turn the knob and listen: with one codebook the voice comes through a loud hiss, and with all
# eight the hiss is lower by the SNR difference printed above.

# %%
speech = clips["speech"]


def listen(n: int = 1):
    y = codec.decode_codes(codes["speech"][:, :n]).detach()[0, 0]
    print(f"n = {n}: {toy_kbps * n:.0f} kbps, SNR {snr_db(speech, y):.1f} dB")
    display(Audio(np.clip(y.numpy(), -1, 1), rate=SR, normalize=False))


display(Audio(speech[0, 0].numpy(), rate=SR, normalize=False))  # the original
_ = interact(listen, n=IntSlider(value=1, min=1, max=8, description="n"))

# %% [markdown]
# Our toy codec spends far more bits per codebook than DAC and is still rough with all eight: it is
# a two-layer codec trained briefly with a waveform loss. DAC gets far more from each of its
# codebooks with a deep encoder, mel and adversarial losses, and days of training (chapters 5 to 8).
# The mechanism is the same, and so is the call: for a `DAC` model `model.decode_codes(codes[:,
# :n])` decodes the first $n$ codebooks. On the (untrained) tiny preset we can check that this is
# the same as encoding with $n$ codebooks in the first place:

# %%
print(
    f"per codebook: the toy spends {toy_kbps:.2f} kbps, DAC {tiny.bitrate(1) / 1000:.2f} kbps "
    f"({toy_kbps * 1000 / tiny.bitrate(1):.0f} times less)"
)
tiny = tiny.eval()
x = torch.from_numpy(toy_clip("speech", 0.1, seed=2))[None, None]  # (1, 1, 4410)
with torch.no_grad():
    codes_all = tiny.encode(x).codes  # (1, 9, 9)
    for n in (1, 4, 9):
        direct = tiny.decode(tiny.encode(x, n_quantizers=n).z, length=x.shape[-1])
        torch.testing.assert_close(tiny.decode_codes(codes_all[:, :n], length=x.shape[-1]), direct)
print("DAC.decode_codes(codes[:, :n]) == decode(encode(x, n_quantizers=n).z) for n = 1, 4, 9")

# %% [markdown]
# ## Key takeaways
#
# - RVQ quantizes in a cascade: codebook $i$ quantizes the residual $r_i$ the earlier codebooks
#   left, $r_{i+1} = r_i - \hat z_i$, and $z_q$ is the sum of the $\hat z_i$. The cascade's error
#   is its last residual.
# - The codes of the first $n$ codebooks are a prefix of the full codes, so one encoding serves
#   every bitrate $\frac{f_s}{M} \cdot n \cdot \log_2 K$: 0.86 kbps a codebook for DAC, 7.75 kbps
#   for all nine.
# - Trained, each extra codebook removes part of what is left, from the most to the least
#   significant detail.
# - Quantizer dropout trains a fraction $p$ of each batch with only the first
#   $n \sim \mathcal{U}\{1..n_q\}$ codebooks: without it ($p = 0$) the low bitrates are poor, with
#   it always ($p = 1$) the full bitrate pays; DAC uses $p = 0.5$.
# - `ResidualVectorQuantize(quantizer_dropout=p)` is that quantizer; `DAC.decode_codes(codes[:,
#   :n])` decodes any prefix.

# %% [markdown]
# ## Exercises
#
# ### Exercise 4.1 (★) What a file costs
#
# The official `.dac` file stores each 10-bit code in 16 bits (`uint16`). How many kilobytes does
# one minute of 44.1 kHz audio take with all nine codebooks that way, and how many with the codes
# bit-packed? What is the ratio?
#
# [Solution](solutions/04_residual_vq.ipynb)
#
# ### Exercise 4.2 (★★) The error is the last residual
#
# Show, on an RVQ trained as in section 4.2, that the residual $r_i$ shrinks at every stage, and
# that the final error of the cascade is exactly its last residual: $z_e - z_q = r_{n_q + 1}$.
#
# [Solution](solutions/04_residual_vq.ipynb)
#
# ### Exercise 4.3 (★★) Watch quantizer dropout act
#
# Put a `ResidualVectorQuantize` with `quantizer_dropout=1.0` in training mode and quantize a batch
# of 64 latents. The codes still have $n_q$ rows for every item, but each item's $z_q$ sums only its
# first $n$ codebooks. Recover every item's $n$ from `from_codes` and show that they vary.
#
# [Solution](solutions/04_residual_vq.ipynb)
#
# ### Exercise 4.4 (★★) Quantizer dropout by hand
#
# Write the dropout inline: draw each item's $n$ the way `ResidualVectorQuantize` does (read its
# `_quantizers_per_item`), run the cascade with a mask per item, and sum the losses over the
# codebooks as the package does. With the same random seed, show that your $z_q$ and both losses
# equal the package's for $p = 0.5$.
#
# [Solution](solutions/04_residual_vq.ipynb)
#
# ### Exercise 4.5 (★★★) Open-ended: train with p = 0.25 and p = 1.0
#
# Train section 4.4's miniature with $p = 0.25$ and $p = 1.0$ (and $p = 0$, $p = 0.5$ for
# reference) and compare the quality with 1, 4 and 9 codebooks. Is there a $p$ that is close to
# the best at every bitrate? How does the answer change with longer training, with larger
# codebooks, or with several seeds?
#
# [Solution](solutions/04_residual_vq.ipynb)

# %% [markdown]
# ## Further reading
#
# - Zeghidour et al., [SoundStream: An End-to-End Neural Audio
#   Codec](https://arxiv.org/abs/2107.03312) (2021): residual vector quantization in a neural
#   codec, and quantizer dropout ($p = 1$), which lets one model serve 3 to 18 kbps.
# - Kumar et al., [High-Fidelity Audio Compression with
#   Improved RVQGAN](https://arxiv.org/abs/2306.06546) (DAC, 2023): quantizer dropout with
#   $p = 0.5$ and its Fig. 4, the trade-off of section 4.4.
# - Yu et al., [Vector-quantized Image Modeling with
#   Improved VQGAN](https://arxiv.org/abs/2110.04627) (2021): the factorized, L2-normalised codes
#   each stage of the cascade uses.
# - van den Oord et al., [Neural Discrete Representation
#   Learning](https://arxiv.org/abs/1711.00937) (VQ-VAE, 2017): the codebook and commitment losses
#   that every stage adds.
# - The official `ResidualVectorQuantize`, [`dac/nn/quantize.py`][official-rvq] in
#   [descript-audio-codec](https://github.com/descriptinc/descript-audio-codec): its dropout draws
#   $n$ for the first $p \cdot B$ items of each batch, as ours does (and, unlike ours, ignores
#   `n_quantizers` in training).
#
# [official-rvq]: https://github.com/descriptinc/descript-audio-codec/blob/main/dac/nn/quantize.py

# %% [markdown]
# [← 3. Vector quantization](03_vector_quantization.ipynb) · [Contents](00_preface.ipynb) ·
# [5. The encoder and the decoder →](05_encoder_decoder.ipynb)
