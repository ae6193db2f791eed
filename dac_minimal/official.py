"""Official ``descript-audio-codec`` checkpoints: name mapping, loading, and downloading the published weights.

The official package saves ``torch.save({"state_dict": ..., "metadata": {"kwargs": {...}}})``. Our module
tree mirrors theirs (``encoder.block.N``, ``quantizer.quantizers.i.{in_proj,out_proj,codebook}``,
``decoder.model.N``; Snake's parameter is ``alpha`` in both), so only two things need translating:

- the constructor ``kwargs`` become a ``DACConfig`` (same field names; ``codebook_dim`` may be a list);
- weight norm: the legacy ``torch.nn.utils.weight_norm`` stores ``<conv>.weight_g`` (g, the length of each
  filter) and ``<conv>.weight_v`` (v, its direction); we use the parametrization API, which stores them as
  ``<conv>.parametrizations.weight.original0`` (g) and ``original1`` (v). Newer official checkpoints may
  already use the parametrization names, which pass through unchanged. Both APIs normalise over dim 0
  with the same shapes, so the tensors are copied as they are.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .utils import atomic_path

if TYPE_CHECKING:
    from .model import DAC, DACConfig

#: The published weights: name → (GitHub release tag, file name). Sizes are the official configs in ``PRESETS``.
OFFICIAL_WEIGHTS: dict[str, tuple[str, str]] = {
    "44khz": ("0.0.1", "weights.pth"),  # 44.1 kHz, 9 codebooks, 7.75 kbps
    "24khz": ("0.0.4", "weights_24khz.pth"),  # 24 kHz, 32 codebooks
    "16khz": ("0.0.5", "weights_16khz.pth"),  # 16 kHz, 12 codebooks
    "44khz_16kbps": ("1.0.0", "weights_44khz_16kbps.pth"),  # 44.1 kHz, 18 codebooks
}
RELEASE_URL = "https://github.com/descriptinc/descript-audio-codec/releases/download/{tag}/{file}"

#: ``metadata.kwargs`` keys that fix the architecture; a checkpoint without them is not one we can load.
REQUIRED_KWARGS = (
    "encoder_dim", "encoder_rates", "decoder_dim", "decoder_rates",
    "n_codebooks", "codebook_size", "codebook_dim", "sample_rate",
)
OPTIONAL_KWARGS = ("latent_dim", "quantizer_dropout")

# Legacy weight-norm suffix → parametrization suffix.
_RENAMES = {".weight_g": ".parametrizations.weight.original0", ".weight_v": ".parametrizations.weight.original1"}


def is_official_checkpoint(ckpt: object) -> bool:
    """True when ``ckpt`` has the official layout: a dict with ``state_dict`` and ``metadata.kwargs`` dicts."""
    return (
        isinstance(ckpt, dict)
        and isinstance(ckpt.get("state_dict"), dict)
        and isinstance(ckpt.get("metadata"), dict)
        and isinstance(ckpt["metadata"].get("kwargs"), dict)
    )


def official_config(kwargs: dict) -> DACConfig:
    """Translate the official constructor ``kwargs`` into a ``DACConfig`` (ValueError naming any problem)."""
    from .model import DACConfig

    if not isinstance(kwargs, dict):
        raise ValueError(f"metadata.kwargs must be a dict, got {type(kwargs).__name__}")
    missing = [k for k in REQUIRED_KWARGS if k not in kwargs]
    if missing:
        raise ValueError(f"metadata.kwargs lacks {missing}: not a DAC checkpoint")
    unknown = sorted(set(kwargs) - set(REQUIRED_KWARGS) - set(OPTIONAL_KWARGS))
    if unknown:
        raise ValueError(f"metadata.kwargs has settings this architecture does not have: {unknown}")
    config = {k: kwargs[k] for k in REQUIRED_KWARGS + OPTIONAL_KWARGS if k in kwargs}
    dims = config["codebook_dim"]
    if isinstance(dims, (list, tuple)):  # the official code allows one d per codebook; we support one d for all
        if len(set(dims)) != 1:
            raise ValueError(f"codebook_dim {list(dims)}: different dimensions per codebook are not supported")
        config["codebook_dim"] = dims[0]
    # Official configs store quantizer_dropout as a bool (False) or a float; it only matters for training.
    config["quantizer_dropout"] = float(config.get("quantizer_dropout", 0.0))
    try:
        return DACConfig(**config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"invalid official config {config}: {err}") from None


def convert_official_state_dict(state: dict, kwargs: dict) -> tuple[DACConfig, dict[str, torch.Tensor]]:
    """Map an official ``state_dict`` and its ``metadata.kwargs`` onto ``(DACConfig, our state_dict)``.

    Only the weight-norm names change (``weight_g``/``weight_v`` → ``parametrizations.weight.original0/1``);
    every tensor is kept as it is. Non-tensor entries are refused. Whether the keys then fit the
    architecture (missing, extra, wrong shapes) is checked by ``DAC.load``, which names them.
    """
    config = official_config(kwargs)
    if not isinstance(state, dict):
        raise ValueError(f"state_dict must be a dict, got {type(state).__name__}")
    ours: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ValueError(f"state_dict entry {key!r} is not a named tensor")
        for old, new in _RENAMES.items():
            if key.endswith(old):
                key = key[: -len(old)] + new
                break
        if key in ours:
            raise ValueError(f"state_dict holds {key!r} twice (under both weight-norm naming schemes)")
        ours[key] = value
    return config, ours


def load_official(ckpt: dict, path: str | os.PathLike = "<checkpoint>") -> DAC:
    """Build a ``DAC`` from an already read official checkpoint dict (see ``DAC.load``)."""
    from .model import DAC, _load_state

    try:
        if not is_official_checkpoint(ckpt):
            raise ValueError("it needs a 'state_dict' dict and a 'metadata' dict with 'kwargs'")
        config, state = convert_official_state_dict(ckpt["state_dict"], ckpt["metadata"]["kwargs"])
    except ValueError as err:
        raise ValueError(
            f"{path} is not a dac-minimal checkpoint, nor an official descript-audio-codec one we can load: {err}"
        ) from None
    model = DAC(config)
    _load_state(model, state, path)
    return model


def default_cache_dir() -> Path:
    """``$DAC_MINIMAL_CACHE`` if set, else ``~/.cache/dac_minimal``."""
    return Path(os.environ.get("DAC_MINIMAL_CACHE", Path.home() / ".cache" / "dac_minimal"))


def official_weights_path(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where ``download_official(name)`` keeps (or expects) the weights file."""
    if name not in OFFICIAL_WEIGHTS:
        raise ValueError(f"unknown official weights {name!r}; choose one of {sorted(OFFICIAL_WEIGHTS)}")
    tag, file = OFFICIAL_WEIGHTS[name]
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / f"{tag}_{file}"


