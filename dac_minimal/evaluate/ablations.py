"""The report's design choices, each switched off in a small CPU experiment (chapter 11).

Five claims, six experiments, each training a few variants for the same number of steps (the
``tiny`` codec, or its quantizers alone) and measuring them on the held-out split of the toy corpus:

=============  ===============================================  ============================
name           variants                                         what is measured
=============  ===============================================  ============================
activation     Snake (DAC) vs LeakyReLU                         mel distance vs steps and
                                                                time
quantizer      factorized + L2-normalised codes (DAC) vs plain  codebook utilization,
               VQ vs plain VQ with dead-code reset vs DAC's     perplexity
               with the trainer's dead-code revival
vq_features    the same three quantizers alone, on fixed        utilization, perplexity,
               log-mel frames                                   error
dropout        quantizer dropout p = 0, 0.5, 1                  mel distance vs n_q (report
                                                                Fig. 4)
mel_bins       scaled mel bins 5…320 (DAC) vs a fixed 64 at     mel and high-resolution STFT
               every scale                                      distance
mrd_bands      multi-band STFT discriminator (DAC) vs one band  log-spectral error per band
=============  ===============================================  ============================

The package's codec is what the first variant of each row trains; ``PlainVectorQuantize`` and
``PlainResidualVectorQuantize`` below are ablation variants only (drop-in replacements for
``quantize.VectorQuantize`` / ``quantize.ResidualVectorQuantize``), never part of ``DAC``.

Miniature, stated once: a few minutes of CPU per experiment is tens to hundreds of steps where the
paper trains 400k. To learn anything in that time the generator is trained on the reconstruction
losses only (``15·mel + 1·codebook + 0.25·commitment``), except in ``mrd_bands``, which is about
the discriminator and runs the full GAN step of ``train.Trainer``. Results say what happens early
in training; they cannot show the paper's converged numbers. Command line::

    python -m dac_minimal.evaluate.ablations activation --minutes 4 --steps 100 \\
        --out benchmarks/ablations/activation.csv

The CSV starts with ``# command: ...`` (the exact command that wrote it) and ``# package: ...`` (the
git commit it ran); ``read_results`` reads it.
"""

from __future__ import annotations

import argparse
import csv
import math
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import dac_minimal.evaluate.metrics as M
from dac_minimal.data import SAMPLE_RATE, AudioFolder, DataConfig, ensure_toy_corpus
from dac_minimal.discriminator import BANDS, Discriminator
from dac_minimal.loss import MultiScaleMelLoss, mel_filters, stft_magnitude
from dac_minimal.model import DAC
from dac_minimal.quantize import QuantizerOutput, ResidualVectorQuantize
from dac_minimal.train import TrainConfig, Trainer
from dac_minimal.utils.files import atomic_path

#: ``stft_distance`` resolutions finer in frequency than the longest mel window (2048 samples):
#: 93 ms and 186 ms windows resolve 10.8 Hz and 5.4 Hz bins.
HIGH_RES: tuple[tuple[int, int], ...] = ((4096, 1024), (8192, 2048))
#: Training steps at which every variant is evaluated (plus its last step), so curves share points.
EVAL_STEPS: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560)


