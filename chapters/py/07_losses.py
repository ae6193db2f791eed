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
# # 7. Losses: what the generator is asked to do
#
# The encoder, quantizer and decoder of chapters 3-5 and the discriminators of
# [chapter 6](06_discriminators.ipynb) are only shapes until a loss tells them what "good" means.
# The generator $G$ (encoder, quantizer and decoder together) turns a waveform $x$ into a
# reconstruction $\hat x = G(x)$ and minimises a weighted sum of five terms,
#
# $$\mathcal{L}_G = \lambda_{\text{mel}}\,\mathcal{L}_{\text{mel}}
#   + \lambda_{\text{feat}}\,\mathcal{L}_{\text{feat}}
#   + \lambda_{\text{adv}}\,\mathcal{L}_{\text{adv}}
#   + \lambda_{\text{cb}}\,\lVert \text{sg}[z_e] - e_{k^\star}\rVert^2
#   + \beta\,\lVert z_e - \text{sg}[e_{k^\star}]\rVert^2,$$
#
# with $\lambda_{\text{mel}} = 15$, $\lambda_{\text{feat}} = 2$, $\lambda_{\text{adv}} = 1$,
# $\lambda_{\text{cb}} = 1$ and the commitment weight $\beta = 0.25$ (the DAC paper, §3.5), while
# the discriminator $D$ minimises its own adversarial loss. Why so many? Because no single number
# says what a listener hears. Each loss is a choice of what to be blind to, and each weight a choice
# of how loudly that loss speaks; this chapter looks at both.
#
# ## What you will learn
#
# - how the multi-scale mel loss is computed, step by step, and why DAC scales the number of mel
#   bands with the window length;
# - how the mel loss responds to noise and to low-pass filtering, and what its log makes it measure;
# - the three adversarial losses of the GAN literature (least squares, hinge and the original log
#   loss), which one DAC trains with, and feature matching;
# - how big each term of $\mathcal{L}_G$ is on an untrained codec, and why a loss's *value* is not
#   its *push* on the output;
# - EnCodec's gradient balancer, the road DAC did not take, and why fixed weights are enough.
#
# Every loss is built inline and checked against `dac_minimal.loss`. The cell below chooses the
# notebook's sizes (seconds of audio, points on a curve, training steps).

# %%
import warnings

import librosa
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from book import interact, sizes
from IPython.display import Audio, display
from ipywidgets import FloatLogSlider
from scipy import signal

from dac_minimal.data import toy_clip

# seconds of toy audio for the mel loss, seconds through the tiny codec, points on the noise
# curve, SGD steps of the balancer experiment
CLIP_S, CODEC_S, N_SIGMAS, BALANCE_STEPS = sizes((1.0, 0.5), (0.5, 0.25), (13, 9), (120, 40))
SR = 44100  # f_s
torch.set_num_threads(1)
torch.manual_seed(0)

# %% [markdown]
# ## 7.1 The multi-scale mel loss, step by step
#
# A waveform L1 loss punishes a phase shift that no ear hears. DAC compares **log mel magnitudes**
# instead, at seven STFT window lengths $W \in \{32, 64, \dots, 2048\}$, each with hop $h = W/4$:
#
# $$\mathcal{L}_{\text{mel}}(x, \hat x) = \sum_{W} \operatorname{mean}\Big|
#   \log_{10}\max\big(\Phi_W |\mathrm{STFT}_W\, \hat x|, 10^{-5}\big)
#   - \log_{10}\max\big(\Phi_W |\mathrm{STFT}_W\, x|, 10^{-5}\big)\Big|$$
#
# where $\mathrm{STFT}_W$ is the short-time Fourier transform with a Hann window of $W$ samples and
# $\Phi_W$ a mel filterbank with $n_{\text{mels}}(W) = 5, 10, 20, \dots, 320$ bands. Short windows
# (a hop of 8 samples is 0.18 ms at $f_s$ = 44,100 Hz) see the attack of a drum hit; long ones
# (2048 samples, 21.5 Hz between FFT bins) resolve pitch. We build one scale on a speech-like toy
# clip and a slightly noisy copy of it, our stand-in for a reconstruction $\hat x$.

# %%
x = torch.from_numpy(toy_clip("speech", seconds=CLIP_S, seed=0))[None, None]  # (B=1, 1, T)
HISS = 0.003
x_hat = x + HISS * torch.randn_like(x)  # a "reconstruction" with a little hiss
print(
    f"x: {tuple(x.shape)}, peak {x.abs().max():.2f}; the hiss (std {HISS}) is "
    f"{20 * np.log10(x.abs().max().item() / HISS):.0f} dB below the peak"
)

