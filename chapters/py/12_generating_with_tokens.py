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
# # 12. Generating audio with codec tokens
#
# Why build a neural codec at all, if MP3 and Opus exist? Because DAC's output is not a bitstream
# for a player: it is a grid of small integers, $c \in \{0, \dots, 1023\}^{n_q \times L}$ for $L$
# frames, and a grid of integers is what a language model eats. Learn $p(c)$ the way GPT learns
# $p(\text{text})$, sample new codes, and the codec's decoder turns them into sound. AudioLM, VALL-E
# and MusicGen all work this way. A codec turns audio into a token sequence short enough for a
# transformer, and a language model over those tokens generates audio; this chapter builds the
# whole chain at a size that trains in a few minutes, and ends with what such models should and
# should not be used for.
#
# ## What you will learn
#
# - the token-rate arithmetic that makes a transformer over 44.1 kHz audio feasible at all;
# - how to tokenize a corpus with a codec, and how to check its tokens before trusting them;
# - two ways to lay the $n_q$ codebooks out as one sequence: flattened, and MusicGen's delay
#   pattern;
# - how to train a small transformer on the codes and measure it against a unigram baseline, one
#   codebook at a time;
# - how to continue a held-out clip by sampling with a temperature $\tau$ and top-$k$, and how
#   to decode the result;
# - what such a codec handles badly, and the ethics of generating audio: voice cloning, consent,
#   watermarking and detection, responsible release.
#
# Each step is built inline and checked against `dac_minimal.lm.transformer` and
# `dac_minimal.lm.tokenize`. The setup cell chooses the language model's training size.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import book_codec, sizes
from IPython.display import Audio, display

from dac_minimal.data import ensure_toy_corpus
from dac_minimal.evaluate.metrics import mel_distance
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

LM_STEPS, BATCH = sizes((100, 3), (16, 4))  # AdamW steps for the LM, windows per step
SR, HOP, K = 44100, 512, 1024  # f_s, the hop M (samples per frame), entries per codebook
N_Q_LM = 4  # codebooks the language model learns (section 12.5 says why not all 9)
torch.set_num_threads(1)
torch.manual_seed(0)
t_start = time.perf_counter()

# %% [markdown]
# ## 12.1 How many tokens is a second of audio?
#
# A transformer's cost grows with the length $N$ of its sequence: attention compares every
# position with every earlier one, about $N^2/2$ dot products per layer and head. So the first
# question for any "language model of audio" is: how long is the sequence?
#
# Raw audio is 44,100 samples per second. A transformer over samples would need 441,000 positions
# for 10 seconds. DAC's encoder downsamples by the hop $M = 512$, so there are
# $f_s / M = 44100 / 512 \approx 86.13$ frames per second, and each frame holds $n_q$ codes:
#
# $$\text{tokens per second} = \frac{f_s}{M}\, n_q \approx 86.13\, n_q .$$
#
# How those tokens become *positions* depends on the layout (section 12.3): flattened, every token
# is one position ($86.13\,n_q$ per second); with the delay pattern, one position holds one token of
# each codebook, so $L$ frames take $N = L + n_q - 1$ positions, where 10 s of audio are
# $L = \lceil 441000/512 \rceil = 862$ frames.

# %%
FRAME_RATE = SR / HOP
SECONDS = 10
L10 = math.ceil(SECONDS * SR / HOP)  # frames in 10 s
print(f"frame rate {FRAME_RATE:.2f} frames/s; 10 s = {L10} frames = {SECONDS * SR:,} samples\n")
print("n_q  tokens/s  kbps   10 s flattened  10 s delay  attention cost, flattened / delay")
for n_q in range(1, 10):
    tps = FRAME_RATE * n_q
    flat, delay = L10 * n_q, L10 + n_q - 1
    print(
        f"{n_q:3d}  {tps:8.1f}  {tps * 10 / 1000:4.2f}   {flat:14,d}  {delay:10,d}"
        f"  {(flat / delay) ** 2:8.1f}x"
    )
    # The package's arithmetic agrees (tokens_per_second, and LMConfig.steps_for for both layouts).
    assert math.isclose(tokens_per_second(SR, HOP, n_q), tps)
    assert LMConfig(n_q=n_q, layout="flatten").steps_for(L10) == flat
    assert LMConfig(n_q=n_q, layout="delay", block_size=64).steps_for(L10) == delay

