# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py//py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10. Compression in practice: bitrates, bytes, long files and real weights
#
# A codec is only useful once its codes leave the process: written to a file, sent over a network,
# read back on another computer, perhaps years later, and fast enough to keep up with the audio.
# This chapter follows the codes of the book's codec out of memory and onto disk. The idea: **a
# compressed file is the codes `(C, n_q, L)` written at exactly $\log_2 K = 10$ bits each, plus a
# small header that says how to play them back**, so that its size is the nominal bitrate and
# reading it can never run code.
#
# ## What you will learn
#
# - how one model serves nine bitrates, and how to measure what each codebook buys;
# - how many bytes a clip takes as our `.dacm`, the official `.dac`, 16-bit PCM, Opus and MP3;
# - the `.dacm` format, byte by byte and bit by bit, and how a CRC turns damage into an error;
# - how to code a long file in chunks that give the whole-file result, and why the margin is the
#   receptive field;
# - how the official weights are loaded without running pickled code;
# - how fast the codec runs (its real-time factor), and what `prepare_for_inference` saves.

# %%
import copy
import io
import math
import struct
import tempfile
import time
import zlib
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import book_codec, interact, sizes
from IPython.display import Audio, Markdown, display
from ipywidgets import IntSlider

import dac_minimal
from dac_minimal import DAC
from dac_minimal.data import VALID_SEED_OFFSET, toy_clip
from dac_minimal.evaluate import metrics as M

SR = 44100  # f_s
# seconds: the held-out clip (sections 10.1-10.3, 10.7), the long clip (10.5), the official model's
CLIP_SECONDS, LONG_SECONDS, OFFICIAL_SECONDS = sizes((2.0, 1.0), (6.0, 3.0), (1.0, 0.25))
torch.set_num_threads(1)  # one core: the real-time factors of section 10.7 are per core
torch.manual_seed(0)
WORK = Path(tempfile.mkdtemp(prefix="ch10_"))  # every file this chapter writes goes here

# %% [markdown]
# ## 10.1 The codec and a held-out clip
#
# As in [chapter 9](09_evaluation.ipynb), the codec is the book's reference codec, `book_codec()`:
# the `tiny` preset after 15 minutes of CPU training, committed in `benchmarks/reference_curves/`
# with the command that trained it (its README). It has the full model's sample rate, hop, codebooks
# and bitrate, so every byte count of this chapter is the full model's too; and it is small enough
# to run every cell in seconds. File sizes, the format and chunking (sections 10.3–10.5) are the
# same for any weights; sections 10.2 and 10.7 measure this codec, and the cells print what they
# find.

# %%
model, source = book_codec()
N_Q = model.n_codebooks
print(
    f"using {source}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
    f"{N_Q} codebooks of {model.config.codebook_size}, hop {model.hop_length}, "
    f"{model.frame_rate:.2f} frames/s"
)

# Clip 0 of the toy corpus's held-out split (valid/music): no codec in the book trains on it.
x = toy_clip("music", CLIP_SECONDS, seed=VALID_SEED_OFFSET, index=0)  # (T,) float32
print(f"held-out music clip: T = {len(x)} samples, {len(x) / SR:.2f} s, peak {np.abs(x).max():.2f}")
display(Audio(x, rate=SR))

# %% [markdown]
# ## 10.2 One model, nine bitrates
#
# Residual VQ ([chapter 4](04_residual_vq.ipynb)) is a cascade: codebook 1 quantizes the latent
# $z_e$, codebook 2 the residual it leaves, and so on. Decoding from only the first $n_q$ codebooks
# gives a coarser $z_q$, at $n_q \times 86.13 \times 10$ bits per second. Because the cascade is
# sequential, the first $n_q$ codes do not depend on how many follow: we encode **once** with all 9
# codebooks and decode nine times.

# %%
with torch.inference_mode():
    xt = torch.from_numpy(x)[None, None]  # (1, 1, T)
    codes = model.encode(xt).codes  # (1, 9, L)
    recons = {
        k: model.decode_codes(codes[:, :k], length=len(x))[0, 0].numpy() for k in range(1, N_Q + 1)
    }
    # Encoding with n_quantizers=3 in the first place gives the same three codes.
    assert torch.equal(model.encode(xt, n_quantizers=3).codes, codes[:, :3])
