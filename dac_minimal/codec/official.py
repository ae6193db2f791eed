"""The official ``descript-audio-codec`` weights: where they are published and downloading them.

``download_official("44khz")`` fetches the published 44.1 kHz weights once into a cache and returns
the path; ``DAC.load`` (``dac_minimal.checkpoint``) reads them like our own checkpoints.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from dac_minimal.utils.checks import check_choice
from dac_minimal.utils.files import atomic_path

#: The published weights: name → (GitHub release tag, file name). Sizes are the official configs in
#: ``PRESETS``.
OFFICIAL_WEIGHTS: dict[str, tuple[str, str]] = {
    "44khz": ("0.0.1", "weights.pth"),  # 44.1 kHz, 9 codebooks, 7.75 kbps
    "24khz": ("0.0.4", "weights_24khz.pth"),  # 24 kHz, 32 codebooks
    "16khz": ("0.0.5", "weights_16khz.pth"),  # 16 kHz, 12 codebooks
    "44khz_16kbps": ("1.0.0", "weights_44khz_16kbps.pth"),  # 44.1 kHz, 18 codebooks
}
RELEASE_URL = "https://github.com/descriptinc/descript-audio-codec/releases/download/{tag}/{file}"


def default_cache_dir() -> Path:
    """``$DAC_MINIMAL_CACHE`` if set, else ``~/.cache/dac_minimal``."""
    return Path(os.environ.get("DAC_MINIMAL_CACHE", Path.home() / ".cache" / "dac_minimal"))


def official_weights_path(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where ``download_official(name)`` keeps (or expects) the weights file."""
    check_choice(name, OFFICIAL_WEIGHTS, "official weights")
    tag, file = OFFICIAL_WEIGHTS[name]
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / f"{tag}_{file}"


def download_official(name: str = "44khz", cache_dir: str | os.PathLike | None = None) -> Path:
    """Path to the published official weights ``name``, downloaded into the cache on first use.

    ``name`` is one of ``OFFICIAL_WEIGHTS`` ("44khz", "24khz", "16khz", "44khz_16kbps"; anything
    else is a ``ValueError``). The file is written atomically (an interrupted download leaves
    nothing behind). Without network access this raises ``RuntimeError`` saying which URL to fetch
    and where to put the file. Load the result with ``DAC.load(path)``.
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

    with (
        open(path, "wb") as out,
        tqdm(total=total or None, unit="B", unit_scale=True, desc=desc) as bar,
    ):
        while block := response.read(1 << 20):
            out.write(block)
            bar.update(len(block))


__all__ = ["OFFICIAL_WEIGHTS", "download_official", "official_weights_path"]
