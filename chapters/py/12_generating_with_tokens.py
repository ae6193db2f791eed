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
# # 12. Generating audio with codec tokens
#
# Why build a codec at all, if MP3 and Opus exist? Because DAC's output is not a bitstream for a
# player: it is a grid of small integers, $c \in \{0, \dots, 1023\}^{n_q \times S}$, and a grid of
# integers is what a language model eats. Learn $p(c)$ the way GPT learns $p(\text{text})$, sample
# new codes, and the codec's decoder turns them into sound. AudioLM, VALL-E and MusicGen all work this way.
#
# The one idea of this chapter: **a codec turns audio into a token sequence short enough for a
# transformer, and a language model over those tokens generates audio.** We will
#
# 1. do the token-rate arithmetic that makes 44.1 kHz audio feasible at all;
# 2. tokenize the toy corpus with a codec, and *look at the tokens* before trusting them;
# 3. lay the $n_q$ codebooks out as one sequence (flattened, or MusicGen's delay pattern);
# 4. set the bar: a unigram model that knows how often each code occurs;
# 5. train a small transformer on a CPU for a couple of minutes and measure it against that bar;
# 6. sample continuations of a held-out prompt, decode them, listen and look.
#
# Each step is built inline and checked against `dac_minimal.lm.transformer` and `dac_minimal.lm.tokenize`.

# %%
import math
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import book_codec
from IPython.display import Audio, display

from dac_minimal import DAC
from dac_minimal.data import ensure_toy_corpus
from dac_minimal.lm.tokenize import tokenize_folder
from dac_minimal.lm.transformer import (
    CodecLM,
    LMConfig,
    delay_pattern,
    evaluate_lm,
    flatten_codes,
    generate,
    tokens_per_second,
    train_lm,
    undo_delay_pattern,
    unflatten_codes,
    unigram_cross_entropy,
)
from dac_minimal.utils.audio import load_audio

SMOKE = os.environ.get("DAC_BOOK_SMOKE") == "1"
SR, HOP, K = 44100, 512, 1024  # sample rate, hop length (samples per frame), codebook size
N_Q_LM = 4  # codebooks the language model learns (section 5 says why not all 9)
LM_STEPS = 3 if SMOKE else 100  # AdamW steps for the LM (about 1 s each on one busy CPU thread)
BATCH = 4 if SMOKE else 16  # windows per step
STAND_IN_STEPS = 2 if SMOKE else 6  # codec training steps if no trained model is there
torch.set_num_threads(
    1
)  # small tensors on a shared CPU: one thread avoids costly thread contention
torch.manual_seed(0)
rng = np.random.default_rng(0)
t_start = time.perf_counter()

# %% [markdown]
# ## 1. How many tokens is a second of audio?
#
# A transformer's cost grows with the length $L$ of its sequence: attention compares every position
# with every earlier one, about $L^2/2$ dot products per layer and head. So the first question for
# any "language model of audio" is: how long is the sequence?
#
# Raw audio is 44,100 samples per second. A transformer over samples would need 441,000 positions
# for 10 seconds. DAC's encoder downsamples by the hop length 512, so there are
# $44100 / 512 \approx 86.13$ frames per second, and each frame holds $n_q$ codes:
#
# $$\text{tokens per second} = \frac{44100}{512}\, n_q \approx 86.13\, n_q .$$
#
# How those tokens become *positions* depends on the layout (section 3): flattened, every token is
# one position ($86.13\,n_q$ per second); with the delay pattern, one position holds one token of
# each codebook, so 10 s of audio take $S + n_q - 1$ positions, where $S = \lceil 441000/512 \rceil = 862$.

# %%
FRAME_RATE = SR / HOP
SECONDS = 10
S10 = math.ceil(SECONDS * SR / HOP)  # frames in 10 s
print(f"frame rate {FRAME_RATE:.2f} frames/s; 10 s = {S10} frames = {SECONDS * SR:,} samples\n")
print("n_q  tokens/s  kbps   10 s flattened  10 s delay  attention cost, flattened / delay")
for n_q in range(1, 10):
    tps = FRAME_RATE * n_q
    flat, delay = S10 * n_q, S10 + n_q - 1
    print(
        f"{n_q:3d}  {tps:8.1f}  {tps * 10 / 1000:4.2f}   {flat:14,d}  {delay:10,d}  {(flat / delay) ** 2:8.1f}x"
    )
    # The package's arithmetic agrees (tokens_per_second, and LMConfig.steps_for for both layouts).
    assert math.isclose(tokens_per_second(SR, HOP, n_q), tps)
    assert LMConfig(n_q=n_q, layout="flatten").steps_for(S10) == flat
    assert LMConfig(n_q=n_q, layout="delay", block_size=64).steps_for(S10) == delay

