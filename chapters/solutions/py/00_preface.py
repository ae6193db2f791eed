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
# # Solutions: 0. Preface
#
# [← 0. Preface](../00_preface.ipynb)
#
# Worked solutions to the preface's exercises. Each one computes its answer and checks it against
# the package.

# %%
import itertools
import math
from dataclasses import replace

import torch

from dac_minimal import DAC, PRESETS, DACConfig, count_parameters

torch.manual_seed(0)
#: The tiny preset's widths. Rate, hop, codebooks and bitrate do not depend on them, so a model
#: built with them checks a configuration's arithmetic in a fraction of a second.
NARROW = dict(encoder_dim=8, latent_dim=64, decoder_dim=96)

# %% [markdown]
# ### Solution 0.1
#
# By hand, hop $M = \prod s$, frames per second $f_s / M$, bitrate
# $\frac{f_s}{M} \cdot n_q \cdot \log_2 K$, and 16-bit PCM $16 f_s$:
#
# - `"44khz"` and `"tiny"`: $M = 2 \cdot 4 \cdot 8 \cdot 8 = 512$, $44100 / 512 \approx 86.13$
#   frames/s, $86.13 \cdot 9 \cdot 10 \approx 7.75$ kbps; PCM 705.6 kbps, about 91 times more.
# - `"44khz_16kbps"`: the same hop, 18 codebooks: $\approx 15.50$ kbps; PCM about 45.5 times
#   more.
# - `"24khz"`: $M = 2 \cdot 4 \cdot 5 \cdot 8 = 320$, 75 frames/s, 32 codebooks: 24 kbps; PCM
#   384 kbps, 16 times more.
# - `"16khz"`: $M = 320$, 50 frames/s, 12 codebooks: 6 kbps; PCM 256 kbps, about 42.7 times more.
#
# The cell checks each hand-worked bitrate against the model's own `bitrate()`. The models are
# built with the tiny widths (`NARROW`): widths change the number of weights, not the arithmetic.

# %%
by_hand_kbps = {
    "44khz": 86.1328 * 9 * 10 / 1000,
    "44khz_16kbps": 86.1328 * 18 * 10 / 1000,
    "24khz": 75 * 32 * 10 / 1000,
    "16khz": 50 * 12 * 10 / 1000,
    "tiny": 86.1328 * 9 * 10 / 1000,
}
print(
    f"{'preset':>13} {'f_s':>6} {'hop':>4} {'frames/s':>9} {'n_q':>4} {'kbps':>6} {'PCM/codes':>9}"
)
for name, kbps in by_hand_kbps.items():
    model = DAC.from_preset(name, **NARROW)
    cfg = model.config
    assert model.hop_length == math.prod(cfg.encoder_rates)
    assert math.isclose(model.bitrate() / 1000, kbps, rel_tol=1e-5), (name, model.bitrate())
    ratio = 16 * model.sample_rate / model.bitrate()
    print(
        f"{name:>13} {model.sample_rate:>6} {model.hop_length:>4} {model.frame_rate:>9.2f} "
        f"{cfg.n_codebooks:>4} {model.bitrate() / 1000:>6.2f} {ratio:>9.1f}"
    )

# %% [markdown]
# ### Solution 0.2
#
# Follow the stop gradients. With $z_q = z_e + \mathrm{sg}[e - z_e]$:
#
# - the **codebook loss** $\lVert \mathrm{sg}[z_e] - e \rVert^2$ reaches only the codebook
#   entries $e$: $z_e$ is behind a stop gradient;
# - the **commitment loss** $\lVert z_e - \mathrm{sg}[e] \rVert^2$ reaches only what produces
#   $z_e$: the encoder and the quantizer's projections, never the entries;
# - the **reconstruction losses** (mel, adversarial, feature matching) are functions of $\hat x$,
#   so they reach the decoder, and through the straight-through estimator the quantizer's
#   projections and the encoder. They never reach the entries: in $z_q$, $e$ appears only inside
#   $\mathrm{sg}[\cdot]$, so its forward value is used but its gradient is cut.
#
# The codebook entries therefore learn from the codebook loss alone. The discriminators' weights
# are not the generator's to move: they change only in the discriminator's own step, on its own
# loss.
#
# The check: one training forward pass of the tiny model, then, for each loss term, which
# parameter groups receive a non-zero gradient from it. All three reconstruction terms depend on
# the parameters only through $\hat x$, so one function of $\hat x$ (an L1 distance to $x$) stands
# in for them.

