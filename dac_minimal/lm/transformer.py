"""A tiny token language model over RVQ codes: the reason a neural codec exists.

The codec turns audio into integer codes ``c`` shaped ``(B, n_q, S)``: n_q codebooks of K entries
(9 x 1024 for DAC) at 44100/512 ≈ 86.13 frames per second. A decoder-only transformer (nanoGPT
style) learns ``p(c)`` and samples continuations of a prompt; the codec's decoder turns them back
into sound.

Token layouts: one frame holds n_q tokens, but a transformer reads a 1-D sequence of *steps*.
Two ways to line them up (both implemented, both round-trip exactly):

- ``"flatten"``: interleave codebooks frame by frame into one stream of S·n_q tokens::

      c[0,0] c[1,0] ... c[n_q-1,0] c[0,1] c[1,1] ...

  Codebook k uses its own slice of one vocabulary (token = k·K + code, plus one BOS token), so a
  single embedding table serves every codebook and the output head can be tied to it. Each token
  is predicted from *every* earlier token, including the coarser codebooks of its own frame: the
  exact chain rule of ``p(c)``. The price is length: n_q times more steps per second (775 at
  n_q = 9), so a block of 256 positions covers 0.33 s, and attention costs n_q² times more.

- ``"delay"`` (MusicGen, Copet et al. 2023): keep n_q parallel streams, shift codebook k right by
  k steps and fill the gaps with a special token (id K in every codebook, also used as BOS)::

      step:        0       1       2       3     ...
      codebook 0:  c[0,0]  c[0,1]  c[0,2]  c[0,3]
      codebook 1:  <pad>   c[1,0]  c[1,1]  c[1,2]
      codebook 2:  <pad>   <pad>   c[2,0]  c[2,1]

  One step's input embedding is the sum of its n_q token embeddings, and n_q output heads predict
  the n_q tokens of the next step at once. S frames take S + n_q - 1 steps: 86 steps per second,
  so the same 256-position block covers ~2.9 s. Thanks to the shift, codebook k of frame s
  (predicted at step s + k) has seen codebooks 0..k-1 of its frame; what it gives up is
  dependence on the *finer* codebooks of the same frame, and the n_q tokens sampled at one step
  are independent given the past. Sequence length versus modelling the joint within a step is
  the trade-off; the delay pattern is the usual choice for long audio.

Training windows (``train_lm``) are random crops of the layout stream, like nanoGPT's crops of
text, so the model learns to continue from any point, not only from BOS. In the flatten layout
windows start on a frame boundary, so window position p always predicts codebook p mod n_q.

Sampling (``generate``) uses a KV cache: each new step attends to cached keys and values instead
of recomputing the whole prefix. When the context outgrows ``block_size`` (a long prompt, or a
long continuation) the oldest steps are cropped: the cache is refilled from the most recent
``block_size // 2`` steps (the whole block for the prompt), which keeps learned absolute positions
valid; without the cache the window simply slides by one step each time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dac_minimal.utils.checks import check_codes, check_int

#: ``ignore_index`` for ``F.cross_entropy``: targets that are not codes (pads, padding).
IGNORE = -100

LAYOUTS = ("delay", "flatten")


@dataclass
class LMConfig:
    """Size and token layout of a ``CodecLM``.

    ``block_size`` counts transformer positions (steps of the layout), not frames: see
    ``max_frames`` for how many frames one block holds.
    """

    n_q: int = 9
    codebook_size: int = 1024
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 256
    dropout: float = 0.0
    layout: str = "delay"

    def __post_init__(self) -> None:
        for name in ("n_q", "codebook_size", "n_layer", "n_head", "n_embd", "block_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LMConfig.{name} must be a positive int, got {value!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"LMConfig.layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"LMConfig.n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"LMConfig.dropout must be in [0, 1), got {self.dropout}")
        # Sampling re-primes the cache with block_size // 2 steps, which must hold a whole frame.
        min_block = 2 * self.n_q if self.layout == "flatten" else self.n_q + 1
        if self.block_size < min_block:
            raise ValueError(
                f"LMConfig.block_size ({self.block_size}) must be at least {min_block} for the "
                f"{self.layout} layout with n_q={self.n_q}"
            )

    @property
    def channels(self) -> int:
        """Tokens per step C: n_q for the delay layout, 1 for the flattened stream."""
        return self.n_q if self.layout == "delay" else 1

    @property
    def vocab_size(self) -> int:
        """Input vocabulary per channel: K codes + pad/BOS (delay), n_q·K codes + BOS (flatten)."""
        return (
            self.codebook_size + 1 if self.layout == "delay" else self.n_q * self.codebook_size + 1
        )

    @property
    def special_token(self) -> int:
        """The pad/BOS token id: K in each codebook (delay), n_q·K (flatten)."""
        return self.vocab_size - 1

    @property
    def max_frames(self) -> int:
        """Most frames S whose whole layout fits one block (``forward`` accepts at most this)."""
        if self.layout == "delay":
            return self.block_size - self.n_q + 1
        return self.block_size // self.n_q

    def steps_for(self, n_frames: int) -> int:
        """Layout length L for S frames: S + n_q - 1 (delay) or S·n_q (flatten)."""
        return n_frames + self.n_q - 1 if self.layout == "delay" else n_frames * self.n_q


def delay_pattern(codes: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Shift codebook k right by k steps: ``(B, n_q, S)`` -> ``(B, n_q, S + n_q - 1)``.

    ``out[:, k, s + k] = codes[:, k, s]``; every other entry is ``pad_id``.
    """
    B, n_q, S = codes.shape
    out = codes.new_full((B, n_q, S + n_q - 1), pad_id)
    for k in range(n_q):
        out[:, k, k : k + S] = codes[:, k]
    return out