kbps = {k: model.bitrate(k) / 1000 for k in recons}
mel = {k: M.mel_distance(y, x) for k, y in recons.items()}
print(f"codes {tuple(codes.shape)} (batch, n_q, frames L = ceil({len(x)} / {model.hop_length}))")
for k in recons:
    print(f"n_q = {k}: {kbps[k]:5.2f} kbps, mel distance {mel[k]:.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(list(kbps.values()), list(mel.values()), "o-")
for k in recons:
    ax.annotate(str(k), (kbps[k], mel[k]), textcoords="offset points", xytext=(3, 4), fontsize=8)
ax.set(
    xlabel="bitrate (kbps)",
    ylabel="mel distance (lower is better)",
    title="The book's codec on a held-out clip, by number of codebooks $n_q$",
)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
change = mel[N_Q] - mel[1]
print(
    f"mel distance {mel[1]:.3f} at n_q = 1 and {mel[N_Q]:.3f} at n_q = {N_Q}: a change of "
    f"{change:+.3f} ({100 * change / mel[1]:+.1f} %) for {kbps[N_Q] - kbps[1]:.2f} kbps more"
)

# %% [markdown]
# This curve is the codec's rate–distortion trade-off, and the line under it is its slope in one
# number: how much the eight later codebooks change the distance, for how many more bits.
# One clip is a noisy estimate; [chapter 9](09_evaluation.ipynb) computes the same columns
# over a set, and exercise 10.5 asks how the trade-off depends on the clip. Turn the knob and listen
# to what each codebook adds. (Without a browser, `interact` calls `listen` once with the default.)


# %%
def listen(n_q: int = N_Q) -> None:
    """Play the reconstruction from the first n_q codebooks, with its bitrate and mel distance."""
    print(f"n_q = {n_q}: {kbps[n_q]:.2f} kbps, mel distance {mel[n_q]:.3f}")
    display(Audio(recons[n_q], rate=SR, normalize=False))


_ = interact(listen, n_q=IntSlider(value=N_Q, min=1, max=N_Q, description="n_q"))

# %% [markdown]
# ## 10.3 How many bytes? Ours, the official `.dac`, PCM, Opus and MP3
#
# `model.compress` returns a `CompressedAudio`: the codes plus what is needed to play them back. Its
# `save` writes a `.dacm` file (`dac_minimal/codec/FORMAT.md`, in Further reading). Its size should
# be the nominal bitrate plus a 62-byte header: $L \cdot n_q \cdot 10$ bits, rounded up to whole
# bytes.

# %%
compressed = model.compress(x)  # all 9 codebooks
assert torch.equal(compressed.codes, codes)  # the same codes as model.encode
path_dacm = compressed.save(WORK / "clip.dacm")
L = compressed.n_frames
ours = path_dacm.stat().st_size
assert ours == 62 + math.ceil(L * N_Q * 10 / 8) == compressed.nbytes
print(compressed.info())

# %% [markdown]
# **The official `.dac` file** is written by `DACFile.save` in the official package
# (`dac/model/base.py`): `np.save(f, {"codes": codes.astype(np.uint16), "metadata": {...}})`. A
# dict is not an array, so NumPy wraps it in an object array and **pickles** it. Reading it back
# takes `np.load(f, allow_pickle=True)`, which runs the pickle, and a pickle can call any Python
# function: a `.dac` file from a stranger can run code on your computer. Writing one is harmless,
# so we write the same dict, with the same metadata fields, into memory to count its bytes, and
# never read it back. The codes inside are a plain `uint16` array: 16 bits for a 10-bit code.


# %%
def official_dac_bytes(codes: torch.Tensor, length: int, sample_rate: int = SR) -> int:
    """Bytes of the official `.dac` file holding ``codes`` (C, n_q, L): written in memory only."""
    artifacts = {  # the layout of DACFile.save in descript-audio-codec 1.0
        "codes": codes.numpy().astype(np.uint16),
        "metadata": {
            "input_db": np.array([-20.0], dtype=np.float32),  # the input loudness, one per file
            "original_length": length,
            "sample_rate": sample_rate,
            "chunk_length": codes.shape[-1],
            "channels": codes.shape[0],
            "padding": True,
            "dac_version": "1.0.0",
        },
    }
    buf = io.BytesIO()
    np.save(buf, artifacts, allow_pickle=True)  # a 0-d object array: pickled
    return buf.tell()


official = official_dac_bytes(compressed.codes, len(x))
official_overhead = official - 2 * compressed.codes.numel()  # .npy header, dict, pickle framing
pcm_path = WORK / "clip.wav"
dac_minimal.save_audio(pcm_path, x[None], SR)  # 16-bit PCM WAV
pcm = pcm_path.stat().st_size
assert pcm == 44 + 2 * len(x)  # a 44-byte RIFF header, then 2 bytes per sample
payload_ratio = (official - official_overhead) / (ours - 62)
print(f"payload only, official / ours = {payload_ratio:.3f} (16 bits vs 10 bits per code)")
print(f"headers: ours 62 bytes, the official file {official_overhead} bytes")
assert abs(payload_ratio - 1.6) < 0.01

# %% [markdown]
# **Opus and MP3 at the same bitrate.** `dac_minimal.evaluate.baselines` runs the `ffmpeg` program
# (when it is installed) and measures the bitrate each codec actually produced from its packets,
# container headers excluded. Opus cannot go much below 6 kbps, MP3 (LAME) not below 8 kbps, so
# "the same bitrate" is what each codec allows nearest to 7.75 kbps. Without `ffmpeg` this part is
# skipped.

# %%
from dac_minimal.evaluate.baselines import codec_roundtrip, ffmpeg_available

duration = len(x) / SR
rows = [
    ("16-bit PCM (.wav)", pcm, None),
    ("official .dac (uint16 + pickle)", official, mel[N_Q]),
    ("ours .dacm (10-bit packed)", ours, mel[N_Q]),
]
for name in ("opus", "mp3"):
    if not ffmpeg_available(name):
        print(f"skipping {name}: ffmpeg (with its {name} encoder) is not installed")
        continue
    rt = codec_roundtrip(x, SR, name, model.bitrate() / 1000)
    rows.append(
        (
            f"{name} ({rt.kbps:.1f} kbps, payload only)",
            round(rt.kbps * 1000 * duration / 8),
            M.mel_distance(rt.audio, x),
        )
    )

table = "| format | bytes | kbps | × ours | mel distance |\n|---|---:|---:|---:|---:|\n"
for name, size, dist in rows:
    table += (
        f"| {name} | {size:,} | {size * 8 / duration / 1000:.2f} | {size / ours:.2f} | "
        f"{'—' if dist is None else f'{dist:.3f}'} |\n"
    )
display(Markdown(f"{duration:.1f} s of mono 44.1 kHz audio, codec at $n_q$ = {N_Q}:\n\n" + table))

# %%
fig, ax = plt.subplots(figsize=(8, 3))
names = [r[0].split(" (")[0] for r in rows]
ax.barh(
    names,
    [r[1] for r in rows],
    color=["0.6", "tab:red", "tab:blue"] + ["tab:green"] * (len(rows) - 3),
)
ax.set_xscale("log")
for i, r in enumerate(rows):
    ax.text(r[1], i, f" {r[1]:,} B", va="center", fontsize=8)
ax.set(xlabel="file size in bytes (log scale)", title=f"{duration:.1f} s of audio")
ax.set_xlim(100, max(r[1] for r in rows) * 8)
fig.tight_layout()
plt.show()
print(
    f"PCM is {pcm / ours:.0f}x our file; the official file is {official / ours:.2f}x it, "
    f"and for this {duration:.1f} s clip the headers are {100 * 62 / ours:.1f} % of ours and "
    f"{100 * official_overhead / official:.1f} % of the official one"
)

# %% [markdown]
# Three things to read off. The ratio to PCM is what the codec is for. The official file spends
# 1.6x our payload on the same codes (6 of every 16 bits are zeros), plus a pickle. And for a clip
# this short the headers matter: the line above prints their share. The mel distances of Opus and
# MP3 are the ones a neural codec must beat at this bitrate; one clip ranks nothing, and
# [chapter 9](09_evaluation.ipynb) (section 9.7) shows how to compare on a set.
#
# ## 10.4 The file, byte by byte
#
# Let us write a real file for a very short clip (0.1 s, so the payload is small enough to read)
# and take it apart by hand. The header fields are little-endian integers at fixed offsets
# (`FORMAT.md`):

# %%
short = toy_clip("speech", 0.1, seed=VALID_SEED_OFFSET, index=0)  # (4410,)
small = model.compress(short, n_quantizers=4)
data = small.save(WORK / "short.dacm").read_bytes()


def hexdump(b: bytes, start: int = 0, stop: int | None = None) -> None:
    """Print bytes [start, stop) as offset, 16 hex bytes, and their ASCII (dots if unprintable)."""
    stop = len(b) if stop is None else stop
    for row in range(start, stop, 16):
        chunk = b[row : min(row + 16, stop)]
        text = "".join(chr(c) if 32 <= c < 127 else "." for c in chunk)
        print(f"{row:04x}  {chunk.hex(' '):<47}  {text}")


print(f"{len(data)} bytes; the 62-byte header and the first payload bytes:")
hexdump(data, 0, 62 + 16)

# %% [markdown]
# `DACM` at offset 0 is the magic number, readable in the ASCII column. Now decode every field with
# `struct` (`<` little-endian; `H` 2 bytes, `I` 4, `Q` 8, `B` 1) from its offset in the table, and
# check each one against what the package's `CompressedAudio.load` reports:

# %%
HEADER = [  # (offset, struct code, field)
    (0, "4s", "magic"),
    (4, "H", "version"),
    (6, "H", "header_size"),
    (8, "I", "sample_rate"),
    (12, "I", "model_sample_rate"),
    (16, "I", "hop_length"),
    (20, "H", "channels"),
    (22, "H", "n_q"),
    (24, "B", "codebook_bits"),
    (25, "B", "flags"),
    (26, "I", "chunk_frames"),
    (30, "Q", "length"),
    (38, "Q", "n_frames"),
    (46, "Q", "payload_size"),
    (54, "I", "payload_crc32"),
    (58, "I", "header_crc32"),
]
header = {name: struct.unpack_from("<" + code, data, offset)[0] for offset, code, name in HEADER}
for offset, code, name in HEADER:
    raw = data[offset : offset + struct.calcsize("<" + code)]
    print(f"{offset:3d}  {raw.hex(' '):<24} {name:>18} = {header[name]!r}")

loaded = dac_minimal.CompressedAudio.load(WORK / "short.dacm")
payload = data[header["header_size"] :]
assert header["magic"] == b"DACM" and header["version"] == 1 and header["header_size"] == 62
assert header["sample_rate"] == loaded.sample_rate == SR
assert (
    header["model_sample_rate"] == loaded.model_sample_rate
    and header["hop_length"] == loaded.hop_length
)
assert header["channels"] == loaded.channels == 1 and header["n_q"] == loaded.n_quantizers == 4
assert header["codebook_bits"] == loaded.codebook_bits == 10 and header["flags"] == 0
assert header["chunk_frames"] == loaded.chunk_frames
assert header["length"] == loaded.length == len(short) and header["n_frames"] == loaded.n_frames
assert header["payload_size"] == len(payload) == loaded.nbytes - 62
assert header["payload_crc32"] == zlib.crc32(payload)
assert header["header_crc32"] == zlib.crc32(data[:58])  # everything before the header CRC itself
assert loaded == small

# %% [markdown]
# The payload is the codes, 10 bits each, most significant bit first, with no gaps: codebook 0's
# codes for frames $0, 1, \dots, L-1$, then codebook 1's, and so on (per channel, per chunk of
# `chunk_frames` frames; this file is one chunk). Read it as a string of bits and cut every 10:

# %%
bits = "".join(f"{byte:08b}" for byte in payload)
print("first 40 payload bits:", " ".join(bits[i : i + 10] for i in range(0, 40, 10)))
by_hand = [int(bits[10 * i : 10 * i + 10], 2) for i in range(6)]
print("as integers:          ", by_hand)
print("loaded codes[0, 0, :6]:", loaded.codes[0, 0, :6].tolist())
assert by_hand == loaded.codes[0, 0, :6].tolist()
n = header["n_frames"]
second = [int(bits[10 * (n + i) : 10 * (n + i) + 10], 2) for i in range(3)]  # from bit 10·L
assert second == loaded.codes[0, 1, :3].tolist()
# The file ends with zero bits up to a whole byte.
pad = len(bits) - 10 * n * header["n_q"]
assert 0 <= pad < 8 and set(bits[len(bits) - pad :]) <= {"0"}
print(
    f"{n} frames x {header['n_q']} codebooks x 10 bits = {10 * n * header['n_q']} bits "
    f"+ {pad} padding bits"
)

# %% [markdown]
# The package's `pack_codes` does the same with NumPy (`np.packbits` over a bit array), and CRC-32
# makes any damage a clear `ValueError` rather than wrong audio. Reading a `.dacm` file is `struct`
# and bit arithmetic: no code runs, whatever the file holds.

# %%
from dac_minimal.codec.dacm import pack_codes, unpack_codes

assert pack_codes(loaded.codes.reshape(1, -1).numpy(), 10) == payload
np.testing.assert_array_equal(
    unpack_codes(payload, 1, n * 4, 10).reshape(1, 4, n), loaded.codes.numpy()
)
damaged = bytearray(data)
damaged[70] ^= 0b0000_0100  # flip one payload bit
try:
    dac_minimal.CompressedAudio.from_bytes(bytes(damaged), "damaged.dacm")
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## 10.5 Long audio, in chunks
#
# An hour of audio does not fit through the encoder in one pass on a small computer. The codec is
# fully convolutional, so we can cut the signal into chunks, but not naively: an output frame
# depends on a stretch of input around it, its **receptive field**. A chunk coded on its own sees
# zeros (padding) where its neighbours should be, and the frames near its edges come out wrong:
# seams. The fix is to code each chunk with a **margin** of real context on both sides, at least as
# wide as the receptive field, and keep only the chunk's own frames. Every kept frame then saw
# exactly what it sees in a whole-file pass.
#
# For a stack of convolutions the reach grows by $(\kappa-1)\,\delta\,J$ per layer (kernel size
# $\kappa$, dilation $\delta$, $J$ the product of the strides before it); the package sums this for
# us:

# %%
from dac_minimal.codec.chunked import (
    DEFAULT_CHUNK_SECONDS,
    chunk_margins,
    decode_chunked,
    receptive_field,
)

enc_rf, dec_rf = receptive_field(model.encoder), receptive_field(model.decoder)
enc_margin, dec_margin = chunk_margins(model)
print(
    f"encoder reach {enc_rf:.0f} samples = {enc_rf / SR * 1000:.0f} ms "
    f"-> margin {enc_margin} frames"
)
print(f"decoder reach {dec_rf:.1f} frames -> margin {dec_margin} frames")

# %% [markdown]
# Compress a longer clip whole and in chunks of several lengths. The codes should be the same and
# the decoded audio equal up to float rounding, whatever the chunk length:

# %%
long_clip = toy_clip("general", LONG_SECONDS, seed=VALID_SEED_OFFSET, index=1)
whole = model.compress(long_clip, chunk_seconds=None)
y_whole = model.decompress(whole, chunk_seconds=None)  # (1, T)
for seconds in (0.25, 1.0, 2.5):
    chunked = model.compress(long_clip, chunk_seconds=seconds)
    same = (chunked.codes == whole.codes).float().mean().item()
    y_chunked = model.decompress(whole, chunk_seconds=seconds)
    diff = (y_chunked - y_whole).abs().max().item()
    print(
        f"chunks of {seconds:4.2f} s: {same:.2%} of codes identical, "
        f"decoded max |difference| {diff:.1e}"
    )
    assert same > 0.999 and diff < 1e-4

# %% [markdown]
# Now build the chunked decoder inline, with the margin as a knob, and watch the seams appear when
# the margin is shorter than the receptive field:


# %%
def decode_in_chunks(codes: torch.Tensor, chunk: int, margin: int) -> torch.Tensor:
    """Decode codes (C, n_q, L) chunk by chunk, `margin` frames of context per side -> (C, L·M)."""
    hop, n = model.hop_length, codes.shape[-1]
    out = torch.empty(codes.shape[0], n * hop)
    with torch.inference_mode():
        for a in range(0, n, chunk):
            b = min(a + chunk, n)
            lo, hi = max(a - margin, 0), min(b + margin, n)
            y = model.decode_codes(codes[:, :, lo:hi])[:, 0]  # (C, (hi - lo) · M)
            out[:, a * hop : b * hop] = y[:, (a - lo) * hop : (b - lo) * hop]
    return out


with torch.inference_mode():
    reference = model.decode_codes(whole.codes)[:, 0]  # (1, L · M), one pass
CHUNK = 43  # frames, half a second
margins = [0, 1, 2, 4, 8, 12, 16, dec_margin]
errors = {}
for m in margins:
    y = decode_in_chunks(whole.codes, CHUNK, m)
    errors[m] = (y - reference).abs().max().item()
    if m == 0:
        seams = (y - reference).abs()[0]
print({m: f"{e:.1e}" for m, e in errors.items()})
with torch.inference_mode():
    package = decode_chunked(model, whole.codes, CHUNK)
torch.testing.assert_close(
    decode_in_chunks(whole.codes, CHUNK, dec_margin), package, rtol=0, atol=1e-6
)
assert errors[dec_margin] < 1e-4 < errors[0]

# %%
fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3))
t = np.arange(len(seams)) / SR
a0.plot(t, seams.numpy(), lw=0.6)
for edge in np.arange(CHUNK, whole.n_frames, CHUNK) * model.hop_length / SR:
    a0.axvline(edge, color="tab:red", lw=0.5, alpha=0.4)
