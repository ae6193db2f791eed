"""What the training loop leans on but a student need not read first (``dac_minimal.train``).

Distributed setup (torchrun's environment), the step-indexed batch sampler (every batch is a pure
function of ``(seed, rank, step, micro-batch)``, so a resumed run needs no sampler state), every
random generator's state, training checkpoints (tensors and plain types only, read back through
``dac_minimal.checkpoint.read_checkpoint``, the one ``weights_only=True`` loader), CSV logs and
spectrogram plots. Imports the core modules and ``checkpoint``, never ``train``.
"""

from __future__ import annotations

import csv
import math
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
import torch.distributed as dist

from dac_minimal.checkpoint import CHECKPOINT_FORMAT as MODEL_FORMAT
from dac_minimal.checkpoint import read_checkpoint
from dac_minimal.utils.files import atomic_path

if TYPE_CHECKING:
    from dac_minimal.data import AudioFolder

#: Format tag of a training checkpoint (``latest.pt``); ``DAC.save`` files carry ``MODEL_FORMAT``.
TRAIN_FORMAT = "dac-minimal-train/1"


class DistInfo(NamedTuple):
    """Where this process stands: torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; unset = one."""

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
    """Join the process group torchrun's environment describes, or return the one-process info.

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


def draw_batch(
    folder: AudioFolder, batch_size: int, seed: int, rank: int, step: int, micro: int = 0
) -> torch.Tensor:
    """Training excerpts ``(B, 1, T)`` for one micro-batch, balanced over the folder's domains.

    Item ``i`` comes from domain ``i mod n_domains``; the random stream is seeded by ``(seed,
    rank, step, micro)``, so every batch is a pure function of the step: resuming needs no sampler
    state, and each rank draws different excerpts.
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


def rng_state() -> dict:
    """Every random generator we use (Python, NumPy, torch CPU and CUDA), as plain types."""
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
    """A copy of a nested state dict with every tensor on the CPU, so checkpoints load anywhere."""
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
    """Append rows to a CSV file (header written once), flushed every row: a crash loses nothing."""

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
    """A CSV log as columns of floats, empty cells NaN: ``read_csv(run / "metrics.csv")["mel"]``."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {
        k: np.array([float(r[k]) if r[k] not in ("", None) else math.nan for r in rows])
        for k in rows[0]
    }


def plain(obj):
    """Tuples as lists (how a config looks after a round trip through a checkpoint or JSON)."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def save_spectrograms(
    path: str | os.PathLike, x: torch.Tensor, y: torch.Tensor, sample_rate: int, title: str
) -> Path:
    """PNG of the log-magnitude spectrograms of an original ``x`` ``(T,)`` and its reconstruction
    ``y`` ``(T,)``, side by side.

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
