"""Checkpoints: writing a ``DAC`` to a file and reading it back, ours and the official package's.

Our format is a ``torch.save`` of
``{"format": "dac-minimal/1", "config": {...}, "state_dict": {...}}``: tensors and plain Python
types only. Every file is read through one function, ``read_checkpoint``,
with ``torch.load(weights_only=True)``, which rebuilds tensors and plain containers and never runs
pickled code, so a checkpoint from a stranger is safe to open.

The official ``descript-audio-codec`` package saves ``{"state_dict": ..., "metadata": {"kwargs":
{...}}}``. Our module tree mirrors theirs (``encoder.block.N``, ``quantizer.quantizers.i.{in_proj,
out_proj,codebook}``, ``decoder.model.N``; Snake's parameter is ``alpha`` in both), so two things
need translating:

- the constructor ``kwargs`` become a ``DACConfig`` (same field names; ``codebook_dim`` may be a
  list);
- weight norm: the legacy ``torch.nn.utils.weight_norm`` stores ``<conv>.weight_g`` (g, the length
  of each filter) and ``<conv>.weight_v`` (v, its direction); we use the parametrization API, which
  stores them as ``<conv>.parametrizations.weight.original0`` (g) and ``original1`` (v). Newer
  official checkpoints may already use the parametrization names, which pass through unchanged. Both
  APIs normalise over dim 0 with the same shapes, so the tensors are copied as they are.

Downloading the published weights is ``dac_minimal.codec.official``'s job; this module only reads.
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields

import torch
from torch import nn

from dac_minimal.model import DAC, DACConfig
from dac_minimal.utils.files import atomic_path

#: Format tag of a ``save_model`` file.
CHECKPOINT_FORMAT = "dac-minimal/1"

#: ``metadata.kwargs`` keys that fix the architecture; without them a checkpoint is not one we can
#: load.
REQUIRED_KWARGS = (
    "encoder_dim",
    "encoder_rates",
    "decoder_dim",
    "decoder_rates",
    "n_codebooks",
    "codebook_size",
    "codebook_dim",
    "sample_rate",
)
OPTIONAL_KWARGS = ("latent_dim", "quantizer_dropout")

# Legacy weight-norm suffix → parametrization suffix.
_RENAMES = {
    ".weight_g": ".parametrizations.weight.original0",
    ".weight_v": ".parametrizations.weight.original1",
}


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """The dictionary stored in ``path``, read with ``weights_only=True`` (no code runs).

    Every checkpoint this package opens (codecs, training state, ``--init-from``) comes through
    here. Raises ``ValueError`` for a missing file, a corrupt one, one that needs code to load, or
    one that does not hold a dictionary.
    """
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # corrupt file, or a pickle that needs code to load
        raise ValueError(
            f"cannot read checkpoint {path} safely (weights_only=True): {err}"
        ) from None
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path} does not hold a checkpoint dictionary")
    return ckpt


def config_dict(config: DACConfig) -> dict:
    """``config`` as plain Python types (tuples become lists), as stored in our checkpoints."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def save_model(model: DAC, path: str | os.PathLike) -> None:
    """Write ``{"format", "config", "state_dict"}`` atomically; only tensors and plain types."""
    if not hasattr(model.encoder.block[0], "parametrizations"):
        raise ValueError(
            "this model was prepared for inference (weight norm folded into plain convs), which "
            "cannot be loaded back as a DAC: save the model before calling prepare_for_inference()"
        )
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save(
            {"format": CHECKPOINT_FORMAT, "config": config_dict(model.config), "state_dict": state},
            tmp,
        )


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> DAC:
    """A ``DAC`` from a ``save_model`` file or an official ``descript-audio-codec`` checkpoint."""
    ckpt = read_checkpoint(path, map_location)
    if "format" not in ckpt and isinstance(ckpt.get("metadata"), dict):
        return load_official(ckpt, path)
    return model_from_checkpoint(ckpt, path)


