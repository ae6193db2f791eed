"""The real-audio corpus builder (``dac_minimal.tools.corpus``) on a fake file-system root."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dac_minimal.tools import corpus as C
from dac_minimal.utils.audio import find_audio_files

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: someone
License: GPL-2

Files: share/hedgewars/Data/Sounds/*
Copyright: someone else
License: GFDL-1.3

Files: share/hedgewars/Data/Music/b.ogg
       share/hedgewars/Data/Music/c.ogg
Copyright: a composer
License: CC-BY-SA-3.0
 with a second line of licence text
"""


def write_clip(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tone = 0.1 * np.sin(np.linspace(0, 400 * np.pi, 22050)).astype(np.float32)
    sf.write(path, tone, 44100, format="OGG", subtype="VORBIS")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """hedgewars-data only: 4 voice packs of 2 clips, 5 music tracks, 2 effects."""
    share = tmp_path / "root" / "usr" / "share"
    game = share / "games" / "hedgewars" / "Data"
    for pack in ("British", "Mobster", "Pirate", "Singer"):
        for clip in ("hello.ogg", "bye.ogg"):
            write_clip(game / "Sounds" / "voices" / pack / clip)
    for track in "abcde":
        write_clip(game / "Music" / f"{track}.ogg")
    for effect in ("boom.ogg", "splash.ogg"):
        write_clip(game / "Sounds" / effect)
    (share / "doc" / "hedgewars-data").mkdir(parents=True)
    (share / "doc" / "hedgewars-data" / "copyright").write_text(COPYRIGHT)
    return tmp_path / "root"


def test_splits_hold_out_whole_speakers_and_whole_files(root, tmp_path):
    manifest = C.build_corpus(tmp_path / "real", root)
    speakers = {
        s: {e["speaker"] for e in manifest["files"] if e["split"] == s} - {None}
        for s in ("train", "valid")
    }
    assert speakers == {"train": {"British", "Pirate"}, "valid": {"Mobster", "Singer"}}
    music = {
        e["path"].split("/")[-1]: e["split"] for e in manifest["files"] if e["domain"] == "music"
    }
    assert music == {
        "a.ogg": "train",
        "b.ogg": "train",
        "c.ogg": "train",
        "d.ogg": "train",
        "e.ogg": "valid",
    }
    assert manifest["counts"] == {
        "train/general": 2,
        "train/music": 4,
        "train/speech": 4,
        "valid/music": 1,
        "valid/speech": 4,
    }
    assert set(manifest["missing_packages"]) == {
        "alsa-utils",
        "sound-theme-freedesktop",
        "supertuxkart-data",
    }


def test_licences_come_from_the_last_matching_copyright_paragraph(root, tmp_path):
    files = C.build_corpus(tmp_path / "real", root)["files"]
    licence = {e["path"].split("/", 3)[-1]: e["licence"] for e in files}
    assert licence["British/hello.ogg"] == "GFDL-1.3"  # Sounds/* beats *
    assert licence["b.ogg"] == licence["c.ogg"] == "CC-BY-SA-3.0"  # a continued Files: field
    assert licence["a.ogg"] == "GPL-2"  # only * matches


def test_the_corpus_is_a_folder_of_audio_like_any_other(root, tmp_path):
    C.build_corpus(tmp_path / "real", root)
    train = find_audio_files(tmp_path / "real" / "train")
    assert {domain for domain, _ in train} == {"speech", "music", "general"}
    data, sr = sf.read(train[0][1])  # a link that resolves to the installed file
    assert sr == 44100 and len(data) == 22050
    saved = json.loads((tmp_path / "real" / C.MANIFEST_NAME).read_text())
    assert saved["format"] == "dac-minimal-corpus/1" and len(saved["files"]) == 15


def test_copy_rebuild_and_refusals(root, tmp_path, capsys):
    out = tmp_path / "real"
    C.build_corpus(out, root, copy=True)
    first = find_audio_files(out / "train")[0][1]
    assert first.is_file() and not first.is_symlink()
    C.build_corpus(out, root)  # a corpus of ours is replaced whole
    assert find_audio_files(out / "train")[0][1].is_symlink()
    assert not (tmp_path / ".real.building").exists()
    other = tmp_path / "mine"
    other.mkdir()
    with pytest.raises(ValueError, match="not a corpus made by this command"):
        C.build_corpus(other, root)
    assert C.main(["--out", str(tmp_path / "none"), "--root", str(tmp_path / "empty")]) == 1
    assert "apt-get install hedgewars-data" in capsys.readouterr().err


@pytest.mark.skipif(
    not Path("/usr/share/games/hedgewars/Data/Sounds/voices").is_dir(),
    reason="hedgewars-data is not installed (apt-get install hedgewars-data)",
)
def test_the_installed_packages_give_disjoint_speakers(tmp_path):
    entries, _ = C.plan("/")
    train = {e["speaker"] for e in entries if e["split"] == "train"} - {None}
    valid = {e["speaker"] for e in entries if e["split"] == "valid"} - {None}
    assert train and valid and not train & valid
    trained_on = {e["package"] for e in entries if e["split"] == "train"}
    assert trained_on.isdisjoint({"alsa-utils", "sound-theme-freedesktop"})  # the held-out sets
