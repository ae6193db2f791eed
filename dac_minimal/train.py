"""Training the codec: a discriminator step, then a generator step, again and again.

One iteration (report §3.5; official ``scripts/train.py``), ``Trainer.train_step``:

1. **Discriminator step.** Reconstruct a batch, ``x̂ = G(x)``; judge real ``x`` and the *detached*
   ``sg[x̂]`` in one pass; minimise ``discriminator_loss`` (least squares by default); clip
   ‖∇‖ at 10; AdamW step.
2. **Generator step.** Judge ``x̂`` again with the updated discriminator and minimise
   ``15·mel + 2·feature + 1·adversarial + 1·codebook + 0.25·commitment`` (``LOSS_WEIGHTS``);
   clip ‖∇‖ at 1000; AdamW step. Both learning rates decay by γ = 0.999996 per iteration.

``Trainer.fit`` repeats it: data → step → log → validate and sample → checkpoint. Read those two
first; ``__init__`` builds what they use from a ``TrainConfig``. What keeps the loop honest but is
not the algorithm (distributed setup, the step-indexed batch sampler, RNG state, checkpoints that
resume *exactly*, CSV logs, spectrograms) lives in ``dac_minimal.utils.training``.

Shapes: training batches are ``(B, 1, T)`` with ``T = round(duration · sample_rate)`` (0.38 s →
16758 samples at 44.1 kHz). Command line (every option is a ``TrainConfig`` field)::

    python -m dac_minimal.train --preset tiny --steps 2000 --out runs/tiny    # toy corpus, CPU
    torchrun --nproc_per_node=8 -m dac_minimal.train --preset 44khz --data /data/dac/train \\
        --batch-size 9 --steps 400000 --amp --compile --workers 4 --out runs/44khz  # 8 × 9 = 72
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from dac_minimal.checkpoint import config_dict, load_state
from dac_minimal.data import AudioFolder, DataConfig, ensure_toy_corpus
from dac_minimal.discriminator import Discriminator
from dac_minimal.layers import compile_snakes
from dac_minimal.loss import (
    LOSS_WEIGHTS,
    MultiScaleMelLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from dac_minimal.model import DAC, PRESETS, ForwardOutput
from dac_minimal.quantize import CodeReviver
from dac_minimal.utils.audio import save_audio
from dac_minimal.utils.checks import MIN_SAMPLES, skip_finite_checks
from dac_minimal.utils.files import atomic_path, default_device
from dac_minimal.utils.training import (  # noqa: F401 (re-exported: the trainer's public helpers)
    MODEL_FORMAT,
    TRAIN_FORMAT,
    CsvLog,
    DistInfo,
    StepBatches,
    draw_batch,
    load_checkpoint,
    load_generator_weights,
    plain,
    read_csv,
    rng_state,
    save_checkpoint,
    save_spectrograms,
    set_rng_state,
    setup_distributed,
)

#: The generator's loss terms, in the order they are logged (names match ``LossWeights``).
LOSS_TERMS = ("mel", "feature", "adversarial", "codebook", "commitment")
METRIC_FIELDS = (
    "step",
    "discriminator",
    *LOSS_TERMS,
    "generator",
    "lr",
    "grad_norm_d",
    "grad_norm_g",
    "steps_per_s",
)
#: Config fields that may differ between a checkpoint and the run resuming it.
RESUMABLE_CHANGES = {
    "steps",
    "out",
    "resume",
    "init_from",
    "device",
    "log_every",
    "val_every",
    "sample_every",
    "ckpt_every",
    "progress",
    "tensorboard",
    "workers",
    "threads",
    "compile",
}

#: Defaults that depend on the preset (``TrainConfig`` fields left at ``None`` take them).
#: ``official``: the paper's recipe, for every preset but ``tiny``. ``cpu``: the ``tiny`` preset's
#: recipe for minutes of CPU, not days of GPU. Ten times the learning rate (a 0.6M-parameter model
#: tolerates it, and 1e-4 is too slow for a few thousand steps); mel + VQ losses alone until step
#: ``gan_start`` (a discriminator warm-up: a step without the discriminator is much cheaper, and in
#: the first thousands of steps the mel loss is what improves the codec); dead-code revival (in
#: longer runs it keeps more of each codebook in use, most visibly codebook 0; early on it does not
#: prevent the collapse that the fast-moving quantizer biases cause); a learning rate held for three
#: quarters of the steps, then falling linearly to 0 (a run of a few thousand steps is far from
#: converged; held to the end, the rate keeps weights and codes jittering, and falling from the
#: start it slows the first minutes). The measurements: ``benchmarks/tiny_vs_opus.py`` and
#: ``benchmarks/reference_curves/README.md``.
RECIPES: dict[str, dict[str, float | int | str]] = {
    "official": {
        "lr": 1e-4,
        "gan_start": 0,
        "revive_every": 0,
        "lr_schedule": "exponential",
        "lr_decay_from": 0.0,
    },
    "cpu": {
        "lr": 1e-3,
        "gan_start": 5000,
        "revive_every": 50,
        "lr_schedule": "linear",
        "lr_decay_from": 0.75,
    },
}
LR_SCHEDULES = ("exponential", "linear")
COMPILE_MODES = ("off", "snake", "full")
GAN_LOSSES = ("lsgan", "hinge", "bce")


def recipe_for(preset: str) -> dict[str, float | int | str]:
    """The preset-dependent defaults (``RECIPES``): ``cpu`` for ``tiny``, else ``official``."""
    return RECIPES["cpu" if preset == "tiny" else "official"]


def discriminator_preset_for(preset: str) -> str:
    """The discriminator preset (``DISCRIMINATOR_PRESETS``) codec preset ``preset`` trains with."""
    return "tiny" if preset == "tiny" else "44khz"


def option(default, help: str, **argparse_kwargs):
    """A ``TrainConfig`` field; ``parse_args`` makes its command-line option ``--name`` from it.

    ``help`` is the option's help and the field's documentation; ``argparse_kwargs`` (``choices``,
    ``nargs``, ``const``) go to ``add_argument`` as they are.
    """
    return field(default=default, metadata={"help": help, **argparse_kwargs})


@dataclass
class TrainConfig:
    """Everything a run needs; each field's help says what it means (``--help`` prints them all).

    Defaults: the official 44.1 kHz recipe, except the batch size and the preset. The fields of
    ``RECIPES`` (``lr``, ``gan_start``, ``revive_every``, ``lr_schedule``, ``lr_decay_from``) left
    at ``None`` come from the preset's recipe (the official one, or for ``tiny`` the CPU one).
    """

    preset: str = option(
        "tiny",
        "codec preset; the discriminator is 'tiny' for 'tiny', the official one otherwise",
        choices=sorted(PRESETS),
    )
    data: str | None = option(
        None, "folder of domain subfolders (see AudioFolder; default: the toy corpus's train split)"
    )
    valid_data: str | None = option(
        None,
        "held-out folder for validation (default: the valid folder next to a train folder when "
        "there is one, else fixed clips of the training folder, with a warning)",
    )
    out: str = option("runs/tiny", "run folder: checkpoints, logs, samples")
    steps: int = option(1000, "total iterations (a resumed run continues up to this number)")
    batch_size: int = option(
        12,
        "excerpts per micro-batch per process, a multiple of the number of domains; one optimizer "
        "step sees batch_size x accum x world_size excerpts (official: 72)",
    )
    duration: float = option(0.38, "excerpt length in seconds (0.38 in the paper)")
    lr: float | None = option(None, "AdamW learning rate, the same for generator and discriminator")
    betas: tuple[float, float] = option((0.8, 0.99), "AdamW betas")
    weight_decay: float = option(0.01, "AdamW weight decay")
    lr_schedule: str | None = option(
        None,
        "exponential (official: ExponentialLR, lr·γ^step) or linear (lr held until the fraction "
        "lr_decay_from of steps, then falling linearly to 0 at steps; resuming with more steps "
        "stretches it)",
        choices=LR_SCHEDULES,
    )
    lr_decay_from: float | None = option(
        None, "linear schedule: fraction of steps after which the rate falls to 0 (0 = from step 1)"
    )
    lr_gamma: float = option(0.999996, "ExponentialLR decay per iteration (γ; 0.999996^400k ≈ 0.2)")
    warmup: int = option(0, "steps of linear learning-rate warm-up from ~0 (0 = none, official)")
    grad_clip_d: float = option(10.0, "max gradient norm of the discriminator")
    grad_clip_g: float = option(1000.0, "max gradient norm of the generator")
    quantizer_dropout: float = option(0.5, "p, written onto the codec config (final recipe: 0.5)")
    gan: str = option("lsgan", "GAN loss (official: lsgan)", choices=GAN_LOSSES)
    gan_start: int | None = option(
        None,
        "first step with the discriminator and the adversarial and feature losses; before it the "
        "generator learns from the mel and VQ losses alone (a warm-up, as in AudioDec; 0 = from "
        "the start, the official recipe)",
    )
    revive_every: int | None = option(
        None,
        "dead-code revival window in steps (quantize.CodeReviver): entries no frame chose at least "
        "revive_min_uses times in that many steps move onto recent encoder outputs; 0 = off",
    )
    revive_min_uses: int = option(
        1, "entries chosen fewer times than this in a revival window are revived"
    )
    loudness_db: float | None = option(
        -24.0, "LUFS each excerpt is normalised to (the report's -24; the official code uses -16)"
    )
    seed: int = option(0, "seed of the initial weights and of the data stream")
    accum: int = option(1, "gradient accumulation steps (micro-batches per optimizer step)")
    amp: bool = option(
        False,
        "bf16 autocast (CUDA only; ignored with a warning on the CPU); quantizer and losses "
        "stay fp32",
    )
    compile: str | bool = option(
        "off",
        "torch.compile: 'full' (the default when given alone) compiles the generator and "
        "discriminator (minutes to compile), 'snake' only the Snake activations (seconds); "
        "True means 'full'",
        choices=COMPILE_MODES,
        nargs="?",
        const="full",
    )
    device: str | None = option(None, "e.g. cpu, cuda:0 (default: CUDA when present)")
    workers: int = option(0, "data loader processes (0 = in the training process)")
    threads: int | None = option(None, "torch CPU threads (default: torch's)")
    log_every: int = option(10, "metrics.csv interval in steps (0 = off; also the last step)")
    val_every: int = option(250, "validation interval in steps (0 = off; also the last step)")
    sample_every: int = option(500, "audio sample interval in steps (0 = off; also the last step)")
    ckpt_every: int = option(250, "latest.pt interval in steps (0 = off; also the last step)")
    val_clips_per_domain: int = option(2, "validation clips per domain")
    val_duration: float = option(1.0, "validation clip length in seconds")
    init_from: str | None = option(
        None, "start from a DAC.save file or a training checkpoint (fine-tuning)"
    )
    resume: bool = option(False, "continue OUT/latest.pt exactly")
    progress: bool = option(True, "progress bar")
    tensorboard: bool = option(True, "TensorBoard logs in OUT/tb when tensorboard is installed")

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}")
        for name, value in recipe_for(self.preset).items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        self.compile = {True: "full", False: "off"}.get(self.compile, self.compile)
        for name, what, allowed in (
            ("compile", "compile mode", COMPILE_MODES),
            ("gan", "GAN loss", GAN_LOSSES),
            ("lr_schedule", "lr_schedule", LR_SCHEDULES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {what} {getattr(self, name)!r}; choose one of {allowed}")
        for name in ("steps", "batch_size", "accum", "revive_min_uses"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.lr_decay_from < 1.0:
            raise ValueError(f"lr_decay_from must be in [0, 1), got {self.lr_decay_from}")
        for name in ("log_every", "val_every", "sample_every", "ckpt_every", "workers"):
            self._at_least_zero(name)
        for name in ("gan_start", "revive_every", "warmup"):
            self._at_least_zero(name)
        if not (self.lr > 0 and 0 < self.lr_gamma <= 1 and len(self.betas) == 2):
            raise ValueError("lr must be positive, lr_gamma in (0, 1] and betas a pair")
        if not 0.0 <= self.quantizer_dropout <= 1.0:
            raise ValueError(f"quantizer_dropout must be in [0, 1], got {self.quantizer_dropout}")
        sr, min_t = PRESETS[self.preset].sample_rate, MIN_SAMPLES
        if round(self.duration * sr) < min_t or round(self.val_duration * sr) < min_t:
            raise ValueError(
                f"duration and val_duration must give at least {min_t} samples "
                f"({min_t / sr:.3f} s at {sr} Hz) for the 2048-sample windows, "
                f"got {self.duration} s and {self.val_duration} s"
            )

    def _at_least_zero(self, name: str) -> None:
        if getattr(self, name) < 0:
            raise ValueError(f"{name} must be >= 0 (0 turns it off), got {getattr(self, name)}")


class NonFiniteLossError(FloatingPointError):
    """A loss or gradient norm became NaN or infinite; the message names the step and the term."""


class CodecForward(nn.Module):
    """``DAC.forward`` with the residual quantizer outside autocast.

    Nearest-neighbour search and the codebook/commitment losses need fp32: in bf16 (8 bits of
    mantissa) near-ties between codes flip and small losses round to zero. The encoder and the
    decoder run in whatever autocast is active. A module (not a function) so DDP and
    ``torch.compile`` can wrap it; it holds no weights of its own.
    """

    def __init__(self, model: DAC):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> ForwardOutput:
        m = self.model
        z = m.encoder(m.preprocess(x))
        with torch.autocast(device_type=x.device.type, enabled=False):
            q = m.quantizer(z.float())
        audio = m.decoder(q.z_q)[..., : x.shape[-1]]
        return ForwardOutput(audio, *q)


def _fp32(outputs: list[list[torch.Tensor]]) -> list[list[torch.Tensor]]:
    """Discriminator outputs (feature maps and scores of each sub-discriminator) as fp32."""
    return [[f.float() for f in fmap] for fmap in outputs]


def _split(
    outputs: list[list[torch.Tensor]], n: int
) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    """Split discriminator outputs of a concatenated batch ``[first n; rest]`` into two, as fp32."""
    first = [[f[:n].float() for f in fmap] for fmap in outputs]
    rest = [[f[n:].float() for f in fmap] for fmap in outputs]
    return first, rest


def check_finite(
    step: int,
    side: str,
    losses: list[dict[str, torch.Tensor]],
    grad_norm: torch.Tensor,
    distributed: bool = False,
) -> tuple[list[tuple[str, float]], float]:
    """``([(name, value) of every term of every micro-batch], grad_norm)`` read back in one sync.

    Raises ``NonFiniteLossError`` if any is NaN/inf, on every rank at once under DDP (a rank that
    stopped alone would leave the others waiting forever). Called once per side (``side``:
    "discriminator" or "generator") between its backward and its optimizer step, so nothing
    non-finite reaches the weights. A GPU step bound by launching kernels loses the overlap of
    host and device at every read-back, so this is the only one per side.
    """
    names = [name for micro in losses for name in micro]
    values = torch.stack(
        [v.detach().float() for micro in losses for v in micro.values()]
        + [grad_norm.detach().float()]
    )
    bad_here = (~torch.isfinite(values).all()).float()
    bad = bad_here.clone()
    if distributed:
        dist.all_reduce(bad)
    *values, norm, bad_here, bad = torch.cat([values, bad_here[None], bad[None]]).tolist()
    pairs = list(zip(names, values))
    if bad > 0:
        raise NonFiniteLossError(_non_finite_message(step, side, pairs, norm, bad_here > 0))
    return pairs, norm


def _non_finite_message(step, side, pairs, norm, bad_here) -> str:
    """``check_finite``'s message: the non-finite terms, else the gradient norm, else the rank."""
    bad_terms = [(n, v) for n, v in pairs if not math.isfinite(v)]
    # The generator's total (named like its side) is non-finite whenever a term is: name the terms.
    bad_terms = [f"{n} = {v}" for n, v in [t for t in bad_terms if t[0] != side] or bad_terms]
    if bad_terms:
        what = f"loss ({', '.join(dict.fromkeys(bad_terms))})"
    elif bad_here:
        what = f"gradient norm ({side} = {norm})"
    else:
        what = "loss or gradient norm (in another process)"
    return (
        f"step {step}: non-finite {what}; stopped before updating the weights with it and "
        "without saving a checkpoint of this state. The last good checkpoint (if any) is "
        "latest.pt; try a lower learning rate, training without --amp, or check the data."
    )