W, n_mels = 512, 80  # one of the seven scales
window = torch.hann_window(W)
# Step 1: |STFT|, centred frames (reflect padding), hop W/4. (B, 1 + W/2, frames)
mag = torch.stft(
    x[:, 0], n_fft=W, hop_length=W // 4, window=window, center=True, return_complex=True
).abs()
mag_hat = torch.stft(
    x_hat[:, 0], n_fft=W, hop_length=W // 4, window=window, center=True, return_complex=True
).abs()
# Step 2: the mel filterbank Φ_W, (n_mels, 1 + W/2): triangles on the mel scale, area-normalised.
Phi = torch.from_numpy(librosa.filters.mel(sr=SR, n_fft=W, n_mels=n_mels)).float()
mel, mel_hat = Phi @ mag, Phi @ mag_hat  # (B, n_mels, frames)
# Steps 3 and 4: clamp (silence would be log 0 = -inf) and log10.
log_mel, log_mel_hat = mel.clamp(min=1e-5).log10(), mel_hat.clamp(min=1e-5).log10()
# Step 5: L1, averaged over items, bands and frames.
l1_512 = (log_mel_hat - log_mel).abs().mean()
print(f"|STFT| {tuple(mag.shape)}  ->  mel {tuple(mel.shape)}  ->  L1 at W={W}: {l1_512:.4f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3), sharey=True)
for ax, img, title in zip(
    axes,
    (log_mel, log_mel_hat, (log_mel_hat - log_mel).abs()),
    ("log10 mel of x", "log10 mel of x̂ (x + hiss)", "|difference|"),
):
    im = ax.imshow(img[0].numpy(), origin="lower", aspect="auto", cmap="magma")
    ax.set_title(title)
    ax.set_xlabel("frame")
    fig.colorbar(im, ax=ax)
axes[0].set_ylabel("mel band")
plt.tight_layout()
plt.show()

# %% [markdown]
# The hiss is far below the loud parts (the cell above prints by how much), but in the quiet gaps
# and the high bands, where speech has little energy, the log makes it as visible as a loud error.
# That is the point of a log loss: relative errors count, in every band and at every level. Now all
# seven scales, summed:

# %%
WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
N_MELS = (5, 10, 20, 40, 80, 160, 320)


def log_mel_at(a: torch.Tensor, W: int, n_mels: int) -> torch.Tensor:
    """log10 mel magnitudes of (B, 1, T) at window W: (B, n_mels, frames), steps 1-4 above."""
    spec = torch.stft(
        a[:, 0],
        n_fft=W,
        hop_length=W // 4,
        window=torch.hann_window(W),
        center=True,
        return_complex=True,
    ).abs()
    with warnings.catch_warnings():  # librosa warns about empty filters; section 7.2 is about them
        warnings.simplefilter("ignore", UserWarning)
        fb = torch.from_numpy(librosa.filters.mel(sr=SR, n_fft=W, n_mels=n_mels)).float()
    return (fb @ spec).clamp(min=1e-5).log10()


def mel_loss_per_scale(a_hat: torch.Tensor, a: torch.Tensor, n_mels=N_MELS) -> list[float]:
    return [
        (log_mel_at(a_hat, W_, m) - log_mel_at(a, W_, m)).abs().mean().item()
        for W_, m in zip(WINDOWS, n_mels)
    ]


per_scale = mel_loss_per_scale(x_hat, x)
for W_, m_, v in zip(WINDOWS, N_MELS, per_scale):
    print(f"window {W_:5d}  hop {W_ // 4:4d}  {m_:3d} mels   L1 = {v:.4f}")
print(f"sum over scales: {sum(per_scale):.4f}")

# %% [markdown]
# The package's `MultiScaleMelLoss` is the same computation (it keeps the seven filterbanks as
# buffers):

# %%
from dac_minimal.loss import MultiScaleMelLoss, mel_filters, stft_magnitude

mel_loss = MultiScaleMelLoss()
torch.testing.assert_close(stft_magnitude(x, 512), mag)
np.testing.assert_allclose(mel_filters(SR, 512, 80), Phi.numpy())
assert abs(per_scale[4] - l1_512.item()) < 1e-6
torch.testing.assert_close(mel_loss(x_hat, x), torch.tensor(sum(per_scale)), rtol=1e-5, atol=1e-6)
print(
    "inline multi-scale mel loss == dac_minimal.loss.MultiScaleMelLoss:",
    f"{mel_loss(x_hat, x).item():.4f}",
)

# %% [markdown]
# ## 7.2 The holes a fixed 64-band mel leaves
#
# EnCodec used 64 mel bands at every window. A window of 32 samples has only $32/2 + 1 = 17$ FFT
# bins, 1378 Hz apart. The mel scale packs its lowest bands a few tens of Hz apart, so many of the
# 64 triangles fall entirely *between* two FFT bins and catch none of them: their row of $\Phi_W$
# is all zeros. Such a band reads $\log_{10} 10^{-5} = -5$ for every signal, a dead stripe ("hole")
# in the spectrogram that the loss can never see through, and it still counts in the mean,
# diluting that scale. DAC scales the number of bands with the window instead (5 at 32, 10 at 64,
# and so on).


# %%
def empty_filters(W: int, n_mels: int) -> np.ndarray:
    """Indices of the all-zero rows of the (n_mels, 1 + W/2) mel filterbank."""
    return np.flatnonzero(mel_filters(SR, W, n_mels).sum(axis=1) == 0)


fig, axes = plt.subplots(2, 2, figsize=(10, 6))
for row, (W_, scaled) in enumerate(((32, 5), (64, 10))):
    for col, n in enumerate((64, scaled)):
        fb = mel_filters(SR, W_, n)
        ax = axes[row, col]
        ax.imshow(fb > 0, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest")
        holes = empty_filters(W_, n)
        ax.scatter(
            np.full(len(holes), -0.5), holes, marker=">", color="tab:red", s=12, clip_on=False
        )
        ax.set_title(f"window {W_}, {n} mels: {len(holes)} empty filters", fontsize=10)
        ax.set_ylabel("mel band")
axes[1, 0].set_xlabel("FFT bin")
axes[1, 1].set_xlabel("FFT bin")
fig.suptitle("Which FFT bins each mel filter touches (black); red marks = filters that touch none")
plt.tight_layout()
plt.show()

# %% [markdown]
# Counted for every scale of the loss:

# %%
print(f"{'window':>6} {'FFT bins':>8} {'empty of 64':>12} {'DAC mels':>9} {'empty':>6}")
for W_, m_ in zip(WINDOWS, N_MELS):
    print(
        f"{W_:6d} {W_ // 2 + 1:8d} {len(empty_filters(W_, 64)):12d} {m_:9d}"
        f" {len(empty_filters(W_, m_)):6d}"
    )
assert all(len(empty_filters(W_, m_)) == 0 for W_, m_ in zip(WINDOWS, N_MELS))
assert len(empty_filters(32, 64)) > 32  # more than half the bands are dead at the shortest window

# %% [markdown]
# And here is what a hole looks like in a spectrogram: the same clip at window 64, with 64 bands and
# with DAC's 10.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for ax, n in zip(axes, (64, 10)):
    ax.imshow(log_mel_at(x, 64, n)[0].numpy(), origin="lower", aspect="auto", cmap="magma", vmin=-5)
    ax.set_title(f"window 64, {n} mels: empty bands stay at log10 1e-5")
    ax.set_xlabel("frame")
    ax.set_ylabel("mel band")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 7.3 How the mel loss responds to distortion
#
# A loss is useful if it grows smoothly with what we hear as worse. Two knobs: white noise of
# standard deviation σ added to the clip, and a low-pass filter (what a codec that drops the top
# band would do).

# %%
sigmas = np.logspace(-4.5, -0.5, N_SIGMAS)
noise = torch.randn_like(x)
noise_curve = [mel_loss(x + s * noise, x).item() for s in sigmas]


def lowpass(a: torch.Tensor, cutoff_hz: float) -> torch.Tensor:
    sos = signal.butter(8, cutoff_hz, btype="low", fs=SR, output="sos")
    return torch.from_numpy(signal.sosfiltfilt(sos, a.numpy(), axis=-1).copy()).float()


cutoffs = np.array([500, 1000, 2000, 4000, 8000, 12000, 16000, 20000])
lowpass_scales = np.array([mel_loss_per_scale(lowpass(x, c), x) for c in cutoffs])  # (cutoffs, 7)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
axes[0].semilogx(sigmas, noise_curve, "o-")
axes[0].set_xlabel("noise standard deviation σ")
axes[0].set_ylabel("mel loss (sum of 7 scales)")
axes[0].set_title("added white noise")
bottom = np.zeros(len(cutoffs))
for i, W_ in enumerate(WINDOWS):
    axes[1].bar(np.arange(len(cutoffs)), lowpass_scales[:, i], bottom=bottom, label=f"W={W_}")
    bottom += lowpass_scales[:, i]
axes[1].set_xticks(np.arange(len(cutoffs)), [f"{c / 1000:g}k" for c in cutoffs])
axes[1].set_xlabel("low-pass cut-off (Hz)")
axes[1].set_title("low-pass filtered, stacked by scale")
axes[1].legend(fontsize=7, ncol=2)
plt.tight_layout()
plt.show()
assert all(a < b for a, b in zip(noise_curve, noise_curve[1:]))  # monotone in σ
assert lowpass_scales.sum(axis=1)[0] > lowpass_scales.sum(axis=1)[-1]
print(
    f"the faintest noise, σ = {sigmas[0]:.1e} ({20 * np.log10(sigmas[0]):.0f} dB full scale), "
    f"already costs {noise_curve[0]:.3f}"
)

# %% [markdown]
# The noise curve never goes flat: even the faintest noise costs something (the cell above prints
# how much), because in the clip's pauses the reference sits at the $10^{-5}$ floor and any hiss
# above it shows; from there the loss grows about linearly in $\log\sigma$, since log magnitudes
# count an error by its ratio, not its size. The low-pass bars fall as the cut-off rises and every
# scale contributes, the long windows most: they spend most of their bands below a few kHz, where
# this speech-like clip has its energy. Cutting above 8 kHz costs little *for this clip*; a cymbal
# would disagree. Turn the knob and listen (without a live kernel, this runs once at the default):


# %%
@interact(
    cutoff_hz=FloatLogSlider(value=4000, base=10, min=np.log10(300), max=np.log10(21000), step=0.05)
)
def listen_lowpass(cutoff_hz):
    y = lowpass(x, cutoff_hz)
    print(f"cut-off {cutoff_hz:7.0f} Hz   mel loss {mel_loss(y, x).item():.3f}")
    display(Audio(y[0, 0].numpy(), rate=SR))


# %% [markdown]
# ## 7.4 Adversarial losses: least squares, hinge and the original
#
# [Chapter 6](06_discriminators.ipynb) built the discriminators; each sub-discriminator $D_k$ ends
# in a map of logits. The GAN loss says what $D$ should output for real audio $x$ and for the
# reconstruction $\hat x$, and what $\hat x$ should make it output. Three families, as functions of
# one logit $u$:
#
# | | $D$ on real, $u = D(x)$ | $D$ on fake, $u = D(\hat x)$ | $G$, $u = D(\hat x)$ |
# |---|---|---|---|
# | least squares (LSGAN) | $(1 - u)^2$ | $u^2$ | $(1 - u)^2$ |
# | hinge | $\max(0, 1 - u)$ | $\max(0, 1 + u)$ | $-u$ |
# | log loss ($\sigma$: sigmoid) | $-\log \sigma(u)$ | $-\log(1 - \sigma(u))$ | $-\log\sigma(u)$ |
#
# (The generator's log loss in the last column is the *non-saturating* form; the original min-max
# form is $\log(1 - \sigma(u))$, dotted in the plot below.)

# %%
u = torch.linspace(-3, 3, 301)
inline = {
    "lsgan": ((1 - u) ** 2, u**2, (1 - u) ** 2),
    "hinge": (F.relu(1 - u), F.relu(1 + u), -u),
    "bce": (
        -torch.log(torch.sigmoid(u)),
        -torch.log(1 - torch.sigmoid(u)),
        -torch.log(torch.sigmoid(u)),
    ),
}
fig, axes = plt.subplots(1, 3, figsize=(10, 3.3), sharex=True)
for kind, curves in inline.items():
    for ax, c in zip(axes, curves):
        ax.plot(u, c, label=kind)
axes[2].plot(
    u,
    torch.log(1 - torch.sigmoid(u)),
    ":",
    color="tab:green",
    label="eq. 4 as written\n(saturating)",
)
for ax, title in zip(axes, ("D's loss on real x", "D's loss on fake x̂", "G's loss on fake x̂")):
    ax.set_title(title)
    ax.set_xlabel("discriminator logit u")
    ax.set_ylim(-3, 6)
    ax.axvline(0, color="grey", lw=0.5)
axes[2].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Read the slopes, because the generator only feels slopes. Least squares pulls $D(\hat x)$ towards
# 1 with a force proportional to the distance; hinge gives $D$ zero gradient once it is confidently
# right (a margin of 1) and gives $G$ a constant push; the log loss as written in the paper's
# equation 4 (dotted) is *flat* where the generator is losing badly ($u \ll 0$), which is why
# everyone uses the non-saturating $-\log\sigma(u)$ instead.
#
# **What the paper says and what DAC does.** The DAC paper's text says it uses "HingeGAN" (hinge),
# its equation 4 is the original min-max log loss
# $\mathbb{E}[\log D(x)] + \mathbb{E}[\log(1 - D(G(x)))]$, and the official code trains with least
# squares: $D$ minimises $(1 - D(x))^2 + D(\hat x)^2$, $G$ minimises $(1 - D(\hat x))^2$. Three
# different losses in one paper. We follow the code, since the code produced the published weights:
# `kind="lsgan"` is our default, and `"hinge"` and `"bce"` are there to experiment with. The package
# averages each sub-discriminator's logit map and sums over sub-discriminators; with one
# sub-discriminator whose "map" is our vector `u`, it must give the mean of the curves above:

# %%
from dac_minimal.loss import discriminator_loss, feature_matching_loss, generator_adversarial_loss

u_real, u_fake = u.flip(0), u  # any two logit vectors
real_terms = {
    "lsgan": (1 - u_real) ** 2,
    "hinge": F.relu(1 - u_real),
    "bce": -torch.log(torch.sigmoid(u_real)),
}
for kind, (_, d_on_fake, g_on_fake) in inline.items():
    torch.testing.assert_close(
        discriminator_loss([[u_fake]], [[u_real]], kind), real_terms[kind].mean() + d_on_fake.mean()
    )
    torch.testing.assert_close(generator_adversarial_loss([[u_fake]], kind), g_on_fake.mean())
print("inline GAN losses == dac_minimal.loss for lsgan, hinge and bce")

# %% [markdown]
# ## 7.5 Feature matching
#
# The adversarial loss only uses the last map of each sub-discriminator. Feature matching (MelGAN)
# uses all the others: every intermediate feature map $D_k^l$ is a learned description of the audio,
# and the generator is asked to make its descriptions match the real ones,
#
# $$\mathcal{L}_{\text{feat}} = \sum_k \sum_{l}
#   \operatorname{mean}\big|D_k^l(\hat x) - \text{sg}[D_k^l(x)]\big|$$
#
# with the logits left out and the real side detached (sg, stop-gradient): it is a target, not
# something to move. We compute it by hand with the tiny discriminator on our clip and its noisy
# copy.

# %%
from dac_minimal import Discriminator

torch.manual_seed(0)
disc = Discriminator.from_preset("tiny")
x_real = x.clone().requires_grad_(True)  # to check that nothing flows back into the real side
x_fake = x_hat.clone().requires_grad_(True)
fm_real, fm_fake = disc(x_real), disc(x_fake)
names = [f"MPD p={p}" for p in disc.config.periods] + [
    f"MRD W={W_}" for W_ in disc.config.fft_sizes
]
fm_inline, fm_parts = 0.0, []
for name, fake_maps, real_maps in zip(names, fm_fake, fm_real):
    part = sum((f - r.detach()).abs().mean() for f, r in zip(fake_maps[:-1], real_maps[:-1]))
    fm_parts.append(part.item())
    fm_inline = fm_inline + part
    print(
        f"{name:10s} {len(fake_maps) - 1:2d} feature maps, e.g. {tuple(fake_maps[0].shape)}"
        f"  ->  {part.item():.4f}"
    )
fm_package = feature_matching_loss(fm_fake, fm_real)
torch.testing.assert_close(fm_package, fm_inline)
fm_package.backward()
assert x_real.grad is None and x_fake.grad.abs().sum() > 0  # sg[.] on the real side
print(f"feature matching, inline == package: {fm_package.item():.4f}")

# %% [markdown]
# Each MRD has far more feature maps than an MPD (one stack per frequency band, five bands), so it
# contributes more terms. Note that this discriminator is untrained: its features are random
# projections, and still they separate a clip from its noisy copy. Training makes them *meaningful*.
#
# ## 7.6 The weights, and how big each term really is
#
# The weights $\lambda$ (and $\beta$, the commitment weight) live in one place:

# %%
from dac_minimal import DAC, LOSS_WEIGHTS

print(LOSS_WEIGHTS)

# %% [markdown]
# A weight only means something next to the size of the loss it multiplies. So let us measure: an
# untrained tiny codec (`DAC.from_preset("tiny")`, the same architecture family as the real one,
# about 1/100 of the weights) reconstructs a toy music clip, the tiny discriminator judges it, and
# we compute every term, its weighted value $\lambda_i \ell_i$, and the norm of its gradient at the
# output, $\lVert\lambda_i\,\partial\ell_i/\partial\hat x\rVert$: how hard it actually pushes.

# %%
torch.manual_seed(0)
codec = DAC.from_preset("tiny").eval()
clip = torch.from_numpy(toy_clip("music", seconds=CODEC_S, seed=0))[None, None]
out = codec(clip)
audio = out.audio  # x̂ (1, 1, T), the tensor every "perceptual" loss is a function of
d_fake_maps, d_real_maps = disc(audio), disc(clip)
terms = {
    "mel": mel_loss(audio, clip),
    "feature": feature_matching_loss(d_fake_maps, d_real_maps),
    "adversarial": generator_adversarial_loss(d_fake_maps),
    "codebook": out.codebook_loss,
    "commitment": out.commitment_loss,
}
weights = {name: getattr(LOSS_WEIGHTS, name) for name in terms}
grad_norms = {}  # ‖λ_i ∂ℓ_i/∂x̂‖: what each term actually pushes on the output
for name in ("mel", "feature", "adversarial"):
    (g,) = torch.autograd.grad(weights[name] * terms[name], audio, retain_graph=True)
    grad_norms[name] = g.norm().item()
total = LOSS_WEIGHTS.total(terms)
print(f"{'term':12s} {'ℓ_i':>9s} {'λ_i':>5s} {'λ_i·ℓ_i':>9s} {'share':>6s} {'‖λ_i ∂ℓ_i/∂x̂‖':>15s}")
for name, v in terms.items():
    gn = f"{grad_norms[name]:15.2e}" if name in grad_norms else f"{'(not via x̂)':>15s}"
    print(
        f"{name:12s} {v.item():9.4f} {weights[name]:5.2f} {weights[name] * v.item():9.4f}"
        f" {weights[name] * v.item() / total.item():6.1%} {gn}"
    )
print(f"total L_G = {total.item():.3f}")
assert abs(total.item() - sum(weights[k] * v.item() for k, v in terms.items())) < 1e-3
assert weights["mel"] * terms["mel"].item() > 0.5 * total.item()  # mel dominates at the start
# an untrained D barely pushes: its share of the push is far below its share of the value
push_share = grad_norms["adversarial"] / sum(grad_norms.values())
value_share = weights["adversarial"] * terms["adversarial"].item() / total.item()
print(f"adversarial: {value_share:.1%} of the value, {push_share:.2%} of the push on x̂")
assert grad_norms["adversarial"] < grad_norms["mel"] / 10 and push_share < value_share / 10

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
names_ = list(terms)
axes[0].bar(np.arange(5) - 0.2, [terms[n].item() for n in names_], 0.4, label="raw ℓ_i")
axes[0].bar(
    np.arange(5) + 0.2, [weights[n] * terms[n].item() for n in names_], 0.4, label="λ_i · ℓ_i"
)
axes[0].set_xticks(np.arange(5), names_, rotation=20)
axes[0].set_yscale("log")
axes[0].set_title("loss values, untrained tiny model")
axes[0].legend()
axes[1].bar(list(grad_norms), list(grad_norms.values()), color="tab:purple")
axes[1].set_yscale("log")
axes[1].set_title("‖λ_i ∂ℓ_i/∂x̂‖: the push on the output")
plt.tight_layout()
plt.show()

# %% [markdown]
# Three things to notice.
#
# 1. The codebook and commitment losses have the *same value* (both are
#    $\lVert z_e - e_{k^\star}\rVert^2$); they differ only in where sg[.] stops the gradient, so
#    $\lambda_{\text{cb}} = 1$ and $\beta = 0.25$ decide how fast the codebook moves towards the
#    encoder and the encoder towards the codebook ([chapter 3](03_vector_quantization.ipynb)).
#    They do not pass through $\hat x$ at all.
# 2. The mel term dominates the value of $\mathcal{L}_G$ at the start, by design: with a weight of
#    15 on a loss that is already large (the table prints it), reconstruction is what an untrained
#    codec learns first.
# 3. The *value* of a loss is not what trains the model, its *gradient* is, and the ratios between
#    the pushes (right) are not the ratios between the values (left). The cell above prints the
#    adversarial term's share of each: its share of the push is more than ten times smaller than
#    its share of the value. Compare the order of the bars left and right for the other terms too.
#    Weights are set on values, effects are felt through gradients: that mismatch is what
#    EnCodec's balancer addresses.
#
# ## 7.7 EnCodec's gradient balancer
#
# With fixed weights, the generator output receives $\sum_i \lambda_i g_i$ with
# $g_i = \partial\ell_i/\partial\hat x$. If one loss is naturally 100 times larger, its gradient
# owns about 100 times the update, whatever the $\lambda_i$ say. EnCodec (Défossez et al., 2022)
# rescales each gradient by a running estimate of its own norm:
#
# $$\tilde g_i = R\,\frac{\lambda_i}{\sum_j \lambda_j}\cdot
#   \frac{g_i}{\langle\lVert g_i\rVert_2\rangle_\rho}$$
#
# where $\langle\cdot\rangle_\rho$ is an exponential moving average with decay $\rho$ (EnCodec:
# 0.999; the package's argument `beta=`, not to be confused with the commitment weight $\beta$) and
# $R$ a reference norm, and backpropagates $\sum_i \tilde g_i$ from $\hat x$ into the generator
# instead of $\sum_i \lambda_i g_i$. Now each term's share of the update norm is
# $\lambda_i/\sum_j\lambda_j$, whatever its units. Inline, for the mel, feature and adversarial
# terms of our tiny codec (first step, so the bias-corrected EMA is just this step's norm):


# %%
def fresh_terms():
    """Forward the tiny codec again, so each backward below starts from a clean graph."""
    torch.manual_seed(0)
    o = codec(clip).audio
    fm_f, fm_r = disc(o), disc(clip)
    return o, {
        "mel": mel_loss(o, clip),
        "feature": feature_matching_loss(fm_f, fm_r),
        "adversarial": generator_adversarial_loss(fm_f),
    }


lam = {"mel": 15.0, "feature": 2.0, "adversarial": 1.0}
R = 1.0
o, ls = fresh_terms()
g = {k: torch.autograd.grad(v, o, retain_graph=True)[0] for k, v in ls.items()}  # each (1, 1, T)
# the norm per batch item, averaged over the batch
norm = {k: gi.reshape(gi.shape[0], -1).norm(dim=1).mean() for k, gi in g.items()}
g_tilde = {k: R * lam[k] / sum(lam.values()) * g[k] / norm[k] for k in g}
codec.zero_grad()
o.backward(sum(g_tilde.values()))
inline_grads = {n: p.grad.clone() for n, p in codec.named_parameters() if p.grad is not None}
for k in g:
    print(
        f"{k:12s} ‖g_i‖ = {norm[k].item():.2e}   ‖g̃_i‖ = {g_tilde[k].norm().item():.3f}"
        f"   target R·λ_i/Σλ = {R * lam[k] / sum(lam.values()):.3f}"
    )

# %% [markdown]
# `dac_minimal.evaluate.balancer.Balancer` is the same rule with the EMA kept across steps. It also
# checks its inputs (every weighted loss present, each a scalar that depends on $\hat x$), and
# because it only backpropagates from $\hat x$, the discriminator's parameters receive nothing,
# which a plain `loss.backward()` would not guarantee.

# %%
from dac_minimal.evaluate.balancer import Balancer

balancer = Balancer(lam, total_norm=R, beta=0.999)
o, ls = fresh_terms()
codec.zero_grad()
disc.zero_grad()
effective = balancer.backward(ls, o)
for n, p in codec.named_parameters():
    if n in inline_grads:
        # the two sum the same terms in a different order: equal up to float rounding
        torch.testing.assert_close(
            p.grad, inline_grads[n], rtol=1e-4, atol=1e-5 * inline_grads[n].abs().max().item()
        )
assert all(p.grad is None or p.grad.abs().sum() == 0 for p in disc.parameters())
print("inline balanced gradients == Balancer.backward; effective loss", f"{effective.item():.4f}")
print("EMA of ‖g_i‖:", {k: f"{v:.2e}" for k, v in balancer.ema.items()})

# %% [markdown]
# ## 7.8 Fixed weights and the balancer on a problem with a 100x scale gap
#
# A small experiment where we can watch the gradient shares. A linear "generator" maps 3 latent
# numbers to 16 signals of 256 samples (too small to fit them exactly, like any real codec). Two
# losses judge the output: a low-band error $\ell_{\text{low}}$ (FFT bins below 40) and a high-band
# error $\ell_{\text{high}}$ that, like a loss in other units, comes out 100 times larger. Both get
# $\lambda = 1$. We train with plain SGD at the same learning rate and record each term's share of
# the update at $\hat x$, $\lVert s_i g_i\rVert / \sum_j\lVert s_j g_j\rVert$ ($s_i = \lambda_i$
# for fixed weights, the balancer's scale otherwise).

# %%
N_OUT, N_ITEMS, N_LATENT, CUT = 256, 16, 3, 40
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


def train(balanced: bool, steps: int = BALANCE_STEPS, lr: float = 0.2):
    torch.manual_seed(1)
    gen = torch.nn.Linear(N_LATENT, N_OUT)
    opt = torch.optim.SGD(gen.parameters(), lr=lr)
    bal = Balancer({"low": 1.0, "high": 1.0}, total_norm=1.0, beta=0.9)
    shares, history = [], []
    for _ in range(steps):
        opt.zero_grad()
        out_ = gen(latents)  # x̂ (16, 256)
        losses_ = two_losses(out_)
        if balanced:
            bal.backward(losses_, out_)
            push = {k: bal.last_scales[k] * bal.last_norms[k] for k in losses_}
        else:
            push = {
                k: per_item_norm(torch.autograd.grad(v, out_, retain_graph=True)[0])
                for k, v in losses_.items()
            }
            sum(losses_.values()).backward()  # λ = 1 for both
        opt.step()
        shares.append(push["low"] / sum(push.values()))
        history.append({k: v.item() for k, v in losses_.items()})
    return np.array(shares), history


fixed_shares, fixed_hist = train(balanced=False)
bal_shares, bal_hist = train(balanced=True)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
axes[0].plot(fixed_shares, label="fixed weights")
axes[0].plot(bal_shares, label="balancer (ρ = 0.9)")
axes[0].axhline(0.5, color="grey", ls="--", lw=1, label="λ_low/Σλ = 0.5")
axes[0].set_ylim(0, 1)
axes[0].set_xlabel("SGD step")
axes[0].set_ylabel("share of the update at x̂")
axes[0].set_title("ℓ_low's share of the gradient")
axes[0].legend(fontsize=8)
for hist, style, label in ((fixed_hist, "-", "fixed"), (bal_hist, "--", "balancer")):
    for k, color in (("low", "tab:blue"), ("high", "tab:red")):
        axes[1].plot([h[k] / hist[0][k] for h in hist], style, color=color, label=f"ℓ_{k}, {label}")
axes[1].set_xlabel("SGD step")
axes[1].set_ylabel("loss / initial loss")
axes[1].set_title("progress of each term")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()
print(
    f"ℓ_low's share: fixed {fixed_shares.mean():.1%} on average, balancer {bal_shares.mean():.1%}"
)
print(
    f"ℓ_low after {BALANCE_STEPS} steps: fixed"
    f" {fixed_hist[-1]['low'] / fixed_hist[0]['low']:.2f}x its start,"
    f" balancer {bal_hist[-1]['low'] / bal_hist[0]['low']:.2f}x"
)
assert fixed_shares.mean() < 0.1 and abs(bal_shares[-10:].mean() - 0.5) < 0.05
assert bal_hist[-1]["low"] < fixed_hist[-1]["low"]

# %% [markdown]
# With fixed weights the high band takes nearly all of every update (the cell above prints the low
# band's average share, a few per cent), so the low band barely moves; with the balancer each term
# gets its half and both improve. Of course, for *this* problem setting $\lambda_{\text{low}} = 100$
# would do the same, but the right $\lambda$ depends on the losses' current scales, which drift as
# training goes on; the balancer re-measures them every step.
#
# ## 7.9 Why DAC uses fixed weights anyway
#
# The DAC paper (§3.5) is explicit that DAC "does not utilize the loss balancer proposed in
# EnCodec", and its introduction credits "best practices in adversarial loss and perceptual loss
# design" with giving "stable training formulations with fixed loss weights and without the need
# for complex loss equalizers". The weights are not arbitrary either: the paper derives the 15 on
# the mel loss from the 45 used before it (HiFi-GAN-style vocoders), adjusted for summing seven
# scales and for log10 instead of the natural log. Our own reading of why that works, and why one
# might prefer it:
#
# - Look again at section 7.6: at the start the adversarial term pushes on $\hat x$ far more weakly
#   than the mel term. That is healthy: an untrained discriminator has nothing useful to say yet. A
#   balancer would hand it its full $\lambda$ share from the first step; with fixed weights its
#   influence grows only as the discriminator learns and its gradients grow.
# - The balancer **changes the objective**: $\sum_i\tilde g_i$ is not the gradient of any fixed
#   loss while the EMA moves, and its normalised steps keep a fixed size even when a term is nearly
#   solved. Fixed weights keep plain gradient descent on one objective, which is easier to reason
#   about and to combine with gradient clipping (DAC clips the generator's gradient norm at 1000).
# - It **costs** one extra `autograd.grad` through the discriminator per loss, every step, and it
#   needs every balanced loss to be a function of $\hat x$ (the VQ losses are not, and stay outside
#   anyway).
#
# [Chapter 8](08_training.ipynb) puts all of these losses into one training loop.

# %% [markdown]
# ## Key takeaways
#
# - DAC's generator minimises $15\,\mathcal{L}_{\text{mel}} + 2\,\mathcal{L}_{\text{feat}}
#   + 1\,\mathcal{L}_{\text{adv}}$ plus the codebook loss (weight 1) and the commitment loss
#   ($\beta = 0.25$); each loss decides what the codec may ignore.
# - The multi-scale mel loss compares log10 mel magnitudes at seven windows; the log makes it count
#   errors by their ratio, and scaling the mel bands with the window (5 to 320) leaves no empty
#   filter, where a fixed 64 bands leaves more than half of them dead at the shortest window.
# - The paper's text says hinge and its equation says the log loss, but the official code trains
#   with least squares; `dac_minimal.loss` follows the code and offers the other two.
# - Feature matching asks $G$ to match every intermediate map of $D$ on real audio (detached), a
#   learned perceptual loss that is useful even before $D$ is good.
# - A loss's value is not its push: weights act on values, training feels gradients. EnCodec's
#   balancer fixes each gradient's share; DAC keeps fixed weights, which let the adversarial terms
#   grow in influence only as the discriminator learns.

# %% [markdown]
# ## Exercises
#
# ### Exercise 7.1 (★) Two losses with one value
#
# Section 7.6 prints the same value for the codebook loss and the commitment loss. Explain why
# they are two terms with different weights: which parameters of the tiny codec does each one move?
# Check your answer with `torch.autograd.grad` on `out.codebook_loss` and `out.commitment_loss`.
#
# [Solution](solutions/07_losses.ipynb)
#
# ### Exercise 7.2 (★★) A louder reconstruction
#
# The log makes the mel loss measure *ratios*. Predict the mel loss between $g\,x$ and $x$ for a
# gain $g$ (the reconstruction is just louder or quieter), then check your prediction on the music
# clip `clip` for $g \in \{0.5, 2, 10\}$. Then try the speech clip `x`: why does part of the loss
# disappear?
#
# [Solution](solutions/07_losses.ipynb)
#
# ### Exercise 7.3 (★★) The largest hole-free mel counts
#
# The scaled mel counts (5, 10, ..., 320) leave no empty filter. Are they the largest counts that
# do? For each window up to 512, find the largest $n_{\text{mels}}$ with no empty filter, and
# compare with DAC's choice.
#
# [Solution](solutions/07_losses.ipynb)
#
# ### Exercise 7.4 (★★) Unequal weights under the balancer
#
# Give the two terms of section 7.8's experiment unequal weights, $\lambda_{\text{low}} = 3$ and
# $\lambda_{\text{high}} = 1$. What share of the update should $\ell_{\text{low}}$ get under the
# balancer? Check it on one step with $\rho = 0$ (`beta=0.0`, so the EMA is the current norm).
#
# [Solution](solutions/07_losses.ipynb)
#
# ### Exercise 7.5 (★★★) Open-ended: what does each loss teach?
#
# Fit the untrained tiny codec to one short toy clip, once with the multi-scale mel loss alone and
# once with a waveform L1 loss $\operatorname{mean}|\hat x - x|$ alone (plus the two VQ losses in
# both cases), for the same number of Adam steps. Measure both results with *both* losses, look at
# their spectrograms and listen. Which loss gets the fine detail of the high bands, which one the
# waveform's shape? What happens with a mix of the two, or with a different $\lambda_{\text{mel}}$?
#
# [Solution](solutions/07_losses.ipynb)

# %% [markdown]
# ## Further reading
#
# - [DAC: Kumar et al., 2023](https://arxiv.org/abs/2306.06546), *High-Fidelity Audio Compression
#   with Improved RVQGAN*: §3.5 lists the losses and weights this chapter builds; the ablations
#   show what each choice buys.
# - [LSGAN: Mao et al., 2016](https://arxiv.org/abs/1611.04076), *Least Squares Generative
#   Adversarial Networks*: the least-squares GAN loss that the official DAC code trains with, and
#   why it saturates less than the log loss.
# - [MelGAN: Kumar et al., 2019](https://arxiv.org/abs/1910.06711): where feature matching on the
#   discriminator's maps enters audio GANs, with the multi-scale waveform discriminator.
# - [EnCodec: Défossez et al., 2022](https://arxiv.org/abs/2210.13438), *High Fidelity Neural
#   Audio Compression*: the gradient balancer of section 7.7, a 64-band mel loss and a multi-scale
#   STFT discriminator.
# - [The official DAC repository](https://github.com/descriptinc/descript-audio-codec): its
#   `dac/nn/loss.py` holds the mel, GAN and feature-matching losses we reproduce.

# %% [markdown]
# [← 6. The discriminators](06_discriminators.ipynb) · [Contents](00_preface.ipynb) ·
# [8. Training →](08_training.ipynb)
