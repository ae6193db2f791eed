import argparse
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dac_minimal import DAC, load_audio, save_audio
from dac_minimal.codec.cli import main
from dac_minimal.codec.dacm import CompressedAudio


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    DAC.from_preset("tiny").save(path)
    return path


@pytest.fixture()
def audio_tree(tmp_path):
    """in/sub/tone.wav (mono 44.1 kHz), in/stereo.flac (stereo 16 kHz), in/broken.wav,
    in/notes.txt."""
    root = tmp_path / "in"
    t = np.arange(9000) / 44100
    save_audio(root / "sub" / "tone.wav", 0.3 * np.sin(2 * math.pi * 440 * t), 44100)
    t16 = np.arange(4000) / 16000
    save_audio(
        root / "stereo.flac",
        np.stack([0.2 * np.sin(2 * math.pi * 300 * t16), 0.1 * np.cos(t16 * 900)]),
        16000,
    )
    (root / "broken.wav").write_bytes(b"RIFF not really a wave file")
    (root / "notes.txt").write_text("not audio")
    return root


def test_encode_decode_info_on_a_folder(audio_tree, weights, tmp_path, capsys):
    out = tmp_path / "codes"
    assert (
        main(["encode", str(audio_tree), "--out", str(out), "--weights", str(weights), "--quiet"])
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "broken.wav" in err and "tone.wav" not in err and "notes" not in err
    )  # one line for the bad file
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.dacm")) == [
        "stereo.dacm",
        "sub/tone.dacm",
    ]

    stereo = CompressedAudio.load(out / "stereo.dacm")
    assert (stereo.channels, stereo.sample_rate, stereo.length, stereo.n_quantizers) == (
        2,
        16000,
        4000,
        9,
    )

    decoded = tmp_path / "decoded"
    assert (
        main(["decode", str(out), "--out", str(decoded), "--weights", str(weights), "--quiet"]) == 0
    )
    audio, sr = load_audio(decoded / "stereo.wav")
    assert audio.shape == (2, 4000) and sr == 16000
    expected = DAC.load(weights).eval().decompress(stereo)  # the same through the Python API
    assert (
        np.abs(audio - np.clip(expected.numpy(), -1, 1)).max() < 2e-4
    )  # 16-bit PCM: rounding and clipping
    tone, sr = load_audio(decoded / "sub" / "tone.wav")
    assert tone.shape == (1, 9000) and sr == 44100

    assert main(["info", str(out / "sub" / "tone.dacm")]) == 0
    printed = capsys.readouterr().out
    assert (
        "n_quantizers: 9" in printed
        and "sample_rate: 44100" in printed
        and "channels: 1" in printed
    )


def test_encode_with_fewer_codebooks(audio_tree, weights, tmp_path):
    out = tmp_path / "codes"
    wav = audio_tree / "sub" / "tone.wav"
    assert (
        main(
            [
                "encode",
                str(wav),
                "--out",
                str(out),
                "--weights",
                str(weights),
                "--n-quantizers",
                "3",
            ]
        )
        == 0
    )
    three = CompressedAudio.load(out / "tone.dacm")
    assert (
        main(["encode", str(wav), "--out", str(tmp_path / "all"), "--weights", str(weights)]) == 0
    )
    nine = CompressedAudio.load(tmp_path / "all" / "tone.dacm")
    assert three.n_quantizers == 3 and nine.n_quantizers == 9
    assert torch.equal(three.codes, nine.codes[:, :3])  # RVQ: fewer codebooks are a prefix
    header = 62
    assert abs((three.nbytes - header) * 3 - (nine.nbytes - header)) <= 3  # a third of the payload


def test_missing_inputs_and_damaged_files_are_reported(weights, tmp_path, capsys):
    bad = tmp_path / "bad.dacm"
    bad.write_bytes(b"DACM" + bytes(80))
    assert main(["info", str(bad), str(tmp_path / "nope.dacm")]) == 1
    err = capsys.readouterr().err
    assert "bad.dacm" in err and "nope.dacm: no such file" in err