def _due(every: int, step: int, also: bool = False) -> bool:
    """Whether an action done every ``every`` steps (0 = never) is due at ``step`` (or ``also``)."""
    return bool(every) and (also or step % every == 0)


class Trainer:
    """Builds the two players, their optimizers, the data and the logs from a ``TrainConfig``.

    ``train_step`` is one iteration, ``fit()`` the loop. Attributes worth knowing: ``generator``
    (the ``DAC``, G) and ``discriminator`` (the ``Discriminator``, D): the weights that are trained,
    saved and evaluated; ``G`` and ``D``: the same modules as the step calls them (G in
    ``CodecForward``, fp32 quantizer; ``torch.compile``d with ``--compile full``; wrapped in
    DistributedDataParallel under torchrun; the generator step judges with D's module, without
    DDP: it trains no D weights). ``step`` (iterations done), ``val_audio`` ``(N, 1, T)`` and
    ``val_domains`` (the validation clips), ``out`` (the run folder: ``latest.pt``, ``best.pt``,
    ``model.pt``, ``metrics.csv``, ``val.csv``, ``samples/``).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        dist_info: DistInfo | None = None,
        *,
        model: DAC | None = None,
        discriminator: Discriminator | None = None,
        mel_loss: nn.Module | None = None,
    ):
        # model / discriminator / mel_loss: ready-built replacements for the ones cfg describes
        # (chapter 11's ablations swap in a LeakyReLU codec, another quantizer or discriminator,
        # another mel loss). A resumed run must be given the same replacements again.
        self.cfg = cfg
        self.dist = dist_info or setup_distributed()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self._choose_device()
        self.out = Path(cfg.out)
        latest = self.out / "latest.pt"
        if cfg.resume and not latest.is_file():
            raise ValueError(f"--resume: no checkpoint at {latest}")
        if not cfg.resume and latest.is_file():
            raise ValueError(
                f"{self.out} already holds a run ({latest}); pass --resume to continue it "
                f"or choose another --out"
            )
        self._load_data()  # data first: a bad folder fails here, before any model is built
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        self._build(model, discriminator, mel_loss)
        if cfg.resume:
            self._resume(latest)
        elif cfg.init_from:
            self._init_from(cfg.init_from)
        if not cfg.resume:
            torch.manual_seed(cfg.seed + self.dist.rank)  # per-rank quantizer dropout draws
        self._wrap()
        self.metrics = self.val_log = self.tb = None
        if self.dist.is_main:
            self._open_logs()

    def train_step(self, step: int, batches: torch.Tensor) -> dict[str, float]:
        """One iteration on ``batches`` ``(accum, B, 1, T)``: a D step, then a G step.

        Returns the loss terms (means over micro-batches), the learning rate and both gradient
        norms (before clipping). Before ``gan_start`` there is no D step and G learns from the
        mel and VQ losses alone. With one micro-batch the D step's x̂ = G(x) is reused by the G
        step (the official order); with accumulation, keeping K graphs would cost the memory
        accumulation saves, so the D step reconstructs without a graph and the G step again.
        Values come back from the device once per side (``check_finite``); the modules skip their
        own NaN scans (``skip_finite_checks``): a non-finite input makes a non-finite loss.
        """
        micro = [b.to(self.device, non_blocking=True) for b in batches]
        gan = step >= self.cfg.gan_start
        logs = dict.fromkeys(("discriminator", *LOSS_TERMS, "generator"), 0.0)
        grad_d, x_hat = 0.0, []
        with skip_finite_checks():
            if gan:
                keep = len(micro) == 1
                logs["discriminator"], grad_d, x_hat = self.discriminator_step(step, micro, keep)
            terms, grad_g, lr = self.generator_step(step, micro, x_hat, gan)
        for name, value in terms:
            logs[name] += value / len(micro)
        return {**logs, "lr": lr, "grad_norm_d": grad_d, "grad_norm_g": grad_g}

    def discriminator_step(
        self, step: int, micro: list[torch.Tensor], keep: bool
    ) -> tuple[float, float, list[ForwardOutput]]:
        """Lower D's loss on real ``x`` and ``sg[x̂]``, judged in one batch; clip; AdamW step.

        Returns the loss (mean over micro-batches), D's gradient norm and, when ``keep``, the
        generator's outputs with their graphs for the G step.
        """
        G, D, k = self.G, self.D, len(micro)
        self.opt_d.zero_grad(set_to_none=True)
        losses, kept = [], []
        for i, x in enumerate(micro):
            with self._no_sync(D, last=i == k - 1):
                with torch.set_grad_enabled(keep), self.autocast():
                    out = G(x)  # x̂ = G(x)
                kept += [out] if keep else []
                with self.autocast():
                    scores = D(torch.cat([out.audio.detach(), x]))
                d_fake, d_real = _split(scores, x.shape[0])
                loss = discriminator_loss(d_fake, d_real, self.cfg.gan)
                (loss / k).backward()
            losses.append({"discriminator": loss.detach()})
        norm = nn.utils.clip_grad_norm_(self.discriminator.parameters(), self.cfg.grad_clip_d)
        terms, grad_norm = check_finite(step, "discriminator", losses, norm, self.dist.enabled)
        self.opt_d.step()
        self.sched_d.step()
        return sum(v / k for _, v in terms), grad_norm, kept

    def generator_step(
        self, step: int, micro: list[torch.Tensor], x_hat: list[ForwardOutput], gan: bool
    ) -> tuple[list[tuple[str, float]], float, float]:
        """Lower G's weighted loss (``LOSS_WEIGHTS``); clip; AdamW step; dead-code revival.

        ``x_hat``: the D step's outputs to reuse, or ``[]`` to reconstruct here. Returns the
        ``(name, value)`` terms of every micro-batch, G's gradient norm and this step's rate.
        """
        G, k = self.G, len(micro)
        self.opt_g.zero_grad(set_to_none=True)
        losses, chosen = [], []
        for i, x in enumerate(micro):
            with self._no_sync(G, last=i == k - 1):
                if x_hat:
                    out = x_hat[i]
                else:
                    with self.autocast():
                        out = G(x)
                terms = self.generator_losses(out, x, gan)
                total = LOSS_WEIGHTS.total(terms)
                # inputs=: gradients for G only; D's weights are not being trained here.
                (total / k).backward(inputs=self.g_params)
            chosen.append((out.codes.detach(), out.latents.detach()))
            losses.append({n: v.detach() for n, v in {**terms, "generator": total}.items()})
        norm = nn.utils.clip_grad_norm_(self.g_params, self.cfg.grad_clip_g)
        terms, grad_norm = check_finite(step, "generator", losses, norm, self.dist.enabled)
        lr = self.sched_g.get_last_lr()[0]
        self.opt_g.step()
        self.sched_g.step()
        if self.reviver is not None:
            self.revive(torch.cat([c for c, _ in chosen]), torch.cat([z for _, z in chosen]))
        return terms, grad_norm, lr

    def generator_losses(
        self, out: ForwardOutput, x: torch.Tensor, gan: bool
    ) -> dict[str, torch.Tensor]:
        """G's loss terms for one micro-batch; D judges ``x̂`` with its graph, ``x`` as a target."""
        losses = {"mel": self.mel(out.audio.float(), x)}
        if gan:
            D = self.D.module if self.dist.enabled else self.D  # no DDP: no D weights train here
            with self.autocast():
                d_fake = D(out.audio)
                with torch.no_grad():
                    d_real = D(x)
            d_fake, d_real = _fp32(d_fake), _fp32(d_real)
            losses["feature"] = feature_matching_loss(d_fake, d_real)
            losses["adversarial"] = generator_adversarial_loss(d_fake, self.cfg.gan)
        losses["codebook"] = out.codebook_loss
        losses["commitment"] = out.commitment_loss
        return losses

    def revive(self, codes: torch.Tensor, latents: torch.Tensor) -> None:
        """Dead-code revival (``CodeReviver``); a revived entry's AdamW moments restart from 0."""
        revived = self.reviver.update(codes, latents)
        for quantizer, rows in zip(self.generator.quantizer.quantizers, revived):
            state = self.opt_g.state.get(quantizer.codebook.weight, {})
            for name in ("exp_avg", "exp_avg_sq"):
                if len(rows) and name in state:
                    state[name][rows] = 0.0

    def fit(self) -> Trainer:
        """Train up to ``cfg.steps``: data → step → log → validate/sample → checkpoint."""
        cfg, main = self.cfg, self.dist.is_main
        if main and self.step == 0:
            self.validate_and_sample(force=True)  # the untrained codec, for comparison
        if self.step >= cfg.steps:
            return self
        if main:
            self._announce()
        bar = tqdm(
            total=cfg.steps,
            initial=self.step,
            disable=not (main and cfg.progress),
            desc="train",
            dynamic_ncols=True,
        )
        tick = time.perf_counter()
        for step, batch in self.batches():
            log = self.train_step(step, batch)
            self.step, last = step, step == cfg.steps
            log["steps_per_s"] = 1.0 / max(time.perf_counter() - tick, 1e-9)  # data + step only
            if main:
                bar.update(1)
                if _due(cfg.log_every, step, last):
                    self.log(step, log)
                    bar.set_postfix(mel=f"{log['mel']:.3f}", d=f"{log['discriminator']:.3f}")
                self.validate_and_sample(last=last)
            if _due(cfg.ckpt_every, step, last):
                self.save()
            if step >= cfg.steps:
                break
            tick = time.perf_counter()
        bar.close()
        if main:
            self.generator.save(self.out / "model.pt")
            if self.tb:
                self.tb.flush()
        return self

    def batches(self) -> Iterator[tuple[int, torch.Tensor]]:
        """``(step, (accum, B, 1, T))`` from step ``self.step + 1`` on (``StepBatches``)."""
        cfg = self.cfg
        data = StepBatches(
            self.data, cfg.batch_size, cfg.accum, cfg.seed, self.dist.rank, self.step + 1
        )
        if cfg.workers == 0:
            return iter(data)
        loader = torch.utils.data.DataLoader(
            data,
            batch_size=None,
            num_workers=cfg.workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=True,
        )
        return iter(loader)

    def log(self, step: int, log: dict[str, float]) -> None:
        """One row of ``metrics.csv`` (and TensorBoard scalars ``train/<name>``)."""
        self.metrics.append({"step": step, **log})
        if self.tb:
            for name, value in log.items():
                self.tb.add_scalar(f"train/{name}", value, step)

    def validate_and_sample(self, force: bool = False, last: bool = False) -> None:
        """Validation (``val.csv``, ``best.pt``) and an audio sample, when due (or ``force``d)."""
        cfg, step = self.cfg, self.step
        if _due(cfg.val_every, step, force or last):
            value = self.validate()
            self.val_log.append({"step": step, "mel_distance": value})
            if self.tb:
                self.tb.add_scalar("valid/mel_distance", value, step)
            if step > 0 and value < self.best_val:
                self.best_val = value
                self.generator.save(self.out / "best.pt")
        if _due(cfg.sample_every, step, force or last):
            self.save_sample()

    def _announce(self) -> None:
        cfg, world = self.cfg, self.dist.world_size
        n = cfg.batch_size * cfg.accum * world
        print(
            f"training {cfg.preset} on {self.device} from step {self.step} to {cfg.steps}: "
            f"{n} excerpts of {cfg.duration} s per step ({world} process(es))",
            file=sys.stderr,
        )

    def lr_factor(self, i: int) -> float:
        """The learning-rate multiplier of step ``i + 1``: warm-up, then γ^i or hold-and-fall."""
        cfg = self.cfg
        warm = min(1.0, (i + 1) / cfg.warmup) if cfg.warmup else 1.0
        if cfg.lr_schedule == "linear":
            start = cfg.lr_decay_from * cfg.steps
            return warm * min(1.0, max(0.0, (cfg.steps - i) / (cfg.steps - start)))
        return warm * cfg.lr_gamma**i

    def autocast(self):
        """bf16 autocast when ``amp`` (CUDA), else a no-op context."""
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _no_sync(self, module: nn.Module, last: bool):
        """Skip DDP's gradient all-reduce on all but the last micro-batch of an accumulated step."""
        if self.dist.enabled and not last:
            return module.no_sync()
        return contextlib.nullcontext()

    def _choose_device(self) -> None:
        cfg, info = self.cfg, self.dist
        if cfg.device:
            self.device = torch.device(cfg.device)
        elif torch.cuda.is_available():
            self.device = torch.device("cuda", info.local_rank)
        else:
            self.device = default_device()
        if info.enabled and self.device.type == "cuda":  # one GPU per process, whatever --device
            self.device = torch.device("cuda", info.local_rank)
        self.amp = cfg.amp and self.device.type == "cuda"
        if cfg.amp and not self.amp:
            warnings.warn(
                "--amp needs CUDA (bf16 autocast); training in fp32 on the CPU", stacklevel=3
            )

    def _load_data(self) -> None:
        cfg = self.cfg
        train_dir, valid_dir = self._data_folders()
        sr = PRESETS[cfg.preset].sample_rate
        self.data = AudioFolder(
            train_dir,
            DataConfig(sample_rate=sr, duration=cfg.duration, loudness_db=cfg.loudness_db),
        )
        if cfg.batch_size % len(self.data.domains):
            raise ValueError(
                f"batch_size must be a multiple of the number of domains "
                f"({len(self.data.domains)}: {self.data.domains}), got {cfg.batch_size}"
            )
        val_cfg = DataConfig(
            sample_rate=sr, duration=cfg.val_duration, loudness_db=cfg.loudness_db, augment=False
        )
        valid = AudioFolder(valid_dir, val_cfg)
        self.val_audio, labels = valid.fixed_clips(cfg.val_clips_per_domain, cfg.val_duration)
        self.val_domains = [valid.domains[i] for i in labels.tolist()]  # domain name of each clip

    def _data_folders(self) -> tuple[Path, Path]:
        cfg = self.cfg
        if cfg.data is None:
            corpus = ensure_toy_corpus() if self.dist.is_main else None
            if self.dist.enabled:  # the other ranks wait until rank 0 has written it
                dist.barrier()
                corpus = corpus or ensure_toy_corpus()
            return corpus.train, corpus.valid
        train = Path(cfg.data)
        if not train.is_dir():
            raise ValueError(f"data folder not found: {train}")
        if cfg.valid_data is not None:
            return train, Path(cfg.valid_data)
        if train.name == "train" and (train.parent / "valid").is_dir():
            return train, train.parent / "valid"
        warnings.warn(
            f"no held-out folder given (--valid-data) and no {train.parent / 'valid'}: "
            "validation clips come from the training data",
            stacklevel=4,
        )
        return train, train

    def _build(self, model, discriminator, mel_loss) -> None:
        """G, D, the mel loss, both AdamW optimizers and schedulers, the reviver."""
        cfg = self.cfg
        if model is None:
            model = DAC.from_preset(cfg.preset, quantizer_dropout=cfg.quantizer_dropout)
        if discriminator is None:
            discriminator = Discriminator.from_preset(discriminator_preset_for(cfg.preset))
        self.generator = model.to(self.device)
        self.discriminator = discriminator.to(self.device)
        mel_loss = mel_loss if mel_loss is not None else MultiScaleMelLoss(model.sample_rate)
        self.mel = mel_loss.to(self.device)
        adamw = dict(lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
        self.opt_g = torch.optim.AdamW(self.generator.parameters(), **adamw)
        self.opt_d = torch.optim.AdamW(self.discriminator.parameters(), **adamw)
        # The learning rate of step s (1-based) is lr · lr_factor(s − 1). D steps only from
        # gan_start, so its scheduler's count is offset to follow the same global step.
        d_offset = max(cfg.gan_start, 1) - 1
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, self.lr_factor)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(
            self.opt_d, lambda i: self.lr_factor(i + d_offset)
        )
        self.step = 0
        self.best_val = math.inf
        self.reviver = None
        if cfg.revive_every:
            self.reviver = CodeReviver(
                self.generator.quantizer, cfg.revive_every, cfg.revive_min_uses
            )

    def _wrap(self) -> None:
        """``G`` and ``D``: compiled and/or DDP-wrapped views of the same weights."""
        G, D = CodecForward(self.generator), self.discriminator
        if self.cfg.compile == "snake":
            compile_snakes(self.generator)
        elif self.cfg.compile == "full":
            G, D = torch.compile(G), torch.compile(D)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            G = nn.parallel.DistributedDataParallel(G, device_ids=ids, broadcast_buffers=False)
            D = nn.parallel.DistributedDataParallel(D, device_ids=ids, broadcast_buffers=False)
        self.G, self.D = G, D
        self.g_params = [p for p in self.generator.parameters() if p.requires_grad]

    def _resume(self, path: Path) -> None:
        ckpt = load_checkpoint(path)
        changed = {
            f.name
            for f in fields(TrainConfig)
            if ckpt["config"].get(f.name) != plain(getattr(self.cfg, f.name))
        } - RESUMABLE_CHANGES
        if changed:
            warnings.warn(
                f"resuming with settings that differ from the checkpoint's: {sorted(changed)}; "
                "the run will not repeat the uninterrupted one exactly",
                stacklevel=3,
            )
        load_state(self.generator, ckpt["model"], path)
        load_state(self.discriminator, ckpt["discriminator"], path)
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        self._restore_schedule(self.sched_g, ckpt["sched_g"])
        self._restore_schedule(self.sched_d, ckpt["sched_d"])
        self.step = int(ckpt["step"])
        self.best_val = float(ckpt.get("best_val", math.inf))
        if self.reviver is not None and ckpt.get("reviver"):
            self.reviver.load_state_dict(ckpt["reviver"])
        states = ckpt["rng"]
        if len(states) == self.dist.world_size:
            set_rng_state(states[self.dist.rank])
        else:
            warnings.warn(
                f"checkpoint holds RNG states of {len(states)} processes, this run has "
                f"{self.dist.world_size}: reseeding",
                stacklevel=3,
            )
            torch.manual_seed(self.cfg.seed + self.dist.rank + 7919 * self.step)

    @staticmethod
    def _restore_schedule(sched: torch.optim.lr_scheduler.LambdaLR, state: dict) -> None:
        """Load a scheduler's state, then recompute its rate with this run's ``steps``."""
        # Our schedules are functions of the step, which LambdaLR does not save (None per group);
        # checkpoints from before LambdaLR (ExponentialLR) have no entry for them at all.
        sched.load_state_dict({"lr_lambdas": [None] * len(sched.optimizer.param_groups), **state})
        groups = sched.optimizer.param_groups
        for group, base, factor in zip(groups, sched.base_lrs, sched.lr_lambdas):
            group["lr"] = base * factor(sched.last_epoch)
        sched._last_lr = [group["lr"] for group in groups]

    def _init_from(self, path: str) -> None:
        weights = load_generator_weights(path)
        load_state(self.generator, weights.generator, path)
        if weights.discriminator is not None:
            load_state(self.discriminator, weights.discriminator, path)

    def _open_logs(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.glob(".*.tmp"):  # left by a process killed mid-write (atomic_path)
            stale.unlink(missing_ok=True)
        (self.out / "samples").mkdir(exist_ok=True)
        with atomic_path(self.out / "config.json") as tmp:
            tmp.write_text(json.dumps(asdict(self.cfg), indent=1))
        self.metrics = CsvLog(self.out / "metrics.csv", METRIC_FIELDS)
        self.val_log = CsvLog(self.out / "val.csv", ("step", "mel_distance"))
        if self.cfg.resume:  # rows after the checkpoint belong to steps we are about to redo
            self.metrics.truncate_after(self.step)
            self.val_log.truncate_after(self.step)
        if self.cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard not installed: CSV only
                SummaryWriter = None
            self.tb = SummaryWriter(str(self.out / "tb")) if SummaryWriter else None

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, batch: int = 8) -> torch.Tensor:
        """Eval-mode reconstruction, all codebooks, of ``x`` ``(N, 1, T)`` (on the CPU, fp32)."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            forward = CodecForward(self.generator)
            parts = []
            for chunk in x.split(batch):
                with self.autocast():
                    parts.append(forward(chunk.to(self.device)).audio.float().cpu())
            return torch.cat(parts)
        finally:
            self.generator.train(was_training)

    @torch.no_grad()
    def validate(self) -> float:
        """Multi-scale mel distance (the un-weighted mel loss) on the validation clips."""
        y = self.reconstruct(self.val_audio)
        return self.mel(y.to(self.device), self.val_audio.to(self.device)).item()

    def save_sample(self) -> None:
        """WAV and spectrogram PNG of the first validation clip, reconstructed at this step."""
        samples = self.out / "samples"
        x = self.val_audio[:1]
        y = self.reconstruct(x)
        sr = self.generator.sample_rate
        if not (samples / "original.wav").exists():
            save_audio(samples / "original.wav", x[0], sr)
        save_audio(samples / f"step_{self.step:07d}.wav", y[0], sr)
        save_spectrograms(
            samples / f"step_{self.step:07d}.png", x[0, 0], y[0, 0], sr, f"step {self.step}"
        )

    def checkpoint(self) -> dict:
        """The full training state as tensors and plain types (RNG states of every rank)."""
        states = [rng_state()]
        if self.dist.enabled:
            states = [None] * self.dist.world_size
            dist.all_gather_object(states, rng_state())
        return {
            "format": TRAIN_FORMAT,
            "step": self.step,
            "config": plain(asdict(self.cfg)),
            "model_config": config_dict(self.generator.config),
            "model": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
            "rng": states,
            "best_val": self.best_val,
            "reviver": self.reviver.state_dict() if self.reviver is not None else {},
            # The data stream is a function of (seed, rank, step): this is all its state.
            "data": {"seed": self.cfg.seed, "next_step": self.step + 1},
        }

    def save(self) -> Path | None:
        """Write ``latest.pt`` (rank 0; every rank must call it under DDP)."""
        ckpt = self.checkpoint()
        if self.dist.is_main:
            return save_checkpoint(self.out / "latest.pt", ckpt)
        return None


def train(cfg: TrainConfig) -> Trainer:
    """Build a ``Trainer`` from ``cfg`` and run it to ``cfg.steps``; returns the trainer."""
    return Trainer(cfg).fit()


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except ``None`` (their help says what they default to)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None else super()._get_help_string(action)


_TYPES = {"int": int, "float": float, "str": str}


def _add_option(parser: argparse.ArgumentParser, f) -> None:
    """``--name`` for ``TrainConfig`` field ``f``, from its type, default and ``metadata``.

    Bools become flags (``--amp``; ``--no-progress`` for those on by default), ``X | None`` takes
    ``X``, ``tuple[float, float]`` two values; a field ``RECIPES`` sets says so in its help.
    """
    meta = dict(f.metadata)
    help_text = meta.pop("help")
    flag = "--" + f.name.replace("_", "-")
    if f.type == "bool":
        if f.default:
            flag = "--no-" + f.name.replace("_", "-")
        action = "store_false" if f.default else "store_true"
        parser.add_argument(flag, dest=f.name, action=action, help=help_text)
        return
    kind = f.type.removesuffix(" | None").removesuffix(" | bool")
    if kind.startswith("tuple["):
        items = kind[len("tuple[") : -1].split(", ")
        meta.update(nargs=len(items), type=_TYPES[items[0]])
    else:
        meta.setdefault("type", _TYPES[kind])
    if f.name in RECIPES["official"]:
        official, cpu = (
            f"{v:g}" if isinstance(v, (int, float)) else v
            for v in (RECIPES["official"][f.name], RECIPES["cpu"][f.name])
        )
        help_text += f" (default: the preset's recipe, {official}; tiny {cpu})"
    default = f.default if f.default is not MISSING else f.default_factory()
    parser.add_argument(flag, default=default, help=help_text, **meta)


def parse_args(argv: Sequence[str] | None = None) -> TrainConfig:
    """A ``TrainConfig`` from the command line: one option per field (``_add_option``)."""
    p = argparse.ArgumentParser(
        prog="python -m dac_minimal.train",
        description=__doc__.split("\n\n")[0],
        formatter_class=_DefaultsHelp,
    )
    for f in fields(TrainConfig):
        _add_option(p, f)
    return TrainConfig(**vars(p.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dac_minimal.train``: parse, join torchrun's process group, fit; 1 on error."""
    try:
        cfg = parse_args(argv)
        info = setup_distributed()
        try:
            Trainer(cfg, info).fit()
        finally:
            if info.enabled and dist.is_initialized():
                dist.destroy_process_group()
    except (ValueError, NonFiniteLossError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
