import math
import struct
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dac_minimal import DAC
from dac_minimal.codec import chunked as chunked_module
from dac_minimal.codec.chunked import chunk_margins, decode_chunked, encode_chunked, receptive_field
from dac_minimal.codec.dacm import HEADER_SIZE, CompressedAudio, pack_codes, unpack_codes
from dac_minimal.utils.audio import resample, save_audio


@pytest.fixture(scope="module")
def signal() -> torch.Tensor:
    """Two channels ``(2, T)``, 0.5 s at 44.1 kHz: a chord on the left, a chirp plus noise on the
    right."""
    t = torch.arange(22050) / 44100
    left = 0.3 * torch.sin(2 * math.pi * 220 * t) + 0.2 * torch.sin(2 * math.pi * 330 * t)
    right = 0.3 * torch.sin(2 * math.pi * (200 + 2000 * t) * t) + 0.05 * torch.randn(t.shape)
    return torch.stack([left, right])


@pytest.fixture(scope="module")
def whole(tiny, signal):
    """Whole-file codes ``(2, 9, S)`` and decoded audio ``(2, S·hop)``, from the model directly."""
    with torch.inference_mode():
        codes = tiny.encode(signal[:, None]).codes
        return codes, tiny.decode_codes(codes)[:, 0]


def test_pack_codes_matches_a_bit_string_written_by_hand():
    codes = np.array([[1023, 0, 5]])
    expected = "1111111111" + "0000000000" + "0000000101" + "00"  # MSB first, padded to 32 bits
    assert pack_codes(codes, 10) == int(expected, 2).to_bytes(4, "big")
    assert unpack_codes(pack_codes(codes, 10), 1, 3, 10).tolist() == [[1023, 0, 5]]


@given(st.integers(1, 16), st.integers(1, 4), st.integers(1, 40), st.data())
def test_pack_unpack_round_trip(bits, rows, n, data):
    codes = np.array(
        data.draw(st.lists(st.integers(0, 2**bits - 1), min_size=rows * n, max_size=rows * n))
    )
    codes = codes.reshape(rows, n)
    packed = pack_codes(codes, bits)
    assert len(packed) == rows * math.ceil(n * bits / 8)
    assert np.array_equal(unpack_codes(packed, rows, n, bits), codes)


def test_receptive_field_matches_the_closed_form():
    # Encoder, by hand: first conv 6; per block at input spacing J: residual units 6·(1+3+9)·J,
    # strided conv (2s−1)·J, then J·s; last conv 2·512.
    expected, spacing = 6, 1
    for s in (2, 4, 8, 8):
        expected += 78 * spacing + (2 * s - 1) * spacing
        spacing *= s
    expected += 2 * spacing
    model = DAC.from_preset("tiny")
    assert receptive_field(model.encoder) == expected == 7977
    # Decoder in latent frames: first conv 6, transposed convs 2 input steps each, residual units
    # 78/J.
    expected = (
        6 + sum(2 / j + 78 / (j * s) for j, s in ((1, 8), (8, 8), (64, 4), (256, 2))) + 6 / 512
    )
    assert receptive_field(model.decoder) == pytest.approx(expected)
    assert chunk_margins(model) == (16, 20)


@pytest.mark.parametrize("chunk_frames", [3, 10, 100])
def test_chunked_codes_and_audio_equal_the_whole_file_pass(tiny, signal, whole, chunk_frames):
    codes, audio = whole
    with torch.inference_mode():
        chunked = encode_chunked(tiny, signal, None, chunk_frames)
        decoded = decode_chunked(tiny, codes, chunk_frames)
    assert torch.equal(chunked, codes)
    assert decoded.shape == audio.shape
    diff = (decoded - audio).abs().max().item()
    print(
        f"chunk {chunk_frames} frames: {int((chunked != codes).sum())} codes differ, "
        f"max |Δaudio| = {diff:.2e}"
    )
    assert diff < 1e-5


def test_too_small_margins_would_be_caught(tiny, signal, whole, monkeypatch):
    codes, audio = whole
    monkeypatch.setattr(chunked_module, "chunk_margins", lambda model: (2, 2))
    with torch.inference_mode():
        chunked = encode_chunked(tiny, signal, None, 4)
        decoded = decode_chunked(tiny, codes, 4)
    assert not torch.equal(chunked, codes)
    assert (decoded - audio).abs().max() > 1e-4


