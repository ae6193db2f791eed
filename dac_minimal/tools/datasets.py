"""Fetch and lay out the real corpora of a full training run: DAPS, VCTK 0.92 and MUSDB18.

Not run in CI (tens of gigabytes); documented so an instructor with a GPU and a network can
reproduce the paper's data side. The result is the layout ``dac_minimal.data.AudioFolder`` reads::

    OUT/train/speech/daps/*.wav           DAPS "clean" studio speech, all speakers but F10 and M10
    OUT/train/speech/vctk/pNNN/*.flac     VCTK 0.92, microphone 1 (48 kHz; the loader resamples)
    OUT/train/music/musdb18/*.flac        MUSDB18 train mixtures, converted from .stem.mp4
    OUT/train/general/                    yours to fill (e.g. FSD50K, AudioSet): no source here
    OUT/valid/speech/daps/*.wav           DAPS speakers F10 and M10 (the paper's evaluation voices)
    OUT/valid/music/musdb18/*.flac        MUSDB18 test mixtures

Speech files are linked (symlinks; copies where links fail) from the extracted archives in the
cache, not duplicated. Archives are downloaded with ``urllib`` to a cache folder
(``$DAC_MINIMAL_CACHE`` or ``~/.cache/dac_minimal``), resumed after an interruption, checked
against a checksum where one is known, then extracted. When a download fails (no network, a
restricted file) a ``DownloadError`` says what to fetch by hand and where to put it.

MUSDB18 ships each track as a Native Instruments ``.stem.mp4``: an MP4 container whose first
audio stream is the stereo mixture (then drums, bass, other, vocals, AAC-encoded). We decode the
mixture with ``ffmpeg -map 0:a:0`` into FLAC. Without ffmpeg, install it (``apt install ffmpeg``,
``conda install ffmpeg``) or decode with the ``musdb`` package (``musdbconvert IN OUT`` writes
one WAV per stem; link the ``mixture.wav`` files into ``music/``). MUSDB18 is restricted: request
access at https://zenodo.org/records/1117372 (granted by hand, for academic use), then download
``musdb18.zip`` in a browser and put it in the cache folder.

    python -m dac_minimal.tools.datasets --out data/full [--cache DIR] [--only daps vctk musdb18]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from dac_minimal.utils.files import atomic_path


class DownloadError(RuntimeError):
    """A corpus could not be fetched; the message says what to download by hand, and where to."""


@dataclass(frozen=True)
class Source:
    """One downloadable archive: where it lives, how to check it, and its terms of use."""

    name: str
    url: str
    filename: str
    homepage: str
    license: str
    size: str  # approximate, for the messages
    md5: str | None = None
    sha256: str | None = None
    note: str = ""


# Checksums: DAPS's MD5 is the one torchaudio's SQUIM recipe checks; VCTK's SHA-256 is the one in
# torchaudio.datasets.VCTK_092. MUSDB18 publishes none that we could confirm: only its size is
# checked (4,684,228,845 bytes).
SOURCES = {
    "daps": Source(
        name="DAPS (Device and Produced Speech)",
        url="https://zenodo.org/records/4660670/files/daps.tar.gz?download=1",
        filename="daps.tar.gz",
        homepage="https://zenodo.org/records/4660670",
        license="CC BY-NC 4.0",
        size="about 14 GB",
        md5="303c130b7ce2e02b59c7ca5cd595a89c",
    ),
    "vctk": Source(
        name="CSTR VCTK Corpus 0.92",
        url="https://datashare.is.ed.ac.uk/bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip",
        filename="VCTK-Corpus-0.92.zip",
        homepage="https://datashare.ed.ac.uk/handle/10283/3443",
        license="CC BY 4.0",
        size="about 11 GB",
        sha256="f96258be9fdc2cbff6559541aae7ea4f59df3fcaf5cf963aae5ca647357e359c",
    ),
    "musdb18": Source(
        name="MUSDB18",
        url="https://zenodo.org/records/1117372/files/musdb18.zip?download=1",
        filename="musdb18.zip",
        homepage="https://zenodo.org/records/1117372",
        license="academic use only (access is requested on Zenodo)",
        size="4.7 GB",
        note="Zenodo serves it only to accounts granted access: request it on the homepage, "
        "then download in a browser.",
    ),
}
MUSDB18_BYTES = 4_684_228_845

#: The paper evaluates on DAPS speakers F10 and M10; they are kept out of training.
DAPS_VALID_SPEAKERS = ("f10", "m10")


def default_cache() -> Path:
    """``$DAC_MINIMAL_CACHE`` if set, else ``~/.cache/dac_minimal``."""
    return Path(os.environ.get("DAC_MINIMAL_CACHE", Path.home() / ".cache" / "dac_minimal"))


def _by_hand(source: Source, cache_dir: Path, reason: str) -> DownloadError:
    return DownloadError(
        f"could not download {source.name}: {reason}.\n"
        f"Download {source.filename} ({source.size}, {source.license}) by hand from "
        f"{source.homepage}\n"
        f"  ({source.url})\n"
        f"and put it at {cache_dir / source.filename}, then run this again; "
        f"it will be used as it is." + (f"\nNote: {source.note}" if source.note else "")
    )


def _checksum_ok(path: Path, source: Source) -> tuple[bool, str]:
    """Check ``path`` against the source's checksum (or size); return ``(ok, what was checked)``."""
    if source.md5 or source.sha256:
        algo, expected = ("sha256", source.sha256) if source.sha256 else ("md5", source.md5)
        h = hashlib.new(algo)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        return h.hexdigest() == expected, f"{algo} {h.hexdigest()} (expected {expected})"
    if source.filename == "musdb18.zip":
        size = path.stat().st_size
        return size == MUSDB18_BYTES, f"size {size} bytes (expected {MUSDB18_BYTES})"
    return True, "no checksum known"