samples_vs_delay = (SECONDS * SR / (L10 + 8)) ** 2
flat9_mb, delay9_mb = (L10 * 9) ** 2 * 4 / 1e6, (L10 + 8) ** 2 * 4 / 1e6
print(
    f"\nsamples as positions: {SECONDS * SR:,} positions, {samples_vs_delay:,.0f}x the attention"
    f" cost of the 9-codebook delay layout"
)
print(
    f"one attention matrix (one head, one layer, float32) for 10 s flattened at n_q = 9: "
    f"{flat9_mb:.0f} MB; delay: {delay9_mb:.1f} MB"
)

# %% [markdown]
# Read the table from the right. A codec is what brings 10 s of 44.1 kHz audio from 441,000
# positions to a few thousand; flattening all 9 codebooks still costs about $80\times$ the attention
# of the delay layout (and an attention matrix of the size printed above, per head and layer), which
# is why long-form models such as MusicGen keep the codebooks in parallel. The kbps column is
# [chapter 1](01_audio_and_tokens.ipynb)'s bitrate: every token is 10 bits.
#
# ## 12.2 The tokenizer, and a look at its tokens
#
# We tokenize with the book's codec, `book_codec()`: the tiny codec whose weights are committed in
# `benchmarks/reference_curves/`, the model that chapters 9 and 10 measure. The command that
# trains it and its scores are in `benchmarks/reference_curves/README.md`; the file is regenerated
# whenever its recipe or its training data change, so read its current numbers there, not here.
# Why this codec: its decoder is trained, so sampled codes become sound; it is small enough to
# tokenize the whole toy corpus in seconds; and it has the same hop, the same 9 codebooks of 1024
# entries and the same bitrate as the full 44.1 kHz model, so every shape below is the real one.
# Pass any other `DAC` (for example the official weights,
# [chapter 10](10_compression_in_practice.ipynb)) and every cell runs unchanged.

# %%
codec, codec_source = book_codec()
print(
    f"tokenizer: {codec_source}; {codec.n_codebooks} codebooks of {codec.config.codebook_size}, "
    f"hop {codec.hop_length}"
)

corpus = ensure_toy_corpus()  # train (24 clips of 2 s) and valid (12 held-out clips)

# %% [markdown]
# Tokenizing is just encoding: read a clip, shape it `(B, 1, T)`, and keep `encode(x).codes`, with
# the codec in eval mode (exercise 12.4 asks what training mode would change).
# `dac_minimal.lm.tokenize.tokenize_folder` does this for every file of a folder (mono mix,
# resampling, eval mode, chunks for long files); it must agree with our one clip.

# %%
path = sorted((corpus.train / "music").glob("*.wav"))[0]
audio, _ = load_audio(path, SR)  # (1, T) float32
with torch.inference_mode():
    codes_by_hand = codec.encode(torch.from_numpy(audio)[None]).codes[0]  # (n_q, L)
print(
    f"{path.parent.name}/{path.name}: {audio.shape[1]} samples -> codes"
    f" {tuple(codes_by_hand.shape)} (ceil({audio.shape[1]} / {HOP}) ="
    f" {math.ceil(audio.shape[1] / HOP)} frames)"
)

train_clips = tokenize_folder(codec, corpus.train)
valid_clips = tokenize_folder(codec, corpus.valid)
same = next(c for c in train_clips if (c.domain, c.name) == ("music", path.stem))
torch.testing.assert_close(same.codes, codes_by_hand)
print(f"{len(train_clips)} training clips tokenized; the package's codes equal ours")

# %% [markdown]
# Before training anything on these tokens, look at them. A language model can only learn the
# information its tokens carry, and a codec can fail in a way no loss curve of
# [chapter 8](08_training.ipynb) shows directly: **codebook collapse**
# ([chapter 3](03_vector_quantization.ipynb)), where most inputs map to the same few entries. Two
# numbers per codebook over the training set: how many of the 1024 entries are used, and the
# entropy $H_k = -\sum_c p_k(c)\log_2 p_k(c)$ of the code frequencies (at most 10 bits; 0 bits
# means one code always).


