"""Vector quantization: one codebook (``VectorQuantize``) and the residual cascade
(``ResidualVectorQuantize``).

Notation (report eq. 3): ``z_e`` is the encoder output projected into the codebook space, ``e`` the
nearest codebook entry, ``z_q`` the quantized vector handed to the decoder, ``sg[·]`` stop-gradient.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from dac_minimal.layers import WNConv1d


class QuantizerOutput(NamedTuple):
    """What a quantizer returns. Shapes for a ``(B, D, S)`` input and n_q codebooks of dimension d:

    - ``z_q``: ``(B, D, S)`` quantized latent (straight-through: gradients reach ``z_e``).
    - ``codes``: ``(B, n_q, S)`` int64 codebook indices.
    - ``latents``: ``(B, n_q·d, S)`` the projected, un-quantized ``z_e`` of every codebook.
    - ``commitment_loss``, ``codebook_loss``: scalars (for RVQ) or ``(B,)`` (for one VQ).
    """

    z_q: torch.Tensor
    codes: torch.Tensor
    latents: torch.Tensor
    commitment_loss: torch.Tensor
    codebook_loss: torch.Tensor


class VectorQuantize(nn.Module):
    """Factorized, L2-normalised vector quantizer (Yu et al., "improved VQGAN").

    The ``(B, D, S)`` latent is projected by a 1x1 conv to a low dimension d (8), the nearest of
    K codebook entries is found by cosine similarity (both sides L2-normalised), and the chosen
    entry is projected back to D. Low d and normalisation make most entries reachable, which is
    what fights codebook collapse.
    """

    def __init__(self, input_dim: int = 1024, codebook_size: int = 1024, codebook_dim: int = 8):
        super().__init__()
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        self.in_proj = WNConv1d(input_dim, codebook_dim, kernel_size=1)
        self.out_proj = WNConv1d(codebook_dim, input_dim, kernel_size=1)
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Indices ``(B, S)`` of the entries nearest in cosine distance to ``z_e`` ``(B, d, S)``.

        Both sides are L2-normalised, then ‖a − b‖² = ‖a‖² − 2·a·b + ‖b‖² is minimised. (For unit
        vectors that is 2 − 2·a·b, the cosine distance; we keep the three-term form because it is
        what the official model computes, so codes agree bit for bit even at near-ties.)
        """
        z = F.normalize(z_e.transpose(1, 2).float(), dim=-1)  # (B, S, d)
        book = F.normalize(self.codebook.weight.float(), dim=-1)  # (K, d)
        dist = z.pow(2).sum(-1, keepdim=True) - 2 * z @ book.t() + book.pow(2).sum(-1)
        return dist.argmin(dim=-1)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """Codebook vectors ``e`` for indices ``(B, S)``, shaped ``(B, d, S)`` (not normalised)."""
        return self.codebook(codes).transpose(1, 2)

    def decode_code(self, codes: torch.Tensor) -> torch.Tensor:
        """Indices ``(B, S)`` → this quantizer's contribution to the latent, ``(B, D, S)``."""
        return self.out_proj(self.embed(codes))

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        """Quantize ``z`` ``(B, D, S)``. Losses are per item, ``(B,)``; codes are ``(B, 1, S)``."""
        z_e = self.in_proj(z)
        codes = self.nearest(z_e)
        e = self.embed(codes)
        # Codebook loss ‖sg[z_e] − e‖² moves only the codebook; commitment loss ‖z_e − sg[e]‖²
        # moves only the encoder (and in_proj). Means over channels and time, one value per item.
        codebook_loss = F.mse_loss(e, z_e.detach(), reduction="none").mean(dim=(1, 2))
        commitment_loss = F.mse_loss(z_e, e.detach(), reduction="none").mean(dim=(1, 2))
        # Straight-through estimator: the forward pass uses e, the backward pass copies the
        # decoder's gradient onto z_e as if quantization were the identity.
        z_q = z_e + (e - z_e).detach()
        return QuantizerOutput(
            self.out_proj(z_q), codes[:, None], z_e, commitment_loss, codebook_loss
        )