def test_compress_decompress_keeps_channels_and_length(tiny, signal, whole):
    codes, audio = whole
    tiny.train()  # compress must not depend on, nor change, the mode
    compressed = tiny.compress(signal, chunk_seconds=0.1)
    assert tiny.training
    tiny.eval()
    assert torch.equal(compressed.codes, codes)
    out = tiny.decompress(compressed, chunk_seconds=0.07)
    assert out.shape == signal.shape
    assert torch.allclose(out, audio[:, : signal.shape[1]], atol=1e-5)

    fewer = tiny.compress(signal[0].numpy(), n_quantizers=3)  # numpy, mono (T,)
    assert fewer.codes.shape == (1, 3, codes.shape[-1]) and torch.equal(
        fewer.codes[0], codes[0, :3]
    )
    with torch.inference_mode():
        expected = tiny.decode_codes(codes[:1, :3], length=signal.shape[1])[0]
    assert torch.allclose(tiny.decompress(fewer), expected, atol=1e-5)


def test_other_sample_rates_are_resampled_in_and_out(tiny, signal):
    x16 = resample(signal, 44100, 16000)  # (2, 8000)
    compressed = tiny.compress(x16, sample_rate=16000)
    assert (compressed.sample_rate, compressed.length, compressed.model_sample_rate) == (
        16000,
        8000,
        44100,
    )
    out = tiny.decompress(compressed)
    assert out.shape == (2, 8000)
    with torch.inference_mode():  # independently: resample up, code, decode, resample down
        up = resample(x16, 16000, 44100)
        y = tiny.decode_codes(tiny.encode(up[:, None]).codes, length=up.shape[-1])[:, 0]
    assert torch.allclose(out, resample(y, 44100, 16000)[:, :8000], atol=1e-5)


def test_file_size_is_the_nominal_bitrate_plus_the_header(tiny, signal, tmp_path):
    compressed = tiny.compress(signal, chunk_seconds=None)
    data = compressed.to_bytes()
    n_codes = 2 * 9 * compressed.n_frames
    assert len(data) == compressed.nbytes == HEADER_SIZE + math.ceil(n_codes * 10 / 8)
    assert compressed.bitrate == pytest.approx(2 * 9 * 10 * 44100 / 512)  # 15.5 kbps for stereo
    assert compressed.info()["file_bytes"] == len(data)
    chunked = tiny.compress(signal, chunk_seconds=0.1)  # ≤ 1 padding byte per chunk
    n_chunks = math.ceil(compressed.n_frames / chunked.chunk_frames)
    assert (
        HEADER_SIZE + n_codes * 10 / 8
        <= chunked.nbytes
        <= HEADER_SIZE + n_codes * 10 / 8 + n_chunks
    )


def test_save_load_paths_round_trip(tiny, signal, whole, tmp_path):
    wav = tmp_path / "in.wav"
    save_audio(wav, signal.numpy(), 44100)
    compressed = tiny.compress(wav)
    path = compressed.save(tmp_path / "out" / "in.dacm")
    assert not list(path.parent.glob(".*tmp"))
    loaded = CompressedAudio.load(path)
    assert loaded == compressed and torch.equal(loaded.codes, compressed.codes)
    assert loaded != CompressedAudio(compressed.codes[:, :3], 44100, 22050, 44100, 512)
    assert tiny.decompress(path).shape == (2, signal.shape[1])


def test_decompress_refuses_codes_of_another_codec(tiny, signal):
    compressed = tiny.compress(signal[:, :4000])
    other = DAC.from_preset(
        "tiny", sample_rate=16000, encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2)
    )
    with pytest.raises(
        ValueError, match="sample rate: file 44100, model 16000; hop length: file 512, model 320"
    ):
        other.decompress(compressed)
    fewer = DAC.from_preset("tiny", n_codebooks=4)
    with pytest.raises(ValueError, match="codebooks: file 9, model 4"):
        fewer.decompress(compressed)


@pytest.mark.parametrize(
    "audio, message",
    [
        (torch.full((1, 100), float("nan")), "NaN"),
        (torch.zeros(1, 1, 100), "shape"),
        (torch.zeros(2, 0), "empty"),
        (np.zeros(100, dtype=np.int16), "floating-point"),
        ([0.0, 0.1], "path, a numpy array or a torch.Tensor"),
        ("/no/such/file.wav", "not found"),
    ],
)
def test_compress_refuses_bad_audio(tiny, audio, message):
    with pytest.raises(ValueError, match=message):
        tiny.compress(audio)


def test_compress_refuses_bad_settings(tiny, signal):
    with pytest.raises(ValueError, match="n_quantizers"):
        tiny.compress(signal, n_quantizers=10)
    with pytest.raises(ValueError, match="chunk_seconds"):
        tiny.compress(signal, chunk_seconds=0)
    with pytest.raises(ValueError, match="sample_rate"):
        tiny.compress(signal, sample_rate=0)