def model_from_checkpoint(ckpt: dict, path: str | os.PathLike = "<checkpoint>") -> DAC:
    """Build the ``DAC`` that an already read ``save_model`` dictionary describes."""
    if ckpt.get("format") != CHECKPOINT_FORMAT or not isinstance(ckpt.get("config"), dict):
        raise ValueError(
            f"{path} is not a dac-minimal checkpoint "
            f"(expected format {CHECKPOINT_FORMAT!r} with a config)"
        )
    unknown = sorted(set(ckpt["config"]) - {f.name for f in fields(DACConfig)})
    if unknown:
        raise ValueError(f"{path}: unknown config keys {unknown}")
    try:
        model = DAC(DACConfig(**ckpt["config"]))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: invalid config: {err}") from None
    load_state(model, ckpt.get("state_dict"), path)
    return model


def load_state(model: nn.Module, state: object, path: str | os.PathLike = "<checkpoint>") -> None:
    """Load ``state`` strictly, naming missing/unexpected keys and shape mismatches in the error."""
    if not isinstance(state, dict):
        raise ValueError(f"{path}: checkpoint has no state_dict")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    problems = [
        f"{name}: {_show(keys)}"
        for name, keys in (
            ("missing keys", missing),
            ("unexpected keys", extra),
            ("shape mismatch", wrong),
        )
        if keys
    ]
    if problems:
        raise ValueError(f"{path}: checkpoint does not match the model ({'; '.join(problems)})")
    model.load_state_dict(state)


def _show(keys: list[str]) -> str:
    return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")


def is_official_checkpoint(ckpt: object) -> bool:
    """True when ``ckpt`` has the official layout: ``state_dict`` and ``metadata.kwargs`` dicts."""
    return (
        isinstance(ckpt, dict)
        and isinstance(ckpt.get("state_dict"), dict)
        and isinstance(ckpt.get("metadata"), dict)
        and isinstance(ckpt["metadata"].get("kwargs"), dict)
    )


def official_config(kwargs: dict) -> DACConfig:
    """The official constructor ``kwargs`` as a ``DACConfig`` (``ValueError`` names any problem)."""
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
    # The official code allows one d per codebook; we support one d for all.
    if isinstance(dims, (list, tuple)):
        if len(set(dims)) != 1:
            raise ValueError(
                f"codebook_dim {list(dims)}: different dimensions per codebook are not supported"
            )
        config["codebook_dim"] = dims[0]
    # Official configs store quantizer_dropout as a bool (False) or a float; only training uses it.
    config["quantizer_dropout"] = float(config.get("quantizer_dropout", 0.0))
    try:
        return DACConfig(**config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"invalid official config {config}: {err}") from None


def convert_official_state_dict(
    state: dict, kwargs: dict
) -> tuple[DACConfig, dict[str, torch.Tensor]]:
    """Map an official ``state_dict`` and its ``metadata.kwargs`` onto ``(DACConfig, our state)``.

    Only the weight-norm names change (``weight_g``/``weight_v`` →
    ``parametrizations.weight.original0/1``); every tensor is kept as it is. Non-tensor entries
    are refused. Whether the keys then fit the architecture (missing, extra, wrong shapes) is
    checked by ``DAC.load``, which names them.
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
            raise ValueError(
                f"state_dict holds {key!r} twice (under both weight-norm naming schemes)"
            )
        ours[key] = value
    return config, ours


def load_official(ckpt: dict, path: str | os.PathLike = "<checkpoint>") -> DAC:
    """Build a ``DAC`` from an already read official checkpoint dict (see ``DAC.load``)."""
    try:
        if not is_official_checkpoint(ckpt):
            raise ValueError("it needs a 'state_dict' dict and a 'metadata' dict with 'kwargs'")
        config, state = convert_official_state_dict(ckpt["state_dict"], ckpt["metadata"]["kwargs"])
    except ValueError as err:
        raise ValueError(
            f"{path} is not a dac-minimal checkpoint, "
            f"nor an official descript-audio-codec one we can load: {err}"
        ) from None
    model = DAC(config)
    load_state(model, state, path)
    return model
