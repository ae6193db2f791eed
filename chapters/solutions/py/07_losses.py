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
# # Solutions: 7. Losses: what the generator is asked to do
#
# [← 7. Losses: what the generator is asked to do](../07_losses.ipynb)
#
# Worked solutions to the chapter's exercises. The setup cell rebuilds what they use from the
# chapter: the two toy clips, the package's mel loss, the tiny codec and the two-loss problem of
# section 7.8.

# %%
import sys

sys.path.insert(0, "..")

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import sizes
from IPython.display import Audio, display

from dac_minimal import DAC
from dac_minimal.data import toy_clip
from dac_minimal.evaluate.balancer import Balancer
from dac_minimal.loss import MultiScaleMelLoss, mel_filters

# seconds of the speech clip, seconds of the music clip, Adam steps of solution 7.5
CLIP_S, CODEC_S, FIT_STEPS = sizes((1.0, 0.5), (0.5, 0.25), (30, 3))
SR = 44100
WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
N_MELS = (5, 10, 20, 40, 80, 160, 320)
torch.set_num_threads(1)
torch.manual_seed(0)

x = torch.from_numpy(toy_clip("speech", seconds=CLIP_S, seed=0))[None, None]  # (1, 1, T)
clip = torch.from_numpy(toy_clip("music", seconds=CODEC_S, seed=0))[None, None]
mel_loss = MultiScaleMelLoss()

# %% [markdown]
# ### Solution 7.1
#
# Both terms are $\lVert z_e - e_{k^\star}\rVert^2$, so their values are equal; what differs is
# where the stop-gradient sits. The codebook loss $\lVert \text{sg}[z_e] - e_{k^\star}\rVert^2$
# treats the encoder's output as a constant, so its gradient reaches only the codebook entries: it
# moves each chosen entry towards the latents it quantizes (the k-means step). The commitment loss
# $\lVert z_e - \text{sg}[e_{k^\star}]\rVert^2$ treats the entry as a constant, so its gradient
# reaches only the encoder and the quantizers' projections (through the residuals that later
# codebooks quantize), never an entry: it keeps the encoder's output near the codebook, so that the
# latents do not drift away faster than the codebook can follow. Two weights, $\lambda_{\text{cb}} =
# 1$ and $\beta = 0.25$, set the two speeds independently. Checked on the untrained tiny codec:

# %%
torch.manual_seed(0)
codec = DAC.from_preset("tiny").eval()
out = codec(clip)
params = dict(codec.named_parameters())


def touched(loss: torch.Tensor) -> set[str]:
    """Names of the parameters that receive a non-zero gradient from ``loss``."""
    grads = torch.autograd.grad(loss, list(params.values()), retain_graph=True, allow_unused=True)
    return {n for n, g in zip(params, grads) if g is not None and g.abs().sum() > 0}


by_codebook, by_commitment = touched(out.codebook_loss), touched(out.commitment_loss)
assert torch.isclose(out.codebook_loss, out.commitment_loss)  # one value, two terms
assert by_codebook and all(n.endswith("codebook.weight") for n in by_codebook)
assert not any(n.endswith("codebook.weight") for n in by_commitment)
assert any(n.startswith("encoder.") for n in by_commitment)
assert not any(n.startswith("decoder.") for n in by_codebook | by_commitment)
print(f"value of both: {out.codebook_loss.item():.4f}")
print(f"codebook loss moves {len(by_codebook)} tensors, e.g. {sorted(by_codebook)[:2]}")
modules = sorted({".".join(n.split(".")[:3]) for n in by_commitment if n.startswith("quantizer")})
print(
    f"commitment loss moves {len(by_commitment)} tensors, none of them a codebook:"
    f" {sum(n.startswith('encoder.') for n in by_commitment)} of the encoder and those of"
    f" {len(modules)} quantizers' projections"
)