def _fetch(source: Source, cache_dir: Path, part: Path, timeout: float) -> None:
    """Append the bytes of ``source.url`` to ``part``, resuming from its size with a Range request.

    A server that answers 200 instead of 206 ignores the range, so the file starts over. Raises
    ``DownloadError`` (via ``_by_hand``) when the server sends a web page or the network fails.
    """
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "dac-minimal"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(source.url, headers=headers), timeout=timeout
        ) as resp:
            if resp.headers.get("Content-Type", "").startswith("text/html"):
                # Zenodo answers a restricted file with a login page, not an error code.
                raise _by_hand(
                    source,
                    cache_dir,
                    "the server sent a web page instead of the file (is access restricted?)",
                )
            resumed = have > 0 and getattr(resp, "status", 200) == 206
            total = int(resp.headers.get("Content-Length") or 0) + (have if resumed else 0)
            with (
                open(part, "ab" if resumed else "wb") as f,
                tqdm(
                    total=total or None,
                    initial=have if resumed else 0,
                    unit="B",
                    unit_scale=True,
                    desc=source.filename,
                ) as bar,
            ):
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    f.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as err:
        if err.code != 416:  # 416: we asked for bytes past the end, i.e. the .part is already whole
            raise _by_hand(source, cache_dir, f"HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise _by_hand(
            source, cache_dir, f"network error ({reason}); partial data is kept in {part}"
        ) from None


