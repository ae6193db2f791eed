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
# # Solutions: 12. Generating audio with codec tokens
#
# [← 12. Generating audio with codec tokens](../12_generating_with_tokens.ipynb)
#
# Worked solutions to the chapter's exercises. The setup cell tokenizes the toy corpus with the
# book's codec, as section 12.2 does, and trains a smaller LM than section 12.5's for a few
# steps: the exercises on sampling need *a* trained model, not a good one.

# %%
import sys

sys.path.insert(0, "..")

import math

import torch
from book import book_codec, sizes

from dac_minimal.data import ensure_toy_corpus
from dac_minimal.lm.tokenize import tokenize_folder
from dac_minimal.lm.transformer import CodecLM, LMConfig, generate, train_lm
from dac_minimal.utils.audio import load_audio

STEPS, BATCH = sizes((60, 3), (8, 2))  # AdamW steps of each small LM, windows per step
SR, HOP, K, N_Q = 44100, 512, 1024, 4
FRAME_RATE = SR / HOP
torch.set_num_threads(1)

codec, codec_source = book_codec()
corpus = ensure_toy_corpus()
train_clips = tokenize_folder(codec, corpus.train)
valid_clips = tokenize_folder(codec, corpus.valid)
train_codes = [c.codes[:N_Q] for c in train_clips]
valid_codes = [c.codes[:N_Q] for c in valid_clips]


def small_lm(layout: str = "delay") -> CodecLM:
    """A 2-layer LM over the first N_Q codebooks, trained for STEPS steps."""
    torch.manual_seed(0)
    config = LMConfig(
        n_q=N_Q, codebook_size=K, n_layer=2, n_head=2, n_embd=64, block_size=128, layout=layout
    )
    model = CodecLM(config)
    train_lm(model, train_codes, steps=STEPS, batch_size=BATCH, lr=2e-3, seed=0)
    return model.eval()


lm = small_lm()
clip = next(c for c in valid_clips if c.domain == "music")
PROMPT_FRAMES = round(FRAME_RATE)
prompt = clip.codes[:N_Q, :PROMPT_FRAMES][None]  # (1, n_q, 86)
print(f"tokenizer: {codec_source}; LM of {lm.num_params() / 1e6:.2f}M parameters")


def repeat_rate(codes: torch.Tensor) -> float:
    """Share of codes (n_q, L) equal to the same codebook's code one frame earlier."""
    return (codes[:, 1:] == codes[:, :-1]).double().mean().item()


# %% [markdown]
# ### Solution 12.1
#
# Flattened, each frame takes $n_q = 9$ positions, so 2048 positions hold $\lfloor 2048/9 \rfloor
# = 227$ frames. With the delay layout, $L$ frames take $L + n_q - 1$ positions, so 2048 positions
# hold $2048 - 8 = 2040$ frames. At 86.13 frames per second:

# %%
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
# Under 3 seconds against more than 23: the same context sees about 9 times more audio with the
# delay layout, which is what a model of long-form music needs.
#
# ### Solution 12.2
#
# With `top_k=1` only the most likely code survives the filter, so the random draw has one
# outcome and the seed does not matter. Without a filter, two seeds draw different codes almost
# surely.

# %%
short = 20  # frames to generate
greedy_a = generate(lm, prompt, short, top_k=1, seed=1)
greedy_b = generate(lm, prompt, short, top_k=1, seed=2)
assert torch.equal(greedy_a, greedy_b)
free_a = generate(lm, prompt, short, seed=1)
free_b = generate(lm, prompt, short, seed=2)
assert not torch.equal(free_a, free_b)
new_greedy, new_free = greedy_a[0, :, PROMPT_FRAMES:], free_a[0, :, PROMPT_FRAMES:]
print(
    f"greedy: repeat rate {repeat_rate(new_greedy):.1%}, distinct codes per codebook"
    f" {[len(r.unique()) for r in new_greedy]}; sampled: repeat rate {repeat_rate(new_free):.1%},"
    f" distinct {[len(r.unique()) for r in new_free]}"
)

# %% [markdown]
# Greedy decoding takes the mode at every step, and the mode of a model's next-step distribution
# is rarely a typical continuation: it tends to repeat itself and to use fewer distinct codes, and
# the more strongly the LM prefers a code the more often it comes back (compare the printed repeat
# rates and counts; with a better-trained LM the effect grows). In audio that is a drone or a loop.
# This is why audio LMs sample, with a temperature and top-$k$ (MusicGen uses top-$k$ = 250),
# rather than decode greedily or with beam search.
#
# ### Solution 12.3
#
# Dividing logits by $\tau$ before the softmax raises every probability to the power $1/\tau$ and
# renormalises: $\tau < 1$ sharpens towards the mode (entropy falls, towards 0 bits), $\tau > 1$
# flattens towards uniform (entropy rises, towards $\log_2 1024 = 10$ bits). Top-$k$ keeps $k$
# codes, and no distribution over $k$ outcomes has more than $\log_2 k$ bits.

# %%
with torch.no_grad():
    logits_all, _ = lm(prompt)  # (1, n_q, L, K)
last = logits_all[0, 0, -1]  # codebook 0 of the last prompt frame


def entropy_bits(logits: torch.Tensor) -> float:
    p = torch.softmax(logits, dim=-1)
    return float(-(p * torch.log2(p.clamp(min=1e-30))).sum())


