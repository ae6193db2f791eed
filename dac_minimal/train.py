"""Training the codec: a discriminator step, then a generator step, again and again.

One iteration (report §3.5; official ``scripts/train.py``):

1. **Discriminator step.** Reconstruct a batch, ``x̂ = G(x)``; judge real ``x`` and the *detached*
   ``sg[x̂]`` in one pass; minimise ``discriminator_loss`` (least squares by default); clip
   ‖∇‖ at 10; AdamW step.
2. **Generator step.** Judge ``x̂`` again with the updated discriminator and minimise
   ``15·mel + 2·feature + 1·adversarial + 1·codebook + 0.25·commitment`` (``LOSS_WEIGHTS``);
   clip ‖∇‖ at 1000; AdamW step. Both learning rates decay by γ = 0.999996 per iteration.

Everything else here serves that loop and keeps it honest: checkpoints that resume *exactly*
(weights, optimizers, schedulers, step, every RNG; the data stream is a pure function of
``(seed, rank, step)``), a stop with a clear message at the first non-finite loss, data checked
before step 1, metrics in CSV (and TensorBoard when installed), audio samples and spectrograms of
a fixed validation clip, validation mel distance, bf16 autocast and ``torch.compile`` on CUDA, and
``torchrun`` multi-GPU training (DistributedDataParallel). Read ``Trainer.train_step`` first.

Shapes: training batches are ``(B, 1, T)`` with ``T = round(duration · sample_rate)`` (0.38 s →
16758 samples at 44.1 kHz). Command line::

    python -m dac_minimal.train --preset tiny --steps 2000 --out runs/tiny            # toy corpus, CPU
    torchrun --nproc_per_node=8 -m dac_minimal.train --preset 44khz --data /data/dac/train \\
        --batch-size 9 --steps 400000 --amp --compile --workers 4 --out runs/44khz    # 8 × 9 = 72
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from dac_minimal.checkpoint import CHECKPOINT_FORMAT as MODEL_FORMAT
from dac_minimal.checkpoint import config_dict, load_state, read_checkpoint
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
from dac_minimal.utils.checks import skip_finite_checks
from dac_minimal.utils.files import atomic_path, default_device

#: Format tag of a training checkpoint (``latest.pt``); ``DAC.save`` files carry ``MODEL_FORMAT``.
TRAIN_FORMAT = "dac-minimal-train/1"
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
#: Shortest excerpt: the mel loss and the discriminator reflect-pad by half their longest window (2048).
MIN_SAMPLES = 2048 // 2 + 1
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
#: ``gan_start`` (a discriminator warm-up: the GAN step costs 2.2x the time, and in the first
#: thousands of steps the mel loss is what improves the codec); dead-code revival (after ~1000 steps
#: it keeps more of each codebook in use, most visibly codebook 0; early on it does not prevent the
#: collapse that the fast-moving quantizer biases cause); a learning rate held for three quarters of the
#: steps, then falling linearly to 0 (a run of a few thousand steps is far from converged; held to the
#: end, the rate keeps weights and codes jittering, and falling from the start it halves the progress
#: of the first minutes). ``benchmarks/tiny_vs_opus.py`` measures it.
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


def recipe_for(preset: str) -> dict[str, float | int | str]:
    """The preset-dependent defaults (``RECIPES``) for ``preset``: ``cpu`` for tiny, else ``official``."""
    return RECIPES["cpu" if preset == "tiny" else "official"]


def discriminator_preset_for(preset: str) -> str:
    """The discriminator preset (``DISCRIMINATOR_PRESETS``) that codec preset ``preset`` trains with."""
    return "tiny" if preset == "tiny" else "44khz"


@dataclass
class TrainConfig:
    """Everything a run needs. Defaults: the official 44.1 kHz recipe, except the batch size and preset;
    the fields of ``RECIPES`` (``lr``, ``gan_start``, ``revive_every``, ``lr_schedule``, ``lr_decay_from``)
    left at ``None`` come from the preset's recipe (the official one, or for ``tiny`` the CPU one).

    preset: codec preset (``PRESETS``); the discriminator is ``"tiny"`` for ``"tiny"``, the official
        one otherwise.
    data: a folder of domain subfolders (see ``AudioFolder``); ``None`` = the toy corpus's train split.
    valid_data: held-out folder for validation; ``None`` = the ``valid`` folder next to a ``train``
        folder when there is one, else fixed clips of the training folder (with a warning).
    steps: total iterations (a resumed run continues up to this number).
    batch_size: excerpts per micro-batch per process, a multiple of the number of domains. One
        optimizer step sees ``batch_size · accum · world_size`` excerpts (official: 72).
    duration: excerpt length in s (0.38 in the paper).
    lr, betas, weight_decay: AdamW, the same for generator and discriminator.
    lr_schedule: "exponential" (official: ExponentialLR, ``lr · γ^step``) or "linear" (``lr`` held until
        the fraction ``lr_decay_from`` of ``steps``, then falling linearly to 0 at ``steps``; resuming with
        more ``steps`` stretches it). ``None`` = the preset's.
    lr_decay_from: where the linear schedule starts to fall, as a fraction of ``steps`` (0 = from the
        first step). ``None`` = the preset's.
    lr_gamma: ExponentialLR decay per iteration (γ; 0.999996^400k ≈ 0.2).
    warmup: steps of linear learning-rate warm-up from ~0 (either schedule; 0 = none, official).
    grad_clip_d, grad_clip_g: max gradient norms (discriminator, generator).
    quantizer_dropout: p, written onto the codec config (0.5 in the final recipe).
    gan: "lsgan" (official), "hinge" or "bce".
    gan_start: the first step that trains the discriminator and adds the adversarial and feature
        losses; before it the generator learns from the mel and VQ losses alone (a discriminator
        warm-up, as in AudioDec; 0 = from the start, the official recipe).
    revive_every: dead-code revival window in steps (``quantize.CodeReviver``): entries no frame
        chose at least ``revive_min_uses`` times in that many steps move onto recent encoder
        outputs. 0 = off (the official recipe).
    loudness_db: LUFS each excerpt is normalised to (the report's -24; the official code uses -16).
    accum: gradient accumulation steps (micro-batches per optimizer step).
    amp: bf16 autocast on CUDA (ignored with a warning on CPU); the quantizer and losses stay fp32.
    compile: "off"; "snake" (only Snake, fused into one kernel each way by ``torch.compile``: seconds to
        compile); "full" (``torch.compile`` of the generator and discriminator: minutes). ``True`` means "full".
    workers: DataLoader worker processes producing batches (0 = in the training process).
    log_every, val_every, sample_every, ckpt_every: intervals in steps (0 turns one off); logs,
        validation, samples and checkpoints also happen at the last step unless turned off.
    val_clips_per_domain, val_duration: the validation set (clips of ``val_duration`` s per domain).
    """

    preset: str = "tiny"
    data: str | None = None
    valid_data: str | None = None
    out: str = "runs/tiny"
    steps: int = 1000
    batch_size: int = 12
    duration: float = 0.38
    lr: float | None = None
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.01
    lr_schedule: str | None = None
    lr_decay_from: float | None = None
    lr_gamma: float = 0.999996
    warmup: int = 0
    grad_clip_d: float = 10.0
    grad_clip_g: float = 1000.0
    quantizer_dropout: float = 0.5
    gan: str = "lsgan"
    gan_start: int | None = None
    revive_every: int | None = None
    revive_min_uses: int = 1
    loudness_db: float | None = -24.0
    seed: int = 0
    accum: int = 1
    amp: bool = False
    compile: str | bool = "off"
    device: str | None = None
    workers: int = 0
    threads: int | None = None
    log_every: int = 10
    val_every: int = 250
    sample_every: int = 500
    ckpt_every: int = 250
    val_clips_per_domain: int = 2
    val_duration: float = 1.0
    init_from: str | None = None
    resume: bool = False
    progress: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}")
        for name, value in recipe_for(self.preset).items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        self.compile = {True: "full", False: "off"}.get(self.compile, self.compile)
        if self.compile not in COMPILE_MODES:
            raise ValueError(
                f"unknown compile mode {self.compile!r}; choose one of {COMPILE_MODES}"
            )
        if self.gan not in ("lsgan", "hinge", "bce"):
            raise ValueError(f"unknown GAN loss {self.gan!r}; choose 'lsgan', 'hinge' or 'bce'")
        for name in ("steps", "batch_size", "accum", "revive_min_uses"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"unknown lr_schedule {self.lr_schedule!r}; choose one of {LR_SCHEDULES}"
            )
        if not 0.0 <= self.lr_decay_from < 1.0:
            raise ValueError(f"lr_decay_from must be in [0, 1), got {self.lr_decay_from}")
        for name in (
            "log_every",
            "val_every",
            "sample_every",
            "ckpt_every",
            "workers",
            "gan_start",
            "revive_every",
            "warmup",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0 turns it off), got {getattr(self, name)}")
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


class NonFiniteLossError(FloatingPointError):
    """A loss or gradient norm became NaN or infinite; the message names the step and the term."""


# ---------------------------------------------------------------------------------------------
# Distributed: torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them we are one process.
# ---------------------------------------------------------------------------------------------


class DistInfo(NamedTuple):
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed() -> DistInfo:
    """Join the process group described by torchrun's environment, or return the single-process info.

    One process per GPU: NCCL on CUDA, gloo on CPU (for testing). ``WORLD_SIZE`` unset or 1 is
    the plain path: no process group, no DDP wrapper.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend)
    return info