a0.set(
    xlabel="time (s)", ylabel="|chunked − whole|", title="margin 0: errors at the chunk edges (red)"
)
a1.semilogy(list(errors), [max(e, 1e-9) for e in errors.values()], "o-")
a1.axvline(dec_rf, color="tab:red", ls="--", label=f"receptive field ({dec_rf:.1f} frames)")
a1.set(xlabel="margin (frames per side)", ylabel="max |chunked − whole|", title="error vs margin")
a1.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"compress and decompress use chunks of {DEFAULT_CHUNK_SECONDS} s unless told otherwise")

# %% [markdown]
# Without margins the error sits exactly at the chunk edges: a click every half second. The right
# plot shows it shrinking as the margin grows, and once the margin covers the receptive field only
# float rounding is left. The receptive field is the margin that makes the result *exactly*
# independent of the chunk length, for any weights; a smaller one can only make it small for
# particular weights (exercise 10.4). The official chunked mode instead turns the convolutions'
# padding off and tiles windows, and its output depends on the window length. Memory, meanwhile,
# follows the chunk (a window of the chunk and two margins), not the file.
#
# ## 10.6 The official pretrained weights
#
# The published 44.1 kHz model (76.65M parameters, trained on real speech, music and sound) is one
# `DAC.load` away once its file is on disk. `download_official("44khz")` fetches it from the
# official GitHub release into a cache (about 300 MB of float32 weights, once) and returns the path;
# without a network it raises a `RuntimeError` that says which URL to fetch and where to put the
# file. The chapter does not download anything itself: run
# `python -c "from dac_minimal.codec.official import download_official; download_official('44khz')"`
# once, and the cell below uses the file.
#
# `DAC.load` reads an official checkpoint with `torch.load(weights_only=True)`, which only rebuilds
# tensors and plain containers (no pickled code runs), and renames the legacy weight-norm parameters
# `weight_g` (the length $g$ of each filter) and `weight_v` (its direction $v$) to ours. We can
# watch that conversion without the download: write our own codec in the official layout,
# `{"state_dict": ..., "metadata": {"kwargs": ...}}` with the legacy names, and load it back.