samples_vs_delay = (SECONDS * SR / (S10 + 8)) ** 2
print(
    f"\nsamples as positions: {SECONDS * SR:,} positions, {samples_vs_delay:,.0f}x the attention cost of "
    f"the 9-codebook delay layout"
)
print(
    f"one attention matrix (one head, one layer, float32) for 10 s flattened at n_q = 9: "
    f"{(S10 * 9) ** 2 * 4 / 1e6:.0f} MB; delay: {(S10 + 8) ** 2 * 4 / 1e6:.1f} MB"
)

# %% [markdown]
# Read the table from the right. A codec is what brings 10 s of 44.1 kHz audio from 441,000 positions
# to a few thousand; flattening all 9 codebooks still costs about $80\times$ the attention of the delay
# layout (and a 240 MB attention matrix per head and layer), which is why long-form models (MusicGen) keep
# the codebooks in parallel. The kbps column is chapter 1's bitrate: every token is 10 bits.

# %% [markdown]
# ## 2. The tokenizer, and a look at its tokens
#
# The tokenizer is the codec of chapters 9 and 10: the tiny codec after 15 minutes of CPU training
# (`benchmarks/reference_curves/tiny_15min.pt`), else chapter 8's one-minute model, else (you deleted both)
# a stand-in trained for a few steps with the package's trainer, exactly as chapter 9 does; a stand-in is a
# bad codec, and the cell says which one you have.

# %%
codec, codec_source = book_codec(STAND_IN_STEPS)  # the 15-minute model, chapter 8's, or a stand-in
print(
    f"tokenizer: {codec_source}; {codec.n_codebooks} codebooks of {codec.config.codebook_size}, "
    f"hop {codec.hop_length}"
)

corpus = ensure_toy_corpus()  # train (24 clips of 2 s) and valid (12 held-out clips)

# %% [markdown]
# Tokenizing is just encoding: read a clip, shape it `(B, 1, T)`, and keep `encode(x).codes`. One
# detail matters: the codec must be in **eval mode**. In training mode, quantizer dropout (chapter 4)
# would zero the finer codebooks of some clips, and the LM would learn from codes the decoder never
# sees at full bitrate. `dac_minimal.lm.tokenize.tokenize_folder` does this for every file of a folder
# (mono mix, resampling, eval mode, chunks for long files); it must agree with our one clip.

# %%
path = sorted((corpus.train / "music").glob("*.wav"))[0]
audio, _ = load_audio(path, SR)  # (1, T) float32
with torch.inference_mode():
    codes_by_hand = codec.encode(torch.from_numpy(audio)[None]).codes[0]  # (N_q, S)
print(
    f"{path.parent.name}/{path.name}: {audio.shape[1]} samples -> codes {tuple(codes_by_hand.shape)} "
    f"(ceil({audio.shape[1]} / {HOP}) = {math.ceil(audio.shape[1] / HOP)} frames)"
)

train_clips = tokenize_folder(codec, corpus.train)
same = next(c for c in train_clips if (c.domain, c.name) == ("music", path.stem))
torch.testing.assert_close(same.codes, codes_by_hand)
print(f"{len(train_clips)} training clips tokenized; the package's codes equal ours")

# %% [markdown]
# Before training anything on these tokens, look at them. A language model can only learn the
# information its tokens carry, and a codec can fail in a way no loss curve of chapter 8 shows
# directly: **codebook collapse** (chapter 3), where most inputs map to the same few entries. Two
# numbers per codebook over the training set: how many of the 1024 entries are used, and the entropy
# $H_k = -\sum_c p_k(c)\log_2 p_k(c)$ of the code frequencies (at most 10 bits; 0 bits means one code always).


# %%
def code_usage(
    clips: list[torch.Tensor], codebook_size: int = K
) -> tuple[torch.Tensor, torch.Tensor]:
    """Entries used and entropy (bits) per codebook, over clips of codes (n_q, S_i)."""
    counts = torch.zeros(clips[0].shape[0], codebook_size, dtype=torch.float64)
    for c in clips:
        counts.scatter_add_(1, c, torch.ones_like(c, dtype=torch.float64))
    p = counts / counts.sum(dim=1, keepdim=True)
    entropy = torch.where(p > 0, p * torch.log2(1 / p), 0.0).sum(
        dim=1
    )  # p log(1/p): no "-0.00" at p = 1
    return (counts > 0).sum(dim=1), entropy


used, entropy = code_usage([c.codes for c in train_clips])
print("codebook:         " + " ".join(f"{k:5d}" for k in range(len(used))))
print("entries used:     " + " ".join(f"{int(u):5d}" for u in used))
print("entropy (bits):   " + " ".join(f"{h:5.2f}" for h in entropy))