ents = {tau: entropy_bits(last / tau) for tau in (0.5, 1.0, 2.0)}
top = torch.topk(last, 50).values
print(
    {f"τ = {tau}": round(h, 2) for tau, h in ents.items()},
    f"top-50 at τ = 2: {entropy_bits(top / 2.0):.2f} bits (log2 50 = {math.log2(50):.2f})",
)
assert ents[0.5] < ents[1.0] < ents[2.0] <= math.log2(K)
assert entropy_bits(top / 2.0) <= math.log2(50) + 1e-6

# %% [markdown]
# ### Solution 12.4
#
# Prediction: the codes do not change, $z_q$ does. Quantizer dropout does not change what each
# quantizer computes: every codebook still quantizes the residual the earlier ones left, so all
# $n_q$ codes come out the same. What dropout changes is which quantizers' outputs are *summed*
# into $z_q$, for the share $p$ of the batch that it drops (chapter 4). We check it on a batch of
# four training clips:

# %%
paths = sorted((corpus.train / "music").glob("*.wav"))[:4]
batch = torch.stack([torch.from_numpy(load_audio(p, SR)[0]) for p in paths])  # (4, 1, T)
p_drop = codec.quantizer.quantizer_dropout
n_dropped = int(batch.shape[0] * p_drop)  # the first items of a batch are the ones dropped
with torch.no_grad():
    eval_out = codec.eval().encode(batch)
    torch.manual_seed(3)
    train_out = codec.train().encode(batch)
codec.eval()
same_z = [torch.equal(a, b) for a, b in zip(eval_out.z, train_out.z)]
print(f"p = {p_drop}: {n_dropped} of {batch.shape[0]} items may use fewer codebooks")
print(f"codes equal in both modes: {torch.equal(eval_out.codes, train_out.codes)}")
print(f"z_q equal, item by item: {same_z}")
assert torch.equal(eval_out.codes, train_out.codes)
assert all(same_z[n_dropped:])  # items beyond the dropped share are untouched

# %% [markdown]
# The dropped items' $z_q$ differ (unless an item happened to draw all 9 codebooks). So a token
# LM would get the same codes in either mode from this codec, but eval mode is still the contract
# `tokenize_folder` keeps: it is the mode in which `encode` means "the codes the decoder will
# receive", the mode the codec is evaluated in, and the one in which no other training-time
# behaviour (a dropout layer, a normalisation with batch statistics, in another codec) can change
# the result.
#
# ### Solution 12.5
#
# A way in: train two small LMs that differ only in `layout`, with the same steps and seed, and
# score each codebook of the held-out clips (the chapter's `per_codebook_lm`, restated below).
# First, what each layout lets a code see. Flattened, $c_{k,j}$ sees every code of every earlier
# frame and the coarser codes of its own. Delayed, $c_{k,j}$ sits at step $j + k$ and sees
# $c_{k',j'}$ only if $j' + k' < j + k$: the coarser codes of its own frame as well, but not the
# finer codes ($k' > k$) of the $k' - k$ frames before its own. Codebook 0 misses the most
# (codebooks 1-3 of the last one to three frames), codebook 3 nothing. So flattening should help the
# coarse codebooks most, if the recent finer codes carry information about them. What it costs:
# $n_q$ times more positions per frame, so fewer frames in a block and more attention per frame.


# %%
def per_codebook_lm(model: CodecLM, clips: list[torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy (nats) per codebook, in windows of at most max_frames frames."""
    total, count = torch.zeros(model.config.n_q), 0
    with torch.no_grad():
        for c in clips:
            for a in range(0, c.shape[1], model.config.max_frames):
                window = c[None, :, a : a + model.config.max_frames]
                logits, _ = model(window)
                nll = torch.nn.functional.cross_entropy(
                    logits[0].transpose(1, 2), window[0], reduction="none"
                )
                total += nll.sum(dim=1)
                count += window.shape[2]
    return total / count


flat_lm = small_lm("flatten")
scores = {
    "delay": per_codebook_lm(lm, valid_codes),
    "flatten": per_codebook_lm(flat_lm, valid_codes),
}
for name, model in (("delay", lm), ("flatten", flat_lm)):
    print(
        f"{name:8s} {model.num_params() / 1e6:.2f}M parameters, {model.config.max_frames} frames"
        f" per block; held-out nats/code per codebook: "
        + ", ".join(f"{v:.3f}" for v in scores[name])
    )
print("flatten minus delay: " + ", ".join(f"{v:+.3f}" for v in scores["flatten"] - scores["delay"]))

# %% [markdown]
# What to look for: a negative difference (flattened below delayed) in a codebook means that what
# the delay layout hides helps to predict it; the prediction above is that codebook 0 gains most.
# Against that, the flattened block holds 4 times fewer frames, and the two models differ in size
# (their output heads differ; the cell prints both counts). At this size the differences are noisy:
# before reading anything into them, train for more steps (`STEPS`), repeat with several seeds and
# look at the spread. Then extend it: give both layouts the same context in *frames* (a block of $4
# \times 32$ positions flattened against $32 + 3$ delayed), vary $n_q$, and compare the time each
# layout takes per step. MusicGen's paper compares these and other interleaving patterns at scale.