# %%
from dataclasses import asdict

from dac_minimal.checkpoint import OPTIONAL_KWARGS, REQUIRED_KWARGS, is_official_checkpoint

legacy = {
    k.replace(".parametrizations.weight.original0", ".weight_g").replace(
        ".parametrizations.weight.original1", ".weight_v"
    ): v
    for k, v in model.state_dict().items()
}
settings = asdict(model.config)
kwargs = {k: settings[k] for k in REQUIRED_KWARGS + OPTIONAL_KWARGS}  # the official constructor's
official_layout = {"state_dict": legacy, "metadata": {"kwargs": kwargs}}
assert is_official_checkpoint(official_layout)
torch.save(official_layout, WORK / "official_layout.pth")
print(f"{sum(k.endswith('.weight_g') for k in legacy)} convolutions stored as weight_g/weight_v")

reloaded = DAC.load(WORK / "official_layout.pth").eval()
with torch.inference_mode():
    assert torch.equal(reloaded.encode(xt).codes, codes)  # the same codec, to the last code

# %% [markdown]
# And the real thing, when it is in the cache:

# %%
from dac_minimal.codec.official import OFFICIAL_WEIGHTS, RELEASE_URL, official_weights_path

tag, file = OFFICIAL_WEIGHTS["44khz"]
print("published at", RELEASE_URL.format(tag=tag, file=file))
weights = official_weights_path("44khz")
if weights.is_file():
    official_model = DAC.load(weights).eval()
    n_params = sum(p.numel() for p in official_model.parameters())
    print(f"official model: {n_params / 1e6:.2f}M parameters")
    clip1 = x[: int(OFFICIAL_SECONDS * SR)]  # the big model is slow on a CPU
    y_off = official_model.decompress(official_model.compress(clip1))[0].numpy()
    print(
        f"official model, 9 codebooks: mel distance {M.mel_distance(y_off, clip1):.3f} "
        f"(the book's codec: {M.mel_distance(recons[N_Q][: len(clip1)], clip1):.3f})"
    )
    display(Audio(y_off, rate=SR))