def download(
    source: Source, cache_dir: str | os.PathLike | None = None, timeout: float = 60.0
) -> Path:
    """Download ``source`` into ``cache_dir`` (resuming a partial ``.part`` file); return its path.

    An archive already in the cache (downloaded earlier, or by hand) is checked and reused. The
    bytes go to ``<file>.part``; an interrupted run continues from there with an HTTP Range
    request (a server that ignores it makes us start over). Only a complete, verified file is
    renamed to its final name. Raises ``DownloadError`` with instructions when anything fails.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache()
    cache_dir.mkdir(parents=True, exist_ok=True)
    final = cache_dir / source.filename
    if final.is_file():
        ok, what = _checksum_ok(final, source)
        if ok:
            return final
        raise DownloadError(
            f"{final} is damaged or a different file: {what}. Delete it and run again."
        )
    part = final.with_name(final.name + ".part")
    _fetch(source, cache_dir, part, timeout)
    ok, what = _checksum_ok(part, source)
    if not ok:
        part.unlink()
        raise DownloadError(
            f"{source.filename} failed its check: {what}; the partial file was deleted, "
            f"run again to download it afresh"
        )
    os.replace(part, final)
    return final


def extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack a .zip or .tar(.gz) ``archive`` into ``dest`` once (a marker file records completion).

    Members that would land outside ``dest`` (absolute paths, ``..``, links out) are refused, so
    a malicious archive cannot write elsewhere.
    """
    archive, dest = Path(archive), Path(dest)
    marker = dest / f".{archive.name}.extracted"
    if marker.is_file():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if not (root / name).resolve().is_relative_to(root):
                    raise ValueError(f"{archive} holds an entry outside its folder: {name!r}")
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.10.12: the library checks
                try:
                    tf.extractall(dest, filter="data")
                except tarfile.FilterError as err:
                    raise ValueError(f"{archive} holds an unsafe entry: {err}") from None
            else:
                for m in tf.getmembers():
                    target = (root / m.name).resolve()
                    link_ok = not (m.issym() or m.islnk()) or (
                        target.parent / m.linkname
                    ).resolve().is_relative_to(root)
                    if not target.is_relative_to(root) or not link_ok:
                        raise ValueError(f"{archive} holds an entry outside its folder: {m.name!r}")
                tf.extractall(dest)
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
    marker.write_text("ok\n")
    return dest