# ---------------------------------------------------------------------------------------------
# Data: every batch is a pure function of (seed, rank, step, micro-batch), so resuming needs no
# sampler state beyond the step, and each rank draws different excerpts.
# ---------------------------------------------------------------------------------------------


def draw_batch(
    folder: AudioFolder, batch_size: int, seed: int, rank: int, step: int, micro: int = 0
) -> torch.Tensor:
    """Training excerpts ``(B, 1, T)`` for one micro-batch, balanced over the folder's domains.

    Item ``i`` comes from domain ``i mod n_domains`` (as in ``BalancedBatches``); the random
    stream is seeded by ``(seed, rank, step, micro)``.
    """
    domains = folder.domains
    if batch_size % len(domains):
        raise ValueError(
            f"batch_size must be a multiple of the number of domains ({len(domains)}: {domains}) "
            f"so that each batch is balanced, got {batch_size}"
        )
    rng = np.random.default_rng([seed, rank, step, micro])
    audio = [folder.draw(domains[i % len(domains)], rng) for i in range(batch_size)]
    return torch.from_numpy(np.stack(audio))[:, None]


class StepBatches(torch.utils.data.IterableDataset):
    """``(step, micro-batches (accum, B, 1, T))`` for steps ``start, start+1, ...`` (endless).

    With ``DataLoader(num_workers=W, batch_size=None)`` worker w makes the steps with
    ``(step - start) % W == w``; the loader takes them round-robin, so the order is kept.
    """

    def __init__(
        self, folder: AudioFolder, batch_size: int, accum: int, seed: int, rank: int, start: int
    ):
        super().__init__()
        self.folder, self.batch_size, self.accum = folder, batch_size, accum
        self.seed, self.rank, self.start = seed, rank, start

    def __iter__(self) -> Iterator[tuple[int, torch.Tensor]]:
        worker = torch.utils.data.get_worker_info()
        wid, n = (worker.id, worker.num_workers) if worker else (0, 1)
        step = self.start + wid
        while True:
            micro = [
                draw_batch(self.folder, self.batch_size, self.seed, self.rank, step, m)
                for m in range(self.accum)
            ]
            yield step, torch.stack(micro)
            step += n