else:
    print(f"not in the cache ({weights}): download it as above to hear the official model here")

# %% [markdown]
# ## 10.7 How fast? The real-time factor, and `prepare_for_inference`
#
# A codec that streams must code a second of audio in less than a second. The **real-time factor**
# is the time taken divided by the audio's duration: below 1 is faster than real time, and its
# inverse says how many times faster. The setup cell runs the codec on one core, so these are
# per-core figures, and the inverse is also how many streams one core could keep up with. Training
# needs weight normalisation, $w = g\,v / \lVert v\rVert$, recomputed at every step; inference does
# not. `prepare_for_inference` folds each $w$ into a plain convolution once, and swaps every Snake
# for one with $1/(\alpha + \epsilon)$ precomputed and a single fused `addcmul` (`compile=True`
# would also `torch.compile` it, after a minute of compiling). It also rewrites the convolutions:
# each transposed convolution of the decoder becomes one ordinary convolution whose output channels
# are its $s$ phases side by side (output sample $j s + r$ only ever meets the taps $r, r + s,
# \dots$ of the kernel), and the activations are kept in the memory order, time-major, that the
# convolution routines compute in, so no layer has to reorder them. It works in place and is
# one-way, so we prepare a copy. Same function, less work; the cell measures encode and decode
# apart, on the held-out clip, with the median of several runs after a warm-up.


