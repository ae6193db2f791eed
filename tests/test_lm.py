"""Tests for the token language model: layouts, causality, the KV cache, sampling, training."""

import math
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dac_minimal.lm.transformer import (
    CodecLM,
    LMConfig,
    codes_to_stream,
    delay_pattern,
    evaluate_lm,
    flatten_codes,
    generate,
    stream_to_codes,
    tokens_per_second,
    train_lm,
    undo_delay_pattern,
    unflatten_codes,
    unigram_cross_entropy,
)

K = 16
LAYOUTS = ["delay", "flatten"]


def tiny_config(layout: str, n_q: int = 3, block_size: int = 48) -> LMConfig:
    return LMConfig(
        n_q=n_q,
        codebook_size=K,
        n_layer=2,
        n_head=2,
        n_embd=32,
        block_size=block_size,
        layout=layout,
    )


def tiny_model(layout: str, **kwargs) -> CodecLM:
    torch.manual_seed(0)
    return CodecLM(tiny_config(layout, **kwargs)).eval()


def stream_position(layout: str, n_q: int, k: int, s: int) -> int:
    """Transformer position whose logits predict code (k, s): its order in the layout."""
    return s + k if layout == "delay" else s * n_q + k


@pytest.mark.parametrize("n_q", [1, 2, 4, 9])
@pytest.mark.parametrize("S", [1, 7])
def test_delay_pattern_matches_definition_and_round_trips(n_q, S):
    codes = torch.randint(0, K, (2, n_q, S))
    delayed = delay_pattern(codes, pad_id=K)
    expected = torch.full((2, n_q, S + n_q - 1), K)
    for k in range(n_q):
        for s in range(S):
            expected[:, k, s + k] = codes[:, k, s]
    assert torch.equal(delayed, expected)
    assert torch.equal(undo_delay_pattern(delayed), codes)


@pytest.mark.parametrize("n_q", [1, 2, 4, 9])
@pytest.mark.parametrize("S", [1, 7])
def test_flatten_matches_definition_and_round_trips(n_q, S):
    codes = torch.randint(0, K, (2, n_q, S))
    tokens = flatten_codes(codes, K)
    expected = torch.tensor(
        [[k * K + int(codes[b, k, s]) for s in range(S) for k in range(n_q)] for b in range(2)]
    )
    assert torch.equal(tokens, expected)
    assert torch.equal(unflatten_codes(tokens, n_q, K), codes)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("n_q", [1, 3, 9])
def test_stream_round_trips(layout, n_q):
    cfg = tiny_config(layout, n_q=n_q, block_size=64)
    codes = torch.randint(0, K, (3, n_q, 11))
    stream = codes_to_stream(codes, cfg)
    assert stream.shape == (3, cfg.channels, cfg.steps_for(11))
    assert torch.equal(stream_to_codes(stream, cfg), codes)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_forward_logits_sit_on_the_code_grid(layout):
    model = tiny_model(layout)
    cfg = model.config
    codes = torch.randint(0, K, (2, cfg.n_q, cfg.max_frames))
    logits, loss = model(codes)
    assert logits.shape == (2, cfg.n_q, cfg.max_frames, K)
    # Independent: read each code's logits off the raw stream output at its layout position.
    stream_logits = model.forward_stream(
        torch.cat(
            [
                torch.full((2, cfg.channels, 1), cfg.special_token),
                codes_to_stream(codes, cfg)[:, :, :-1],
            ],
            dim=2,
        )
    )
    for k in range(cfg.n_q):
        for s in (0, 5, cfg.max_frames - 1):
            channel = k if layout == "delay" else 0
            expected = stream_logits[:, stream_position(layout, cfg.n_q, k, s), channel]
            assert torch.allclose(logits[:, k, s], expected, atol=1e-6)
    manual = -torch.log_softmax(logits, dim=-1).gather(-1, codes[..., None]).mean()
    assert torch.allclose(loss, manual, atol=1e-6)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_gradient_of_logits_never_reaches_later_positions(layout):
    model = tiny_model(layout)
    cfg = model.config
    inputs = torch.randint(0, cfg.vocab_size, (2, cfg.channels, 20))
    x = model.embed(inputs).detach().requires_grad_()
    logits = model.from_embeddings(x)  # (B, T, C, K)
    for t in (0, 7, 19):
        (grad,) = torch.autograd.grad(logits[:, t].sum(), x, retain_graph=True)
        assert torch.count_nonzero(grad[:, t + 1 :]) == 0  # exactly zero, not just small
        assert (grad[:, : t + 1].abs().sum(dim=(0, 2)) > 0).all()  # every visible position matters