# %% [markdown]
# What to look for: entropies of several bits in every codebook mean the codes follow the audio. Entropies
# near 0 bits mean collapse: every frame gets the same few codes. That happened to an early version of
# chapter 8's recipe (one or two entries per codebook after 30 steps, and after 240): the codec had
# learned the corpus's average spectrum and nothing of the input. Tokens like that are useless for a
# language model: it would learn "always the same code", "beat" any baseline by a hair, and teach us
# nothing.
#
# So the cell below keeps chapter 8's codec if its codes carry at least 2 bits per codebook on average,
# and otherwise falls back to a tokenizer whose codes surely *depend on the audio*: the same architecture
# **before training**. A random convolutional encoder followed by random projections and random codebooks
# is a deterministic hash of each 512-sample frame and its neighbourhood, and it spreads frames over most
# entries. Its decoder was never trained, so it cannot give sound back. Everything after this cell is
# the same either way, and it runs unchanged with a well-trained codec such as the official 44.1 kHz
# weights.

# %%
HEALTHY_BITS = 2.0
if entropy.mean() >= HEALTHY_BITS:
    tokenizer, tokenizer_name = codec, codec_source
else:
    torch.manual_seed(0)
    tokenizer = DAC.from_preset("tiny").eval()
    tokenizer_name = "the untrained tiny codec (seed 0)"
    print(
        f"{codec_source}: {entropy.mean():.2f} bits per code on average, below {HEALTHY_BITS}: "
        f"using {tokenizer_name}"
    )
    train_clips = tokenize_folder(tokenizer, corpus.train)
valid_clips = tokenize_folder(tokenizer, corpus.valid)
used, entropy = code_usage([c.codes for c in train_clips])
print(f"tokenizer for the LM: {tokenizer_name}")
print("entries used:     " + " ".join(f"{int(u):5d}" for u in used))
print("entropy (bits):   " + " ".join(f"{h:5.2f}" for h in entropy))
train_codes = [c.codes[:N_Q_LM] for c in train_clips]  # the LM's data: (n_q, S_i) per clip
valid_codes = [c.codes[:N_Q_LM] for c in valid_clips]
n_train = sum(c.shape[1] for c in train_codes)
print(
    f"train: {len(train_codes)} clips, {n_train} frames ({n_train / FRAME_RATE:.1f} s), "
    f"{n_train * N_Q_LM:,} codes in the first {N_Q_LM} codebooks; "
    f"valid: {len(valid_codes)} clips, {sum(c.shape[1] for c in valid_codes)} frames"
)

# %% [markdown]
# ## 3. From a grid to a sequence: flattened and delay layouts
#
# A frame holds $n_q$ codes, but a transformer reads one step after another. Here are the first 4 frames
# of a real clip, 4 codebooks (codebook 0 is the coarsest: RVQ's first guess; each later one codes what
# the earlier ones left over):

# %%
grid = train_clips[0].codes[:4, :4]  # (n_q = 4, S = 4)
print(f"{train_clips[0].domain}/{train_clips[0].name}, first 4 frames x 4 codebooks:\n{grid}")

# %% [markdown]
# **Flattened.** Interleave frame by frame: $c_{0,0}, c_{1,0}, c_{2,0}, c_{3,0}, c_{0,1}, \dots$ (codebook
# first index, frame second). To keep codebooks apart in one vocabulary, codebook $k$'s code $c$ becomes
# token $kK + c$. Each token is predicted from *everything* before it, including the coarser codes of
# its own frame: the exact chain rule $p(c) = \prod_{s}\prod_{k} p(c_{k,s} \mid c_{<k,s}, c_{\cdot,<s})$.
# The price is $n_q$ positions per frame.
#
# **Delay** (MusicGen). Keep $n_q$ parallel streams and shift codebook $k$ right by $k$ steps, filling
# the gaps with a pad token. One position holds $n_q$ tokens (their embeddings are summed) and $n_q$
# heads predict the next position's $n_q$ tokens at once. Thanks to the shift, $c_{k,s}$ is predicted
# at step $s + k$, after $c_{0..k-1,s}$ have been seen; what it cannot see is the *finer* codes of its own
# frame, and the $n_q$ tokens sampled at one step are independent given the past. $S$ frames take
# $S + n_q - 1$ positions instead of $S n_q$.

# %%
n_q, S = grid.shape
flat_by_hand = torch.tensor([k * K + int(grid[k, s]) for s in range(S) for k in range(n_q)])
PAD = K  # the delay layout's pad/BOS token: one past the last code
delay_by_hand = torch.full((n_q, S + n_q - 1), PAD)
for k in range(n_q):
    delay_by_hand[k, k : k + S] = grid[k]