# %%
def code_usage(
    clips: list[torch.Tensor], codebook_size: int = K
) -> tuple[torch.Tensor, torch.Tensor]:
    """Entries used and entropy (bits) per codebook, over clips of codes (n_q, L_i)."""
    counts = torch.zeros(clips[0].shape[0], codebook_size, dtype=torch.float64)
    for c in clips:
        counts.scatter_add_(1, c, torch.ones_like(c, dtype=torch.float64))
    p = counts / counts.sum(dim=1, keepdim=True)
    # p log(1/p), 0 where p = 0 (and no "-0.00" where p = 1)
    entropy = torch.where(p > 0, p * torch.log2(1 / p), 0.0).sum(dim=1)
    return (counts > 0).sum(dim=1), entropy


used, entropy = code_usage([c.codes for c in train_clips])
print("codebook:         " + " ".join(f"{k:5d}" for k in range(len(used))))
print("entries used:     " + " ".join(f"{int(u):5d}" for u in used))
print("entropy (bits):   " + " ".join(f"{h:5.2f}" for h in entropy))
assert entropy.min() > 2.0, "a collapsed codebook: these tokens would not follow the audio"

train_codes = [c.codes[:N_Q_LM] for c in train_clips]  # the LM's data: (n_q, L_i) per clip
valid_codes = [c.codes[:N_Q_LM] for c in valid_clips]
n_train = sum(c.shape[1] for c in train_codes)
print(
    f"train: {len(train_codes)} clips, {n_train} frames ({n_train / FRAME_RATE:.1f} s), "
    f"{n_train * N_Q_LM:,} codes in the first {N_Q_LM} codebooks; "
    f"valid: {len(valid_codes)} clips, {sum(c.shape[1] for c in valid_codes)} frames"
)

# %% [markdown]
# What to look for: entropies of several bits in every codebook mean that the codes follow the
# audio (the cell asserts at least 2 bits in each). Entropies near 0 bits would mean collapse: every
# frame gets the same few codes, because the codec has learned the corpus's average spectrum and
# nothing of its input. Tokens like that are useless to a language model: it would learn "always
# the same code", "beat" any baseline by a hair, and teach us nothing.
#
# ## 12.3 From a grid to a sequence: flattened and delay layouts
#
# A frame holds $n_q$ codes, but a transformer reads one step after another. Here are the first 4
# frames of a real clip, 4 codebooks (codebook 0 is the coarsest: RVQ's first guess; each later
# one codes what the earlier ones left over, [chapter 4](04_residual_vq.ipynb)):

# %%
grid = train_clips[0].codes[:4, :4]  # (n_q = 4, L = 4)
print(f"{train_clips[0].domain}/{train_clips[0].name}, first 4 frames x 4 codebooks:\n{grid}")

# %% [markdown]
# **Flattened.** Interleave frame by frame: $c_{0,0}, c_{1,0}, c_{2,0}, c_{3,0}, c_{0,1}, \dots$
# (codebook first index, frame $j$ second). To keep codebooks apart in one vocabulary, codebook
# $k$'s code $c$ becomes token $kK + c$. Each token is predicted from *everything* before it,
# including the coarser codes of its own frame: the exact chain rule
# $p(c) = \prod_{j}\prod_{k} p(c_{k,j} \mid c_{<k,j}, c_{\cdot,<j})$. The price is $n_q$ positions
# per frame.
#
# **Delay** (MusicGen). Keep $n_q$ parallel streams and shift codebook $k$ right by $k$ steps,
# filling the gaps with a pad token. One position holds $n_q$ tokens (their embeddings are summed)
# and $n_q$ heads predict the next position's $n_q$ tokens at once. Thanks to the shift, $c_{k,j}$
# is predicted at step $j + k$, after $c_{0..k-1,j}$ have been seen, as in the flattened layout.
# The approximation is elsewhere: code $c_{k',j'}$ sits at step $j' + k'$, so $c_{k,j}$ does not
# see the finer codes ($k' > k$) of the $k' - k$ frames before its own, which the flattened layout
# shows (codebook 0 misses codebook 3 of the three previous frames), and the $n_q$ tokens sampled
# at one step are independent given the past.
# $L$ frames take $L + n_q - 1$ positions instead of $L n_q$.