@pytest.mark.parametrize("layout", LAYOUTS)
def test_perturbing_a_code_changes_only_logits_after_it_in_layout_order(layout):
    model = tiny_model(layout)
    cfg = model.config
    codes = torch.randint(0, K, (1, cfg.n_q, 12))
    j, s_changed = 1, 5
    other = codes.clone()
    other[0, j, s_changed] = (codes[0, j, s_changed] + 1) % K
    before, after = model(codes)[0], model(other)[0]
    changed_pos = stream_position(layout, cfg.n_q, j, s_changed)
    n_later_changed = 0
    for k in range(cfg.n_q):
        for s in range(12):
            same = torch.equal(before[0, k, s], after[0, k, s])
            if stream_position(layout, cfg.n_q, k, s) <= changed_pos:
                assert same, f"logits of code ({k}, {s}) saw code ({j}, {s_changed})"
            else:
                n_later_changed += not same
    assert n_later_changed > 0


def test_delay_layout_sees_coarser_codebooks_of_the_same_frame_only():
    # In the delay layout "the future" is layout order, not frame order: codebook 2 of frame s is
    # predicted at step s + 2, after codebook 0 of frame s + 1 entered the model.
    model = tiny_model("delay")
    codes = torch.randint(0, K, (1, 3, 10))
    base = model(codes)[0]

    def changed_by(k: int, s: int) -> torch.Tensor:
        other = codes.clone()
        other[0, k, s] = (codes[0, k, s] + 1) % K
        return ~torch.isclose(model(other)[0], base).all(dim=-1)[0]  # (n_q, S)

    by_c0 = changed_by(0, 4)
    assert by_c0[1, 4] and by_c0[2, 4] and by_c0[2, 3]  # finer codebooks of frame 4, and of frame 3
    assert not by_c0[0, 4] and not by_c0[1, 3]
    by_c2 = changed_by(2, 4)
    assert not by_c2[0, 4] and not by_c2[1, 4] and not by_c2[0, 6]  # its own frame's coarser codes
    assert by_c2[0, 7]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_kv_cache_gives_the_full_forward_logits(layout):
    model = tiny_model(layout)
    cfg = model.config
    inputs = torch.randint(0, cfg.vocab_size, (2, cfg.channels, cfg.block_size))
    full = model.forward_stream(inputs)
    cache = model.new_cache(2)
    pieces = [
        model.forward_stream(inputs[:, :, :6], cache),
        model.forward_stream(inputs[:, :, 6:15], cache),
    ]
    pieces += [
        model.forward_stream(inputs[:, :, t : t + 1], cache) for t in range(15, cfg.block_size)
    ]
    assert cache.length == cfg.block_size
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=0)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_cached_and_uncached_sampling_agree_within_a_block(layout):
    model = tiny_model(layout)
    prompt = torch.randint(0, K, (2, 3, 4))
    n_frames = model.config.max_frames - 4
    cached = generate(model, prompt, n_frames, seed=3)
    uncached = generate(model, prompt, n_frames, seed=3, use_cache=False)
    assert torch.equal(cached, uncached)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_generate_is_valid_and_reproducible(layout):
    model = tiny_model(layout)
    prompt = torch.randint(0, K, (2, 3, 5))
    out = generate(model, prompt, 30, temperature=1.2, top_k=8, seed=0)
    assert out.shape == (2, 3, 35) and out.dtype == torch.int64
    assert torch.equal(out[:, :, :5], prompt)
    assert out.min() >= 0 and out.max() < K
    assert torch.equal(out, generate(model, prompt, 30, temperature=1.2, top_k=8, seed=0))
    assert torch.equal(
        out,
        generate(
            model, prompt, 30, temperature=1.2, top_k=8, generator=torch.Generator().manual_seed(0)
        ),
    )
    assert not torch.equal(out, generate(model, prompt, 30, temperature=1.2, top_k=8, seed=1))
    # top_k = 1 is greedy: the seed no longer matters.
    assert torch.equal(
        generate(model, prompt, 10, top_k=1, seed=0), generate(model, prompt, 10, top_k=1, seed=1)
    )
    assert torch.equal(generate(model, prompt, 0, seed=0), prompt)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("use_cache", [True, False])