# %%
def median_seconds(fn, repeats: int = 3) -> float:
    """Median wall time of fn() over `repeats` runs, after one untimed warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def speed(m: DAC) -> dict:
    """Real-time factors of encoding and decoding the held-out clip with model m."""
    with torch.inference_mode():
        c = m.encode(xt).codes
        encode = median_seconds(lambda: m.encode(xt))
        decode = median_seconds(lambda: m.decode_codes(c, length=len(x)))
    return {"encode": encode / duration, "decode": decode / duration}


fast = copy.deepcopy(model).prepare_for_inference()
rtf = {"as trained": speed(model), "prepared": speed(fast)}
for name, r in rtf.items():
    print(
        f"{name:>10}: encode RTF {r['encode']:.3f} ({1 / r['encode']:.1f}x real time), "
        f"decode RTF {r['decode']:.3f} ({1 / r['decode']:.1f}x real time)"
    )
ratios = {k: rtf["prepared"][k] / rtf["as trained"][k] for k in ("encode", "decode")}
print(
    f"prepared / as trained: encode {ratios['encode']:.2f}x, "
    f"decode {ratios['decode']:.2f}x the time"
)
with torch.inference_mode():
    torch.testing.assert_close(
        fast.decode_codes(codes), model.decode_codes(codes), rtol=0, atol=1e-4
    )
    assert torch.equal(fast.encode(xt).codes, codes)
assert not any(hasattr(mod, "parametrizations") for mod in fast.modules())  # weight norm is gone

# %% [markdown]
# These are this codec's numbers on your computer, and they move from run to run: run the cell
# twice to see by how much. The full 44.1 kHz model does far more work per sample, and its speed,
# before and after `prepare_for_inference`, against the official package and with the peak memory
# of chunked compression, is what `python benchmarks/inference_speed.py` measures (its options and
# protocol in `benchmarks/README.md`).
#
# ## Key takeaways
#
# - One model serves $n_q = 1 \dots 9$ codebooks, 0.86 to 7.75 kbps, chosen per file; what each
#   codebook buys is measured, on a set, not assumed.
# - A `.dacm` file is a 62-byte header and the codes at 10 bits each: the nominal bitrate. The
#   official `.dac` stores 16 bits per code in a pickle: 1.6x larger, and unsafe to open.
# - Every header field sits at a fixed offset and two CRC-32s guard header and payload, so reading
#   a file is `struct` and bit arithmetic, and damage is an error, not noise.
# - Chunks with margins that cover the receptive field give the whole-file result, whatever the
#   chunk length, with memory set by the chunk.
# - `DAC.load` reads official checkpoints with `weights_only=True`; `prepare_for_inference` folds
#   weight norm, fuses Snake and rewrites the convolutions, and the real-time factor is what to
#   measure. `compress`, `decompress` and the command line take that path on their own for long
#   inputs.
#
# ## Exercises
#
# ### Exercise 10.1 (★) When does the header matter?
#
# From what length of mono audio at 9 codebooks is the 62-byte `.dacm` header less than 1 % of
# the file? Work it out by hand, then check it with `CompressedAudio.nbytes`.
#
# [Solution](solutions/10_compression_in_practice.ipynb)
#
# ### Exercise 10.2 (★★) A song by hand
#
# A 3-minute stereo song at 44.1 kHz is compressed with all 9 codebooks and the default 5 s chunks
# (431 frames). Work out the size of its `.dacm` file by hand (each chunk is padded to a whole
# byte), and compare with the official `.dac` and 16-bit PCM. Check your answer against
# `CompressedAudio.nbytes`.
#
# [Solution](solutions/10_compression_in_practice.ipynb)
#
# ### Exercise 10.3 (★★) One code, straight from the bytes
#
# Write `code_at(data, c, q, t)`, which returns the code of channel `c`, codebook `q`, frame `t`
# straight from the bytes of a `.dacm` file, reading only the header fields it needs and the two or
# three bytes that hold the code (no unpacking of the whole payload). Test it on a stereo file with
# several chunks.
#
# [Solution](solutions/10_compression_in_practice.ipynb)
#
# ### Exercise 10.4 (★★) The smallest margin that works, for these weights
#
# With `decode_in_chunks` from section 10.5, find the smallest margin (in frames) at which the
# chunked decoding of a clip differs from the one-pass decoding by less than $10^{-5}$ for chunks
# of 43 frames. Is it larger or smaller than the receptive-field margin, and why can the package
# not use it?
#
# [Solution](solutions/10_compression_in_practice.ipynb)
#
# ### Exercise 10.5 (★★★) Open-ended: chunk length, speed and what each codebook buys
#
# Two questions a deployment has to answer. First, how short can a chunk be before the margins
# dominate the work? Measure the real-time factor of `decompress` for chunks from 0.1 s to 10 s,
# and compare it with the ratio $(F + 2m)/F$ of decoded to kept frames ($F$ frames per chunk, $m$
# the margin). Second, how many codebooks does each kind of sound need? Measure the mel distance at
# every $n_q$ on several held-out clips per domain and find where each curve flattens.
#
# [Solution](solutions/10_compression_in_practice.ipynb)
#
# ## Further reading
#
# - [`dac_minimal/codec/FORMAT.md`](../dac_minimal/codec/FORMAT.md): the `.dacm` format's
#   specification, every field and every check a reader makes.
# - The official [descript-audio-codec](https://github.com/descriptinc/descript-audio-codec)
#   repository: `dac/model/base.py` holds `DACFile` and the official chunked `compress`, the
#   contrast of sections 10.3 and 10.5.
# - The official weights, published as the repository's
#   [releases](https://github.com/descriptinc/descript-audio-codec/releases): `weights.pth` of
#   release 0.0.1 is the 44.1 kHz model that `download_official("44khz")` fetches (section 10.6
#   prints its address); later releases hold the 24 kHz, 16 kHz and 16 kbps models.
# - NumPy's [`numpy.load`](https://numpy.org/doc/stable/reference/generated/numpy.load.html) and
#   PyTorch's [`torch.load`](https://pytorch.org/docs/stable/generated/torch.load.html): the
#   warnings about pickles, and what `allow_pickle=False` and `weights_only=True` protect against.
# - Kumar et al., [High-Fidelity Audio Compression with Improved
#   RVQGAN](https://arxiv.org/abs/2306.06546): the model these weights come from.

# %% [markdown]
# [← 9. Evaluation](09_evaluation.ipynb) · [Contents](00_preface.ipynb) ·
# [11. Reproducing the claims →](11_reproducing_the_claims.ipynb)
