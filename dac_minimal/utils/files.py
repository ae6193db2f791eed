"""Small helpers shared across the package: atomic writes and the default device.

Nothing here knows about audio or models; it is the plumbing that keeps the rest honest
("nothing is lost": every file we write appears whole or not at all).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    The temporary file lives in the same directory, so ``os.replace`` is atomic on POSIX and
    Windows: a reader (or a crash) sees either the old file or the complete new one, never a
    half-written file. On error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:  # make the bytes durable before the rename
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def default_device() -> torch.device:
    """CUDA when present, else CPU (the book's default)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