print("flattened:", flat_by_hand.tolist())
print("delay (pad = 1024):\n", delay_by_hand)

torch.testing.assert_close(flatten_codes(grid[None], K)[0], flat_by_hand)
torch.testing.assert_close(delay_pattern(grid[None], PAD)[0], delay_by_hand)
# Both layouts lose nothing: undoing them gives the grid back, exactly.
torch.testing.assert_close(unflatten_codes(flat_by_hand[None], n_q, K)[0], grid)
torch.testing.assert_close(undo_delay_pattern(delay_by_hand[None])[0], grid)

# %%
fig, axes = plt.subplots(2, 1, figsize=(10, 3.6), gridspec_kw={"height_ratios": [1, n_q]})
colors = plt.cm.tab10(np.arange(n_q))
for pos, token in enumerate(flat_by_hand.tolist()):
    k = pos % n_q
    axes[0].add_patch(plt.Rectangle((pos, 0), 1, 1, color=colors[k], alpha=0.35))
    axes[0].text(pos + 0.5, 0.5, f"{k}:{token - k * K}", ha="center", va="center", fontsize=7)
axes[0].set(
    xlim=(0, S * n_q),
    ylim=(0, 1),
    yticks=[],
    title=f"flattened: {S * n_q} positions for {S} frames (cell = codebook:code)",
)
for k in range(n_q):
    for step in range(S + n_q - 1):
        token = int(delay_by_hand[k, step])
        axes[1].add_patch(
            plt.Rectangle(
                (step, n_q - 1 - k),
                1,
                1,
                color=colors[k] if token != PAD else "0.9",
                alpha=0.35 if token != PAD else 1.0,
            )
        )
        axes[1].text(
            step + 0.5,
            n_q - 0.5 - k,
            "pad" if token == PAD else str(token),
            ha="center",
            va="center",
            fontsize=7,
        )