def undo_delay_pattern(delayed: torch.Tensor) -> torch.Tensor:
    """Inverse of ``delay_pattern``: ``(B, n_q, L)`` -> ``(B, n_q, L - n_q + 1)``."""
    n_q, L = delayed.shape[1:]
    S = L - n_q + 1
    return torch.stack([delayed[:, k, k : k + S] for k in range(n_q)], dim=1)


def flatten_codes(codes: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """Interleave frame by frame: ``(B, n_q, S)`` -> ``(B, S·n_q)`` with token = k·K + code.

    Stream index ``s·n_q + k`` holds codebook k of frame s; the offset k·K gives each codebook
    its own slice of the vocabulary.
    """
    B, n_q, S = codes.shape
    offsets = torch.arange(n_q, device=codes.device).view(1, n_q, 1) * codebook_size
    return (codes + offsets).transpose(1, 2).reshape(B, S * n_q)


def unflatten_codes(tokens: torch.Tensor, n_q: int, codebook_size: int) -> torch.Tensor:
    """Inverse of ``flatten_codes``: ``(B, S·n_q)`` -> ``(B, n_q, S)``."""
    B, L = tokens.shape
    codes = tokens.view(B, L // n_q, n_q).transpose(1, 2)
    offsets = torch.arange(n_q, device=tokens.device).view(1, n_q, 1) * codebook_size
    return (codes - offsets).contiguous()


def codes_to_stream(codes: torch.Tensor, config: LMConfig) -> torch.Tensor:
    """Apply the config's layout: ``(B, n_q, S)`` -> stream ``(B, C, L)`` (no BOS)."""
    if config.layout == "delay":
        return delay_pattern(codes, config.special_token)
    return flatten_codes(codes, config.codebook_size).unsqueeze(1)


def stream_to_codes(stream: torch.Tensor, config: LMConfig) -> torch.Tensor:
    """Undo the config's layout: stream ``(B, C, L)`` -> ``(B, n_q, S)``."""
    if config.layout == "delay":
        return undo_delay_pattern(stream)
    return unflatten_codes(stream[:, 0], config.n_q, config.codebook_size)


def _with_bos(stream: torch.Tensor, config: LMConfig) -> torch.Tensor:
    """Prepend the BOS step: ``(B, C, L)`` -> ``(B, C, L + 1)``."""
    bos = stream.new_full((*stream.shape[:2], 1), config.special_token)
    return torch.cat([bos, stream], dim=-1)


def _local_targets(targets: torch.Tensor, config: LMConfig) -> torch.Tensor:
    """Stream targets ``(B, C, T)`` -> code indices ``(B, T, C)`` in [0, K), ``IGNORE`` for pads."""
    if config.layout == "delay":
        local = targets.masked_fill(targets == config.special_token, IGNORE)
    else:  # the head for codebook k scores only its K tokens, so the target is the code itself
        local = torch.where(targets >= 0, targets % config.codebook_size, targets)
    return local.transpose(1, 2)


class KVCache:
    """Keys and values of every layer for the positions seen so far, preallocated to a block.

    ``k``, ``v``: ``(n_layer, B, n_head, block_size, head_dim)``; ``length`` positions are filled.
    """

    def __init__(self, config: LMConfig, batch_size: int, device: torch.device, dtype: torch.dtype):
        head_dim = config.n_embd // config.n_head
        shape = (config.n_layer, batch_size, config.n_head, config.block_size, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0

    def update(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``(B, H, T, hd)`` new keys/values after the cached ones; return all of them."""
        end = self.length + k.shape[2]
        self.k[layer, :, :, self.length : end] = k
        self.v[layer, :, :, self.length : end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t attends to positions <= t only."""

    def __init__(self, config: LMConfig):
        super().__init__()
        self.n_head = config.n_head
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        """``(B, T, D)`` -> ``(B, T, D)``; with ``cache``, the T positions follow the cached ones.

        ``layer`` says which layer's slot of the cache holds this block's keys and values.
        """
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q, k, v = (t.view(B, T, self.n_head, D // self.n_head).transpose(1, 2) for t in (q, k, v))
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.update(layer, k, v)
        dropout_p = self.dropout if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        elif T == 1:  # one new query may see every cached key: no mask needed
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
        else:
            # is_causal aligns its triangle to the top-left, which is wrong once keys outnumber
            # queries; spell out "query i (at past + i) sees keys 0..past + i".
            mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).reshape(B, T, D)
        return self.resid_drop(self.proj(y))


class MLP(nn.Module):
    def __init__(self, config: LMConfig):
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-LN transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, config: LMConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class CodecLM(nn.Module):
    """Decoder-only transformer over codec tokens in the ``config.layout`` layout.

    Inputs are steps ``(B, C, T)`` of the layout stream (C = n_q for delay, 1 for flatten); the
    logits at step t, ``(B, T, C, K)``, predict the stream's next step. ``forward(codes)`` hides
    the layout: it takes codes ``(B, n_q, S)`` and returns logits on the same grid.

    Weight tying: in the flatten layout the head for codebook k reuses that codebook's slice of
    the token embedding (GPT-2 style: one vocabulary in, the same vocabulary out). In the delay
    layout a step's input is a *sum* of n_q embeddings, so no single input vector stands for the
    token a head predicts; its n_q heads are separate linear layers.
    """

    def __init__(self, config: LMConfig):
        super().__init__()
        self.config = config
        C, D, K = config.channels, config.n_embd, config.codebook_size
        # One table per channel; the delay layout sums them, the flatten layout has C = 1.
        self.tok_emb = nn.ModuleList(nn.Embedding(config.vocab_size, D) for _ in range(C))
        self.pos_emb = nn.Embedding(config.block_size, D)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(D)
        self.heads = (
            nn.ModuleList(nn.Linear(D, K, bias=False) for _ in range(C))
            if config.layout == "delay"
            else None
        )
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections so that the residual stream's variance does not
        # grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self) -> int:
        """Number of parameters (tied weights counted once)."""
        return sum(p.numel() for p in self.parameters())

    def new_cache(self, batch_size: int) -> KVCache:
        """An empty KV cache for ``batch_size`` sequences on the model's device and dtype."""
        p = self.pos_emb.weight
        return KVCache(self.config, batch_size, p.device, p.dtype)

    def embed(self, inputs: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Steps ``(B, C, T)`` at positions offset..offset+T-1 -> ``(B, T, D)``: tokens + positions.

        Inner: the callers (``forward``, ``generate``, ``train_lm``) cut windows that fit a block.
        """
        C, T = inputs.shape[1], inputs.shape[2]
        assert C == self.config.channels and offset + T <= self.config.block_size
        x = sum(self.tok_emb[c](inputs[:, c]) for c in range(C))
        return x + self.pos_emb(torch.arange(offset, offset + T, device=inputs.device))

    def from_embeddings(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """``(B, T, D)`` embeddings -> logits ``(B, T, C, K)``; advances ``cache`` by T."""
        offset = 0 if cache is None else cache.length
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += x.shape[1]
        h = self.ln_f(x)
        if self.heads is not None:
            return torch.stack([head(h) for head in self.heads], dim=2)
        # Flatten: position p predicts codebook (p mod n_q) (windows start on frame boundaries),
        # scored against that codebook's K rows of the tied embedding only.
        n_q, K = self.config.n_q, self.config.codebook_size
        table = self.tok_emb[0].weight[: n_q * K].view(n_q, K, -1)
        codebook = torch.arange(offset, offset + h.shape[1], device=h.device) % n_q
        logits = h.new_empty(h.shape[0], h.shape[1], 1, K)
        for k in range(n_q):
            at = codebook == k
            logits[:, at, 0] = h[:, at] @ table[k].T
        return logits

    def forward_stream(self, inputs: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Layout steps ``(B, C, T)`` -> logits ``(B, T, C, K)``: the next step at each position."""
        offset = 0 if cache is None else cache.length
        return self.from_embeddings(self.embed(inputs, offset), cache)

    def forward(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes ``(B, n_q, S)`` -> ``(logits (B, n_q, S, K), loss)``.

        ``logits[:, k, s]`` is the model's distribution for ``codes[:, k, s]`` given what the
        layout puts before it; ``loss`` is the mean cross-entropy in nats per code (pads are not
        scored). S may be at most ``config.max_frames`` (longer clips: ``evaluate_lm``).

        Inner: the codes are trusted to be int64 in [0, K) with n_q codebooks (the public
        entry points ``train_lm``, ``evaluate_lm`` and ``generate`` check theirs).
        """
        cfg = self.config
        S = codes.shape[2]
        assert 1 <= S <= cfg.max_frames, f"{S} frames; one block holds 1..{cfg.max_frames}"
        stream = codes_to_stream(codes, cfg)
        logits = self.forward_stream(_with_bos(stream, cfg)[:, :, :-1])  # (B, L, C, K)
        if cfg.layout == "delay":  # codebook k of frame s sits at step s + k
            grid = torch.stack([logits[:, k : k + S, k] for k in range(cfg.n_q)], dim=1)
        else:  # stream index s·n_q + k
            grid = logits[:, :, 0].reshape(codes.shape[0], S, cfg.n_q, -1).transpose(1, 2)
        loss = F.cross_entropy(grid.reshape(-1, grid.shape[-1]), codes.reshape(-1))
        return grid, loss


def _check_sampling(temperature: float, top_k: int | None, codebook_size: int) -> None:
    """Raise ``ValueError`` unless temperature is a finite number > 0 and top_k is in 1..K."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")  # noqa: TRY004
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(
            f"temperature must be finite and > 0 (use top_k=1 for greedy), got {temperature}"
        )
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= codebook_size
    ):
        raise ValueError(f"top_k must be None or an int in [1, {codebook_size}], got {top_k!r}")


def sample_logits(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one index per row from ``logits (..., K)`` -> ``(...)`` int64.

    Temperature divides the logits (< 1 sharpens, > 1 flattens); top-k keeps the k largest.
    Inner: ``generate`` checks temperature and top_k once, not at every step.
    """
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = F.softmax(logits.float(), dim=-1).reshape(-1, logits.shape[-1])
    return torch.multinomial(probs, 1, generator=generator).view(logits.shape[:-1])


def _window_start(end: int, length: int, config: LMConfig) -> int:
    """First step of a window of at most ``length`` steps ending at ``end`` (exclusive).

    Flatten windows start on a multiple of n_q (a frame boundary, as in training).
    """
    start = max(0, end - length)
    if config.layout == "flatten":
        start = -(-start // config.n_q) * config.n_q
    return start


def _given_steps(config: LMConfig, L: int, S0: int, S: int, device) -> tuple[torch.Tensor, int]:
    """Which of the L stream steps are given, and the first step to sample.

    Returns ``fixed (C, L)`` bool: step a of channel c is a prompt code or a pad of the delay
    layout (frame < S0 or frame >= S) and must not be sampled; and the first step holding a new
    code (S0 for delay, S0·n_q for flatten).
    """
    steps = torch.arange(L, device=device)
    if config.layout == "delay":
        codebook = torch.arange(config.n_q, device=device).view(config.n_q, 1)
        frame = steps.view(1, L) - codebook  # the frame that (k, a) holds
        return (frame < S0) | (frame >= S), S0
    return (steps < S0 * config.n_q).view(1, L), S0 * config.n_q


def _sample_steps(
    model: CodecLM,
    seq: torch.Tensor,
    fixed: torch.Tensor,
    first: int,
    sampling: tuple[float, int | None, torch.Generator | None],
    use_cache: bool,
) -> None:
    """Fill the free steps of ``seq (B, C, L + 1)`` (BOS first) in place, from ``first`` on.

    ``sampling`` is ``(temperature, top_k, generator)``. ``seq[:, :, a + 1]`` is step a; its
    logits come from the model position that reads ``seq[:, :, a]``.
    """
    cfg = model.config
    cache, start = None, 0
    for a in range(first, seq.shape[2] - 1):
        if not use_cache:
            start = _window_start(a + 1, cfg.block_size, cfg)
            logits = model.forward_stream(seq[:, :, start : a + 1])[:, -1]
        elif cache is None or a + 1 - start > cfg.block_size:
            # (Re)fill the cache: the whole block for the prompt, half a block when it overflows,
            # so that the next block_size // 2 steps are cheap again.
            length = cfg.block_size if cache is None else cfg.block_size // 2
            start = _window_start(a + 1, length, cfg)
            cache = model.new_cache(seq.shape[0])
            logits = model.forward_stream(seq[:, :, start : a + 1], cache)[:, -1]
        else:
            logits = model.forward_stream(seq[:, :, a : a + 1], cache)[:, -1]
        new = sample_logits(logits, *sampling)  # (B, C)
        if cfg.layout == "flatten":
            new = new + (a % cfg.n_q) * cfg.codebook_size
        seq[:, :, a + 1] = torch.where(fixed[:, a], seq[:, :, a + 1], new)


@torch.no_grad()
def generate(
    model: CodecLM,
    prompt_codes: torch.Tensor,
    n_frames: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """Continue ``prompt_codes (B, n_q, S0)`` by ``n_frames`` frames -> ``(B, n_q, S0 + n_frames)``.

    The prompt comes back unchanged; every new code lies in [0, K). Pass ``seed`` (or a
    ``generator``) for reproducible samples. A prompt longer than one block is cropped to its most
    recent ``block_size`` steps (see the module docstring); ``use_cache=False`` recomputes the
    window at each step (the same samples while everything fits in one block).
    """
    cfg = model.config
    prompt = check_codes(prompt_codes, cfg.codebook_size, cfg.n_q, "prompt_codes")
    if prompt.shape[2] == 0:
        raise ValueError("prompt_codes is empty (S0 = 0): give at least one frame to continue")
    check_int(n_frames, "n_frames", 0)
    _check_sampling(temperature, top_k, cfg.codebook_size)
    if seed is not None and generator is not None:
        raise ValueError("pass either seed or generator, not both")
    device = model.pos_emb.weight.device
    if seed is not None:
        generator = torch.Generator(device=device).manual_seed(seed)
    if n_frames == 0:
        return prompt.clone()

    B, n_q, S0 = prompt.shape
    full = torch.cat([prompt.to(device), prompt.new_zeros(B, n_q, n_frames, device=device)], dim=2)
    seq = _with_bos(codes_to_stream(full, cfg), cfg)  # (B, C, L + 1); seq[:, :, a + 1] is step a
    fixed, first = _given_steps(cfg, seq.shape[2] - 1, S0, S0 + n_frames, device)
    was_training = model.training
    model.eval()
    _sample_steps(model, seq, fixed, first, (temperature, top_k, generator), use_cache)
    model.train(was_training)
    return stream_to_codes(seq[:, :, 1:], cfg)


def _clip_list(
    codes: torch.Tensor | Sequence[torch.Tensor], n_q: int | None, codebook_size: int, name: str
) -> list[torch.Tensor]:
    """Codes as a tensor ``(B, n_q, S)`` or a list of ``(n_q, S_i)`` / ``(B_i, n_q, S_i)`` tensors.

    Returns a list of ``(n_q, S_i)`` int64 clips. The LM's one boundary check: every item goes
    through ``check_codes`` and none may be empty. ``n_q=None`` takes n_q from the first item and
    holds the others to it.
    """
    items = [codes] if isinstance(codes, (torch.Tensor, np.ndarray)) else list(codes)
    if not items:
        raise ValueError(f"{name} is empty")
    clips = []
    for i, item in enumerate(items):
        if isinstance(item, (torch.Tensor, np.ndarray)) and item.ndim == 2:
            item = item[None]
        item = check_codes(item, codebook_size, n_q, f"{name}[{i}]" if len(items) > 1 else name)
        if item.shape[2] == 0:
            raise ValueError(f"{name} holds a clip with no frames")
        n_q = item.shape[1]
        clips.extend(item)
    return clips


def _optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW (betas 0.9, 0.95) that decays matrices and embeddings only.

    Decaying gains and biases just fights LayerNorm.
    """
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


def _check_training(cfg: LMConfig, steps: int, batch_size: int, window: int, lr: float) -> None:
    """Raise ``ValueError`` naming the first bad setting of ``train_lm``."""
    check_int(steps, "steps", 1)
    check_int(batch_size, "batch_size", 1)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= cfg.block_size:
        raise ValueError(
            f"window must be an int in [1, block_size={cfg.block_size}], got {window!r}"
        )
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")


def _random_windows(
    seqs: list[torch.Tensor],
    weights: torch.Tensor,
    batch_size: int,
    window: int,
    cfg: LMConfig,
    gen: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch: ``(inputs, targets)``, both ``(batch_size, C, window)`` int64.

    Each row is a random crop of one stream ``seqs[i] (C, L_i + 1)``, picked with probability
    ``weights[i]`` (its length); targets are the inputs shifted by one step. Flatten crops start
    on a frame boundary. A stream shorter than the window leaves pads (inputs) and ``IGNORE``
    (targets) at the end.
    """
    device = seqs[0].device
    shape = (batch_size, cfg.channels, window)
    inputs = torch.full(shape, cfg.special_token, dtype=torch.long, device=device)
    targets = torch.full(shape, IGNORE, dtype=torch.long, device=device)
    stride = cfg.n_q if cfg.layout == "flatten" else 1
    picks = torch.multinomial(weights, batch_size, replacement=True, generator=gen)
    for row, i in enumerate(picks.tolist()):
        seq = seqs[i]
        n_starts = max(0, seq.shape[1] - 1 - window) // stride + 1
        w = stride * int(torch.randint(n_starts, (1,), generator=gen))
        chunk = seq[:, w : w + window + 1]
        inputs[row, :, : chunk.shape[1] - 1] = chunk[:, :-1]
        targets[row, :, : chunk.shape[1] - 1] = chunk[:, 1:]
    return inputs, targets


def train_lm(
    model: CodecLM,
    codes: torch.Tensor | Sequence[torch.Tensor],
    steps: int,
    batch_size: int = 16,
    lr: float = 1e-3,
    window: int | None = None,
    weight_decay: float = 0.1,
    grad_clip: float = 1.0,
    seed: int = 0,
    log_every: int = 0,
) -> list[float]:
    """Train on random windows of the layout stream; return the loss (nats per code) of each step.

    ``codes``: ``(N, n_q, S)`` or a list of ``(n_q, S_i)`` clips. Each batch row is a random crop of
    ``window`` steps (default ``block_size``) from one clip, picked in proportion to its length;
    clips shorter than a window are padded and the padding is not scored. AdamW, gradient
    clipping at ``grad_clip``. ``seed`` fixes the crops; ``log_every > 0`` prints progress.
    """
    cfg = model.config
    clips = _clip_list(codes, cfg.n_q, cfg.codebook_size, "codes")
    window = cfg.block_size if window is None else window
    _check_training(cfg, steps, batch_size, window, lr)
    device = model.pos_emb.weight.device
    seqs = [_with_bos(codes_to_stream(c[None], cfg), cfg)[0].to(device) for c in clips]
    weights = torch.tensor([float(s.shape[1]) for s in seqs])
    gen = torch.Generator().manual_seed(seed)
    opt = _optimizer(model, lr, weight_decay)
    was_training = model.training
    model.train()
    losses = []
    for step in range(steps):
        inputs, targets = _random_windows(seqs, weights, batch_size, window, cfg, gen)
        logits = model.forward_stream(inputs)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), _local_targets(targets, cfg).reshape(-1)
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        losses.append(loss.item())
        if log_every and (step % log_every == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {losses[-1]:.4f} nats/code")
    model.train(was_training)
    return losses


@torch.no_grad()
def evaluate_lm(
    model: CodecLM, codes: torch.Tensor | Sequence[torch.Tensor], batch_size: int = 32
) -> float:
    """Mean cross-entropy in nats per code over every code of ``codes``.

    Each clip's stream is cut into consecutive windows of ``block_size`` steps (a multiple of n_q
    for flatten), so every code is scored exactly once; a clip that fits one block gives exactly
    ``model(codes)[1]``.
    """
    cfg = model.config
    clips = _clip_list(codes, cfg.n_q, cfg.codebook_size, "codes")
    device = model.pos_emb.weight.device
    window = cfg.block_size if cfg.layout == "delay" else cfg.block_size // cfg.n_q * cfg.n_q
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    # Group clips of equal length so they share forward passes.
    by_length: dict[int, list[torch.Tensor]] = {}
    for c in clips:
        by_length.setdefault(c.shape[1], []).append(c)
    for group in by_length.values():
        for b in range(0, len(group), batch_size):
            seq = _with_bos(
                codes_to_stream(torch.stack(group[b : b + batch_size]).to(device), cfg), cfg
            )
            for w in range(0, seq.shape[2] - 1, window):
                chunk = seq[:, :, w : w + window + 1]
                logits = model.forward_stream(chunk[:, :, :-1])
                targets = _local_targets(chunk[:, :, 1:], cfg).reshape(-1)
                total += F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), targets, reduction="sum"
                ).item()
                count += int((targets != IGNORE).sum())
    model.train(was_training)
    return total / count


def unigram_cross_entropy(
    train_codes: torch.Tensor | Sequence[torch.Tensor],
    eval_codes: torch.Tensor | Sequence[torch.Tensor],
    codebook_size: int = 1024,
) -> float:
    """Cross-entropy (nats per code) of a per-codebook unigram model on ``eval_codes``.

    ``p_k(c) = (count_k(c) + 1) / (N_k + K)``: frequencies of code c in codebook k over
    ``train_codes`` with add-one smoothing, so unseen codes cost log(N_k + K) nats instead of
    infinity. The baseline an LM must beat: it knows how often each code occurs, nothing of order.
    Both sets go through the one boundary check (``check_codes``); eval must match train's n_q.
    """
    train = _clip_list(train_codes, None, codebook_size, "train_codes")
    n_q = train[0].shape[0]
    evals = _clip_list(eval_codes, n_q, codebook_size, "eval_codes")
    counts = torch.ones(n_q, codebook_size, dtype=torch.float64)
    for c in train:
        counts.scatter_add_(1, c, torch.ones_like(c, dtype=torch.float64))
    log_p = (counts / counts.sum(dim=1, keepdim=True)).log()
    nll = sum(-log_p.gather(1, c).sum() for c in evals)
    return float(nll) / sum(c.numel() for c in evals)


def tokens_per_second(sample_rate: int = 44100, hop_length: int = 512, n_q: int = 9) -> float:
    """Codec tokens per second of audio: ``sample_rate / hop_length · n_q``.

    775.2 for DAC 44.1 kHz (86.13 frames/s times 9 codebooks).
    """
    return sample_rate / hop_length * n_q
