# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10. Compression in practice: bitrates, bytes, long files and real weights
#
# A codec is only useful once its codes leave the process: written to a file, sent over a network, read back
# on another machine, perhaps years later. This chapter follows the codes of the book's tiny codec out of
# memory and onto disk. The one idea: **a compressed file is the codes $(C, n_q, S)$ written at exactly
# $\log_2 K = 10$ bits each, plus a small header that says how to play them back**, so that its size is the
# nominal bitrate and reading it can never run code.
#
# On the way we will
#
# 1. turn a knob over $n_q$ and hear (and measure) what each codebook buys;
# 2. compare file sizes: our `.dacm`, the official `.dac`, 16-bit PCM, Opus and MP3;
# 3. take a real `.dacm` file apart byte by byte and bit by bit;
# 4. code a long clip in chunks, and see why the chunks must overlap by the receptive field;
# 5. load the official pretrained weights when they are available;
# 6. make inference faster with `prepare_for_inference`.

# %%
import copy
import io
import math
import os
import struct
import tempfile
import time
import zlib
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from book import book_codec
from IPython.display import Audio, Markdown, display
from ipywidgets import IntSlider, interact

import dac_minimal
from dac_minimal import DAC
from dac_minimal.data import VALID_SEED_OFFSET, toy_clip
from dac_minimal.evaluate import metrics as M

SMOKE = os.environ.get("DAC_BOOK_SMOKE") == "1"
SR = 44100
CLIP_SECONDS = 1.0 if SMOKE else 2.0  # the held-out clip of sections 1-2
LONG_SECONDS = 3.0 if SMOKE else 6.0  # the "long" clip of section 4
STAND_IN_STEPS = 2 if SMOKE else 6  # training steps if no trained model is there (see section 1)
torch.set_num_threads(
    1
)  # small tensors: one thread skips the cost of synchronising two on a busy CPU
torch.manual_seed(0)
rng = np.random.default_rng(0)
WORK = Path(tempfile.mkdtemp(prefix="ch10_"))  # every file this chapter writes goes here

# %% [markdown]
# ## 1. The codec and a held-out clip
#
# As in chapter 9, the codec is the tiny codec after 15 minutes of CPU training
# (`benchmarks/reference_curves/tiny_15min.pt`); without that file `book_codec` takes chapter 8's
# one-minute model (`runs/ch08/tiny.pt`), and without both it trains a stand-in for a few steps. A stand-in
# is a *bad* codec: its sounds and distances are there so that every cell runs. Nothing in this chapter depends on the codec being good: file sizes, the format and chunking
# are the same for any weights.

# %%
model, source = book_codec(STAND_IN_STEPS)  # the 15-minute model, chapter 8's, or a stand-in
N_Q = model.n_codebooks
print(
    f"using {source}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
    f"{N_Q} codebooks of {model.config.codebook_size}, hop {model.hop_length}, {model.frame_rate:.2f} frames/s"
)

# Clip 0 of the toy corpus's held-out split (valid/music): the codec never trained on it.
x = toy_clip("music", CLIP_SECONDS, seed=VALID_SEED_OFFSET, index=0)  # (T,) float32
print(f"held-out music clip: {len(x)} samples, {len(x) / SR:.2f} s, peak {np.abs(x).max():.2f}")
display(Audio(x, rate=SR))

# %% [markdown]
# ## 2. One model, nine bitrates
#
# Residual VQ (chapter 4) is a cascade: codebook 1 quantizes the latent $z_e$, codebook 2 the residual it
# leaves, and so on. Decoding from only the first $n_q$ codebooks is a coarser $z_q$, at
# $n_q \times 86.13 \times 10$ bits per second. Because the cascade is sequential, the first $n_q$ codes
# do not depend on how many follow: we encode **once** with all $N_q = 9$ and decode nine times.

# %%
with torch.inference_mode():
    xt = torch.from_numpy(x)[None, None]  # (1, 1, T)
    codes = model.encode(xt).codes  # (1, 9, S)
    recons = {
        k: model.decode_codes(codes[:, :k], length=len(x))[0, 0].numpy() for k in range(1, N_Q + 1)
    }
    # Encoding with n_quantizers=3 in the first place gives the same three codes.
    assert torch.equal(model.encode(xt, n_quantizers=3).codes, codes[:, :3])