# %%
n_q, L = grid.shape
flat_by_hand = torch.tensor([k * K + int(grid[k, j]) for j in range(L) for k in range(n_q)])
PAD = K  # the delay layout's pad/BOS token: one past the last code
delay_by_hand = torch.full((n_q, L + n_q - 1), PAD)
for k in range(n_q):
    delay_by_hand[k, k : k + L] = grid[k]
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
    xlim=(0, L * n_q),
    ylim=(0, 1),
    yticks=[],
    title=f"flattened: {L * n_q} positions for {L} frames (cell = codebook:code)",
)
for k in range(n_q):
    for step in range(L + n_q - 1):
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
    xlim=(0, L * n_q),
    ylim=(0, n_q),
    yticks=np.arange(n_q) + 0.5,
    yticklabels=[f"codebook {k}" for k in reversed(range(n_q))],
    xlabel="position (step)",
    title=f"delay: {L + n_q - 1} positions for {L} frames",
)
for ax in axes:
    ax.set_xticks(np.arange(L * n_q) + 0.5, np.arange(L * n_q), fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# We use the delay layout: with $n_q$ codebooks it is about $n_q$ times shorter, so at $n_q = 4$ a
# block of 128 positions covers $125/86.13 \approx 1.45$ s instead of $32/86.13 \approx 0.37$ s.
#
# ## 12.4 The bar to clear: a unigram model
#
# Before training a transformer, ask what a trivial model scores. The **unigram** model knows only
# how often each code occurs in each codebook, $p_k(c) = (n_k(c) + 1) / (N_k + K)$ (add-one
# smoothing, so a code never seen in training costs $\log(N_k + K)$ nats, not infinity). Its
# cross-entropy on the held-out codes,
#
# $$H_\text{unigram} = -\frac{1}{|\text{valid}|}\sum_{(k, j)} \log p_k(c_{k,j})\ \text{nats per
#   code},$$
#
# is what a model that ignores *order* achieves. Anything that learns from context must go below
# it. The ceiling is $\log 1024 = 6.93$ nats (uniform guessing, the codec's fixed 10 bits per
# code).

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
    f"unigram cross-entropy on the held-out codes: {unigram:.3f} nats/code ="
    f" {unigram / math.log(2):.2f} bits (uniform: {math.log(K):.3f} nats = 10 bits)"
)