class ResidualVectorQuantize(nn.Module):
    """Residual vector quantization with quantizer dropout (SoundStream; report §3.4).

    Quantizer i quantizes what quantizers 0..i−1 left over; the output is the sum of all
    contributions, so each extra codebook adds detail and the first n_q codebooks alone are a
    valid, coarser code (one model, many bitrates).

    Quantizer dropout: in training, a fraction ``quantizer_dropout`` of the batch uses only the
    first n ~ U{1..N_q} quantizers (the rest add nothing and give no loss), so that low bitrates
    are trained too. ``p = 0`` hurts low bitrates, ``p = 1`` hurts the full bitrate; DAC uses 0.5.
    """

    def __init__(
        self,
        input_dim: int = 1024,
        n_codebooks: int = 9,
        codebook_size: int = 1024,
        codebook_dim: int = 8,
        quantizer_dropout: float = 0.0,
    ):
        super().__init__()
        assert 0.0 <= quantizer_dropout <= 1.0, quantizer_dropout  # DACConfig checks it
        self.n_codebooks = n_codebooks
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        self.quantizer_dropout = quantizer_dropout
        self.quantizers = nn.ModuleList(
            VectorQuantize(input_dim, codebook_size, codebook_dim) for _ in range(n_codebooks)
        )

    def _quantizers_per_item(
        self, batch: int, n_quantizers: int | None, device: torch.device
    ) -> torch.Tensor:
        """How many quantizers each item uses, ``(B,)``: dropout only in training, n not given."""
        if n_quantizers is not None or not self.training or self.quantizer_dropout == 0.0:
            n = self.n_codebooks if n_quantizers is None else n_quantizers
            return torch.full((batch,), n, device=device)
        n = torch.full((batch,), self.n_codebooks, device=device)
        n_drop = int(batch * self.quantizer_dropout)
        n[:n_drop] = torch.randint(1, self.n_codebooks + 1, (n_drop,), device=device)
        return n

    def forward(self, z: torch.Tensor, n_quantizers: int | None = None) -> QuantizerOutput:
        """Quantize ``z`` ``(B, D, S)`` with the first ``n_quantizers`` codebooks (all when None).

        ``n_quantizers`` is honoured in training as well as in evaluation (it turns dropout off).
        In training with dropout all N_q codes are computed (``codes`` is ``(B, N_q, S)``) but an
        item's codebooks beyond its sampled n neither contribute to ``z_q`` nor to the losses.
        Losses are means over the batch, summed over codebooks. ``n_quantizers`` is trusted to
        lie in 1..N_q (``DAC.encode`` checks it).
        """
        n_per_item = self._quantizers_per_item(z.shape[0], n_quantizers, z.device)
        # With dropout every codebook still runs (codes stay (B, N_q, S)); masks do the dropping.
        # (Known without reading n_per_item back from the device, which would wait for it.)
        n_run = self.n_codebooks if n_quantizers is None else n_quantizers
        z_q = torch.zeros_like(z)
        residual = z
        commitment_loss = z.new_zeros(())
        codebook_loss = z.new_zeros(())
        codes, latents = [], []
        for i, quantizer in enumerate(self.quantizers[:n_run]):
            out = quantizer(residual)
            mask = (n_per_item > i).to(z.dtype)  # (B,): does item b use quantizer i?
            z_q = z_q + out.z_q * mask[:, None, None]
            residual = residual - out.z_q
            commitment_loss = commitment_loss + (out.commitment_loss * mask).mean()
            codebook_loss = codebook_loss + (out.codebook_loss * mask).mean()
            codes.append(out.codes)
            latents.append(out.latents)
        return QuantizerOutput(
            z_q, torch.cat(codes, dim=1), torch.cat(latents, dim=1), commitment_loss, codebook_loss
        )

    def from_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, k, S)`` for the first k ≤ N_q codebooks → latent ``z_q`` ``(B, D, S)``.

        The codes are trusted to be integers in [0, K) (``DAC.decode_codes`` checks them).
        """
        codes = codes.long()
        z_q = 0.0
        for i in range(codes.shape[1]):
            z_q = z_q + self.quantizers[i].decode_code(codes[:, i])
        return z_q

    def from_latents(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected latents ``(B, k·d, S)`` → nearest ``(z_q (B, D, S), codes (B, k, S))``."""
        d = self.codebook_dim
        k = latents.shape[1] // d
        assert latents.shape[1] == k * d and 1 <= k <= self.n_codebooks, tuple(latents.shape)
        codes = torch.stack(
            [self.quantizers[i].nearest(latents[:, i * d : (i + 1) * d]) for i in range(k)], dim=1
        )
        return self.from_codes(codes), codes