def test_weights_are_required_and_checked(tmp_path, capsys):
    assert main(["encode", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "needs model weights" in capsys.readouterr().err
    assert (
        main(
            [
                "decode",
                str(tmp_path),
                "--out",
                str(tmp_path / "o"),
                "--weights",
                str(tmp_path / "x.pt"),
            ]
        )
        == 2
    )
    assert "weights file not found" in capsys.readouterr().err


def test_bad_n_quantizers_is_a_usage_error(weights, tmp_path, capsys):
    code = main(
        [
            "encode",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--weights",
            str(weights),
            "--n-quantizers",
            "12",
        ]
    )
    assert code == 2 and "n_quantizers must be in 1..9" in capsys.readouterr().err


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "dac_minimal", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "encode" in result.stdout and "decode" in result.stdout


def test_encode_reads_oga_and_sums_up_what_a_folder_skips(audio_tree, weights, tmp_path, capsys):
    import soundfile as sf

    noise = 0.1 * np.random.default_rng(0).standard_normal(9000).astype(np.float32)
    sf.write(audio_tree / "bell.oga", noise, 44100, format="OGG", subtype="VORBIS")
    (audio_tree / "sub" / "more.txt").write_text("not audio either")
    out = tmp_path / "codes"
    main(["encode", str(audio_tree), "--out", str(out), "--weights", str(weights), "--quiet"])
    assert (out / "bell.dacm").is_file()
    err = capsys.readouterr().err
    assert f"{audio_tree}: skipped 2 files: 2 .txt (not audio)" in err
    assert err.count("skipped") == 1  # one line for the folder, not one per file


def test_encode_warns_about_a_truncated_file_and_strict_refuses_it(weights, tmp_path, capsys):
    import soundfile as sf

    wav = tmp_path / "in" / "cut.wav"
    wav.parent.mkdir()
    sf.write(wav, np.zeros(44100, dtype=np.float32) + 0.1, 44100, subtype="PCM_16")
    wav.write_bytes(wav.read_bytes()[: 44 + 2 * 22050])  # half the samples the header declares
    args = ["encode", str(wav), "--out", str(tmp_path / "o"), "--weights", str(weights)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "read 0.50 s of the 1.00 s its header declares" in err
    assert CompressedAudio.load(tmp_path / "o" / "cut.dacm").length == 22050
    assert main([*args, "--strict"]) == 1
    assert "error:" in capsys.readouterr().err and "truncated" in err


def test_the_fast_path_gives_the_same_codes_and_audio_as_the_plain_model(weights, tmp_path):
    t = np.arange(3 * 44100) / 44100
    save_audio(tmp_path / "in" / "a.wav", 0.3 * np.sin(2 * math.pi * 330 * t), 44100)
    for mode in ("fast", "plain"):
        flags = ["--plain"] if mode == "plain" else []
        args = ["--weights", str(weights), "--quiet", *flags]
        assert main(["encode", str(tmp_path / "in"), "--out", str(tmp_path / mode), *args]) == 0
        dacm = tmp_path / mode / "a.dacm"
        assert main(["decode", str(dacm), "--out", str(tmp_path / f"{mode}-wav"), *args]) == 0
    fast, plain = (CompressedAudio.load(tmp_path / m / "a.dacm") for m in ("fast", "plain"))
    assert torch.equal(fast.codes, plain.codes)
    a, _ = load_audio(tmp_path / "fast-wav" / "a.wav")
    b, _ = load_audio(tmp_path / "plain-wav" / "a.wav")
    assert a.shape == b.shape and np.abs(a - b).max() <= 2 / 32768  # a 16-bit step at most


def test_compile_auto_compiles_only_long_inputs(weights, tmp_path, monkeypatch):
    from dac_minimal.codec import cli
    from dac_minimal.codec.inference import FusedSnake, snake_addcmul

    wav = tmp_path / "a.wav"
    save_audio(wav, np.zeros(44100), 44100)  # one second
    inputs = [(wav, Path("a.wav"))]

    def compiled(threshold: float, mode: str = "auto") -> bool:
        monkeypatch.setattr(cli, "COMPILE_PAYS_FROM_SECONDS", threshold)
        args = argparse.Namespace(compile=mode, command="encode", device="cpu")
        model = cli.fast_path(DAC.load(weights), inputs, args)
        snakes = [m for m in model.modules() if isinstance(m, FusedSnake)]
        kernels = {m.kernel is not snake_addcmul for m in snakes}
        assert len(kernels) == 1
        return kernels.pop()

    monkeypatch.setattr(cli, "can_compile", lambda device: True)
    assert not compiled(1.5) and compiled(0.5)  # the torch.compile wrapper; nothing compiles yet
    assert compiled(1.5, "on") and not compiled(0.5, "off")
    monkeypatch.setattr(cli, "can_compile", lambda device: False)
    assert not compiled(0.5)