# %% [markdown]
# ## 12.5 A small transformer over codes
#
# `CodecLM` is a GPT (nanoGPT-sized: pre-LayerNorm blocks of causal self-attention and an MLP,
# learned position embeddings) whose input at each position is the sum of $n_q$ token embeddings
# and whose output is $n_q$ heads of 1024 logits each. We learn only the first $n_q = 4$ codebooks
# (3.4 kbps): the 1024-way heads grow with $n_q$ (at $n_q = 9$ they would outweigh the whole
# transformer of this size), the coarse codebooks carry most of what is audible, and MusicGen made
# the same choice (4 codebooks of EnCodec). The training data is random windows of the delay stream
# (like nanoGPT's random crops of text), scored with cross-entropy in nats per code.
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
passes = LM_STEPS * BATCH * lm_config.block_size / n_train
print(
    f"data: {n_train * N_Q_LM:,} training codes; {LM_STEPS} steps x {BATCH} windows x "
    f"{lm_config.block_size} positions = {passes:.1f} passes over the training frames"
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
gain = unigram - valid_loss
print(
    f"held-out: LM {valid_loss:.3f} vs unigram {unigram:.3f} nats/code -> "
    f"{gain:+.3f} nats = {gain / math.log(2):+.2f} bits per code "
    f"({'below' if gain > 0 else 'not yet below'} the unigram line)"
)
print(f"training clips: LM {train_loss:.3f} vs unigram {unigram_train:.3f} nats/code")
assert valid_loss < loss0.item(), "training must move the LM away from uniform guessing"

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
# Two readings of this plot. On held-out clips, the question is whether the LM ends below the
# unigram line (the cell above prints by how much): if it does, it has learned something about
# *order* that generalises to clips it never saw. Then compare its loss on the training clips with
# its held-out loss (both printed): a training loss far below the held-out one means memorising,
# and under a minute of audio (section 12.2 prints how much) is quickly memorised. More data, not
# more steps, is what such a model needs.
#
# *What* did it learn? One average hides a lot. `lm(codes)` returns logits on the codes' own grid,
# so we can score each codebook of the held-out clips separately (in windows of one block, each
# from BOS).


# %%
def per_codebook_lm(model: CodecLM, clips: list[torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy (nats) per codebook, scoring each clip in windows of max_frames frames."""
    total, count = torch.zeros(model.config.n_q), 0
    with torch.no_grad():
        for c in clips:
            for a in range(0, c.shape[1], model.config.max_frames):
                window = c[None, :, a : a + model.config.max_frames]
                logits, _ = model(window)  # (1, n_q, L, K)
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
xs = np.arange(N_Q_LM)
ax.bar(xs - 0.2, uni_by_codebook, 0.4, label="unigram")
ax.bar(xs + 0.2, lm_by_codebook, 0.4, label="LM")
ax.set(xticks=xs, xlabel="codebook k", ylabel="nats/code (held out)", title="where the LM gains")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
for k in range(N_Q_LM):
    print(
        f"codebook {k}: unigram {uni_by_codebook[k]:.3f}, LM {lm_by_codebook[k]:.3f} nats/code,"
        f" gain {uni_by_codebook[k] - lm_by_codebook[k]:+.2f}"
    )
first = torch.cat([c[0] for c in train_codes])
print(
    f"codebook 0 on the training clips: {len(first.unique())} entries used in {len(first)} frames"
    f" ({len(first) / len(first.unique()):.1f} frames per entry); the next frame repeats the code"
    f" {(first[1:] == first[:-1]).double().mean():.1%} of the time"
)

# %% [markdown]
# The two kinds of gain mean different things, and the per-codebook view tells them apart.
#
# - **Codebook 0** is predicted before the other codebooks of its frame (delay layout), from
#   earlier frames only, so any gain there is structure in *time*: the toy clips hold notes,
#   syllables and textures that last many frames, and a codec that follows its input gives such
#   frames related codes, though rarely the same code twice in a row (the last line above prints
#   how often).
# - **Codebooks 1-3** also see codebook 0 of the same frame, and a residual's code partly follows
#   from it: a gain there can be the *codec's* structure within a frame rather than the audio's.
#
# An LM whose gain sat only in codebooks 1-3, with none in codebook 0, would have learned how the
# codec's quantizers relate to each other and nothing about how the audio goes on. The aggregate
# number cannot tell the two apart.
#
# A cross-entropy in nats per code is also a **bitrate**. An arithmetic coder driven by a model
# spends $-\log_2 p$ bits on each code, so a model at $H$ nats per code would store these tokens at
# $H / \ln 2 \times 86.13\, n_q$ bits per second, instead of the codec's fixed 10 bits per code:

# %%
tps_lm = tokens_per_second(SR, HOP, N_Q_LM)
for name, nats in (
    ("fixed 10-bit codes", math.log(K)),
    ("unigram model", unigram),
    ("token LM", valid_loss),
):
    bits = nats / math.log(2)
    print(f"{name:20s} {bits:5.2f} bits/code  ->  {bits * tps_lm / 1000:5.2f} kbps for {N_Q_LM}")

# %% [markdown]
# ## 12.6 Continuing a held-out clip
#
# Now the point of it all. Take a held-out music clip, keep its first second (86 frames) as the
# **prompt**, and let the LM write the next second, one step at a time: sample each step's $n_q$
# tokens from the softmax of the logits divided by a **temperature** $\tau$ ($\tau < 1$ sharpens
# the distribution, $\tau > 1$ flattens it), keeping only the **top-$k$** most likely codes.
# `generate` uses a KV cache, so each new step attends to stored keys and values instead of
# recomputing the prompt. A seed makes the sample reproducible.

# %%
clip = next(c for c in valid_clips if c.domain == "music")
codes_true = clip.codes[:N_Q_LM][None]  # (1, n_q, L)
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
    """Share of codes (n_q, L) equal to the same codebook's code one frame earlier."""
    return (codes[:, 1:] == codes[:, :-1]).double().mean().item()


new_true, new_lm = codes_true[0, :, PROMPT_FRAMES:], sampled[0, :, PROMPT_FRAMES:]
print(
    f"held-out clip {clip.domain}/{clip.name}: continuation codes equal to the true ones: "
    f"{(new_true == new_lm).double().mean():.1%}; repeat rate, true {repeat_rate(new_true):.1%}"
    f" vs sampled {repeat_rate(new_lm):.1%}; distinct codes in codebook 0, true"
    f" {len(new_true[0].unique())} vs sampled {len(new_lm[0].unique())}"
)

# %% [markdown]
# The codec's decoder turns codes into sound. We decode the clip's true codes (what the codec
# itself makes of the real clip) and the prompt followed by the LM's continuation, both with the
# first $n_q = 4$ codebooks. The original audio is there for reference.

# %%
with torch.inference_mode():
    audio_true = codec.decode_codes(codes_true)[0, 0].numpy()  # (L * M,)
    audio_lm = codec.decode_codes(sampled)[0, 0].numpy()
original, _ = load_audio(corpus.valid / clip.domain / f"{clip.name}.wav", SR)
original = original[0]
print(f"original ({clip.domain}/{clip.name}):")
display(Audio(original, rate=SR))
print("codec decoding of the true codes (prompt + real continuation):")
display(Audio(audio_true, rate=SR))
print(f"codec decoding of prompt + LM continuation (τ = {TEMPERATURE}, top-k = {TOP_K}):")
display(Audio(audio_lm, rate=SR))


# %%
def show_spectrograms(signals: dict[str, np.ndarray], boundary: float | None = None) -> None:
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
        if boundary is not None:
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
# How to read this figure: left of the dashed line the middle and right panels are identical (same
# codes); right of it, the middle one decodes the real continuation and the right one the LM's, and
# the question is whether the continuation keeps the prompt's texture (the same bands lit, a similar
# rhythm). Comparing the middle panel with the original (left) asks about the codec, not the LM:
# what we hear is partly the codec, here decoding 4 of its 9 codebooks (section 12.8 compares 4 with
# 9, and [chapter 9](09_evaluation.ipynb) measures how far it is from the original). So the decoded
# continuation shows only coarsely what the LM did; the code statistics printed above say more (how
# many continuation codes match the truth, how often codes repeat, how many distinct codes).
#
# Temperature and top-$k$ change what is sampled. Lower temperatures concentrate the draws on the
# LM's favourite codes, higher ones spread them towards uniform; compare the number of distinct
# codes each one uses with the true continuation's. Listen to each:


# %%
def continue_with(temperature: float) -> None:
    """Sample a continuation at ``temperature`` (seed 0), print its code statistics, play it."""
    out = generate(lm, prompt, n_new, temperature=temperature, top_k=TOP_K, seed=0)
    new = out[0, :, PROMPT_FRAMES:]
    print(
        f"τ = {temperature}: distinct codes per codebook {[len(row.unique()) for row in new]} "
        f"(true continuation {[len(row.unique()) for row in new_true]}), repeat rate"
        f" {repeat_rate(new):.1%} (true {repeat_rate(new_true):.1%}), equal to the true code"
        f" {(new == new_true).double().mean():.1%}"
    )
    with torch.inference_mode():
        display(Audio(codec.decode_codes(out)[0, 0].numpy(), rate=SR))


for temperature in (0.3, 1.0, 2.0):
    continue_with(temperature)

# %% [markdown]
# ## 12.7 What this small model shows, and what it does not
#
# - **Shown:** the whole pipeline of codec language modelling runs end to end (tokenize, lay out,
#   train, sample with a KV cache, decode), and section 12.5 measures the LM's held-out
#   cross-entropy against the unigram baseline's, one codebook at a time.
# - **Also shown, by looking closer:** where a gain comes from. Codebook 0's gain can only be
#   structure in time; the finer codebooks' can be the codec's own structure within a frame.
# - **Not shown:** anything musical. A tiny codec smears what it decodes, and no amount of LM
#   training fixes a tokenizer: the LM can only model what the codes carry, and the audio can only
#   be as good as the decoder.
# - **The scale gap:** MusicGen's language models have 300M to 3.3B parameters and were trained on
#   20,000 hours of licensed music with a trained codec; ours has the size section 12.5 prints and
#   saw under a minute of audio. The recipe is the same: tokenize with a trained codec
#   (`tokenize_folder(DAC.load(...), folder)`, for example the official 44.1 kHz weights from
#   `dac_minimal.codec.official.download_official`), train `CodecLM` on the codes (on a GPU),
#   `generate`, `decode_codes`. Every cell above runs unchanged.

# %% [markdown]
# ## 12.8 Limitations and ethics
#
# ### What a codec like this handles badly
#
# A codec is trained to spend its bits on what its losses and its data reward, and it fails where
# they did not look. Typical weak spots of neural codecs at low bitrates, this one included:
#
# - **transients** (clicks, drum attacks, plosives): the energy of one sharp event is spread over
#   a frame of 512 samples and its neighbours, so attacks come back softened or smeared;
# - **noise-like sounds** (breath, hiss, cymbals, rain): a handful of codebooks cannot describe
#   noise sample by sample, so it comes back tonal, metallic or "warbly";
# - **dense mixtures and high frequencies**: when many sources share a frame, the coarse codebooks
#   go to the loudest, and the top octave is the first to lose detail;
# - **out-of-domain audio**: a codec trained on one kind of recording (for example, a synthetic toy
#   corpus) can fail on another (a real voice, a real room) without any error message.
#
# You can hear each of these with this chapter's tools. The cell below decodes every held-out clip
# at 9 and at 4 codebooks, scores it with the mel distance ([chapter 7](07_losses.ipynb)'s loss,
# as chapter 9 uses it), and plays and draws the worst one.

# %%
scores = []
for c in valid_clips:
    ref, _ = load_audio(corpus.valid / c.domain / f"{c.name}.wav", SR)
    with torch.inference_mode():
        decoded = {n: codec.decode_codes(c.codes[None, :n])[0, 0].numpy() for n in (9, 4)}
    T_ = min(ref.shape[1], len(decoded[9]))
    dist = {n: float(mel_distance(y[:T_], ref[0, :T_])) for n, y in decoded.items()}
    scores.append((dist[9], dist[4], c, ref[0, :T_], decoded[9][:T_]))
for domain in sorted({c.domain for *_, c, _, _ in scores}):
    rows = [s for s in scores if s[2].domain == domain]
    print(
        f"{domain:8s} mel distance, mean over {len(rows)} clips: 9 codebooks"
        f" {np.mean([r[0] for r in rows]):.2f}, 4 codebooks {np.mean([r[1] for r in rows]):.2f}"
    )
worst = max(scores, key=lambda s: s[0])
print(f"worst at 9 codebooks: {worst[2].domain}/{worst[2].name} ({worst[0]:.2f})")
display(Audio(worst[3], rate=SR))
display(Audio(worst[4], rate=SR))
show_spectrograms({"original": worst[3], "codec, 9 codebooks": worst[4]})

# %% [markdown]
# Listen for the weak spots listed above, then try your own recordings with `tokenize_audio` and
# `decode_codes`: a clap, a whisper, a cymbal, a voice in a reverberant room.
#
# ### Voice cloning with token language models
#
# Section 12.6 continued a prompt in the style of the prompt. With speech, that is voice cloning.
# [VALL-E](https://arxiv.org/abs/2301.02111) trains a language model over EnCodec tokens on 60,000
# hours of speech and, given the tokens of a 3-second recording of an unseen speaker as a prompt,
# speaks any text in that voice, keeping the speaker's emotion and even the acoustic environment of
# the recording; AudioLM continues speech in the prompt's voice with no text at all. The mechanism
# is the one this chapter built: a codec, a prompt and a sampler. A few seconds of anyone's voice (a
# voicemail, a video) can be enough, which makes impersonation fraud, fake statements by public
# figures and attacks on voice-based authentication cheap.
#
# ### Consent
#
# A voice identifies a person, and in many jurisdictions a recording of it is personal data. Train
# on recordings whose licence and consent terms cover what you do with them (the public speech
# and music datasets that chapter 8 points to each have their own), prompt with voices only of
# people who have agreed to it, and say plainly when audio is generated. The same applies to
# music: a model that continues a recording can reproduce a performer's style or a passage of its
# training data.
#
# ### Watermarking and detection
#
# Two technical defences help, neither is complete. **Watermarking** hides a signal in generated
# audio that a detector can find later: [AudioSeal](https://arxiv.org/abs/2401.17264) trains a
# watermark generator and a detector jointly so that the mark is imperceptible, survives common
# edits, and can be located down to the sample, so that a detector can say which parts of a
# recording were generated. It only works if whoever generates the audio adds the mark, and a
# determined attacker may remove it. **Detection** classifies audio as real or generated from the
# artefacts a generator leaves: AudioLM's authors trained such a classifier for their model's
# output. Detectors trained on one generator can miss the next one, and codec artefacts are not
# proof of generation, since real recordings pass through codecs too.
#
# ### Responsible release
#
# Whether to release a model is part of building it. VALL-E's authors published samples and the
# paper, not the model, and discussed its risks in the paper; MusicGen was released with a model
# card that documents its training data and intended uses, and AudioSeal as open code for marking
# and detecting generated speech. For your own models: document the data and its consent, state
# the intended and the excluded uses, watermark what a generative model produces, consider gated
# access for anything that can clone a voice, and test for the misuse you can foresee before you
# publish. The tiny codec and LM of this book cannot clone anyone; the same code at scale can.

# %%
print(f"chapter ran in {time.perf_counter() - t_start:.0f} s (LM training {train_seconds:.0f} s)")

# %% [markdown]
# ## Key takeaways
#
# - A codec turns 44,100 samples per second into $86.13\,n_q$ tokens; with the delay layout $L$
#   frames take $L + n_q - 1$ positions, short enough for a transformer to model seconds of audio.
# - Look at the tokens before modelling them: entries used and entropy per codebook reveal codebook
#   collapse, which no LM can recover from.
# - A unigram model is the bar; score the LM per codebook, because a gain in codebook 0 is
#   structure in time and a gain only in the finer codebooks may be the codec's own structure.
# - Sampling with a temperature $\tau$ and top-$k$ trades diversity against the LM's confidence;
#   the decoded result can only be as good as the codec's decoder.
# - The same chain (codec, prompt, sampler) clones voices at scale: consent, watermarking,
#   detection and careful release belong to the work, not after it.

# %% [markdown]
# ## Exercises
#
# ### Exercise 12.1 (★) Context length
#
# A transformer with a context of 2048 positions models all 9 codebooks. How many seconds of audio
# fit in one context with the flattened layout, and with the delay layout? Check your numbers with
# `LMConfig(...).max_frames`.
#
# [Solution](solutions/12_generating_with_tokens.ipynb)
#
# ### Exercise 12.2 (★★) Greedy is deterministic
#
# With `top_k=1` the sampler always takes the most likely code. Show that two different seeds then
# give the same continuation, while with `top_k=None` they differ. Then look at the greedy
# continuation's repeat rate and distinct codes: what does greedy decoding do to audio?
#
# [Solution](solutions/12_generating_with_tokens.ipynb)
#
# ### Exercise 12.3 (★★) Temperature and entropy
#
# For the LM's distribution over codebook 0 at the last prompt position, compute the entropy (in
# bits) of the softmax of `logits / τ` for $\tau$ = 0.5, 1 and 2. Show that it grows with $\tau$,
# and that top-$k$ = 50 caps it at $\log_2 50$ bits.
#
# [Solution](solutions/12_generating_with_tokens.ipynb)
#
# ### Exercise 12.4 (★) Does eval mode matter?
#
# Section 12.2 tokenizes with the codec in eval mode. Predict what changes if you encode a batch of
# clips in training mode, where quantizer dropout ([chapter 4](04_residual_vq.ipynb)) is on: the
# codes, the quantized latent $z_q$, both or neither? Check it, and say why `tokenize_folder` sets
# eval mode anyway.
#
# [Solution](solutions/12_generating_with_tokens.ipynb)
#
# ### Exercise 12.5 (★★★) Open-ended: flattened or delay?
#
# Train two LMs of the same size on the same codes for the same number of steps, one with
# `layout="flatten"` and one with `layout="delay"`, and compare their held-out cross-entropy per
# codebook. Work out first which codes each layout lets a code see: which codebooks should gain
# from flattening, and what does flattening cost? How does the answer change with the context
# length in frames, with $n_q$, and with the number of steps?
#
# [Solution](solutions/12_generating_with_tokens.ipynb)

# %% [markdown]
# ## Further reading
#
# - [AudioLM: Borsos et al., 2022](https://arxiv.org/abs/2209.03143): audio generation as language
#   modelling over semantic and codec tokens, speech and piano continuations from short prompts.
# - [VALL-E: Wang et al., 2023](https://arxiv.org/abs/2301.02111): text-to-speech as a language
#   model over EnCodec tokens, with voice cloning from a 3-second prompt.
# - [MusicGen: Copet et al., 2023](https://arxiv.org/abs/2306.05284): one transformer over 4
#   parallel codebooks with the delay pattern of section 12.3, and a comparison of interleaving
#   patterns (exercise 12.5).
# - [AudioSeal: San Roman et al., 2024](https://arxiv.org/abs/2401.17264): localized watermarking
#   for detecting generated speech, the defence discussed in section 12.8.
# - [Karpathy's nanoGPT](https://github.com/karpathy/nanoGPT): the small, readable GPT whose shape
#   `CodecLM` follows, and a good next step for training bigger ones.
# - [DAC: Kumar et al., 2023](https://arxiv.org/abs/2306.06546): the codec whose tokens this
#   chapter models; its introduction frames codecs as tokenizers for generative models.

# %% [markdown]
# [← 11. Reproducing the claims](11_reproducing_the_claims.ipynb) · [Contents](00_preface.ipynb)