# %%
model = DAC.from_preset("tiny").train()
x = 0.1 * torch.randn(1, 1, 4096)
out = model(x, n_quantizers=model.n_codebooks)  # one training forward pass, all codebooks
quantizers = model.quantizer.quantizers
groups = {
    "encoder": list(model.encoder.parameters()),
    "codebook entries": [q.codebook.weight for q in quantizers],
    "projections": [
        p for q in quantizers for p in (*q.in_proj.parameters(), *q.out_proj.parameters())
    ],
    "decoder": list(model.decoder.parameters()),
}
terms = {
    "reconstruction": (out.audio - x).abs().mean(),
    "codebook": out.codebook_loss.mean(),
    "commitment": out.commitment_loss.mean(),
}
reached = {}
for term, loss in terms.items():
    reached[term] = set()
    for group, params in groups.items():
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        if any(g is not None and g.abs().sum() > 0 for g in grads):
            reached[term].add(group)
    print(f"{term:>14} reaches: {', '.join(sorted(reached[term]))}")
assert reached["codebook"] == {"codebook entries"}
assert reached["commitment"] == {"encoder", "projections"}
assert reached["reconstruction"] == {"encoder", "projections", "decoder"}

# %% [markdown]
# ### Solution 0.3
#
# With $f_s / M \approx 86.13$ frames per second and $n_q = 9$: (a) $\lceil 30 \cdot 44100 / 512
# \rceil$ frames; (b) $9 \times$ that many tokens; (c) $4 \times$ that many; (d) with the delay
# layout, codebook $k$ lags by $k$ steps, so the sequence has $L + n_q - 1$ steps, each predicting
# $n_q$ tokens at once. A context of 2048 positions holds $2048 / (9 \cdot 86.13)$ seconds when
# flattened, and $(2048 - n_q + 1) / 86.13$ seconds with the delay layout. Attention's cost grows
# with the square of the length, so the two layouts differ by the square of their lengths' ratio.

# %%
cfg = PRESETS["44khz"]
f_s, M, n_q = cfg.sample_rate, cfg.hop_length, cfg.n_codebooks
seconds, context = 30, 2048
frames = math.ceil(seconds * f_s / M)
flat, coarse, delay = frames * n_q, frames * 4, frames + n_q - 1
print(f"(a) {frames} frames  (b) {flat} tokens flattened  (c) {coarse} with 4 codebooks")
print(f"(d) {delay} steps with the delay layout ({n_q} tokens per step)")
print(
    f"a context of {context} positions holds {context / (n_q * f_s / M):.2f} s flattened", end=", "
)
print(f"{(context - n_q + 1) * M / f_s:.2f} s with the delay layout")
print(f"attention cost, flattened vs delay: {(flat / delay) ** 2:.0f} times more")

tiny = DAC.from_preset("tiny").eval()
clip = 3  # seconds: a shorter clip checks the same formula faster
with torch.no_grad():
    codes = tiny.encode(0.1 * torch.randn(1, 1, clip * f_s)).codes
assert codes.shape == (1, n_q, math.ceil(clip * f_s / M)) and tiny.n_frames(seconds * f_s) == frames
print(f"the tiny codec turns {clip} s into codes of shape {tuple(codes.shape)}")

# %% [markdown]
# ### Solution 0.4
#
# **A way in.** The bitrate is $\frac{f_s}{M} \cdot n_q \cdot \log_2 K$, so at a fixed $f_s$ a
# design is a choice of hop $M$ (the strides), codebooks $n_q$ and codebook size $K$. List the
# designs that land on the target, then argue between them.