# ---------------------------------------------------------------------------------------------
# The generator's forward pass with the quantizer in fp32
# ---------------------------------------------------------------------------------------------


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


def _split(
    outputs: list[list[torch.Tensor]], n: int
) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    """Split discriminator outputs of a concatenated batch ``[first n; rest]`` into two, as fp32."""
    first = [[f[:n].float() for f in fmap] for fmap in outputs]
    rest = [[f[n:].float() for f in fmap] for fmap in outputs]
    return first, rest


# ---------------------------------------------------------------------------------------------
# Checkpoints: tensors and plain Python types only, loaded with weights_only=True
# ---------------------------------------------------------------------------------------------


def rng_state() -> dict:
    """Every random generator we use (Python, NumPy, torch CPU and CUDA), as plain types and tensors."""
    np_state = np.random.get_state(legacy=False)
    return {
        "python": random.getstate(),
        "numpy": {
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    """Restore what ``rng_state`` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    s = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "has_gauss": s["has_gauss"],
            "gauss": s["gauss"],
            "state": {"key": s["key"].numpy().astype(np.uint32), "pos": s["pos"]},
        }
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _cpu(obj):
    """A copy of a (nested) state dict with every tensor on the CPU, so checkpoints load anywhere."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def save_checkpoint(path: str | os.PathLike, checkpoint: dict) -> Path:
    """Write ``checkpoint`` atomically: a crash mid-write leaves the previous file whole."""
    with atomic_path(path) as tmp:
        torch.save(_cpu(checkpoint), tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a training checkpoint safely (``weights_only=True``: no code runs while loading)."""
    ckpt = read_checkpoint(path)
    if ckpt.get("format") != TRAIN_FORMAT:
        raise ValueError(
            f"{path} is not a dac-minimal training checkpoint (format {TRAIN_FORMAT!r})"
        )
    return ckpt


class InitWeights(NamedTuple):
    """Weights to start a run from: the generator's state dict, the discriminator's when present."""

    generator: dict
    discriminator: dict | None
    model_config: dict | None


def load_generator_weights(path: str | os.PathLike) -> InitWeights:
    """Weights for fine-tuning (``--init-from``) from a ``DAC.save`` file or a training checkpoint.

    The one place that knows checkpoint formats: support for other formats (e.g. the official
    package's ``weights.pth``) is added here as another branch.
    """
    try:
        ckpt = read_checkpoint(path)
    except ValueError as err:
        raise ValueError(f"--init-from: {err}") from None
    fmt = ckpt.get("format")
    if fmt == TRAIN_FORMAT:
        return InitWeights(ckpt["model"], ckpt.get("discriminator"), ckpt.get("model_config"))
    if fmt == MODEL_FORMAT:
        return InitWeights(ckpt["state_dict"], None, ckpt.get("config"))
    raise ValueError(
        f"--init-from: {path} is neither a DAC.save file ({MODEL_FORMAT!r}) nor a training "
        f"checkpoint ({TRAIN_FORMAT!r})"
    )


class CsvLog:
    """Append rows to a CSV file (header written once); flushed every row so a crash loses nothing."""

    def __init__(self, path: Path, columns: Sequence[str]):
        self.path, self.columns = path, list(columns)
        if not path.exists():
            with atomic_path(path) as tmp:
                tmp.write_text(",".join(self.columns) + "\n")

    def append(self, row: dict) -> None:
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow({k: row.get(k, "") for k in self.columns})

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (a resumed run redoes those steps)."""
        with open(self.path, newline="") as f:
            # A row cut short by a crash has missing cells; it is dropped with the rest.
            rows = [
                r for r in csv.DictReader(f) if None not in r.values() and int(r["step"]) <= step
            ]
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            writer.writeheader()
            writer.writerows(rows)


def read_csv(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A CSV log as columns of floats (empty cells are NaN): ``read_csv(run / "metrics.csv")["mel"]``."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {
        k: np.array([float(r[k]) if r[k] not in ("", None) else math.nan for r in rows])
        for k in rows[0]
    }


# ---------------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------------


class Trainer:
    """Builds the models, optimizers, data and logs from a ``TrainConfig``; ``fit()`` trains.

    Attributes worth knowing: ``model`` (the ``DAC``), ``disc`` (the ``Discriminator``), ``step``
    (iterations done), ``val_audio`` ``(N, 1, T)`` and ``val_domains`` (the validation clips), ``out``
    (the run folder: ``latest.pt``, ``best.pt``, ``model.pt``, ``metrics.csv``, ``val.csv``, ``samples/``).
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
        # model / discriminator / mel_loss: ready-built replacements for the ones cfg describes (the
        # ablations of chapter 11 swap in a LeakyReLU codec, another quantizer or discriminator, another
        # mel loss). A resumed run must be given the same replacements again.
        self.cfg = cfg
        self.dist = dist_info or setup_distributed()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = (
            torch.device(cfg.device)
            if cfg.device
            else (
                torch.device("cuda", self.dist.local_rank)
                if torch.cuda.is_available()
                else default_device()
            )
        )
        if (
            self.dist.enabled and self.device.type == "cuda"
        ):  # one GPU per process, whatever --device says
            self.device = torch.device("cuda", self.dist.local_rank)
        self.amp = cfg.amp and self.device.type == "cuda"
        if cfg.amp and not self.amp:
            warnings.warn(
                "--amp needs CUDA (bf16 autocast); training in fp32 on the CPU", stacklevel=2
            )
        self.out = Path(cfg.out)
        latest = self.out / "latest.pt"
        if cfg.resume and not latest.is_file():
            raise ValueError(f"--resume: no checkpoint at {latest}")
        if not cfg.resume and latest.is_file():
            raise ValueError(
                f"{self.out} already holds a run ({latest}); pass --resume to continue it "
                f"or choose another --out"
            )

        # Data first: a bad folder fails here, before any model is built.
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

        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        if model is None:
            model = DAC.from_preset(cfg.preset, quantizer_dropout=cfg.quantizer_dropout)
        if discriminator is None:
            discriminator = Discriminator.from_preset(discriminator_preset_for(cfg.preset))
        self.model, self.disc = model.to(self.device), discriminator.to(self.device)
        self.mel = (
            mel_loss if mel_loss is not None else MultiScaleMelLoss(self.model.sample_rate)
        ).to(self.device)
        self.opt_g = torch.optim.AdamW(
            self.model.parameters(), cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay
        )
        self.opt_d = torch.optim.AdamW(
            self.disc.parameters(), cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay
        )
        # The learning rate of step s (1-based) is lr · lr_factor(s − 1). D steps only from gan_start,
        # so its scheduler's count is offset to follow the same global step.
        d_offset = max(cfg.gan_start, 1) - 1
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, self.lr_factor)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(
            self.opt_d, lambda i: self.lr_factor(i + d_offset)
        )
        self.step = 0
        self.best_val = math.inf
        self.reviver = (
            CodeReviver(self.model.quantizer, cfg.revive_every, cfg.revive_min_uses)
            if cfg.revive_every
            else None
        )
        if cfg.resume:
            self._resume(latest)
        elif cfg.init_from:
            self._init_from(cfg.init_from)
        if not cfg.resume:
            torch.manual_seed(cfg.seed + self.dist.rank)  # per-rank quantizer dropout draws

        # What the loop calls: compiled and/or DDP-wrapped views of the same weights.
        gen, disc = CodecForward(self.model), self.disc
        if cfg.compile == "snake":
            compile_snakes(self.model)
        elif cfg.compile == "full":
            gen, disc = torch.compile(gen), torch.compile(disc)
        self.disc_local = disc  # the generator step judges x̂ without DDP (no D gradients needed)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            gen = nn.parallel.DistributedDataParallel(gen, device_ids=ids, broadcast_buffers=False)
            disc = nn.parallel.DistributedDataParallel(
                disc, device_ids=ids, broadcast_buffers=False
            )
        self.gen, self.disc_train = gen, disc
        self.g_params = [p for p in self.model.parameters() if p.requires_grad]

        self.metrics = self.val_log = self.tb = None
        if self.dist.is_main:
            self._open_logs()

    def lr_factor(self, i: int) -> float:
        """The learning-rate multiplier of step ``i + 1``: warm-up, then γ^i or hold-and-fall to 0."""
        cfg = self.cfg
        warm = min(1.0, (i + 1) / cfg.warmup) if cfg.warmup else 1.0
        if cfg.lr_schedule == "linear":
            start = cfg.lr_decay_from * cfg.steps
            return warm * min(1.0, max(0.0, (cfg.steps - i) / (cfg.steps - start)))
        return warm * cfg.lr_gamma**i

    # -- setup helpers --------------------------------------------------------------------------

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
            f"no held-out folder given (--valid-data) and no {train.parent / 'valid'}: validation "
            "clips come from the training data",
            stacklevel=3,
        )
        return train, train

    def _resume(self, path: Path) -> None:
        ckpt = load_checkpoint(path)
        changed = {
            f.name
            for f in fields(TrainConfig)
            if ckpt["config"].get(f.name) != _plain(getattr(self.cfg, f.name))
        } - RESUMABLE_CHANGES
        if changed:
            warnings.warn(
                f"resuming with settings that differ from the checkpoint's: {sorted(changed)}; "
                "the run will not repeat the uninterrupted one exactly",
                stacklevel=3,
            )
        load_state(self.model, ckpt["model"], path)
        load_state(self.disc, ckpt["discriminator"], path)
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        for sched, state in ((self.sched_g, ckpt["sched_g"]), (self.sched_d, ckpt["sched_d"])):
            # Our schedules are functions of the step, which LambdaLR does not save (None per group);
            # checkpoints from before LambdaLR (ExponentialLR) have no entry for them at all.
            sched.load_state_dict(
                {"lr_lambdas": [None] * len(sched.optimizer.param_groups), **state}
            )
            # The saved learning rate was computed with the checkpoint's ``steps``; recompute it with ours.
            for group, base, factor in zip(
                sched.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas
            ):
                group["lr"] = base * factor(sched.last_epoch)
            sched._last_lr = [group["lr"] for group in sched.optimizer.param_groups]
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

    def _init_from(self, path: str) -> None:
        weights = load_generator_weights(path)
        load_state(self.model, weights.generator, path)
        if weights.discriminator is not None:
            load_state(self.disc, weights.discriminator, path)

    def _open_logs(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.glob(
            ".*.tmp"
        ):  # left by a process killed mid-write (atomic_path's temp files)
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

    # -- one iteration ---------------------------------------------------------------------------

    def autocast(self):
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _no_sync(self, module: nn.Module, last: bool):
        """Skip DDP's gradient all-reduce on all but the last micro-batch of an accumulated step."""
        if self.dist.enabled and not last:
            return module.no_sync()
        return contextlib.nullcontext()

    def _check(
        self, step: int, side: str, losses: list[dict[str, torch.Tensor]], grad_norm: torch.Tensor
    ) -> tuple[list[tuple[str, float]], float]:
        """``([(name, value) of every term of every micro-batch in losses], grad_norm)``, read back in one device
        sync; ``NonFiniteLossError`` if any is NaN/inf, on every rank at once under DDP.

        Called once per side (``side``: "discriminator" or "generator") between its backward and its optimizer
        step, so that nothing non-finite reaches the weights. A GPU step bound by launching kernels loses the
        overlap of host and device at every read-back, so this is the only one per side.
        """
        names = [name for micro in losses for name in micro]
        values = torch.stack(
            [v.detach().float() for micro in losses for v in micro.values()]
            + [grad_norm.detach().float()]
        )
        bad_here = (~torch.isfinite(values).all()).float()
        bad = bad_here.clone()
        if self.dist.enabled:  # a rank that stopped alone would leave the others waiting forever
            dist.all_reduce(bad)
        *values, norm, bad_here, bad = torch.cat(
            [values, bad_here[None], bad[None]]
        ).tolist()  # the one sync
        pairs = list(zip(names, values))
        if bad > 0:
            bad_terms = [(n, v) for n, v in pairs if not math.isfinite(v)]
            # The generator's total (named like its side) is non-finite whenever a term is: name the terms.
            bad_terms = [
                f"{n} = {v}" for n, v in [t for t in bad_terms if t[0] != side] or bad_terms
            ]
            if bad_terms:
                what = f"loss ({', '.join(dict.fromkeys(bad_terms))})"
            elif bad_here:
                what = f"gradient norm ({side} = {norm})"
            else:
                what = "loss or gradient norm (in another process)"
            raise NonFiniteLossError(
                f"step {step}: non-finite {what}; stopped before updating the weights with it "
                "and without saving a checkpoint of this state. The last good checkpoint (if any) is latest.pt; "
                "try a lower learning rate, training without --amp, or check the data."
            )
        return pairs, norm

    def train_step(self, step: int, batches: torch.Tensor) -> dict[str, float]:
        """One iteration on ``batches`` ``(accum, B, 1, T)``: a discriminator step, then a generator step.

        Returns the loss terms (means over micro-batches), the learning rate and both gradient
        norms (before clipping). Raises ``NonFiniteLossError`` naming the step and the term.
        The values come back from the device twice per iteration (once per side, ``_check``);
        the modules skip their own NaN scans of the audio (``skip_finite_checks``): a non-finite
        input makes a non-finite loss, which ``_check`` names.
        """
        with skip_finite_checks():
            return self._train_step(step, batches)

    def _train_step(self, step: int, batches: torch.Tensor) -> dict[str, float]:
        cfg, k = self.cfg, batches.shape[0]
        micro = [b.to(self.device, non_blocking=True) for b in batches]
        # With one micro-batch, the reconstruction of the D step is reused by the G step (the
        # official order). With accumulation, keeping K graphs would cost the memory that
        # accumulation saves, so the D step reconstructs without a graph and the G step again.
        keep = k == 1
        outs: list[ForwardOutput] = []
        logs = dict.fromkeys(("discriminator", *LOSS_TERMS, "generator"), 0.0)

        gan = step >= cfg.gan_start  # before gan_start: no discriminator, mel + VQ losses only
        keep = keep and gan

        # 1. Discriminator: minimise D's loss on real x and detached x̂, judged in one batch.
        self.opt_d.zero_grad(set_to_none=True)
        d_losses = []
        for i, x in enumerate(micro if gan else []):
            with self._no_sync(self.disc_train, i == k - 1):
                with torch.set_grad_enabled(keep), self.autocast():
                    out = self.gen(x)
                if keep:
                    outs.append(out)
                with self.autocast():
                    d_out = self.disc_train(torch.cat([out.audio.detach(), x]))
                d_fake, d_real = _split(d_out, x.shape[0])
                loss_d = discriminator_loss(d_fake, d_real, cfg.gan)
                (loss_d / k).backward()
            d_losses.append({"discriminator": loss_d.detach()})
        grad_d = 0.0
        if gan:
            norm = nn.utils.clip_grad_norm_(self.disc.parameters(), cfg.grad_clip_d)
            terms, grad_d = self._check(step, "discriminator", d_losses, norm)
            logs["discriminator"] = sum(v / k for _, v in terms)
            self.opt_d.step()
            self.sched_d.step()

        # 2. Generator: reconstruction + adversarial + feature matching + VQ losses.
        self.opt_g.zero_grad(set_to_none=True)
        chosen = []  # (codes, latents) of each micro-batch, for dead-code revival
        g_losses = []
        for i, x in enumerate(micro):
            with self._no_sync(self.gen, i == k - 1):
                if keep:
                    out = outs[i]
                else:
                    with self.autocast():
                        out = self.gen(x)
                losses = {"mel": self.mel(out.audio.float(), x)}
                if gan:
                    with self.autocast():
                        d_fake = self.disc_local(out.audio)
                        with torch.no_grad():
                            d_real = self.disc_local(x)
                    d_fake = [[f.float() for f in fmap] for fmap in d_fake]
                    d_real = [[f.float() for f in fmap] for fmap in d_real]
                    losses["feature"] = feature_matching_loss(d_fake, d_real)
                    losses["adversarial"] = generator_adversarial_loss(d_fake, cfg.gan)
                losses["codebook"] = out.codebook_loss
                losses["commitment"] = out.commitment_loss
                chosen.append((out.codes.detach(), out.latents.detach()))
                total = LOSS_WEIGHTS.total(losses)
                # inputs=: gradients for G only; D's weights are not being trained here.
                (total / k).backward(inputs=self.g_params)
            g_losses.append(
                {name: v.detach() for name, v in {**losses, "generator": total}.items()}
            )
        norm = nn.utils.clip_grad_norm_(self.g_params, cfg.grad_clip_g)
        terms, grad_g = self._check(step, "generator", g_losses, norm)
        for name, value in terms:
            logs[name] += value / k
        lr = self.sched_g.get_last_lr()[0]
        self.opt_g.step()
        self.sched_g.step()
        if self.reviver is not None:
            self._revive(torch.cat([c for c, _ in chosen]), torch.cat([z for _, z in chosen]))
        return {**logs, "lr": lr, "grad_norm_d": grad_d, "grad_norm_g": grad_g}

    def _revive(self, codes: torch.Tensor, latents: torch.Tensor) -> None:
        """Dead-code revival (``CodeReviver``); a revived entry's AdamW moments restart from zero."""
        revived = self.reviver.update(codes, latents)
        for quantizer, rows in zip(self.model.quantizer.quantizers, revived):
            state = self.opt_g.state.get(quantizer.codebook.weight, {})
            for name in ("exp_avg", "exp_avg_sq"):
                if len(rows) and name in state:
                    state[name][rows] = 0.0

    # -- evaluation and samples ------------------------------------------------------------------

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, batch: int = 8) -> torch.Tensor:
        """Eval-mode reconstruction with all codebooks of ``x`` ``(N, 1, T)`` (on the CPU, fp32)."""
        was_training = self.model.training
        self.model.eval()
        try:
            forward = CodecForward(self.model)
            parts = []
            for chunk in x.split(batch):
                with self.autocast():
                    parts.append(forward(chunk.to(self.device)).audio.float().cpu())
            return torch.cat(parts)
        finally:
            self.model.train(was_training)

    @torch.no_grad()
    def validate(self) -> float:
        """Multi-scale mel distance (the mel loss, un-weighted) on the validation clips, all codebooks."""
        y = self.reconstruct(self.val_audio)
        return self.mel(y.to(self.device), self.val_audio.to(self.device)).item()

    def save_sample(self) -> None:
        """WAV and spectrogram PNG of the first validation clip, reconstructed at this step."""
        samples = self.out / "samples"
        x = self.val_audio[:1]
        y = self.reconstruct(x)
        sr = self.model.sample_rate
        if not (samples / "original.wav").exists():
            save_audio(samples / "original.wav", x[0], sr)
        save_audio(samples / f"step_{self.step:07d}.wav", y[0], sr)
        save_spectrograms(
            samples / f"step_{self.step:07d}.png", x[0, 0], y[0, 0], sr, f"step {self.step}"
        )

    # -- checkpoints -------------------------------------------------------------------------------

    def checkpoint(self) -> dict:
        """The full training state as tensors and plain types (RNG states of every rank)."""
        states = [rng_state()]
        if self.dist.enabled:
            states = [None] * self.dist.world_size
            dist.all_gather_object(states, rng_state())
        return {
            "format": TRAIN_FORMAT,
            "step": self.step,
            "config": _plain(asdict(self.cfg)),
            "model_config": config_dict(self.model.config),
            "model": self.model.state_dict(),
            "discriminator": self.disc.state_dict(),
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

    # -- the loop ------------------------------------------------------------------------------------

    def batches(self) -> Iterator[tuple[int, torch.Tensor]]:
        cfg = self.cfg
        data = StepBatches(
            self.data, cfg.batch_size, cfg.accum, cfg.seed, self.dist.rank, self.step + 1
        )
        if cfg.workers == 0:
            return iter(data)
        return iter(
            torch.utils.data.DataLoader(
                data,
                batch_size=None,
                num_workers=cfg.workers,
                pin_memory=self.device.type == "cuda",
                persistent_workers=True,
            )
        )

    def fit(self) -> Trainer:
        """Train from ``step`` to ``cfg.steps``, logging, validating and checkpointing on the way."""
        cfg, main = self.cfg, self.dist.is_main
        if main and self.step == 0:
            self._validate_and_sample(force=True)
        if self.step >= cfg.steps:
            return self
        if main:
            n = cfg.batch_size * cfg.accum * self.dist.world_size
            print(
                f"training {cfg.preset} on {self.device} from step {self.step} to {cfg.steps}: "
                f"{n} excerpts of {cfg.duration} s per step ({self.dist.world_size} process(es))",
                file=sys.stderr,
            )
        stream = self.batches()
        bar = tqdm(
            total=cfg.steps,
            initial=self.step,
            disable=not (main and cfg.progress),
            desc="train",
            dynamic_ncols=True,
        )
        tick = time.perf_counter()
        for step, batch in stream:
            log = self.train_step(step, batch)
            self.step = step
            log["steps_per_s"] = 1.0 / max(time.perf_counter() - tick, 1e-9)  # data + step only
            if main:
                bar.update(1)
                if cfg.log_every and (step % cfg.log_every == 0 or step == cfg.steps):
                    self.metrics.append({"step": step, **log})
                    if self.tb:
                        for name, value in log.items():
                            self.tb.add_scalar(f"train/{name}", value, step)
                    bar.set_postfix(mel=f"{log['mel']:.3f}", d=f"{log['discriminator']:.3f}")
                self._validate_and_sample(last=step == cfg.steps)
            if cfg.ckpt_every and (step % cfg.ckpt_every == 0 or step == cfg.steps):
                self.save()
            if step >= cfg.steps:
                break
            tick = time.perf_counter()
        bar.close()
        if main:
            self.model.save(self.out / "model.pt")
            if self.tb:
                self.tb.flush()
        return self

    def _validate_and_sample(self, force: bool = False, last: bool = False) -> None:
        cfg, step = self.cfg, self.step
        if cfg.val_every and (force or last or step % cfg.val_every == 0):
            value = self.validate()
            self.val_log.append({"step": step, "mel_distance": value})
            if self.tb:
                self.tb.add_scalar("valid/mel_distance", value, step)
            if step > 0 and value < self.best_val:
                self.best_val = value
                self.model.save(self.out / "best.pt")
        if cfg.sample_every and (force or last or step % cfg.sample_every == 0):
            self.save_sample()


def _plain(obj):
    """Tuples as lists (how a config looks after a round trip through a checkpoint or JSON)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def save_spectrograms(
    path: str | os.PathLike, x: torch.Tensor, y: torch.Tensor, sample_rate: int, title: str
) -> Path:
    """PNG of the log-magnitude spectrograms of an original ``x`` ``(T,)`` and its reconstruction ``y``.

    Uses matplotlib's object API (no pyplot), so it never changes the backend of a notebook.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    window = torch.hann_window(1024)
    for ax, signal, name in zip(axes, (x, y), ("original", "reconstruction")):
        spec = torch.stft(signal.float().cpu(), 1024, 256, window=window, return_complex=True).abs()
        db = 20 * torch.log10(spec.clamp(min=1e-5))
        ax.imshow(
            db.numpy(),
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=-100,
            vmax=float(db.max()),
            extent=(0, len(signal) / sample_rate, 0, sample_rate / 2000),
        )
        ax.set(title=f"{name} ({title})", xlabel="time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    return Path(path)


#: Chapter 8's one-minute run saves its codec here (git-ignored).
BOOK_CODEC = Path(__file__).resolve().parents[1] / "runs" / "ch08" / "tiny.pt"
#: The tiny codec after 15 minutes of CPU training with the CPU recipe, committed with the command that
#: made it (``benchmarks/reference_curves/README.md``): the codec chapters 9-12 measure.
REFERENCE_CODEC = (
    Path(__file__).resolve().parents[1] / "benchmarks" / "reference_curves" / "tiny_15min.pt"
)


def book_codec(stand_in_steps: int = 6, path: str | os.PathLike | None = None) -> tuple[DAC, str]:
    """The tiny codec the later chapters measure, in eval mode, and a description of where it came from.

    ``path=None`` takes the first file that exists of ``REFERENCE_CODEC`` (15 minutes of CPU training,
    committed) and ``BOOK_CODEC`` (chapter 8's one-minute run); pass your own ``DAC.save`` file as ``path``
    to measure it instead. When no file is there, a stand-in is trained for ``stand_in_steps`` steps on
    the toy corpus so that every cell still runs; the description says so, and the chapters print it:
    a stand-in is a bad codec.
    """
    candidates = [Path(path)] if path is not None else [REFERENCE_CODEC, BOOK_CODEC]
    names = {REFERENCE_CODEC: "the 15-minute reference model", BOOK_CODEC: "chapter 8's model"}
    for candidate in candidates:
        if candidate.is_file():
            return DAC.load(candidate).eval(), f"{names.get(candidate, 'the model')} ({candidate})"
    run = Path(tempfile.mkdtemp(prefix="stand_in_")) / "run"
    cfg = TrainConfig(
        preset="tiny",
        out=str(run),
        steps=stand_in_steps,
        batch_size=6,
        log_every=stand_in_steps,
        val_every=0,
        sample_every=0,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
        threads=1,
    )
    model = Trainer(cfg).fit().model.cpu().eval()
    missing = " or ".join(str(c) for c in candidates)
    return model, f"a stand-in trained for {stand_in_steps} steps ({missing} not found)"


def train(cfg: TrainConfig) -> Trainer:
    """Build a ``Trainer`` from ``cfg`` and run it to ``cfg.steps``; returns the trainer."""
    return Trainer(cfg).fit()


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except ``None`` (those options say in their help what they default to)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None else super()._get_help_string(action)


def parse_args(argv: Sequence[str] | None = None) -> TrainConfig:
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m dac_minimal.train",
        description=__doc__.split("\n\n")[0],
        formatter_class=_DefaultsHelp,
    )
    p.add_argument("--preset", default=d.preset, choices=sorted(PRESETS))
    p.add_argument(
        "--data", default=None, help="folder of domain subfolders (default: the toy corpus)"
    )
    p.add_argument(
        "--valid-data", default=None, help="held-out folder (default: DATA/../valid when present)"
    )
    p.add_argument("--out", default=d.out, help="run folder: checkpoints, logs, samples")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument(
        "--batch-size", type=int, default=d.batch_size, help="excerpts per micro-batch per process"
    )
    p.add_argument("--duration", type=float, default=d.duration, help="excerpt length in seconds")
    p.add_argument("--accum", type=int, default=d.accum, help="gradient accumulation steps")

    def recipe(field: str, text: str) -> str:  # help for an option whose default comes from RECIPES
        official, cpu = (
            f"{v:g}" if isinstance(v, (int, float)) else v
            for v in (RECIPES["official"][field], RECIPES["cpu"][field])
        )
        return f"{text} (default: the preset's recipe, {official}; tiny {cpu})"

    p.add_argument("--lr", type=float, default=None, help=recipe("lr", "AdamW learning rate"))
    p.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default=None,
        help=recipe(
            "lr_schedule",
            "exponential (official: lr·γ^step) or linear (held, then to 0 at --steps)",
        ),
    )
    p.add_argument(
        "--lr-decay-from",
        type=float,
        default=None,
        help=recipe(
            "lr_decay_from", "linear schedule: fraction of --steps after which the rate falls to 0"
        ),
    )
    p.add_argument("--lr-gamma", type=float, default=d.lr_gamma)
    p.add_argument(
        "--warmup", type=int, default=d.warmup, help="steps of linear learning-rate warm-up"
    )
    p.add_argument("--gan", default=d.gan, choices=("lsgan", "hinge", "bce"))
    p.add_argument("--quantizer-dropout", type=float, default=d.quantizer_dropout)
    p.add_argument(
        "--gan-start",
        type=int,
        default=None,
        help=recipe(
            "gan_start", "first step with the discriminator; before it mel + VQ losses only"
        ),
    )
    p.add_argument(
        "--revive-every",
        type=int,
        default=None,
        help=recipe("revive_every", "dead-code revival window in steps, 0 = off"),
    )
    p.add_argument(
        "--revive-min-uses",
        type=int,
        default=d.revive_min_uses,
        help="entries chosen fewer times than this in a revival window are revived",
    )
    p.add_argument("--loudness-db", type=float, default=d.loudness_db)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    p.add_argument(
        "--compile",
        nargs="?",
        const="full",
        default=d.compile,
        choices=COMPILE_MODES,
        help="torch.compile: 'full' (the default when given alone) compiles the generator and "
        "discriminator (minutes to compile), 'snake' only the Snake activations (seconds)",
    )
    p.add_argument("--device", default=None, help="e.g. cpu, cuda:0 (default: CUDA when present)")
    p.add_argument("--workers", type=int, default=d.workers, help="data loader processes")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--val-every", type=int, default=d.val_every)
    p.add_argument("--sample-every", type=int, default=d.sample_every)
    p.add_argument("--ckpt-every", type=int, default=d.ckpt_every)
    p.add_argument("--val-clips-per-domain", type=int, default=d.val_clips_per_domain)
    p.add_argument("--val-duration", type=float, default=d.val_duration)
    p.add_argument(
        "--init-from", default=None, help="start from a DAC.save file or a training checkpoint"
    )
    p.add_argument("--resume", action="store_true", help="continue OUT/latest.pt exactly")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--no-tensorboard", dest="tensorboard", action="store_false")
    args = vars(p.parse_args(argv))
    return TrainConfig(**args)


def main(argv: Sequence[str] | None = None) -> int:
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