def _link(src: Path, dst: Path) -> None:
    """Make ``dst`` point at ``src`` (a symlink; a copy where the file system refuses links)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        return
    try:
        dst.symlink_to(src.resolve())
    except OSError:
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)


def _audio_files(root: Path, pattern: str) -> list[Path]:
    """Files matching ``pattern`` under ``root``, without macOS ``._`` resource-fork files."""
    return sorted(p for p in root.rglob(pattern) if p.is_file() and not p.name.startswith("._"))


def layout_daps(extracted: str | os.PathLike, out: str | os.PathLike) -> int:
    """Link DAPS's ``clean/*.wav`` (44.1 kHz studio speech) into ``out/{train,valid}/speech/daps``.

    Speakers F10 and M10 go to ``valid``; file names start with the speaker
    (``f10_script1_clean.wav``). Returns how many files were laid out; raises ``ValueError`` when
    none is found.
    """
    files = [p for p in _audio_files(Path(extracted), "*.wav") if p.parent.name == "clean"]
    if not files:
        raise ValueError(f"no DAPS files (daps/clean/*.wav) under {extracted}")
    for p in files:
        split = "valid" if p.name.split("_")[0].lower() in DAPS_VALID_SPEAKERS else "train"
        _link(p, Path(out) / split / "speech" / "daps" / p.name)
    return len(files)


def layout_vctk(extracted: str | os.PathLike, out: str | os.PathLike, mic: str = "mic1") -> int:
    """Link VCTK 0.92's ``wav48_silence_trimmed/pNNN/*_{mic}.flac`` into ``out/train/speech/vctk``.

    Each speaker keeps its folder (``out/train/speech/vctk/pNNN``). VCTK 0.92 recorded every
    sentence with two microphones; one (``mic1`` by default) is enough.
    """
    files = _audio_files(Path(extracted), f"*_{mic}.flac")
    if not files:
        raise ValueError(f"no VCTK files (wav48_silence_trimmed/*/*_{mic}.flac) under {extracted}")
    for p in files:
        _link(p, Path(out) / "train" / "speech" / "vctk" / p.parent.name / p.name)
    return len(files)


def convert_stem(src: str | os.PathLike, dst: str | os.PathLike, ffmpeg: str | None = None) -> Path:
    """Decode the mixture (first audio stream) of a ``.stem.mp4`` to a 44.1 kHz FLAC, atomically."""
    ffmpeg = ffmpeg or shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError(
            "ffmpeg is needed to decode MUSDB18's .stem.mp4 files: install it (apt install ffmpeg, "
            "conda install ffmpeg) or convert with the musdb package (pip install musdb; "
            "musdbconvert IN OUT) and link the mixture.wav files into music/"
        )
    dst = Path(dst)
    with atomic_path(dst) as tmp:
        cmd = [
            ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(src),
            "-map",
            "0:a:0",
            "-ar",
            "44100",
            "-c:a",
            "flac",
            "-f",
            "flac",
            str(tmp),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"ffmpeg could not decode {src}: {result.stderr.strip()}")
    return dst


def layout_musdb(
    extracted: str | os.PathLike, out: str | os.PathLike, ffmpeg: str | None = None
) -> int:
    """Decode MUSDB18 mixtures: ``train/*.stem.mp4`` -> ``out/train/music/musdb18/*.flac``.

    The ``test`` tracks go to ``out/valid/music/musdb18`` in the same way.
    Tracks already converted are skipped, so an interrupted run resumes.
    """
    files = _audio_files(Path(extracted), "*.stem.mp4")
    if not files:
        raise ValueError(f"no MUSDB18 files ({{train,test}}/*.stem.mp4) under {extracted}")
    for p in tqdm(files, desc="MUSDB18 mixtures"):
        split = "valid" if p.parent.name == "test" else "train"
        dst = Path(out) / split / "music" / "musdb18" / (p.name[: -len(".stem.mp4")] + ".flac")
        if not dst.is_file():
            convert_stem(p, dst, ffmpeg)
    return len(files)


LAYOUTS = {"daps": layout_daps, "vctk": layout_vctk, "musdb18": layout_musdb}


def prepare(
    out: str | os.PathLike,
    names: Sequence[str] = ("daps", "vctk", "musdb18"),
    cache_dir: str | os.PathLike | None = None,
) -> dict[str, int]:
    """Download, extract and lay out each corpus in ``names`` under ``out``; count files per corpus.

    Archives stay in ``cache_dir``; extracted trees in ``cache_dir/extracted/<name>`` (the speech
    links point there, so keep it). ``out/train/general`` is left for you to fill.
    """
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise ValueError(f"unknown corpora {unknown}; choose from {sorted(SOURCES)}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache()
    counts = {}
    for name in names:
        archive = download(SOURCES[name], cache)
        tree = extract(archive, cache / "extracted" / name)
        counts[name] = LAYOUTS[name](tree, out)
    (Path(out) / "train" / "general").mkdir(parents=True, exist_ok=True)
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dac_minimal.tools.datasets",
        description="Download and lay out DAPS, VCTK and MUSDB18 for a full run.",
    )
    parser.add_argument(
        "--out", default="data/full", help="layout folder (train/ and valid/ inside)"
    )
    parser.add_argument(
        "--cache",
        default=None,
        help="archive cache (default: $DAC_MINIMAL_CACHE or ~/.cache/dac_minimal)",
    )
    parser.add_argument("--only", nargs="+", default=list(SOURCES), choices=sorted(SOURCES))
    args = parser.parse_args(argv)
    try:
        counts = prepare(args.out, args.only, args.cache)
    except DownloadError as err:
        raise SystemExit(str(err)) from None
    for name, n in counts.items():
        print(f"{name}: {n} files")
    general = Path(args.out) / "train" / "general"
    print(f"layout ready in {args.out}; put general sound (e.g. FSD50K) in {general}")


if __name__ == "__main__":
    main()