# %%
f_s, target = 16_000, 1500
strides = [(2, 4, 5, 8), (4, 4, 5, 8), (4, 5, 8, 8), (2, 5, 8, 8)]
designs = []
for rates, n_q, K in itertools.product(strides, range(1, 17), (256, 1024, 4096)):
    bitrate = f_s / math.prod(rates) * n_q * math.log2(K)
    if math.isclose(bitrate, target):
        designs.append((rates, n_q, K))
header = ("strides", "hop", "frames/s", "frame ms", "n_q", "K", "tokens/s")
print(" ".join(f"{h:>{w}}" for h, w in zip(header, (14, 5, 9, 9, 4, 5, 9))))
for rates, n_q, K in designs:
    hop = math.prod(rates)
    print(
        f"{str(rates):>14} {hop:>5} {f_s / hop:>9.1f} {1000 * hop / f_s:>9.0f} {n_q:>4} {K:>5} "
        f"{f_s / hop * n_q:>9.0f}"
    )

# %% [markdown]
# **What to look for.** At a fixed bitrate and $K$, the tokens per second are the same for every
# hop: $\text{bitrate} / \log_2 K$. What the hop changes is how they are arranged.
#
# - A **long hop** (few frames, many codebooks) gives a language model few *time steps* per second,
#   which is what a delay layout or a per-frame "depth" model pays for, and it lets text-rate
#   models (a few tokens per second) line up with audio. It costs latency (a frame is
#   `frame ms` long, and nothing can be decoded before it is complete) and asks each latent
#   vector to describe more samples, so the encoder needs more capacity and a larger receptive
#   field.
# - A **short hop** (many frames, few codebooks) keeps each frame easy to describe and the
#   latency low, but spends the bits on time resolution, and a language model has many steps to
#   take per second.
# - A **larger $K$** buys fewer tokens per second for the same bits, at the price of a larger
#   vocabulary and codebooks that are harder to keep fully used (chapter 3).
#
# A reasonable choice for speech at 1.5 kbps is a hop of 640 (25 frames/s, 40 ms frames) with
# 6 codebooks of 1024 entries. The cell checks it with the package, beside the official 16 kHz
# preset: bitrate, frame rate, the shapes of codes and output on one second of audio, and the
# parameter count at the official widths (on the `meta` device, shapes only).

# %%
ours = DACConfig(
    sample_rate=16_000,
    encoder_rates=(4, 4, 5, 8),
    decoder_rates=(8, 5, 4, 4),
    n_codebooks=6,
    codebook_size=1024,
)
for name, cfg in {"ours": ours, "official 16khz": PRESETS["16khz"]}.items():
    small = DAC(replace(cfg, **NARROW)).eval()
    x = 0.1 * torch.randn(1, 1, cfg.sample_rate)
    with torch.no_grad():
        codes = small.encode(x).codes
        y = small.decode_codes(codes, length=x.shape[-1])
    assert codes.shape == (1, cfg.n_codebooks, small.n_frames(x.shape[-1])) and y.shape == x.shape
    with torch.device("meta"):
        n_params = count_parameters(DAC(cfg))
    print(
        f"{name:>15}: {small.bitrate() / 1000:.2f} kbps, {small.frame_rate:.0f} frames/s, "
        f"codes {tuple(codes.shape)}, {n_params / 1e6:.2f}M parameters at full width"
    )
assert DAC(replace(ours, **NARROW)).bitrate() == target

# %% [markdown]
# The two models have nearly the same number of weights (the cell prints both): the hop changes
# only the strided convolutions' kernels ($2s$), and $n_q$ only the quantizer's small projections.
# Our design has half the official frame rate and a quarter of its bitrate.
#
# **How to extend it.** Train your two or three best candidates at the tiny widths for the same
# number of steps on the same speech, with the training step of
# [chapter 8](../08_training.ipynb), and compare them at equal bitrate with the mel distance and
# SI-SDR of [chapter 9](../09_evaluation.ipynb), and by listening. Then vary one thing at a time:
# the hop at fixed $n_q \cdot \log_2 K$, or $K$ at fixed bitrate, and watch the codebook
# utilization as $K$ grows. A further step is a small token language model over each candidate's
# codes ([chapter 12](../12_generating_with_tokens.ipynb)): does the longer hop make a continuation
# easier to learn?