kbps = {k: model.bitrate(k) / 1000 for k in recons}
mel = {k: M.mel_distance(y, x) for k, y in recons.items()}
print(f"codes {tuple(codes.shape)} (batch, n_q, frames S = ceil({len(x)} / {model.hop_length}))")
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
    title="The tiny codec on a held-out clip, by number of codebooks $n_q$",
)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
trend = "falls" if mel[N_Q] < mel[1] else "does not fall"
print(
    f"with this model the mel distance {trend} from n_q = 1 ({mel[1]:.3f}) to n_q = {N_Q} ({mel[N_Q]:.3f})"
)

# %% [markdown]
# Why would more bits ever sound *worse*? Look where the codes go: the latent. Each codebook should shrink
# the residual $z_e - z_q$ that the next one quantizes (chapter 4), so the relative error
# $\lVert z_e - z_q^{(n_q)}\rVert / \lVert z_e\rVert$ should fall with $n_q$, and the decoder should get
# a latent closer to the one it would see for this clip:

# %%
with torch.inference_mode():
    z_e = model.encoder(model.preprocess(xt))  # (1, D, S) the continuous latent
    rel = {
        k: ((z_e - model.quantizer.from_codes(codes[:, :k])).norm() / z_e.norm()).item()
        for k in recons
    }
    out_rms = {k: float(np.sqrt(np.mean(y**2))) for k, y in recons.items()}
print("n_q:                 " + " ".join(f"{k:6d}" for k in rel))
print("|z_e - z_q| / |z_e|: " + " ".join(f"{v:6.2f}" for v in rel.values()))
print(
    "output RMS:          "
    + " ".join(f"{v:6.3f}" for v in out_rms.values())
    + f"   (the clip's RMS: {np.sqrt(np.mean(x**2)):.3f})"
)

# %% [markdown]
# For a codec that has learned, the first row falls towards 0 and the mel distance with it. If it *rises*
# here, the codebook vectors (after their output projection) are still much larger than this encoder's
# latent: every added codebook moves $z_q$ further from $z_e$, and the decoder answers a larger latent with a
# louder output, not a closer one. That is a codec early in training, not a property of residual VQ, and it
# is why the number of codebooks to keep is measured, not assumed.


# %% [markdown]
# Turn the knob and listen. With a well-trained codec each codebook brings detail back, step by step; with
# the short CPU run of chapter 8 you hear the state described above, honestly.
# (Without a browser, `interact` calls `listen` once with the default.)


# %%
def listen(n_q: int = N_Q) -> None:
    """Play the reconstruction from the first n_q codebooks, with its bitrate and mel distance."""
    print(f"n_q = {n_q}: {kbps[n_q]:.2f} kbps, mel distance {mel[n_q]:.3f}")
    display(Audio(recons[n_q], rate=SR, normalize=False))


_ = interact(listen, n_q=IntSlider(value=N_Q, min=1, max=N_Q, description="n_q"))

# %% [markdown]
# ## 3. How many bytes? Ours, the official `.dac`, PCM, Opus and MP3
#
# `model.compress` returns a `CompressedAudio`: the codes plus what is needed to play them back. Its `save`
# writes a `.dacm` file (`dac_minimal/FORMAT.md`). Its size should be the nominal bitrate plus a 62-byte
# header: $S \cdot n_q \cdot 10$ bits, rounded up to whole bytes.

# %%
compressed = model.compress(x)  # all 9 codebooks
assert torch.equal(compressed.codes, codes)  # the same codes as model.encode
path_dacm = compressed.save(WORK / "clip.dacm")
S = compressed.n_frames
ours = path_dacm.stat().st_size
assert ours == 62 + math.ceil(S * N_Q * 10 / 8) == compressed.nbytes
print(compressed.info())

# %% [markdown]
# **The official `.dac` file** is written by `np.save(f, {"codes": codes.astype(np.uint16), "metadata": {...}})`.
# A dict is not an array, so NumPy wraps it in an object array and **pickles** it. Reading it back takes
# `np.load(f, allow_pickle=True)`, which runs the pickle, and a pickle can call any Python function: a `.dac`
# file from a stranger can run code on your machine. So we will not write or read one here, and we do not
# import the official package. Its size we can compute safely: the codes are a plain `uint16` array (16 bits
# for a 10-bit code), which `np.save` stores without pickle as a 128-byte `.npy` header plus the raw bytes;
# the dict's keys, the metadata values (input loudness as a float32 array, lengths, a version string) and the
# pickle opcodes add about 425 bytes (measured once, offline, with NumPy 2 on a dict of the official layout;
# it varies by a few bytes).