def test_long_prompt_is_cropped_to_the_last_block(layout, use_cache):
    model = tiny_model(layout)
    cfg = model.config
    frames = 3 * cfg.max_frames  # several blocks: the cache must be refilled while sampling too
    prompt = torch.randint(0, K, (1, 3, frames))
    out = generate(model, prompt, 40, seed=0, use_cache=use_cache)
    assert out.shape == (1, 3, frames + 40) and torch.equal(out[:, :, :frames], prompt)
    assert out.min() >= 0 and out.max() < K
    # The first frames are far outside the window, so changing them changes nothing.
    older = prompt.clone()
    older[:, :, :5] = (older[:, :, :5] + 1) % K
    assert torch.equal(
        out[:, :, frames:], generate(model, older, 40, seed=0, use_cache=use_cache)[:, :, frames:]
    )


def periodic_codes(n_frames: int, period: int = 8, phase: int = 0, n_q: int = 3) -> torch.Tensor:
    """Codebook k cycles through ``period`` distinct codes.

    Unigram cross-entropy ≈ log(period), yet every code is predictable from its context.
    """
    g = torch.Generator().manual_seed(1)
    table = torch.stack([torch.randperm(K, generator=g)[:period] for _ in range(n_q)])  # (n_q, P)
    return table[:, (torch.arange(n_frames) + phase) % period][None]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_training_on_a_repeating_pattern_beats_the_unigram_baseline(layout):
    train, held_out = periodic_codes(400), periodic_codes(100, phase=3)
    baseline = unigram_cross_entropy(train, held_out, codebook_size=K)
    assert baseline == pytest.approx(math.log(8), abs=0.02)
    model = tiny_model(layout).train()
    losses = train_lm(model, train, steps=60, batch_size=8, lr=3e-3, seed=0)
    assert len(losses) == 60 and losses[0] > 2.0
    lm = evaluate_lm(model, held_out)
    assert lm < 0.25 * baseline, f"LM {lm:.3f} vs unigram {baseline:.3f} nats/code"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_evaluate_lm_scores_every_code_once(layout):
    model = tiny_model(layout)
    cfg = model.config
    fits = torch.randint(0, K, (3, 3, cfg.max_frames))
    assert evaluate_lm(model, fits) == pytest.approx(model(fits)[1].item(), abs=1e-5)
    # Clips of different lengths (beyond one block): the mean is over codes, so it is the
    # code-weighted mean of the clips' own scores.
    clips = [torch.randint(0, K, (3, n)) for n in (5, 70, 130)]
    each = [evaluate_lm(model, c) for c in clips]
    weighted = sum(e * c.shape[1] for e, c in zip(each, clips)) / sum(c.shape[1] for c in clips)
    assert evaluate_lm(model, clips) == pytest.approx(weighted, abs=1e-5)
    assert math.log(K) - 0.5 < evaluate_lm(model, clips) < math.log(K) + 0.5  # untrained ≈ uniform


def test_unigram_cross_entropy_matches_counting():
    train = torch.randint(0, 5, (2, 3, 40))
    evals = [torch.randint(0, K, (3, 9)), torch.randint(0, K, (3, 4))]
    nll, n = 0.0, 0
    for k in range(3):
        counts = Counter(train[:, k].flatten().tolist())
        total = train[:, k].numel()
        for clip in evals:
            for code in clip[k].tolist():
                nll -= math.log((counts[code] + 1) / (total + K))
                n += 1
    assert unigram_cross_entropy(train, evals, codebook_size=K) == pytest.approx(nll / n, rel=1e-9)