@pytest.fixture(scope="module")
def valid_bytes(tiny, signal) -> bytes:
    return tiny.compress(signal[:, :6000], chunk_seconds=0.03).to_bytes()


def with_header(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Overwrite one header field and fix the header CRC, so only the field itself is wrong."""
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    struct.pack_into("<I", out, HEADER_SIZE - 4, zlib.crc32(bytes(out[: HEADER_SIZE - 4])))
    return bytes(out)


def test_damaged_files_give_clear_errors(valid_bytes, tmp_path):
    cases = {
        "does not start with": b"RIFF" + valid_bytes[4:],
        "truncated": valid_bytes[:-1],
        "truncated: 30 bytes": valid_bytes[:30],
        "followed by unexpected bytes": valid_bytes + b"\0",
        "newer format version \\(2\\)": with_header(valid_bytes, 4, "<H", 2),
        "invalid header size 5000": with_header(valid_bytes, 6, "<H", 5000),
        "header checksum": valid_bytes[:10] + bytes([valid_bytes[10] ^ 1]) + valid_bytes[11:],
        "payload checksum": valid_bytes[:-1] + bytes([valid_bytes[-1] ^ 0x80]),
        "invalid header \\(a zero": with_header(valid_bytes, 20, "<H", 0),  # zero channels
    }
    for message, data in cases.items():
        with pytest.raises(ValueError, match=message):
            CompressedAudio.from_bytes(data)
    path = tmp_path / "bad.dacm"
    path.write_bytes(cases["truncated"])
    with pytest.raises(ValueError, match=f"{path.name} is truncated"):
        CompressedAudio.load(path)
    with pytest.raises(ValueError, match="not found"):
        CompressedAudio.load(tmp_path / "missing.dacm")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_only_ever_raise_value_error(junk, with_magic):
    data = (b"DACM" + junk) if with_magic else junk
    with pytest.raises(ValueError):
        CompressedAudio.from_bytes(data)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_truncations_and_bit_flips_are_always_detected(valid_bytes, data):
    cut = data.draw(st.integers(0, len(valid_bytes) - 1))
    with pytest.raises(ValueError):
        CompressedAudio.from_bytes(valid_bytes[:cut])
    bit = data.draw(st.integers(0, 8 * len(valid_bytes) - 1))
    flipped = bytearray(valid_bytes)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ValueError):  # CRC32 catches every single-bit error
        CompressedAudio.from_bytes(bytes(flipped))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 5),
    st.integers(1, 30),
    st.integers(1, 12),
    st.integers(1, 16),
    st.data(),
)
def test_any_layout_round_trips(channels, n_q, n_frames, chunk_frames, bits, data):
    codes = torch.tensor(
        data.draw(
            st.lists(
                st.integers(0, 2**bits - 1),
                min_size=channels * n_q * n_frames,
                max_size=channels * n_q * n_frames,
            )
        )
    ).reshape(channels, n_q, n_frames)
    original = CompressedAudio(codes, 44100, n_frames * 512 - 7, 44100, 512, bits, chunk_frames)
    data_bytes = original.to_bytes()
    assert len(data_bytes) == original.nbytes
    loaded = CompressedAudio.from_bytes(data_bytes)
    assert torch.equal(loaded.codes, codes)
    assert (loaded.length, loaded.chunk_frames, loaded.codebook_bits) == (
        original.length,
        chunk_frames,
        bits,
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"codes": torch.zeros(1, 2, 3)}, "integer codes"),
        ({"codes": torch.zeros(1, 2, 0, dtype=torch.long)}, "empty"),
        ({"codes": torch.full((1, 2, 3), 1024)}, r"\[0, 1024\)"),
        ({"sample_rate": 0}, "sample_rate must be a positive int"),
        ({"hop_length": True}, "hop_length must be a positive int"),
        ({"length": 2**64}, "length must be a positive int below"),
        ({"codebook_bits": 17}, "codebook_bits"),
        ({"length": 10**6}, "3 frames cannot hold 1000000 samples"),
    ],
)
def test_compressed_audio_refuses_what_the_format_cannot_hold(change, message):
    fields = dict(
        codes=torch.zeros(1, 2, 3, dtype=torch.int32),
        sample_rate=44100,
        length=1500,
        model_sample_rate=44100,
        hop_length=512,
    )
    assert CompressedAudio(**fields).codes.dtype == torch.long  # integer codes become int64
    with pytest.raises(ValueError, match=message):
        CompressedAudio(**{**fields, **change})