# %%
OFFICIAL_METADATA_BYTES = (
    425  # pickle framing + metadata dict of the official DACFile (approximate)
)


def official_dac_bytes(codes: torch.Tensor) -> int:
    """Approximate size of the official `.dac` file holding ``codes`` (C, n_q, S): uint16 .npy + metadata."""
    buf = io.BytesIO()
    np.save(
        buf, codes.numpy().astype(np.uint16), allow_pickle=False
    )  # a plain array: no pickle involved
    return buf.tell() + OFFICIAL_METADATA_BYTES


official = official_dac_bytes(compressed.codes)
pcm_path = WORK / "clip.wav"
dac_minimal.save_audio(pcm_path, x[None], SR)  # 16-bit PCM WAV
pcm = pcm_path.stat().st_size
assert pcm == 44 + 2 * len(x)  # a 44-byte RIFF header, then 2 bytes per sample
payload_ratio = (official - 128 - OFFICIAL_METADATA_BYTES) / (ours - 62)
print(f"payload only, official / ours = {payload_ratio:.3f} (16 bits vs 10 bits per code)")
assert abs(payload_ratio - 1.6) < 0.01

# %% [markdown]
# **Opus and MP3 at the same bitrate.** `dac_minimal.evaluate.baselines` runs the `ffmpeg` program (when it is
# installed) and measures the bitrate each codec actually produced from its packets, container headers
# excluded. Opus cannot go much below 6 kbps, MP3 (LAME) not below 8 kbps, so "the same bitrate" is
# what each codec allows nearest to 7.75 kbps. Without `ffmpeg` this part is skipped.

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

# %% [markdown]
# Three things to read off. PCM is about 90x larger than the codes: that ratio is what the codec is for.
# The official file spends 1.6x our payload on the same codes (6 of every 16 bits are zeros), plus a pickle.
# And for a clip this short the headers matter: 62 bytes for us, about 550 for the official file. The
# mel distances of Opus and MP3 are the ones a *good* neural codec must beat at this bitrate; the tiny
# model after a minute of training does not, and the official model (section 5) is the one to compare.
#
# ## 4. The file, byte by byte
#
# Let us write a real file for a very short clip (0.1 s, so the payload is small enough to read) and take it
# apart by hand. The header fields are little-endian integers at fixed offsets (`FORMAT.md`):

# %%
short = toy_clip("speech", 0.1, seed=VALID_SEED_OFFSET, index=0)  # (4410,)
small = model.compress(short, n_quantizers=4)
data = small.save(WORK / "short.dacm").read_bytes()


def hexdump(b: bytes, start: int = 0, stop: int | None = None) -> None:
    """Print bytes [start, stop) as offset, 16 hex bytes, and their ASCII (dots for unprintable bytes)."""
    stop = len(b) if stop is None else stop
    for row in range(start, stop, 16):
        chunk = b[row : min(row + 16, stop)]
        text = "".join(chr(c) if 32 <= c < 127 else "." for c in chunk)
        print(f"{row:04x}  {chunk.hex(' '):<47}  {text}")


print(f"{len(data)} bytes; the 62-byte header and the first payload bytes:")
hexdump(data, 0, 62 + 16)

# %% [markdown]
# `DACM` at offset 0 is the magic number, readable in the ASCII column. Now decode every field with
# `struct` (`<` little-endian; `H` 2 bytes, `I` 4, `Q` 8, `B` 1) from its offset in the table, and check
# each one against what the package's `CompressedAudio.load` reports:

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
# codes for frames $0, 1, \dots, S-1$, then codebook 1's, and so on (per channel, per chunk of
# `chunk_frames` frames; this file is one chunk). Read it as a string of bits and cut every 10:

# %%
bits = "".join(f"{byte:08b}" for byte in payload)
print("first 40 payload bits:", " ".join(bits[i : i + 10] for i in range(0, 40, 10)))
by_hand = [int(bits[10 * i : 10 * i + 10], 2) for i in range(6)]
print("as integers:          ", by_hand)
print("loaded codes[0, 0, :6]:", loaded.codes[0, 0, :6].tolist())
assert by_hand == loaded.codes[0, 0, :6].tolist()
s = header["n_frames"]
second = [
    int(bits[10 * (s + i) : 10 * (s + i) + 10], 2) for i in range(3)
]  # codebook 1 starts at bit 10·S
assert second == loaded.codes[0, 1, :3].tolist()
# The file ends with zero bits up to a whole byte.
pad = len(bits) - 10 * s * header["n_q"]
assert 0 <= pad < 8 and set(bits[len(bits) - pad :]) <= {"0"}
print(
    f"{s} frames x {header['n_q']} codebooks x 10 bits = {10 * s * header['n_q']} bits + {pad} padding bits"
)