axes[1].set(
    xlim=(0, S * n_q),
    ylim=(0, n_q),
    yticks=np.arange(n_q) + 0.5,
    yticklabels=[f"codebook {k}" for k in reversed(range(n_q))],
    xlabel="position (step)",
    title=f"delay: {S + n_q - 1} positions for {S} frames",
)
for ax in axes:
    ax.set_xticks(np.arange(S * n_q) + 0.5, np.arange(S * n_q), fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# We use the delay layout: with $n_q$ codebooks it is $n_q$ times shorter, so a block of 128 positions
# covers about 1.4 s instead of 0.37 s at $n_q = 4$.
#
# ## 4. The bar to clear: a unigram model
#
# Before training a transformer, ask what a trivial model scores. The **unigram** model knows only how
# often each code occurs in each codebook, $p_k(c) = (n_k(c) + 1) / (N_k + K)$ (add-one smoothing, so a
# code never seen in training costs $\log(N_k + K)$ nats, not infinity). Its cross-entropy on the
# held-out codes,
#
# $$H_\text{unigram} = -\frac{1}{|\text{valid}|}\sum_{(k, s)} \log p_k(c_{k,s})\ \text{nats per code},$$
#
# is what a model that ignores *order* achieves. Anything that learns from context must go below it.
# The ceiling is $\log 1024 = 6.93$ nats (uniform guessing, the codec's fixed 10 bits per code).

# %%
counts = torch.ones(N_Q_LM, K, dtype=torch.float64)  # the +1 of add-one smoothing
for c in train_codes:
    for k in range(N_Q_LM):
        counts[k] += torch.bincount(c[k], minlength=K).double()
log_p = (counts / counts.sum(dim=1, keepdim=True)).log()
nll = sum(-log_p[k, c[k]].sum() for c in valid_codes for k in range(N_Q_LM))
unigram_by_hand = float(nll) / sum(c.numel() for c in valid_codes)
unigram = unigram_cross_entropy(train_codes, valid_codes, K)
assert math.isclose(unigram_by_hand, unigram, rel_tol=1e-9)
print(
    f"unigram cross-entropy on the held-out codes: {unigram:.3f} nats/code = {unigram / math.log(2):.2f} bits "
    f"(uniform: {math.log(K):.3f} nats = 10 bits)"
)

# %% [markdown]
# ## 5. A small transformer over codes
#
# `CodecLM` is a GPT (nanoGPT-sized: pre-LayerNorm blocks of causal self-attention and an MLP, learned
# position embeddings) whose input at each position is the sum of $n_q$ token embeddings and whose
# output is $n_q$ heads of 1024 logits each. We learn only the first $n_q = 4$ codebooks (3.4 kbps): the
# 1024-way heads grow with $n_q$ (at $n_q = 9$ they would outweigh the whole transformer of this size),
# the coarse codebooks carry most of what is audible, and MusicGen made the same choice (4 codebooks of
# EnCodec). The training data is random windows of the delay stream (like nanoGPT's random crops of
# text), scored with cross-entropy in nats per code.
#
# Size check first. With so little data, the model is small on purpose, and dropout (0.3) is high.

# %%
lm_config = LMConfig(
    n_q=N_Q_LM,
    codebook_size=K,
    n_layer=4,
    n_head=4,
    n_embd=128,
    block_size=128,
    dropout=0.3,
    layout="delay",
)
torch.manual_seed(0)
lm = CodecLM(lm_config)
print(
    f"{lm.num_params() / 1e6:.2f}M parameters; a block of {lm_config.block_size} positions holds "
    f"{lm_config.max_frames} frames = {lm_config.max_frames / FRAME_RATE:.2f} s"
)
print(
    f"data: {n_train * N_Q_LM:,} training codes; {LM_STEPS} steps x {BATCH} windows x "
    f"{lm_config.block_size} positions = {LM_STEPS * BATCH * lm_config.block_size / n_train:.1f} passes "
    f"over the training frames"
)

# The untrained model is a near-uniform guesser: its loss starts at about log K.
with torch.no_grad():
    _, loss0 = lm(valid_codes[0][None, :, : lm_config.max_frames])
print(f"untrained LM on a held-out clip: {loss0.item():.3f} nats/code (log K = {math.log(K):.3f})")
assert abs(loss0.item() - math.log(K)) < 0.1

# %%
t0 = time.perf_counter()
losses = train_lm(
    lm,
    train_codes,
    steps=LM_STEPS,
    batch_size=BATCH,
    lr=1e-3,
    seed=0,
    log_every=max(LM_STEPS // 5, 1),
)
train_seconds = time.perf_counter() - t0
valid_loss = evaluate_lm(lm, valid_codes)
train_loss = evaluate_lm(lm, train_codes)
unigram_train = unigram_cross_entropy(train_codes, train_codes, K)
print(f"{LM_STEPS} steps in {train_seconds:.0f} s ({train_seconds / LM_STEPS:.2f} s/step)")
print(
    f"held-out: LM {valid_loss:.3f} vs unigram {unigram:.3f} nats/code -> "
    f"{unigram - valid_loss:+.3f} nats = {(unigram - valid_loss) / math.log(2):+.2f} bits per code"
)
print(f"training clips: LM {train_loss:.3f} vs unigram {unigram_train:.3f} nats/code")
if not SMOKE:
    assert valid_loss < unigram, "the LM must beat the unigram baseline on held-out codes"

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.plot(np.arange(1, LM_STEPS + 1), losses, label="LM, training windows")
ax.axhline(unigram, color="C1", ls="--", label=f"unigram, held out ({unigram:.2f})")
ax.axhline(valid_loss, color="C2", ls=":", label=f"LM, held out, end ({valid_loss:.2f})")
ax.axhline(math.log(K), color="0.6", lw=0.8, label="uniform (log 1024)")
ax.set(xlabel="step", ylabel="cross-entropy (nats/code)", title="training the token LM")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Two readings of this plot. On held-out clips the LM ends below the unigram line (with the 15-minute codec
# by about 0.9 nats, 1.3 bits, per code in our run at reading size; with the untrained fallback by much less),
# so it has learned something that generalises. And its loss on the training clips falls far below
# its held-out loss: 48 seconds of audio is tiny, and the model memorises it within a hundred steps.
# More data, not more steps, is what it needs.
#
# *What* did it learn? One average hides a lot. `lm(codes)` returns logits on the codes' own grid, so we
# can score each codebook of the held-out clips separately (in windows of one block, each from BOS).


# %%
def per_codebook_lm(model: CodecLM, clips: list[torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy (nats) per codebook, scoring each clip in windows of at most max_frames frames."""
    total, count = torch.zeros(model.config.n_q), 0
    with torch.no_grad():
        for c in clips:
            for a in range(0, c.shape[1], model.config.max_frames):
                window = c[None, :, a : a + model.config.max_frames]
                logits, _ = model(window)  # (1, n_q, S, K)
                nll = torch.nn.functional.cross_entropy(
                    logits[0].transpose(1, 2), window[0], reduction="none"
                )
                total += nll.sum(dim=1)
                count += window.shape[2]
    return total / count


lm_by_codebook = per_codebook_lm(lm.eval(), valid_codes)
uni_by_codebook = torch.tensor(
    [
        unigram_cross_entropy(
            [c[k : k + 1] for c in train_codes], [c[k : k + 1] for c in valid_codes], K
        )
        for k in range(N_Q_LM)
    ]
)
fig, ax = plt.subplots(figsize=(6, 3))
x = np.arange(N_Q_LM)
ax.bar(x - 0.2, uni_by_codebook, 0.4, label="unigram")
ax.bar(x + 0.2, lm_by_codebook, 0.4, label="LM")
ax.set(xticks=x, xlabel="codebook k", ylabel="nats/code (held out)", title="where the LM gains")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
for k in range(N_Q_LM):
    print(f"codebook {k}: unigram {uni_by_codebook[k]:.3f}, LM {lm_by_codebook[k]:.3f} nats/code")

# %% [markdown]
# With the 15-minute codec the gain is spread over every codebook, codebook 0 included (the largest): each
# costs about one nat per code less under the LM than under the unigram (+0.75 to +1.13 in our run at
# reading size, +1.13 for codebook 0).
#
# - **Codebook 0** is predicted before the other codebooks of its frame (delay layout), from earlier frames
#   only, so its gain is structure in *time*: the toy clips hold notes, syllables and textures that last many
#   frames, and a codec that follows its input gives such frames related codes, though rarely the same code
#   twice in a row (the repeat rate is printed below).
# - **Codebooks 1–3** also see codebook 0 of the same frame, and a residual's code partly follows from it.
#
# It was not always so. With weaker tokenizers (an early version of chapter 8's 30-step codec, and the
# untrained fallback) codebooks 1–3 gained up to 3 nats per code and codebook 0 nothing: that LM had learned
# the *codec's* structure within a frame, not the *audio's* structure in time. The aggregate number cannot
# tell the two apart; the per-codebook view can.

# %%
first = torch.cat([c[0] for c in train_codes])
print(
    f"codebook 0 on the training clips: {len(first.unique())} entries used in {len(first)} frames "
    f"({len(first) / len(first.unique()):.1f} frames per entry); the next frame repeats the code "
    f"{(first[1:] == first[:-1]).double().mean():.1%} of the time"
)
gains = (uni_by_codebook - lm_by_codebook).tolist()
print(
    "LM gain over unigram per codebook (nats/code): "
    + ", ".join(f"{k}: {g:+.2f}" for k, g in enumerate(gains))
)

# %% [markdown]
# A cross-entropy in nats per code is also a **bitrate**. An arithmetic coder driven by a model spends
# $-\log_2 p$ bits on each code, so a model at $H$ nats per code would store these tokens at
# $H / \ln 2 \times 86.13\, n_q$ bits per second, instead of the codec's fixed 10 bits per code:

# %%
tps_lm = tokens_per_second(SR, HOP, N_Q_LM)
for name, nats in (
    ("fixed 10-bit codes", math.log(K)),
    ("unigram model", unigram),
    ("token LM", valid_loss),
):
    print(
        f"{name:20s} {nats / math.log(2):5.2f} bits/code  ->  {nats / math.log(2) * tps_lm / 1000:5.2f} kbps "
        f"for {N_Q_LM} codebooks"
    )

# %% [markdown]
# ## 6. Continuing a held-out clip
#
# Now the point of it all. Take a held-out music clip, keep its first second (86 frames) as the
# **prompt**, and let the LM write the next second, one step at a time: sample each step's $n_q$ tokens
# from the softmax of the logits divided by a **temperature** $T$ ($T < 1$ sharpens the distribution,
# $T > 1$ flattens it), keeping only the **top-$k$** most likely codes. `generate` uses a KV cache, so
# each new step attends to stored keys and values instead of recomputing the prompt. A seed makes the
# sample reproducible.

# %%
clip = next(c for c in valid_clips if c.domain == "music")
codes_true = clip.codes[:N_Q_LM][None]  # (1, n_q, S)
PROMPT_FRAMES = round(FRAME_RATE)  # 1 s
n_new = codes_true.shape[2] - PROMPT_FRAMES
prompt = codes_true[:, :, :PROMPT_FRAMES]
TEMPERATURE, TOP_K = 1.0, 50
sampled = generate(lm, prompt, n_new, temperature=TEMPERATURE, top_k=TOP_K, seed=0)
assert torch.equal(sampled[:, :, :PROMPT_FRAMES], prompt)  # the prompt comes back unchanged
assert torch.equal(
    sampled, generate(lm, prompt, n_new, temperature=TEMPERATURE, top_k=TOP_K, seed=0)
)
print(
    f"prompt {tuple(prompt.shape)} -> {tuple(sampled.shape)}; the same seed gives the same sample"
)


def repeat_rate(codes: torch.Tensor) -> float:
    """Share of codes (n_q, S) equal to the same codebook's code one frame earlier."""
    return (codes[:, 1:] == codes[:, :-1]).double().mean().item()


new_true, new_lm = codes_true[0, :, PROMPT_FRAMES:], sampled[0, :, PROMPT_FRAMES:]
print(
    f"held-out clip {clip.domain}/{clip.name}: continuation codes equal to the true ones: "
    f"{(new_true == new_lm).double().mean():.1%}; repeat rate, true {repeat_rate(new_true):.1%} vs "
    f"sampled {repeat_rate(new_lm):.1%}; distinct codes in codebook 0, true {len(new_true[0].unique())} vs "
    f"sampled {len(new_lm[0].unique())}"
)

# %% [markdown]
# The codec's decoder turns codes into sound. We decode three things, all with the first $n_q = 4$
# codebooks: the clip's true codes (what the codec itself makes of the real clip), and the prompt
# followed by the LM's continuation. The original audio is there for reference.

# %%
with torch.inference_mode():
    audio_true = tokenizer.decode_codes(codes_true)[0, 0].numpy()  # (S * hop,)
    audio_lm = tokenizer.decode_codes(sampled)[0, 0].numpy()
original, _ = load_audio(corpus.valid / clip.domain / f"{clip.name}.wav", SR)
original = original[0]
print(f"original ({clip.domain}/{clip.name}):")
display(Audio(original, rate=SR))
print("codec decoding of the true codes (prompt + real continuation):")
display(Audio(audio_true, rate=SR))
print(f"codec decoding of prompt + LM continuation (T = {TEMPERATURE}, top-k = {TOP_K}):")
display(Audio(audio_lm, rate=SR))


# %%
def show_spectrograms(signals: dict[str, np.ndarray], boundary: float) -> None:
    """Log-magnitude spectrograms side by side, with a line where the prompt ends."""
    fig, axes = plt.subplots(1, len(signals), figsize=(10, 3.2), sharey=True)
    window = torch.hann_window(1024)
    for ax, (name, y) in zip(axes, signals.items()):
        spec = torch.stft(
            torch.from_numpy(np.ascontiguousarray(y)), 1024, 256, window=window, return_complex=True
        ).abs()
        db = 20 * torch.log10(spec.clamp(min=1e-5))
        ax.imshow(
            db.numpy(),
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=float(db.max()) - 80,
            vmax=float(db.max()),
            extent=(0, len(y) / SR, 0, SR / 2000),
        )
        ax.axvline(boundary, color="w", ls="--", lw=1)
        ax.set(title=name, xlabel="time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    fig.tight_layout()
    plt.show()


boundary = PROMPT_FRAMES * HOP / SR
show_spectrograms(
    {"original": original, "codec, true codes": audio_true, "codec, prompt + LM": audio_lm},
    boundary,
)

# %% [markdown]
# How to read this figure with a good codec: left of the dashed line the middle and right panels are
# identical (same codes); right of it, the middle one decodes the real continuation and the right one the
# LM's, and the question is whether the continuation keeps the prompt's texture (the same bands lit, a
# similar rhythm). Comparing with the original (left) asks about the codec, not the LM.
#
# What we hear is partly the codec. An untrained decoder gives the same steady buzz whatever its codes; the
# 15-minute codec follows the clip's timing and rough spectrum but smears its harmonics (chapter 8), and it
# decodes 4 of its 9 codebooks here. So the decoded continuation shows only coarsely what the LM did; the
# code statistics printed above say more (how many continuation codes match the truth, how often codes
# repeat, how many distinct codes). Listening is the real test of a codec's tokens, and it needs a codec
# trained for far longer than a CPU and a few minutes allow.
#
# Temperature and top-$k$ change what is sampled. Lower temperatures concentrate the draws on the LM's
# favourite codes (fewer distinct codes; at $T = 0.3$ the continuation can freeze on a few codes repeated
# frame after frame, a steady drone); higher ones spread them towards uniform. Listen to each:


# %%
def continue_with(temperature: float) -> None:
    """Sample a continuation of the prompt at ``temperature`` (seed 0), print its code statistics, play it."""
    out = generate(lm, prompt, n_new, temperature=temperature, top_k=TOP_K, seed=0)
    new = out[0, :, PROMPT_FRAMES:]
    print(
        f"T = {temperature}: distinct codes per codebook {[len(row.unique()) for row in new]} "
        f"(true continuation {[len(row.unique()) for row in new_true]}), repeat rate {repeat_rate(new):.1%} "
        f"(true {repeat_rate(new_true):.1%}), equal to the true code {(new == new_true).double().mean():.1%}"
    )
    with torch.inference_mode():
        display(Audio(tokenizer.decode_codes(out)[0, 0].numpy(), rate=SR))


for temperature in (0.3, 1.0, 2.0):
    continue_with(temperature)

# %% [markdown]
# ## 7. What a few minutes of CPU can learn
#
# Be clear about what this chapter showed and what it did not.
#
# - **Shown:** the whole pipeline of codec language modelling runs end to end (tokenize, lay out,
#   train, sample with a KV cache, decode), and the LM's held-out cross-entropy is measurably below the
#   unigram baseline's, after a couple of minutes on one CPU thread.
# - **Also shown, by looking closer:** where the gain comes from. With the 15-minute codec every codebook
#   gains, codebook 0 from earlier frames alone (structure in time); with weaker tokenizers the gain was
#   structure *within* a frame only (fine codebooks given the coarse one).
# - **Not shown:** anything musical. A 0.6M-parameter codec after 15 minutes smears what it decodes, and one
#   trained for a minute (or not at all) decodes to noise whatever the codes. No amount of LM training fixes
#   a tokenizer: the LM can only model what the codes carry, and the audio can only be as good as the decoder.
# - **The scale gap:** MusicGen's language models have 300M to 3.3B parameters and trained on 20,000
#   hours of music with a trained codec; ours has 1.9M parameters and saw 48 seconds. The recipe is the
#   same: tokenize with a trained codec (`tokenize_folder(DAC.load(...), folder)`, e.g. the official
#   44.1 kHz weights from `dac_minimal.codec.official.download_official`, or a long run of chapter 8's command
#   line), train `CodecLM` on the codes (on a GPU), `generate`, `decode_codes`. Every cell above runs
#   unchanged.

# %%
print(f"chapter ran in {time.perf_counter() - t_start:.0f} s (LM training {train_seconds:.0f} s)")

# %% [markdown]
# ## Exercises
#
# **Exercise 1. Context length.** A transformer with a context of 2048 positions models the first
# 9 codebooks. How many seconds of audio fit in one context with the flattened layout, and with the
# delay layout? Check your numbers with `LMConfig(...).max_frames`.

# %% jupyter={"source_hidden": true} tags=["solution"]
flat_frames = 2048 // 9
delay_frames = 2048 - 9 + 1
assert LMConfig(n_q=9, block_size=2048, layout="flatten").max_frames == flat_frames
assert LMConfig(n_q=9, block_size=2048, layout="delay").max_frames == delay_frames
print(
    f"flattened: {flat_frames} frames = {flat_frames / FRAME_RATE:.2f} s; "
    f"delay: {delay_frames} frames = {delay_frames / FRAME_RATE:.2f} s"
)
assert flat_frames / FRAME_RATE < 3 < 23 < delay_frames / FRAME_RATE

# %% [markdown]
# **Exercise 2. Greedy is deterministic.** With `top_k=1` the sampler always takes the most likely code.
# Show that two different seeds then give the same continuation, while with `top_k=None` they differ.
# Then look at the greedy continuation's repeat rate: what does greedy decoding do to audio?

# %% jupyter={"source_hidden": true} tags=["solution"]
short = 20  # frames to generate
greedy_a = generate(lm, prompt, short, top_k=1, seed=1)
greedy_b = generate(lm, prompt, short, top_k=1, seed=2)
assert torch.equal(greedy_a, greedy_b)
free_a = generate(lm, prompt, short, seed=1)
free_b = generate(lm, prompt, short, seed=2)
assert not torch.equal(free_a, free_b)
print(
    f"greedy repeat rate {repeat_rate(greedy_a[0, :, PROMPT_FRAMES:]):.1%}, "
    f"sampled {repeat_rate(free_a[0, :, PROMPT_FRAMES:]):.1%}"
)

# %% [markdown]
# **Exercise 3. Temperature and entropy.** For the LM's distribution over codebook 0 at the last prompt
# position, compute the entropy (in bits) of the softmax of `logits / T` for T = 0.5, 1 and 2. Show that
# it grows with T, and that top-k = 50 caps it at $\log_2 50$ bits.

# %% jupyter={"source_hidden": true} tags=["solution"]
with torch.no_grad():
    logits_all, _ = lm(prompt)  # (1, n_q, S, K)
last = logits_all[0, 0, -1]  # codebook 0 of the last prompt frame


def entropy_bits(logits: torch.Tensor) -> float:
    p = torch.softmax(logits, dim=-1)
    return float(-(p * torch.log2(p.clamp(min=1e-30))).sum())


ents = {T: entropy_bits(last / T) for T in (0.5, 1.0, 2.0)}
top = torch.topk(last, 50).values
print(
    {T: round(h, 2) for T, h in ents.items()},
    f"top-50 at T = 2: {entropy_bits(top / 2.0):.2f} bits",
)
assert ents[0.5] < ents[1.0] < ents[2.0] <= math.log2(K)
assert entropy_bits(top / 2.0) <= math.log2(50) + 1e-6