class PlainVectorQuantize(nn.Module):
    """Plain VQ (VQ-VAE): the codebook lives in the latent space itself; Euclidean nearest entry.

    No projection and no normalisation: ``z_e = z`` ``(B, D, S)`` and ``e`` are D-dimensional
    (D = 64 in the tiny codec), ``codebook_dim == D``. Same interface and losses as
    ``VectorQuantize`` (``nearest``, ``embed``, ``decode_code``, ``forward`` → ``QuantizerOutput``).

    ``reset_every > 0`` turns on **dead-code reset** (Dhariwal et al., Jukebox; Zeghidour et al.,
    SoundStream): in training, every ``reset_every`` forward passes each entry that was chosen by
    no vector since the last check is re-initialised to a vector drawn at random from the
    ``z_e`` seen since that check (the most recent encoder outputs, at most ``pool_size``), so that
    it lands where the data is. ``n_reset`` counts the entries reset so far. AdamW's moments of a
    reset row are left as they are.
    """

    def __init__(
        self,
        input_dim: int = 1024,
        codebook_size: int = 1024,
        reset_every: int = 0,
        pool_size: int = 8192,
    ):
        super().__init__()
        if reset_every < 0:
            raise ValueError(
                f"reset_every must be >= 0 (0 = no dead-code reset), got {reset_every}"
            )
        self.codebook_size, self.codebook_dim, self.reset_every = (
            codebook_size,
            input_dim,
            reset_every,
        )
        self.codebook = nn.Embedding(codebook_size, input_dim)
        self.register_buffer(
            "usage", torch.zeros(codebook_size, dtype=torch.long), persistent=False
        )
        self.pool: list[torch.Tensor] = []  # recent z_e rows (n, D), newest last
        self.pool_size = pool_size
        self.calls = 0
        self.n_reset = 0

    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Indices ``(B, S)`` of the entries nearest to ``z_e`` ``(B, D, S)`` (Euclidean)."""
        z = z_e.transpose(1, 2).float()  # (B, S, D)
        book = self.codebook.weight.float()  # (K, D)
        dist = z.pow(2).sum(-1, keepdim=True) - 2 * z @ book.t() + book.pow(2).sum(-1)
        return dist.argmin(dim=-1)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """Codebook vectors for indices ``(B, S)``, shaped ``(B, D, S)``."""
        return self.codebook(codes).transpose(1, 2)

    def decode_code(self, codes: torch.Tensor) -> torch.Tensor:
        """Indices ``(B, S)`` → this quantizer's contribution ``(B, D, S)``: the entries."""
        return self.embed(codes)

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        """Quantize ``z`` ``(B, D, S)``: codes ``(B, 1, S)``, losses ``(B,)`` as VectorQuantize."""
        codes = self.nearest(z)
        if self.training and self.reset_every:
            self.reset_dead_codes(z, codes)
            codes = self.nearest(z)  # re-initialised entries may now be nearer
        e = self.embed(codes)
        codebook_loss = F.mse_loss(e, z.detach(), reduction="none").mean(dim=(1, 2))
        commitment_loss = F.mse_loss(z, e.detach(), reduction="none").mean(dim=(1, 2))
        z_q = z + (e - z).detach()  # straight-through estimator
        return QuantizerOutput(z_q, codes[:, None], z, commitment_loss, codebook_loss)

    @torch.no_grad()
    def reset_dead_codes(self, z_e: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Count ``codes`` ``(B, S)`` and keep ``z_e`` ``(B, D, S)``; every ``reset_every`` calls,
        move the unused entries onto randomly drawn kept vectors.

        Returns the indices of the entries reset on this call (empty on most calls).
        """
        self.usage += torch.bincount(codes.flatten(), minlength=self.codebook_size)
        self.pool.append(z_e.detach().transpose(1, 2).reshape(-1, self.codebook_dim))  # (B·S, D)
        self.calls += 1
        dead = torch.empty(0, dtype=torch.long, device=codes.device)
        if self.calls % self.reset_every == 0:
            dead = (self.usage == 0).nonzero().squeeze(1)
            if len(dead):
                pool = torch.cat(self.pool)[-self.pool_size :]
                pick = torch.randint(len(pool), (len(dead),), device=pool.device)
                self.codebook.weight[dead] = pool[pick].to(self.codebook.weight.dtype)
                self.n_reset += len(dead)
            self.usage.zero_()
            self.pool = []
        return dead


class PlainResidualVectorQuantize(ResidualVectorQuantize):
    """``ResidualVectorQuantize`` (residuals, quantizer dropout, ``from_codes``, ``from_latents``)
    built from ``PlainVectorQuantize`` stages: codes in the full D-dimensional latent space.

    ``latents`` are ``(B, n_q·D, S)`` (``codebook_dim == D``). An ablation variant, not DAC's.
    """

    def __init__(
        self,
        input_dim: int = 1024,
        n_codebooks: int = 9,
        codebook_size: int = 1024,
        quantizer_dropout: float = 0.0,
        reset_every: int = 0,
    ):
        super().__init__(input_dim, n_codebooks, codebook_size, input_dim, quantizer_dropout)
        self.quantizers = nn.ModuleList(
            PlainVectorQuantize(input_dim, codebook_size, reset_every) for _ in range(n_codebooks)
        )


def with_quantizer(model: DAC, kind: str, reset_every: int = 20) -> DAC:
    """``model`` with its quantizer swapped for an ablation variant, in place; returns ``model``.

    kind: ``"factorized"`` (keep DAC's), ``"plain"`` or ``"plain_reset"`` (dead-code reset every
    ``reset_every`` training steps).
    """
    if kind == "factorized":
        return model
    if kind not in ("plain", "plain_reset"):
        raise ValueError(
            f"unknown quantizer kind {kind!r}; choose 'factorized', 'plain' or 'plain_reset'"
        )
    c = model.config
    model.quantizer = PlainResidualVectorQuantize(
        c.latent_dim,
        c.n_codebooks,
        c.codebook_size,
        c.quantizer_dropout,
        reset_every if kind == "plain_reset" else 0,
    )
    return model


def heldout_clips(
    valid_dir: str | Path | None = None,
    clips_per_domain: int = 4,
    seconds: float = 1.0,
    sample_rate: int = 44100,
) -> torch.Tensor:
    """Fixed evaluation clips ``(N, 1, T)``: the toy corpus's held-out split, or ``valid_dir``."""
    root = Path(valid_dir) if valid_dir is not None else ensure_toy_corpus().valid
    cfg = DataConfig(sample_rate=sample_rate, duration=seconds, augment=False)
    return AudioFolder(root, cfg).fixed_clips(clips_per_domain, seconds)[0]


def band_log_spectral_distance(
    estimate: torch.Tensor,
    reference: torch.Tensor,
    bands: Sequence[tuple[float, float]] = BANDS,
    n_fft: int = 2048,
) -> np.ndarray:
    """Mean ``|log10 |STFT(x̂)| − log10 |STFT(x)||`` (magnitudes clamped at 1e-5) in each band.

    ``estimate``, ``reference``: ``(N, 1, T)``. Bands are fractions of the ``n_fft/2 + 1`` bins,
    as in the MRD discriminator (default: its five bands). Returns ``(n_bands,)`` in log10 units.
    """
    if estimate.shape != reference.shape:
        raise ValueError(f"shapes differ: {tuple(estimate.shape)} vs {tuple(reference.shape)}")
    s_hat = stft_magnitude(estimate.float(), n_fft).clamp(min=1e-5).log10()
    s = stft_magnitude(reference.float(), n_fft).clamp(min=1e-5).log10()
    n_bins = s.shape[-2]
    out = []
    for lo, hi in bands:
        a, b = int(lo * n_bins), int(hi * n_bins)
        out.append((s_hat[..., a:b, :] - s[..., a:b, :]).abs().mean().item())
    return np.array(out)


@torch.no_grad()
def evaluate_codec(
    model: DAC,
    clips: torch.Tensor,
    n_quantizers: Sequence[int] | None = None,
    high_res: bool = False,
    bands: bool = False,
) -> list[dict]:
    """Eval-mode metrics of ``model`` on ``clips`` ``(N, 1, T)``: one row per n_q in
    ``n_quantizers`` (default: all).

    Every row: ``n_q``, ``mel_distance`` and ``stft_distance`` (means over clips, ``metrics``);
    with ``high_res`` also ``stft_hires`` (``HIGH_RES`` windows); with ``bands`` also ``band_0`` …
    (``band_log_spectral_distance``). The row with all codebooks also carries the codebook
    statistics over the whole set: ``utilization`` (mean over codebooks, 0…1), ``perplexity``
    (mean 2^H) and ``entropy_bits``.
    """
    was_training = model.training
    model.eval()
    try:
        codes = torch.cat([model.encode(x[None]).codes for x in clips])  # (N, N_q, S)
        ks = list(n_quantizers) if n_quantizers is not None else [model.n_codebooks]
        rows = []
        for k in ks:
            y = torch.cat([model.decode_codes(c[None, :k], length=clips.shape[-1]) for c in codes])
            row = {
                "n_q": k,
                "mel_distance": float(np.mean(M.mel_distance(y[:, 0], clips[:, 0]))),
                "stft_distance": float(np.mean(M.stft_distance(y[:, 0], clips[:, 0]))),
            }
            if high_res:
                row["stft_hires"] = float(
                    np.mean(M.stft_distance(y[:, 0], clips[:, 0], resolutions=HIGH_RES))
                )
            if bands:
                row |= {f"band_{i}": v for i, v in enumerate(band_log_spectral_distance(y, clips))}
            if k == model.n_codebooks:
                stats = M.CodebookStats(model.n_codebooks, model.config.codebook_size).update(codes)
                row |= {
                    "utilization": stats.utilization().mean,
                    "perplexity": float(stats.perplexity().mean()),
                    "entropy_bits": float(stats.entropy_bits().mean()),
                }
            rows.append(row)
        return rows
    finally:
        model.train(was_training)


@dataclass
class AblationConfig:
    """Budget and sizes shared by every experiment (the stored runs' commands:
    benchmarks/ablations/README.md).

    minutes: wall-clock training budget of the whole experiment, split evenly over its variants
        (evaluation time is not counted). steps: steps per variant (the stored runs set it, so
        that variants are compared at equal steps whatever the machine's load; ``minutes`` is then
        a cap).
    threads: torch CPU threads (1: on a shared 2-core machine two threads contend and run much
        slower).
    batch_size, duration: excerpts per step (a multiple of 3 domains) and their length in s.
    lr: AdamW learning rate, the paper's 1e-4 (constant). 1e-3 learns the mel loss faster but moves
        the quantizers' input biases 10x faster too, and the codebooks collapse within ~50 steps.
    eval_clips_per_domain, eval_seconds: the held-out set (toy ``valid`` split).
    """

    minutes: float = 3.0
    steps: int = 100_000
    batch_size: int = 6
    duration: float = 0.19
    lr: float = 1e-4
    seed: int = 0
    eval_clips_per_domain: int = 4
    eval_seconds: float = 1.0
    data: str | None = None
    valid_data: str | None = None
    threads: int | None = 1

    def __post_init__(self) -> None:
        if not (self.minutes > 0 and self.steps >= 1 and self.lr > 0):
            raise ValueError("minutes and lr must be positive and steps at least 1")


@dataclass
class Variant:
    """One arm of an experiment: a name, how to build its pieces, and what to evaluate.

    ``model``: builds the codec (called after seeding, so every variant starts from the same RNG
    state). ``discriminator`` / ``mel_loss``: replacements for the trainer's (None = its own).
    ``gan``: train with the full GAN step instead of reconstruction only (``TrainConfig.gan_start``
    beyond the run). ``revive``: the trainer's dead-code revival every 20 steps
    (``TrainConfig.revive_every``; the window of ``plain_reset``), off otherwise, so that the
    quantizers are compared as the paper has them.
    """

    name: str
    model: Callable[[], DAC]
    discriminator: Callable[[], Discriminator] | None = None
    mel_loss: Callable[[], nn.Module] | None = None
    gan: bool = False
    revive: bool = False


def variant_config(variant: Variant, cfg: AblationConfig, out: str, quantizer_dropout: float):
    """The ``TrainConfig`` of one variant: the tiny codec at a constant rate, in ``out``."""
    return TrainConfig(
        preset="tiny",
        data=cfg.data,
        valid_data=cfg.valid_data,
        out=out,
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        duration=cfg.duration,
        lr=cfg.lr,
        lr_schedule="exponential",
        lr_gamma=1.0,  # a constant rate, as in the stored runs
        quantizer_dropout=quantizer_dropout,
        seed=cfg.seed,
        threads=cfg.threads,
        device="cpu",
        val_clips_per_domain=1,
        val_duration=max(cfg.duration, 0.05),
        progress=False,
        tensorboard=False,
        gan_start=0 if variant.gan else cfg.steps + 1,
        revive_every=20 if variant.revive else 0,
    )


def train_variant(
    variant: Variant,
    cfg: AblationConfig,
    seconds: float,
    clips: torch.Tensor,
    final_eval: Callable[[DAC], list[dict]] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[DAC, list[dict]]:
    """Train ``variant`` for ``seconds`` of wall time (or ``cfg.steps``), measured at EVAL_STEPS.

    Returns the trained model and rows ``{variant, step, seconds, n_q, mel_distance, ...}``: one
    per evaluation point on ``clips`` (all codebooks), then the rows of ``final_eval(model)``
    (default: the same evaluation) at the last step. ``seconds`` in the rows is training time,
    evaluation excluded.
    """
    torch.manual_seed(cfg.seed)
    model = variant.model()
    disc = variant.discriminator() if variant.discriminator else None
    mel = variant.mel_loss() if variant.mel_loss else None
    with tempfile.TemporaryDirectory() as out:
        tcfg = variant_config(variant, cfg, out, model.config.quantizer_dropout)
        trainer = Trainer(tcfg, model=model, discriminator=disc, mel_loss=mel)
        rows, step, elapsed = _train_and_evaluate(trainer, variant.name, seconds, clips, log)
    final = final_eval(model) if final_eval else evaluate_codec(model, clips)
    rows = [r for r in rows if r["step"] != step]  # the final evaluation replaces a same-step one
    rows += [
        {"variant": variant.name, "step": step, "seconds": round(elapsed, 2), "final": 1, **r}
        for r in final
    ]
    if log:
        log(f"{variant.name}: done at step {step} ({elapsed:.0f} s)")
    return model, rows


def _train_and_evaluate(
    trainer: Trainer,
    name: str,
    seconds: float,
    clips: torch.Tensor,
    log: Callable[[str], None] | None,
) -> tuple[list[dict], int, float]:
    """Step ``trainer`` up to ``cfg.steps`` or ``seconds``: ``(rows at EVAL_STEPS, step, time)``."""
    rows: list[dict] = []
    elapsed, step = 0.0, 0
    batches = trainer.batches()
    while step < trainer.cfg.steps and elapsed < seconds:
        tick = time.perf_counter()
        s, batch = next(batches)
        trainer.train_step(s, batch)
        elapsed += time.perf_counter() - tick
        step = s
        if step in EVAL_STEPS:
            rows += [
                {"variant": name, "step": step, "seconds": round(elapsed, 2), **r}
                for r in evaluate_codec(trainer.generator, clips)
            ]
            if log:
                mel = rows[-1]["mel_distance"]
                log(f"{name}: step {step}, {elapsed:.0f} s, mel distance {mel:.3f}")
    return rows, step, elapsed


def _tiny(**overrides) -> Callable[[], DAC]:
    return lambda: DAC.from_preset("tiny", **overrides)


def experiment_variants(name: str) -> list[Variant]:
    """The variants of experiment ``name`` (see the module docstring), DAC's own choice first."""
    if name == "activation":
        return [Variant("snake", _tiny()), Variant("leaky_relu", _tiny(activation="leaky_relu"))]
    if name == "quantizer":
        return [
            Variant(kind, lambda kind=kind: with_quantizer(DAC.from_preset("tiny"), kind))
            for kind in ("factorized", "plain", "plain_reset")
        ] + [Variant("factorized_revive", lambda: DAC.from_preset("tiny"), revive=True)]
    if name == "vq_features":  # names only: run_vq_features builds the quantizers without a codec
        return [
            Variant(kind, lambda: DAC.from_preset("tiny"))
            for kind in ("factorized", "plain", "plain_reset")
        ]
    if name == "dropout":
        return [Variant(f"p={p}", _tiny(quantizer_dropout=p)) for p in (0.5, 0.0, 1.0)]
    if name == "mel_bins":
        return [
            Variant("scaled", _tiny()),
            Variant("fixed64", _tiny(), mel_loss=lambda: MultiScaleMelLoss(n_mels=(64,) * 7)),
        ]
    if name == "mrd_bands":
        return [
            Variant("multiband", _tiny(), gan=True),
            Variant(
                "single_band",
                _tiny(),
                lambda: Discriminator.from_preset("tiny", bands=((0.0, 1.0),)),
                gan=True,
            ),
        ]
    raise ValueError(f"unknown experiment {name!r}; choose one of {list(EXPERIMENTS)}")


EXPERIMENTS = ("activation", "quantizer", "vq_features", "dropout", "mel_bins", "mrd_bands")


def _final_eval(name: str, clips: torch.Tensor) -> Callable[[DAC], list[dict]]:
    if name == "dropout":
        return lambda m: evaluate_codec(m, clips, range(1, m.n_codebooks + 1))
    return lambda m: evaluate_codec(
        m, clips, high_res=name == "mel_bins", bands=name == "mrd_bands"
    )


def run_experiment(
    name: str, cfg: AblationConfig | None = None, log: Callable[[str], None] | None = None
) -> list[dict]:
    """Train every variant of experiment ``name``, ``cfg.minutes / n_variants`` each; all rows."""
    cfg = cfg or AblationConfig()
    variants = experiment_variants(name)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if name == "vq_features":
        return [{"experiment": name, **r} for r in run_vq_features(cfg, log)]
    clips = heldout_clips(cfg.valid_data, cfg.eval_clips_per_domain, cfg.eval_seconds)
    seconds = 60.0 * cfg.minutes / len(variants)
    rows = []
    for v in variants:
        rows += [
            {"experiment": name, **r}
            for r in train_variant(v, cfg, seconds, clips, _final_eval(name, clips), log)[1]
        ]
    return rows


def log_mel_frames(
    clips: torch.Tensor, n_mels: int = 64, window: int = 2048, hop: int = 512
) -> torch.Tensor:
    """``log10`` mel magnitudes (clamped at 1e-5) of clips ``(N, 1, T)``: ``(N, n_mels, T//hop+1)``.

    One frame per 512 samples, like the codec's latent; 64 bands, like the tiny codec's D = 64.
    """
    fb = torch.from_numpy(mel_filters(SAMPLE_RATE, window, n_mels)).float()
    return (fb @ stft_magnitude(clips.float(), window, hop)).clamp(min=1e-5).log10()


def make_quantizer(
    kind: str, dim: int = 64, n_codebooks: int = 9, codebook_size: int = 1024, reset_every: int = 20
) -> ResidualVectorQuantize:
    """A residual quantizer of ``kind`` (``"factorized"`` = DAC's, ``"plain"``, ``"plain_reset"``)
    for ``dim``-dimensional input."""
    if kind == "factorized":
        return ResidualVectorQuantize(dim, n_codebooks, codebook_size, 8)
    if kind in ("plain", "plain_reset"):
        return PlainResidualVectorQuantize(
            dim, n_codebooks, codebook_size, 0.0, reset_every if kind == "plain_reset" else 0
        )
    raise ValueError(
        f"unknown quantizer kind {kind!r}; choose 'factorized', 'plain' or 'plain_reset'"
    )


@torch.no_grad()
def quantizer_stats(quantizer: ResidualVectorQuantize, z: torch.Tensor) -> dict:
    """Eval-mode codebook statistics and relative error ``‖z − z_q‖² / ‖z‖²`` of ``quantizer`` on
    ``z`` ``(N, D, S)``."""
    was_training = quantizer.training
    quantizer.eval()
    try:
        out = quantizer(z)
    finally:
        quantizer.train(was_training)
    stats = M.CodebookStats(quantizer.n_codebooks, quantizer.codebook_size).update(out.codes)
    return {
        "n_q": quantizer.n_codebooks,
        "utilization": stats.utilization().mean,
        "perplexity": float(stats.perplexity().mean()),
        "entropy_bits": float(stats.entropy_bits().mean()),
        "relative_error": float((z - out.z_q).pow(2).sum() / z.pow(2).sum()),
    }


def run_vq_features(cfg: AblationConfig, log: Callable[[str], None] | None = None) -> list[dict]:
    """The three quantizers trained alone on standardised log-mel frames, the same budget each.

    In the codec, a quantizer's input is whatever a young encoder produces; here every variant gets
    the same varied input from step 1: ``z`` = 64-band log-mel frames of the training clips,
    standardised per band with the training mean and std (so the plain codebook's N(0, 1)
    initialisation is at the data's scale). Each step quantizes a batch of 8 random 32-frame
    windows and minimises ``‖z − z_q‖² + codebook + 0.25·commitment`` (AdamW, ``cfg.lr``);
    statistics are measured on the held-out clips. Rows: ``variant, step, seconds, n_q,
    utilization, perplexity, entropy_bits, relative_error`` (and ``final`` = 1 on the last row of
    each variant).
    """
    train_z, held_z = _standardised_frames(cfg)
    rows = []
    for kind in ("factorized", "plain", "plain_reset"):
        rows += _train_quantizer(kind, train_z, held_z, cfg, 60.0 * cfg.minutes / 3)
        if log:
            r = rows[-1]
            log(
                f"{kind}: step {r['step']}, utilization {r['utilization']:.1%}, "
                f"perplexity {r['perplexity']:.1f}, relative error {r['relative_error']:.3f}"
            )
    return rows


def _standardised_frames(cfg: AblationConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-mel frames ``(N, 64, frames)`` of the training and held-out clips, standardised per
    band with the training mean and std."""
    root = ensure_toy_corpus() if cfg.data is None else None
    train_dir = Path(cfg.data) if cfg.data is not None else root.train
    valid_dir = cfg.valid_data if cfg.valid_data is not None else (root.valid if root else None)
    train_clips = AudioFolder(
        train_dir, DataConfig(sample_rate=SAMPLE_RATE, duration=cfg.eval_seconds, augment=False)
    ).fixed_clips(1000, cfg.eval_seconds)[0]
    train_z = log_mel_frames(train_clips)
    mean = train_z.mean(dim=(0, 2), keepdim=True)
    std = train_z.std(dim=(0, 2), keepdim=True) + 1e-5
    held = log_mel_frames(heldout_clips(valid_dir, cfg.eval_clips_per_domain, cfg.eval_seconds))
    return (train_z - mean) / std, (held - mean) / std


def _train_quantizer(
    kind: str, train_z: torch.Tensor, held_z: torch.Tensor, cfg: AblationConfig, seconds: float
) -> list[dict]:
    """Train quantizer ``kind`` for ``seconds`` (or ``cfg.steps``); its rows, the last ``final``."""
    width = min(32, train_z.shape[-1])
    torch.manual_seed(cfg.seed)
    q = make_quantizer(kind, train_z.shape[1])
    opt = torch.optim.AdamW(q.parameters(), cfg.lr, betas=(0.8, 0.99))
    gen = torch.Generator().manual_seed(cfg.seed)
    step, elapsed, rows = 0, 0.0, []

    def row() -> dict:
        return {"variant": kind, "step": step, "seconds": round(elapsed, 2)} | quantizer_stats(
            q, held_z
        )

    while step < cfg.steps and elapsed < seconds:
        tick = time.perf_counter()
        i = torch.randint(len(train_z), (8,), generator=gen)
        t = torch.randint(train_z.shape[-1] - width + 1, (8,), generator=gen)
        z = torch.stack([train_z[a, :, b : b + width] for a, b in zip(i.tolist(), t.tolist())])
        out = q(z)
        loss = F.mse_loss(out.z_q, z) + out.codebook_loss + 0.25 * out.commitment_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        elapsed += time.perf_counter() - tick
        step += 1
        if step in EVAL_STEPS:
            rows.append(row())
    if not rows or rows[-1]["step"] != step:
        rows.append(row())
    rows[-1]["final"] = 1
    return rows


def package_version(root: str | Path = ".") -> str:
    """The git commit of the repository at ``root`` (default: the working directory) and whether
    its ``dac_minimal/`` had uncommitted changes ("unknown" outside git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "dac_minimal"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = sorted(x for x in dirty if x.endswith(".py"))
    return head + (f" with uncommitted changes to {', '.join(changed)}" if changed else "")


def write_results(
    path: str | Path, rows: list[dict], command: str, version: str | None = None
) -> Path:
    """CSV of ``rows`` (union of their keys; missing cells empty) after a ``# command: ...`` line
    (and a ``# package: ...`` line when ``version`` is given), atomically."""
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        f.write(f"# command: {command}\n")
        if version:
            f.write(f"# package: {version}\n")
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def read_results(path: str | Path) -> tuple[list[dict], str]:
    """``(rows, command)`` from ``write_results``' CSV; numbers as floats (``step``, ``n_q`` as
    ints), empty cells as NaN."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"results file not found: {path}")
    with open(path, newline="") as f:
        first = f.readline()
        if not first.startswith("# command: "):
            raise ValueError(f"{path} does not start with a '# command: ' line")
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))

    def value(key: str, text: str):
        if key in ("experiment", "variant"):
            return text
        if text == "":
            return math.nan
        return int(float(text)) if key in ("step", "n_q", "final") else float(text)

    return [{k: value(k, v) for k, v in r.items()} for r in rows], first[
        len("# command: ") :
    ].strip()


def parse_args(argv: Sequence[str] | None = None) -> tuple[str, AblationConfig, Path]:
    d = AblationConfig()
    p = argparse.ArgumentParser(
        prog="python -m dac_minimal.evaluate.ablations", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("name", choices=EXPERIMENTS)
    p.add_argument(
        "--minutes", type=float, default=d.minutes, help="training budget of the whole experiment"
    )
    p.add_argument("--steps", type=int, default=d.steps, help="cap on steps per variant")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--duration", type=float, default=d.duration)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--eval-clips-per-domain", type=int, default=d.eval_clips_per_domain)
    p.add_argument("--eval-seconds", type=float, default=d.eval_seconds)
    p.add_argument("--data", default=None, help="training folder (default: the toy corpus)")
    p.add_argument(
        "--valid-data", default=None, help="held-out folder (default: the toy corpus's valid split)"
    )
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument("--out", required=True, help="CSV to write, e.g. benchmarks/ablations/NAME.csv")
    a = vars(p.parse_args(argv))
    name, out = a.pop("name"), Path(a.pop("out"))
    return name, AblationConfig(**a), out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        name, cfg, out = parse_args(argv)
        version = package_version()  # before the run: the code that ran, not the code at the end
        rows = run_experiment(name, cfg, log=lambda s: print(s, file=sys.stderr, flush=True))
        write_results(
            out, rows, "python -m dac_minimal.evaluate.ablations " + shlex.join(argv), version
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "EXPERIMENTS",
    "EVAL_STEPS",
    "HIGH_RES",
    "AblationConfig",
    "PlainResidualVectorQuantize",
    "PlainVectorQuantize",
    "Variant",
    "band_log_spectral_distance",
    "evaluate_codec",
    "experiment_variants",
    "heldout_clips",
    "log_mel_frames",
    "make_quantizer",
    "quantizer_stats",
    "run_vq_features",
    "package_version",
    "read_results",
    "run_experiment",
    "train_variant",
    "with_quantizer",
    "write_results",
]