def download_official(name: str = "44khz", cache_dir: str | os.PathLike | None = None) -> Path:
    """Path to the published official weights ``name``, downloading them into the cache on first use.

    ``name`` is one of ``OFFICIAL_WEIGHTS`` ("44khz", "24khz", "16khz", "44khz_16kbps"). The file is
    written atomically (an interrupted download leaves nothing behind). Without network access this
    raises ``RuntimeError`` saying which URL to fetch and where to put the file. Load the result with
    ``DAC.load(path)``.
    """
    dest = official_weights_path(name, cache_dir)
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    tag, file = OFFICIAL_WEIGHTS[name]
    url = RELEASE_URL.format(tag=tag, file=file)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, atomic_path(dest) as tmp:
            expected = int(response.headers.get("Content-Length") or 0)
            _copy_with_progress(response, tmp, expected, desc=file)
            if expected and tmp.stat().st_size != expected:
                raise OSError(f"download incomplete: {tmp.stat().st_size} of {expected} bytes")
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise RuntimeError(
            f"could not download the official {name!r} weights ({err}).\n"
            f"Download {url}\nby other means and save it as {dest}\n"
            f"(or pass its path to DAC.load / --weights directly)."
        ) from None
    return dest


def _copy_with_progress(response, path: Path, total: int, desc: str) -> None:
    from tqdm.auto import tqdm

    with open(path, "wb") as out, tqdm(total=total or None, unit="B", unit_scale=True, desc=desc) as bar:
        while block := response.read(1 << 20):
            out.write(block)
            bar.update(len(block))


__all__ = [
    "OFFICIAL_WEIGHTS", "convert_official_state_dict", "download_official", "is_official_checkpoint",
    "load_official", "official_config", "official_weights_path",
]