def test_tokens_per_second():
    assert tokens_per_second() == pytest.approx(775.1953125)
    assert tokens_per_second(n_q=1) == pytest.approx(86.1328125)
    assert tokens_per_second(24000, 320, 8) == pytest.approx(600.0)


@pytest.mark.parametrize(
    ("codes", "match"),
    [
        (torch.rand(1, 3, 5), "integer"),
        (torch.zeros(5, dtype=torch.long), r"\(B, n_q, S\)"),
        (torch.full((1, 3, 5), K), r"\[0, 16\)"),
        (torch.full((1, 3, 5), -1), r"\[0, 16\)"),
        (torch.zeros(1, 4, 5, dtype=torch.long), "4 codebooks, expected n_q=3"),
        ([[1, 2]], "torch.Tensor"),
    ],
)
def test_entry_points_reject_bad_codes(codes, match):
    model = tiny_model("delay")
    for call in (
        lambda: evaluate_lm(model, codes),
        lambda: train_lm(model, codes, steps=1),
        lambda: generate(model, codes, 1),
    ):
        with pytest.raises(ValueError, match=match):
            call()


def test_generate_rejects_bad_arguments():
    model = tiny_model("flatten")
    prompt = torch.zeros(1, 3, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="empty"):
        generate(model, torch.zeros(1, 3, 0, dtype=torch.long), 5)
    with pytest.raises(ValueError, match=r"\[0, 16\)"):
        generate(model, prompt + K, 5)
    with pytest.raises(ValueError, match="n_q=3"):
        generate(model, torch.zeros(1, 2, 4, dtype=torch.long), 5)
    for temperature in (0, -1.0, float("nan"), float("inf"), "hot"):
        with pytest.raises(ValueError, match="temperature"):
            generate(model, prompt, 5, temperature=temperature)
    for top_k in (0, K + 1, 2.5, True):
        with pytest.raises(ValueError, match="top_k"):
            generate(model, prompt, 5, top_k=top_k)
    with pytest.raises(ValueError, match="n_frames"):
        generate(model, prompt, -1)
    with pytest.raises(ValueError, match="seed or generator"):
        generate(model, prompt, 5, seed=0, generator=torch.Generator())


def test_config_and_training_reject_bad_settings():
    with pytest.raises(ValueError, match="layout"):
        LMConfig(layout="parallel")
    with pytest.raises(ValueError, match="divisible"):
        LMConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="block_size"):
        LMConfig(n_q=9, block_size=10, layout="flatten")
    with pytest.raises(ValueError, match="dropout"):
        LMConfig(dropout=1.0)
    model = tiny_model("delay")
    codes = torch.zeros(2, 3, 10, dtype=torch.long)
    with pytest.raises(ValueError, match="steps"):
        train_lm(model, codes, steps=0)
    with pytest.raises(ValueError, match="window"):
        train_lm(model, codes, steps=1, window=49)
    with pytest.raises(ValueError, match="empty"):
        train_lm(model, [], steps=1)
    with pytest.raises(ValueError, match="n_q=3"):
        unigram_cross_entropy(codes, torch.zeros(1, 2, 4, dtype=torch.long), codebook_size=K)
    with pytest.raises(ValueError, match="train_codes is empty"):
        unigram_cross_entropy([], codes, codebook_size=K)
    with pytest.raises(ValueError, match=r"\[0, 16\)"):
        unigram_cross_entropy(codes + K, codes, codebook_size=K)


def test_numpy_codes_are_accepted_at_the_entry_points():
    model = tiny_model("delay")
    codes = np.random.default_rng(0).integers(0, K, (1, 3, 6))
    assert evaluate_lm(model, codes) == evaluate_lm(model, torch.from_numpy(codes))
    assert torch.equal(
        generate(model, codes, 2, seed=0), generate(model, torch.from_numpy(codes), 2, seed=0)
    )
    assert (
        F.softmax(model(torch.from_numpy(codes))[0], dim=-1).sum(-1).allclose(torch.ones(1, 3, 6))
    )