# %% [markdown]
# The package's `pack_codes` does the same with NumPy (`np.packbits` over a bit array), and CRC-32 makes any
# damage a clear `ValueError` rather than wrong audio. Reading a `.dacm` file is `struct` and bit arithmetic:
# no code runs, whatever the file holds.

# %%
from dac_minimal.codec.dacm import pack_codes, unpack_codes

assert pack_codes(loaded.codes.reshape(1, -1).numpy(), 10) == payload
np.testing.assert_array_equal(
    unpack_codes(payload, 1, s * 4, 10).reshape(1, 4, s), loaded.codes.numpy()
)
damaged = bytearray(data)
damaged[70] ^= 0b0000_0100  # flip one payload bit
try:
    dac_minimal.CompressedAudio.from_bytes(bytes(damaged), "damaged.dacm")
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## 5. Long audio, in chunks
#
# An hour of audio does not fit through the encoder in one pass on a small machine. The codec is fully
# convolutional, so we can cut the signal into chunks, but not naively: an output frame depends on a
# stretch of input around it, its **receptive field**. A chunk coded on its own sees zeros (padding) where its
# neighbours should be, and the frames near its edges come out wrong: seams. The fix is to code each chunk
# with a **margin** of real context on both sides, at least as wide as the receptive field, and keep only
# the chunk's own frames. Every kept frame then saw exactly what it sees in a whole-file pass.
#
# For a stack of convolutions the reach grows by $(k-1)\,d\,J$ per layer (kernel $k$, dilation $d$, $J$
# the product of the strides before it); the package sums this for us:

# %%
from dac_minimal.codec.chunked import chunk_margins, decode_chunked, receptive_field

enc_rf, dec_rf = receptive_field(model.encoder), receptive_field(model.decoder)
enc_margin, dec_margin = chunk_margins(model)
print(
    f"encoder reach {enc_rf:.0f} samples = {enc_rf / SR * 1000:.0f} ms -> margin {enc_margin} frames"
)
print(f"decoder reach {dec_rf:.1f} frames -> margin {dec_margin} frames")

# %% [markdown]
# Compress a longer clip whole and in chunks of several lengths. The codes should be the same and the
# decoded audio equal up to float rounding, whatever the chunk length:

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
        f"chunks of {seconds:4.2f} s: {same:.2%} of codes identical, decoded max |difference| {diff:.1e}"
    )
    assert same > 0.999 and diff < 1e-4

# %% [markdown]
# Now build the chunked decoder inline, with the margin as a knob, and watch the seams appear when the margin
# is shorter than the receptive field:


# %%
def decode_in_chunks(codes: torch.Tensor, chunk: int, margin: int) -> torch.Tensor:
    """Decode codes (C, k, S) chunk by chunk, each with `margin` frames of context per side -> (C, S · hop)."""
    hop, n = model.hop_length, codes.shape[-1]
    out = torch.empty(codes.shape[0], n * hop)
    with torch.inference_mode():
        for a in range(0, n, chunk):
            b = min(a + chunk, n)
            lo, hi = max(a - margin, 0), min(b + margin, n)
            y = model.decode_codes(codes[:, :, lo:hi])[:, 0]  # (C, (hi - lo) · hop)
            out[:, a * hop : b * hop] = y[:, (a - lo) * hop : (b - lo) * hop]
    return out


with torch.inference_mode():
    reference = model.decode_codes(whole.codes)[:, 0]  # (1, S · hop), one pass
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

