"""dac_minimal.lm.tokenize: audio files -> codec codes for the token LM."""

import math

import numpy as np
import pytest
import torch

from dac_minimal import DAC
from dac_minimal.lm.tokenize import (
    TokenizedClip,
    find_audio_files,
    load_tokens,
    save_tokens,
    tokenize_audio,
    tokenize_folder,
)
from dac_minimal.utils.audio import load_audio, save_audio

SR = 44100


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return DAC.from_preset("tiny").eval()


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def test_tokenize_audio_matches_encode_in_eval_mode(model):
    x = _signal(0.3)
    codes = tokenize_audio(model, x, chunk_seconds=None)
    with torch.no_grad():
        expected = model.encode(torch.from_numpy(x)[None, None]).codes[0]
    assert codes.dtype == torch.int64 and codes.shape == (9, math.ceil(x.size / 512))
    torch.testing.assert_close(codes, expected)


def test_chunked_tokens_equal_whole_clip_tokens(model):
    x = _signal(1.0, seed=1)
    whole = tokenize_audio(model, x, chunk_seconds=None)
    torch.testing.assert_close(tokenize_audio(model, x, chunk_seconds=0.2), whole)


def test_training_mode_is_restored_and_quantizer_dropout_is_off(model):
    x = _signal(0.3, seed=2)
    expected = tokenize_audio(model, x)
    model.train()
    try:
        torch.manual_seed(123)  # in training mode, dropout would cut codebooks for some items
        for _ in range(3):
            torch.testing.assert_close(tokenize_audio(model, x), expected)
        assert model.training
    finally:
        model.eval()


def test_fewer_codebooks_are_the_first_rows(model):
    x = _signal(0.2, seed=3)
    torch.testing.assert_close(
        tokenize_audio(model, x, n_quantizers=3), tokenize_audio(model, x)[:3]
    )


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((2, 1000), np.float32), "mono"),
        (np.zeros(0, np.float32), "too short"),
        (np.array([0.0, np.nan] * 600, np.float32), "NaN"),
        (np.zeros(1000, np.int16), "float"),
        ([0.0] * 1000, "NumPy array or torch.Tensor"),
    ],
)
def test_bad_audio_is_a_clear_error(model, bad, match):
    with pytest.raises(ValueError, match=match):
        tokenize_audio(model, bad)


def test_bad_chunk_length_is_a_clear_error(model):
    with pytest.raises(ValueError, match="chunk_seconds"):
        tokenize_audio(model, _signal(0.1), chunk_seconds=0)


def test_tokenize_folder_reads_domains_mixes_to_mono_and_resamples(model, tmp_path):
    stereo = np.stack([_signal(0.25, 4), _signal(0.25, 5)])[:, ::2]  # (2, T) at 22050 Hz
    save_audio(tmp_path / "music" / "b.wav", stereo, SR // 2)
    save_audio(tmp_path / "speech" / "a.wav", _signal(0.2, 6), SR)
    (tmp_path / "speech" / "notes.txt").write_text("not audio")
    (tmp_path / ".hidden").mkdir()
    save_audio(tmp_path / ".hidden" / "c.wav", _signal(0.1, 7), SR)

    clips = tokenize_folder(model, tmp_path)
    assert [(c.domain, c.name) for c in clips] == [("music", "b"), ("speech", "a")]
    for clip, path in zip(clips, [tmp_path / "music" / "b.wav", tmp_path / "speech" / "a.wav"]):
        audio, _ = load_audio(path, SR)
        mono = audio.mean(axis=0)
        assert clip.num_samples == mono.size
        torch.testing.assert_close(clip.codes, tokenize_audio(model, mono))
    assert clips[0].codes.shape[1] == math.ceil(clips[0].num_samples / 512)

    short = tokenize_folder(model, tmp_path, n_quantizers=2, max_seconds=0.05)
    assert all(
        c.num_samples == round(0.05 * SR) and c.codes.shape == (2, math.ceil(c.num_samples / 512))
        for c in short
    )
    # Truncation happens before encoding: the last frames see the cut, not the rest of the file.
    speech, _ = load_audio(tmp_path / "speech" / "a.wav", SR)
    torch.testing.assert_close(
        short[1].codes, tokenize_audio(model, speech[0, : round(0.05 * SR)], n_quantizers=2)
    )


def test_folder_errors_are_clear(model, tmp_path):
    with pytest.raises(ValueError, match="not found"):
        tokenize_folder(model, tmp_path / "missing")
    with pytest.raises(ValueError, match="no audio files"):
        find_audio_files(tmp_path)
    save_audio(tmp_path / "x.wav", _signal(0.05), SR)
    assert find_audio_files(tmp_path) == [(tmp_path.name, tmp_path / "x.wav")]
    with pytest.raises(ValueError, match="max_seconds"):
        tokenize_folder(model, tmp_path, max_seconds=-1)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....not a wav")
    with pytest.raises(ValueError, match="broken.wav"):
        tokenize_folder(model, tmp_path)


def test_tokens_round_trip_through_a_file(tmp_path):
    g = torch.Generator().manual_seed(0)
    clips = [
        TokenizedClip("music", "a", torch.randint(0, 1024, (9, 17), generator=g), 17 * 512 - 3),
        TokenizedClip("speech", "b", torch.randint(0, 1024, (9, 5), generator=g), 5 * 512),
    ]
    path = save_tokens(tmp_path / "tokens.pt", clips, SR, 512, 1024)
    loaded, info = load_tokens(path)
    assert info == {"sample_rate": SR, "hop_length": 512, "codebook_size": 1024}
    assert [(c.domain, c.name, c.num_samples) for c in loaded] == [
        (c.domain, c.name, c.num_samples) for c in clips
    ]
    for a, b in zip(loaded, clips):
        assert a.codes.dtype == torch.int64
        torch.testing.assert_close(a.codes, b.codes)


def test_bad_token_files_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_tokens(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable token file"):
        load_tokens(tmp_path / "junk.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a dac-minimal token file"):
        load_tokens(tmp_path / "other.pt")
    clip = TokenizedClip("m", "a", torch.tensor([[3, 2000]]), 1024)
    save_tokens(tmp_path / "range.pt", [clip], SR, 512, 4096)
    data = torch.load(tmp_path / "range.pt", weights_only=True)
    data["codebook_size"] = 1024  # now the stored 2000 is out of range
    torch.save(data, tmp_path / "range.pt")
    with pytest.raises(ValueError, match=r"range.pt: clip m/a: codes must lie in \[0, 1024\)"):
        load_tokens(tmp_path / "range.pt")
    with pytest.raises(ValueError, match="no clips"):
        save_tokens(tmp_path / "empty.pt", [], SR, 512, 1024)
    with pytest.raises(ValueError, match="integer"):
        save_tokens(
            tmp_path / "f.pt", [TokenizedClip("m", "a", torch.zeros(2, 3), 3)], SR, 512, 1024
        )