# %% [markdown]
# ### Solution 7.2
#
# Wherever both sides are above the $10^{-5}$ clamp, $\log_{10}\text{mel}(g\,x) = \log_{10} g +
# \log_{10}\text{mel}(x)$, because the STFT and the mel filterbank are linear. So each of the 7
# scales contributes $|\log_{10} g|$ and the loss is $7\,|\log_{10} g|$, whatever the clip. Where
# $\text{mel}(g\,x)$ or $\text{mel}(x)$ falls below the clamp (quiet bands), the difference is cut
# short, so the loss comes out a little smaller.

# %%
for gain in (0.5, 2.0, 10.0):
    measured, predicted = mel_loss(gain * clip, clip).item(), 7 * abs(np.log10(gain))
    on_speech = mel_loss(gain * x, x).item()
    print(
        f"g = {gain:4}: music {measured:.4f}, predicted 7|log10 g| = {predicted:.4f}, "
        f"speech {on_speech:.4f}"
    )
    assert predicted * 0.97 < measured <= predicted + 1e-4
    assert on_speech < 0.7 * predicted

# %% [markdown]
# The speech clip has pauses: there $x$ and $g\,x$ are both below the clamp, both read
# $\log_{10} 10^{-5} = -5$, and those frames add nothing (but still count in the mean). The clamp
# makes the loss deaf to anything quieter than $10^{-5}$, which is the point: no one hears it.
#
# ### Solution 7.3
#
# Start from DAC's count (which has no empty filter, section 7.2) and add bands until one filter
# comes out empty:


# %%
def empty_filters(W: int, n_mels: int) -> np.ndarray:
    return np.flatnonzero(mel_filters(SR, W, n_mels).sum(axis=1) == 0)


def largest_hole_free(W: int, start: int) -> int:
    n = start
    while len(empty_filters(W, n + 1)) == 0:
        n += 1
    return n


largest = {W: largest_hole_free(W, m) for W, m in zip(WINDOWS[:5], N_MELS)}
for W, m in zip(WINDOWS, N_MELS):
    if W in largest:
        print(f"window {W:4d}: DAC uses {m:3d}, the largest hole-free count is {largest[W]}")
assert all(m <= largest[W] for W, m in zip(WINDOWS, N_MELS) if W in largest)
assert all(m > largest[W] / 2 for W, m in zip(WINDOWS, N_MELS) if W in largest)

# %% [markdown]
# At the two shortest windows DAC's counts are exactly the largest hole-free ones; at the longer
# windows there is a little room (compare the printed counts), and doubling any of them would leave
# holes. A count of $W/4$ bands is a simple rule that sits at or just under the limit at every
# window; more bands at a short window would not add frequency resolution that the FFT does not
# have. The two longest windows behave alike; leave them out or let them run, they only take
# longer.
#
# ### Solution 7.4
#
# The balancer gives loss $i$ the share $\lambda_i / \sum_j \lambda_j$ of the update norm, so
# $\ell_{\text{low}}$ should get $3/(3 + 1) = 3/4$, whatever the two losses' natural scales. With
# $\rho = 0$ the balancer divides by this step's norms, so one step shows it exactly:

# %%
N_OUT, N_ITEMS, N_LATENT, CUT = 256, 16, 3, 40  # section 7.8's problem, rebuilt
gen_rng = torch.Generator().manual_seed(0)
t_axis = torch.arange(N_OUT) / N_OUT
targets = torch.stack(
    [
        torch.sin(2 * torch.pi * (3 + i) * t_axis)
        + 0.3 * torch.sin(2 * torch.pi * (90 + 7 * i) * t_axis)
        for i in range(N_ITEMS)
    ]
) + 0.1 * torch.randn(N_ITEMS, N_OUT, generator=gen_rng)
latents = torch.randn(N_ITEMS, N_LATENT, generator=gen_rng)


def band(a: torch.Tensor, low: bool) -> torch.Tensor:
    spec = torch.fft.rfft(a, dim=-1)
    keep = torch.arange(spec.shape[-1]) < CUT
    return torch.fft.irfft(spec * (keep if low else ~keep), n=N_OUT, dim=-1)


def two_losses(a: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "low": (band(a, True) - band(targets, True)).pow(2).mean(),
        "high": 100 * (band(a, False) - band(targets, False)).pow(2).mean(),
    }