# %% [markdown]
# Without margins the error sits exactly at the chunk edges: clicks every half second. It shrinks as the
# margin grows (the far taps of a receptive field carry little weight),
# and once the margin covers the receptive field only float rounding is left. The receptive field is the
# margin that makes the result *exactly* independent of the chunk length, for any weights; a smaller one only
# makes it small for these weights. The official chunked mode instead turns the convolutions' padding off
# and tiles windows, and its output depends on the window length. Memory, meanwhile, follows the chunk
# (window of chunk + 2 margins), not the file: `compress` and `decompress` use 5 s chunks by default.
#
# ## 6. The official pretrained weights
#
# The published 44.1 kHz model (76M parameters, trained for days on real audio) is one `DAC.load` away,
# *when the file is available*. `download_official("44khz")` fetches it from the official GitHub release
# into a cache (about 300 MB, once) and returns the path; offline it raises a `RuntimeError` that says which
# URL to fetch and where to put the file. `DAC.load` reads the official checkpoint with
# `torch.load(weights_only=True)`, which only rebuilds tensors and plain containers (no pickled code runs),
# and renames the legacy weight-norm parameters (`weight_g`, `weight_v`) to ours. The smoke run (CI) never
# downloads; it only uses a copy already in the cache.

# %%
from dac_minimal.codec.official import download_official, official_weights_path

official_model = None
start = time.perf_counter()
try:
    if SMOKE and not official_weights_path("44khz").is_file():
        raise RuntimeError(
            f"smoke run: not downloading; put the weights at {official_weights_path('44khz')}"
        )
    official_model = DAC.load(download_official("44khz")).eval()
except RuntimeError as err:
    print(f"skipping the official model ({time.perf_counter() - start:.1f} s):\n{err}")

if official_model is not None:
    print(
        f"official model: {sum(p.numel() for p in official_model.parameters()) / 1e6:.2f}M parameters"
    )
    clip1 = x[:SR]  # one second: the big model is slow on a CPU
    y_off = official_model.decompress(official_model.compress(clip1))[0].numpy()
    print(
        f"official model, 9 codebooks: mel distance {M.mel_distance(y_off, clip1):.3f} "
        f"(tiny model: {M.mel_distance(recons[N_Q][:SR], clip1):.3f})"
    )
    display(Audio(y_off, rate=SR))

# %% [markdown]
# ## 7. Faster inference: `prepare_for_inference`
#
# Training needs weight normalisation, $w = g\,v / \lVert v\rVert$, recomputed at every step; inference does
# not. `prepare_for_inference` folds each $w$ into a plain convolution once, and swaps every Snake for one
# with $1/(\alpha + \epsilon)$ precomputed and a single fused `addcmul` (`compile=True` would also
# `torch.compile` it, after a minute of compiling). It works in place and is one-way, so prepare a copy.
# Same function, less work:


# %%
def best_time(m: DAC, repeats: int = 3) -> tuple[float, torch.Tensor]:
    """Best wall time (s) of encode + decode of the held-out clip, and the decoded audio (1, 1, T)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with torch.inference_mode():
            y = m.decode_codes(m.encode(xt).codes, length=len(x))
        times.append(time.perf_counter() - t0)
    return min(times), y


fast = copy.deepcopy(model).prepare_for_inference()
t_before, y_before = best_time(model)
t_after, y_after = best_time(fast)
print(
    f"encode + decode of {CLIP_SECONDS:.0f} s: {t_before * 1000:.0f} ms as trained, {t_after * 1000:.0f} ms "
    f"prepared ({t_before / t_after:.2f}x); max |difference| {(y_after - y_before).abs().max().item():.1e}"
)
with torch.inference_mode():
    torch.testing.assert_close(
        fast.decode_codes(codes), model.decode_codes(codes), rtol=0, atol=1e-4
    )
assert not any(hasattr(mod, "parametrizations") for mod in fast.modules())  # weight norm is gone

# %% [markdown]
# On a busy shared CPU the timings are noisy; the speed-up is larger for the full-size model, whose Snakes
# run on wide tensors (`benchmarks/inference_speed.py` measures it against the official package).
#
# ## Summary
#
# - One model serves $n_q = 1 \dots 9$ codebooks: 0.86 to 7.75 kbps, chosen per file.
# - A `.dacm` file is a 62-byte header and the codes at 10 bits each: the nominal bitrate. The official
#   `.dac` stores 16 bits per code in a pickle: 1.6x larger, and unsafe to open.
# - Chunks with margins that cover the receptive field give the whole-file result, whatever the chunk length.
# - `DAC.load` reads official checkpoints safely; `prepare_for_inference` makes a model cheaper to run.
#
# ## Exercises
#
# **Exercise 1.** A 3-minute stereo song at 44.1 kHz is compressed with all 9 codebooks and the default 5 s
# chunks (431 frames). Work out the size of its `.dacm` file by hand (each chunk is padded to a whole byte),
# and compare with the official `.dac` and 16-bit PCM. Check your answer against `CompressedAudio.nbytes`.

# %% jupyter={"source_hidden": true} tags=["solution"]
T = 180 * SR
S_song = math.ceil(T / 512)  # frames per channel
n_full, rest = divmod(S_song, 431)
values = 2 * 9  # channels x codebooks per frame
by_hand = 62 + n_full * math.ceil(values * 431 * 10 / 8) + math.ceil(values * rest * 10 / 8)
song = dac_minimal.CompressedAudio(
    torch.zeros(2, 9, S_song, dtype=torch.long), SR, T, SR, 512, chunk_frames=431
)
assert by_hand == song.nbytes
official_song = official_dac_bytes(song.codes)
pcm_song = 44 + 2 * 2 * T
print(
    f"{S_song} frames: ours {by_hand / 1e3:.1f} kB, official {official_song / 1e3:.1f} kB "
    f"({official_song / by_hand:.2f}x), PCM {pcm_song / 1e6:.1f} MB ({pcm_song / by_hand:.0f}x)"
)
assert 1.59 < official_song / by_hand < 1.61

# %% [markdown]
# **Exercise 2.** Write `code_at(data, c, q, t)`, which returns the code of channel `c`, codebook `q`, frame `t`
# straight from the bytes of a `.dacm` file, reading only the header fields it needs and the two or three
# bytes that hold the code (no unpacking of the whole payload). Test it on a stereo file with several chunks.


# %% jupyter={"source_hidden": true} tags=["solution"]
def code_at(data: bytes, c: int, q: int, t: int) -> int:
    """One code from a .dacm file's bytes, by seeking to its bit position."""
    size = struct.unpack_from("<H", data, 6)[0]
    channels, n_q, b = struct.unpack_from("<HHB", data, 20)
    F = struct.unpack_from("<I", data, 26)[0]
    S = struct.unpack_from("<Q", data, 38)[0]
    chunk, i = divmod(t, F)
    frames = min(F, S - chunk * F)  # the last chunk may be shorter
    chunk_start = size + chunk * math.ceil(channels * n_q * F * b / 8)
    bit = ((c * n_q + q) * frames + i) * b
    first, last = chunk_start + bit // 8, chunk_start + (bit + b - 1) // 8
    window = int.from_bytes(
        data[first : last + 1], "big"
    )  # the bytes holding the code, as one integer
    n_bits = 8 * (last - first + 1)
    return (window >> (n_bits - bit % 8 - b)) & ((1 << b) - 1)


g = torch.Generator().manual_seed(0)
stereo = dac_minimal.CompressedAudio(
    torch.randint(0, 1024, (2, 3, 30), generator=g), SR, 30 * 512, SR, 512, chunk_frames=7
)  # 4 full chunks of 7 frames and one of 2
blob = stereo.to_bytes()
assert all(
    code_at(blob, c, q, t) == stereo.codes[c, q, t]
    for c in range(2)
    for q in range(3)
    for t in range(30)
)
print("code_at matches all", stereo.codes.numel(), "codes")

# %% [markdown]
# **Exercise 3.** With `decode_in_chunks` from section 5, find the smallest margin (in frames) at which the
# chunked decoding of `whole.codes` differs from the one-pass decoding by less than $10^{-5}$ for chunks of
# 43 frames. Is it larger or smaller than the receptive-field margin, and why can the package not use it?

# %% jupyter={"source_hidden": true} tags=["solution"]
sub = whole.codes[
    :, :, : 3 * CHUNK
]  # three chunks are enough to see the seams, and three times cheaper
with torch.inference_mode():
    sub_reference = model.decode_codes(sub)[:, 0]


def chunk_error(m: int) -> float:
    return (decode_in_chunks(sub, CHUNK, m) - sub_reference).abs().max().item()


lo, hi = 0, dec_margin  # the error falls with the margin: bisect for the first one under 1e-5
assert chunk_error(hi) < 1e-5
while lo < hi:
    mid = (lo + hi) // 2
    lo, hi = (mid + 1, hi) if chunk_error(mid) >= 1e-5 else (lo, mid)
print(f"smallest margin with error < 1e-5: {lo} frames; receptive-field margin: {dec_margin}")
assert lo <= dec_margin and chunk_error(lo) < 1e-5
# The far taps of these particular weights contribute less than 1e-5; other weights (another training run,
# the official model) can weigh them differently. Only the receptive field guarantees equality for any weights.
