"""A real training corpus from freely licensed recordings that Debian packages install.

    python -m dac_minimal.tools.corpus --out data/real        # after: apt-get install
        hedgewars-data supertuxkart-data alsa-utils sound-theme-freedesktop

lays out ``OUT/train/{speech,music,general}/`` and ``OUT/valid/{speech,music,general}/`` (links to
the installed files, or copies with ``--copy``) and ``OUT/manifest.json``, which names every file's
package, version, licence and split. Both folders work with ``dac_minimal.data.AudioFolder`` like
any folder of audio (``--data OUT/train``; the trainer finds ``OUT/valid`` beside it).

Held out, never trained on, and split by file or by speaker, never by excerpt:

- speech: whole voice packs of hedgewars (``HELD_OUT_VOICES``, each pack one speaker) and the
  alsa-utils test voices ("Front left", ...);
- music: every ``HOLD_OUT_EVERY``-th track of each game's soundtrack, in name order;
- general: every ``HOLD_OUT_EVERY``-th sound effect of each game, and the freedesktop sound theme.

Each file's licence is read from its package's machine-readable ``copyright`` file (Debian's DEP-5:
the last ``Files:`` paragraph whose pattern matches the file's path in the source tree wins). Where
these packages are not to be had (macOS, other systems), use the DAPS/VCTK/MUSDB18 downloader
(``python -m dac_minimal.tools.datasets``) or any folder of your own audio.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dac_minimal.utils.files import atomic_path

#: Voice packs held out whole (one speaker each): about a fifth of the clips.
HELD_OUT_VOICES = ("Mobster", "Singer", "Surfer")
#: Every n-th music track and sound effect (sorted by name) is held out.
HOLD_OUT_EVERY = 5
MANIFEST_NAME = "manifest.json"
INSTALL_HINT = (
    "apt-get install hedgewars-data supertuxkart-data alsa-utils sound-theme-freedesktop "
    "(Debian/Ubuntu); elsewhere use python -m dac_minimal.tools.datasets or any folder of audio"
)


@dataclass(frozen=True)
class Source:
    """One folder of recordings that a Debian package installs.

    ``folder`` is relative to ``root/usr/share``; ``source_prefix`` maps an installed file back to
    its path in the package's source tree, which is what ``copyright`` patterns name; ``split``
    decides ``"train"`` or ``"valid"`` from the file's path relative to ``folder``.
    """

    name: str
    package: str
    domain: str
    folder: str
    pattern: str
    source_prefix: str
    split: Callable[[Path, int], str]


def _every_nth(rel: Path, index: int) -> str:
    return "valid" if index % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 else "train"


def _by_voice(rel: Path, index: int) -> str:
    return "valid" if rel.parts[0] in HELD_OUT_VOICES else "train"


def _held_out(rel: Path, index: int) -> str:
    return "valid"


SOURCES = (
    Source("hedgewars-voices", "hedgewars-data", "speech", "games/hedgewars/Data/Sounds/voices",
           "*/*.ogg", "share/hedgewars/Data/Sounds/voices/", _by_voice),
    Source("hedgewars-music", "hedgewars-data", "music", "games/hedgewars/Data/Music", "*.ogg",
           "share/hedgewars/Data/Music/", _every_nth),
    Source("hedgewars-sounds", "hedgewars-data", "general", "games/hedgewars/Data/Sounds",
           "*.ogg", "share/hedgewars/Data/Sounds/", _every_nth),
    Source("supertuxkart-music", "supertuxkart-data", "music", "games/supertuxkart/data/music",
           "*.ogg", "data/music/", _every_nth),
    Source("supertuxkart-sfx", "supertuxkart-data", "general", "games/supertuxkart/data/sfx",
           "*.ogg", "data/sfx/", _every_nth),
    Source("alsa-voices", "alsa-utils", "speech", "sounds/alsa", "[!N]*.wav",
           "speaker-test/samples/", _held_out),
    Source("alsa-noise", "alsa-utils", "general", "sounds/alsa", "Noise.wav",
           "speaker-test/samples/", _held_out),
    Source("freedesktop", "sound-theme-freedesktop", "general", "sounds/freedesktop/stereo",
           "*.oga", "stereo/", _held_out),
)  # fmt: skip


def read_copyright(path: Path) -> list[tuple[list[str], str]]:
    """``(patterns, licence)`` of each ``Files:`` paragraph of a DEP-5 copyright file, in order."""
    text = gzip.open(path, "rt").read() if path.suffix == ".gz" else path.read_text()
    stanzas = []
    for paragraph in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in paragraph.splitlines():
            if line[:1].isspace() and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
        if "Files" in fields and "License" in fields:
            licence = fields["License"].split(" ")[0] or fields["License"]
            stanzas.append((fields["Files"].split(), licence))
    return stanzas


def licence_of(source_path: str, stanzas: list[tuple[list[str], str]]) -> str:
    """The licence DEP-5 gives ``source_path``: the last paragraph with a matching pattern."""
    found = "unknown"
    for patterns, licence in stanzas:
        if any(fnmatch.fnmatchcase(source_path, p) for p in patterns):  # '*' also matches '/'
            found = licence
    return found


def package_version(package: str) -> str:
    """The installed version of a Debian package (``dpkg-query``), or ``"unknown"``."""
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def plan(root: str | os.PathLike = "/") -> tuple[list[dict], list[str]]:
    """Every file of the corpus as a manifest entry, and the packages that are missing.

    An entry is ``{"split", "domain", "path" (inside the corpus), "original", "source", "package",
    "licence", "speaker"}``; ``speaker`` is the voice pack for speech, else ``None``.
    """
    root = Path(root)
    entries, missing = [], []
    for source in SOURCES:
        folder = root / "usr" / "share" / source.folder
        files = sorted(folder.glob(source.pattern)) if folder.is_dir() else []
        if not files:
            missing.append(source.package)
            continue
        copyright_file = root / "usr" / "share" / "doc" / source.package / "copyright"
        stanzas = read_copyright(copyright_file) if copyright_file.is_file() else []
        for index, path in enumerate(files):
            rel = path.relative_to(folder)
            split = source.split(rel, index)
            entries.append(
                {
                    "split": split,
                    "domain": source.domain,
                    "source": source.name,
                    "path": f"{split}/{source.domain}/{source.name}/{rel.as_posix()}",
                    "original": str(path),
                    "package": source.package,
                    "licence": licence_of(source.source_prefix + rel.as_posix(), stanzas),
                    "speaker": rel.parts[0] if source.name == "hedgewars-voices" else None,
                }
            )
    return entries, sorted(set(missing))


def build_corpus(out: str | os.PathLike, root: str | os.PathLike = "/", copy: bool = False) -> dict:
    """Lay out the corpus in ``out`` (see the module docstring) and return its manifest.

    The folder is built beside ``out`` and renamed onto it at the end, so an interrupted build
    leaves the previous corpus whole. A folder that is not a corpus of ours is never replaced.
    Raises ``ValueError`` naming the packages to install when none of the recordings is there.
    """
    out = Path(out)
    if out.exists() and not (out / MANIFEST_NAME).is_file():
        raise ValueError(f"{out} exists and is not a corpus made by this command: choose another")
    entries, missing = plan(root)
    if not any(e["split"] == "train" for e in entries):
        raise ValueError(
            f"no training recordings found (missing: {', '.join(missing)}); "
            f"install them: {INSTALL_HINT}"
        )
    tmp = out.with_name(f".{out.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    for entry in entries:
        dest = tmp / entry["path"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        if copy:
            shutil.copy2(entry["original"], dest)
        else:
            dest.symlink_to(entry["original"])
    manifest = _manifest(entries, missing)
    with atomic_path(tmp / MANIFEST_NAME) as path:
        path.write_text(json.dumps(manifest, indent=1))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return manifest


def _manifest(entries: list[dict], missing: list[str]) -> dict:
    packages = sorted({e["package"] for e in entries})
    counts = Counter(f"{e['split']}/{e['domain']}" for e in entries)
    return {
        "format": "dac-minimal-corpus/1",
        "packages": {p: package_version(p) for p in packages},
        "missing_packages": missing,
        "held_out": {
            "voices": list(HELD_OUT_VOICES),
            "every_nth_track_and_effect": HOLD_OUT_EVERY,
            "whole_packages": ["alsa-utils", "sound-theme-freedesktop"],
        },
        "counts": dict(sorted(counts.items())),
        "licences": dict(sorted(Counter(e["licence"] for e in entries).items())),
        "files": entries,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dac_minimal.tools.corpus", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", required=True, help="corpus folder to write (e.g. data/real)")
    parser.add_argument("--root", default="/", help="file-system root the packages are under")
    parser.add_argument("--copy", action="store_true", help="copy the files instead of linking")
    args = parser.parse_args(argv)
    try:
        manifest = build_corpus(args.out, args.root, args.copy)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for split_domain, n in manifest["counts"].items():
        print(f"{split_domain:16s} {n:4d} files")
    if manifest["missing_packages"]:
        print(
            f"not installed (their part is left out): {', '.join(manifest['missing_packages'])}; "
            f"{INSTALL_HINT}"
        )
    print(f"manifest: {Path(args.out) / MANIFEST_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