class CodeReviver:
    """Dead-code revival for a ``ResidualVectorQuantize`` in training (Jukebox's "random restarts",
    EnCodec's code expiry); a departure from the official recipe, on in the tiny preset's CPU recipe
    (``train.RECIPES``).

    Why: a codebook entry only moves when it is chosen (the codebook loss pulls the chosen ``e``
    towards ``z_e``). Entries that no ``z_e`` comes near are never chosen and never move; in a short
    run the encoder settles into a few regions of the d-dimensional space and utilization falls.
    What: count how often each entry of each codebook is chosen; every ``every`` training steps,
    each entry chosen fewer than ``min_uses`` times in that window is moved onto a ``z_e`` drawn
    without replacement from a pool of recent ones (plus a little noise, so that two revived entries
    never coincide), i.e. onto a point where the data actually is. The counts restart each window.
    The pool keeps ``pool // every`` random frames of each of the last ``every`` batches: one batch
    alone holds a few excerpts whose neighbouring frames are nearly alike, so entries revived onto
    it crowd into one region and most of them lose to each other and die again.

    State for exact resume: ``state_dict()`` / ``load_state_dict()`` (the counts, the step and the
    pool; a resumed checkpoint with a pool of another size is a ``ValueError``).
    Under DistributedDataParallel the counts are summed over ranks and rank 0's new entries are
    broadcast, so every replica keeps the same codebook.
    """

    def __init__(
        self,
        quantizer: ResidualVectorQuantize,
        every: int = 50,
        min_uses: int = 1,
        noise: float = 0.01,
        pool: int = 4096,
    ):
        assert every >= 1 and min_uses >= 1 and pool >= 1, (every, min_uses, pool)  # TrainConfig
        self.quantizer, self.every, self.min_uses, self.noise = quantizer, every, min_uses, noise
        book = quantizer.quantizers[0].codebook.weight
        self.counts = torch.zeros(
            quantizer.n_codebooks, quantizer.codebook_size, dtype=torch.long, device=book.device
        )
        self.calls = 0
        self.n_revived = 0
        # Ring buffer of projected latents (P, N_q, d): per_step random frames of each batch.
        self.per_step = -(-pool // every)
        self.pool = torch.zeros(
            self.per_step * every, quantizer.n_codebooks, quantizer.codebook_dim, device=book.device
        )
        self.filled = 0  # frames written so far (the pool holds min(filled, P) of them)

    @torch.no_grad()
    def update(self, codes: torch.Tensor, latents: torch.Tensor) -> list[torch.Tensor]:
        """Count ``codes`` ``(B, N_q, S)``; at the end of a window revive rarely used entries.

        ``latents``: ``(B, N_q·d, S)``, the projected ``z_e`` of every codebook for the same batch.
        Returns, per codebook, the indices of the entries revived now (all empty inside a window).
        """
        q = self.quantizer
        n_q, d = codes.shape[1], q.codebook_dim
        flat = codes.transpose(0, 1).reshape(n_q, -1).to(self.counts.device)
        offsets = torch.arange(n_q, device=flat.device)[:, None] * q.codebook_size
        self.counts[:n_q] += torch.bincount(
            (flat + offsets).flatten(), minlength=q.n_codebooks * q.codebook_size
        ).view(q.n_codebooks, -1)[:n_q]
        self.calls += 1
        z = latents.detach().float().transpose(1, 2).reshape(-1, n_q, d)  # (B·S, N_q, d)
        take = torch.randperm(z.shape[0], device=z.device)[: self.per_step]
        at = (self.filled + torch.arange(len(take), device=z.device)) % len(self.pool)
        self.pool[at.to(self.pool.device), :n_q] = z[take].to(self.pool.device)
        self.filled += len(take)
        revived = [codes.new_zeros(0) for _ in range(q.n_codebooks)]
        if self.calls % self.every:
            return revived
        distributed = dist.is_available() and dist.is_initialized()
        if distributed:
            dist.all_reduce(self.counts)
        pool = self.pool[: min(self.filled, len(self.pool))]
        for i in range(n_q):
            book = q.quantizers[i].codebook.weight
            dead = (self.counts[i] < self.min_uses).nonzero().squeeze(1).to(book.device)
            if len(dead) == 0:
                continue
            # Distinct pool frames while there are enough, then with replacement.
            pick = torch.cat(
                [
                    torch.randperm(len(pool), device=pool.device)
                    for _ in range(-(-len(dead) // len(pool)))
                ]
            )[: len(dead)]
            new = pool[pick, i]
            new = new + self.noise * new.norm(dim=-1, keepdim=True) * torch.randn_like(new)
            new = new.to(book.device, book.dtype)
            if distributed:
                dist.broadcast(new, src=0)
            book[dead] = new
            revived[i] = dead
            self.n_revived += len(dead)
        self.counts.zero_()
        return revived

    def state_dict(self) -> dict:
        return {
            "counts": self.counts.clone(),
            "calls": self.calls,
            "n_revived": self.n_revived,
            "pool": self.pool.clone(),
            "filled": self.filled,
        }

    def load_state_dict(self, state: dict) -> None:
        self.counts.copy_(state["counts"])
        self.calls, self.n_revived = int(state["calls"]), int(state["n_revived"])
        if state["pool"].shape != self.pool.shape:
            raise ValueError(
                f"revival pool of shape {tuple(state['pool'].shape)} in the checkpoint, "
                f"{tuple(self.pool.shape)} here (another revive_every or pool size)"
            )
        self.pool.copy_(state["pool"])
        self.filled = int(state["filled"])