def per_item_norm(gr: torch.Tensor) -> float:
    return gr.reshape(gr.shape[0], -1).norm(dim=1).mean().item()


torch.manual_seed(1)
gen = torch.nn.Linear(N_LATENT, N_OUT)
bal3 = Balancer({"low": 3.0, "high": 1.0}, total_norm=1.0, beta=0.0)
out3 = gen(latents)
raw = {k: torch.autograd.grad(v, out3, retain_graph=True)[0] for k, v in two_losses(out3).items()}
bal3.backward(two_losses(out3), out3)
push = {k: per_item_norm(bal3.last_scales[k] * raw[k]) for k in raw}
share = push["low"] / sum(push.values())
print(f"ℓ_low's share: {share:.4f} (expected λ_low/Σλ = 3/4)")
assert abs(share - 0.75) < 1e-5

# %% [markdown]
# ### Solution 7.5
#
# A way in. Take the untrained tiny codec twice from the same seed, and fit each to the same short
# music clip with Adam: one with $15\,\mathcal{L}_{\text{mel}}$, one with $15 \operatorname{mean}
# |\hat x - x|$, both plus the two VQ losses (weights 1 and $\beta = 0.25$). Then measure both
# results with both losses. The cell fits for a few tens of steps, about half a minute; the
# question it asks is about direction, not about a finished codec.


# %%
def fit(loss_name: str, steps: int = FIT_STEPS, lr: float = 1e-3) -> DAC:
    torch.manual_seed(0)
    model = DAC.from_preset("tiny")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        o = model(clip, n_quantizers=model.n_codebooks)  # all codebooks, no quantizer dropout
        recon = mel_loss(o.audio, clip) if loss_name == "mel" else (o.audio - clip).abs().mean()
        loss = 15 * recon + o.codebook_loss + 0.25 * o.commitment_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def measure(model: DAC) -> tuple[dict[str, float], torch.Tensor]:
    with torch.no_grad():
        y = model(clip).audio
    return {"mel": mel_loss(y, clip).item(), "L1": (y - clip).abs().mean().item()}, y


results = {name: measure(fit(name)) for name in ("mel", "L1")}
before, _ = measure(DAC.from_preset("tiny").eval())
print(f"untrained:        mel {before['mel']:.3f}   L1 {before['L1']:.4f}")
for name, (scores, _) in results.items():
    print(f"fitted with {name:4s}: mel {scores['mel']:.3f}   L1 {scores['L1']:.4f}")

fig, axes = plt.subplots(1, 3, figsize=(10, 3), sharey=True)
window = torch.hann_window(1024)
for ax, (title, y) in zip(
    axes, [("original", clip)] + [(f"fitted with {n}", y) for n, (_, y) in results.items()]
):
    spec = torch.stft(y[0, 0], 1024, 256, window=window, return_complex=True).abs()
    db = 20 * torch.log10(spec.clamp(min=1e-5))
    ax.imshow(db.numpy(), origin="lower", aspect="auto", cmap="magma", vmin=-100, vmax=20)
    ax.set(title=title, xlabel="frame")
axes[0].set_ylabel("FFT bin")
plt.tight_layout()
plt.show()
for name, (_, y) in results.items():
    print(f"fitted with {name}:")
    display(Audio(y[0, 0].numpy(), rate=SR))

# %% [markdown]
# What to look for: does each fit win on its own loss (read the table), and by how much on the
# other? The mel fit spends its effort across all bands and levels, where the L1 fit spends it on
# the few loud, low-frequency components that dominate the waveform's sample values: look at the
# upper half of each spectrogram. Short fits are noisy, so before you conclude anything, run more
# steps (`FIT_STEPS` in the setup cell), several seeds, and a speech clip as well. Then extend it: a
# mix $\lambda_{\text{mel}}\mathcal{L}_{\text{mel}} + \lambda_{\text{L1}}\,\text{L1}$ (EnCodec uses
# both a time-domain and a frequency-domain term), other values of $\lambda_{\text{mel}}$ relative
# to the VQ losses, or the mel loss with a fixed 64 bands (section 7.2's holes), measured with
# DAC's.
