"""CPU inference speed and memory of the codec.

1. Speed: encode + decode of 10 s of 44.1 kHz audio on 2 threads, for our model as built for
   training (weight norm recomputed every call; Snake's four-pass forward, ``layers.snake``), after
   ``prepare_for_inference(fast_convs=False)`` (weight norm folded, 1/α computed once),
   after ``prepare_for_inference()`` (the same, and the convolutions rewritten: polyphase
   transposed convolutions, channels-last activations), after
   ``prepare_for_inference(compile=True)`` (Snake fused by torch.compile), and, when the
   official ``dac`` package is importable in this environment, the official model with the same
   weights. The variants alternate (one warm-up each, then ``--repeats`` rounds of A B C D E;
   ``protocol.py``); medians and spreads are printed, and ratios only when the load average
   before the run did not exceed the threads. Compilation time is reported apart, with the
   audio length from which compiling pays for itself, and so is the time to prepare a copy of
   the model, with the length from which that pays.
2. Memory: peak resident memory (``ru_maxrss``, each case in a fresh process) to compress and
   decompress a 10-minute file in chunks versus a 10-second one.

    .venv/bin/python benchmarks/inference_speed.py                        # 44.1 kHz, random weights
    .venv/bin/python benchmarks/inference_speed.py --preset tiny          # quick
    .venv/bin/python benchmarks/inference_speed.py --weights weights.pth  # e.g. official weights
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import resource
import subprocess
import sys
import time

import torch
from protocol import alternate, load_average, report

from dac_minimal import DAC

AS_TRAINED = "ours, as trained (weight norm recomputed)"
PLAIN_CONVS = "ours, prepare_for_inference(fast_convs=False)"
PREPARED = "ours, prepare_for_inference()"
COMPILED = "ours, prepare_for_inference(compile=True)"
OFFICIAL = "official descript-audio-codec"


def test_signal(seconds: float, sample_rate: int) -> torch.Tensor:
    """A chord with vibrato plus a little noise, ``(1, 1, T)``: deterministic and not silent.

    Filled 10 s at a time so that making a long signal does not itself set the peak memory.
    """
    g = torch.Generator().manual_seed(0)
    x = torch.empty(int(seconds * sample_rate))
    block = 10 * sample_rate
    for start in range(0, x.numel(), block):
        t = torch.arange(start, min(start + block, x.numel())) / sample_rate
        chord = sum(
            0.15 * torch.sin(2 * math.pi * f * t + 3 * torch.sin(2 * math.pi * 5 * t))
            for f in (220, 277, 330)
        )
        x[start : start + t.numel()] = chord + 0.01 * torch.randn(t.shape, generator=g)
    return x[None, None]


def make_model(args) -> DAC:
    torch.manual_seed(0)
    model = DAC.load(args.weights) if args.weights else DAC.from_preset(args.preset)
    return model.eval()


def ours(model: DAC):
    return lambda x: model.decode_codes(model.encode(x).codes)


def official_model(model: DAC):
    """The official package's DAC with our weights, or None when ``dac`` is not importable here."""
    try:
        import dac  # noqa: F401  (descript-audio-codec)
    except ImportError:
        return None
    c = model.config
    theirs = dac.DAC(
        encoder_dim=c.encoder_dim,
        encoder_rates=list(c.encoder_rates),
        latent_dim=c.latent_dim,
        decoder_dim=c.decoder_dim,
        decoder_rates=list(c.decoder_rates),
        n_codebooks=c.n_codebooks,
        codebook_size=c.codebook_size,
        codebook_dim=c.codebook_dim,
        sample_rate=c.sample_rate,
    ).eval()
    wanted = set(theirs.state_dict())
    state = {}
    for key, value in model.state_dict().items():
        if key not in wanted:  # their legacy weight_norm names
            key = key.replace(".parametrizations.weight.original0", ".weight_g")
            key = key.replace(".parametrizations.weight.original1", ".weight_v")
        state[key] = value
    theirs.load_state_dict(state, strict=True)

    def encode_decode(x):
        z = theirs.encode(theirs.preprocess(x, c.sample_rate))[0]
        return theirs.decode(z)

    return encode_decode


def speed(args) -> None:
    torch.set_num_threads(args.threads)
    base = make_model(args)
    x = test_signal(args.seconds, base.sample_rate)
    print(
        f"speed: {args.seconds:g} s at {base.sample_rate} Hz, "
        f"preset/weights {args.weights or args.preset}, {torch.get_num_threads()} threads, "
        f"{args.repeats} alternated runs per variant after a warm-up each, {os.cpu_count()} CPUs"
    )
    coders = {AS_TRAINED: ours(base)}
    coders[PLAIN_CONVS] = ours(copy.deepcopy(base).prepare_for_inference(fast_convs=False))
    start = time.perf_counter()
    coders[PREPARED] = ours(copy.deepcopy(base).prepare_for_inference())
    prepare_s = time.perf_counter() - start
    if not args.no_compile:
        coders[COMPILED] = ours(copy.deepcopy(base).prepare_for_inference(compile=True))
    official = official_model(base)
    if official is not None:
        coders[OFFICIAL] = official
    else:
        print("  (the official package is not importable here: official timing skipped)")
    outputs = {}

    def run(name):
        def call():
            with torch.inference_mode():
                outputs[name] = coders[name](x)

        return call

    load_before = load_average()
    timings = alternate({name: run(name) for name in coders}, runs=args.repeats)
    reference = OFFICIAL if OFFICIAL in coders else AS_TRAINED
    report(timings, reference, args.threads, load_before, load_average())
    first = outputs[AS_TRAINED]
    for name, y in outputs.items():
        diff = (y[..., : first.shape[-1]] - first).abs().max().item()
        print(f"  {name:48s} max |output - as trained's| {diff:.1e}")
    by_name = {t.name: t for t in timings}
    saved_per_audio_s = (by_name[AS_TRAINED].median - by_name[PREPARED].median) / args.seconds
    verdict = (
        f"pays for itself from {prepare_s / saved_per_audio_s:.1f} s of audio"
        if saved_per_audio_s > 0
        else "never pays for itself here (not faster than the model as trained)"
    )
    print(f"  copying and preparing the model took {prepare_s:.2f} s; it {verdict}")
    if COMPILED in by_name:
        compiled, prepared = by_name[COMPILED], by_name[PREPARED]
        compile_s = compiled.warmup - compiled.median
        saved_per_audio_s = (prepared.median - compiled.median) / args.seconds
        verdict = (
            f"pays for itself from {compile_s / saved_per_audio_s:.0f} s of audio"
            if saved_per_audio_s > 0
            else "never pays for itself here (not faster than the prepared model)"
        )
        print(f"  compiling took about {compile_s:.0f} s (first call - median); it {verdict}")


def memory_case(args) -> None:
    """Child process: compress + decompress ``--memory-case`` minutes, print peak RSS as JSON."""
    torch.set_num_threads(args.threads)
    model = DAC.from_preset(args.memory_preset).eval().prepare_for_inference()
    x = test_signal(args.memory_case * 60, model.sample_rate)[0]
    chunk_seconds = args.chunk_seconds if args.chunk_seconds > 0 else None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    compressed = model.compress(x, chunk_seconds=chunk_seconds)
    y = model.decompress(compressed, chunk_seconds=chunk_seconds)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "before_mb": before / 1024,
                "peak_mb": peak / 1024,
                "seconds": seconds,
                "output_mb": y.numel() * 4 / 2**20,
                "file_bytes": compressed.nbytes,
            }
        )
    )


def memory(args) -> None:
    print(
        f"memory: compress + decompress with the {args.memory_preset} model, "
        f"{args.memory_threads} thread(s), peak RSS of a fresh process; "
        "'working' = peak − (model + input signal) − the decoded output buffer"
    )
    cases = (
        (10 / 60, args.chunk_seconds, "10 s, chunked"),
        (10.0, args.chunk_seconds, "10 min, chunked"),
        (1.0, 0, "1 min, one pass"),
    )
    for minutes, chunk_seconds, label in cases:
        cmd = [
            sys.executable,
            __file__,
            "--memory-case",
            str(minutes),
            "--memory-preset",
            args.memory_preset,
            "--chunk-seconds",
            str(chunk_seconds),
            "--threads",
            str(args.memory_threads),
        ]
        out = (
            subprocess.run(cmd, capture_output=True, text=True, check=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        working = r["peak_mb"] - r["before_mb"] - r["output_mb"]
        chunks = f"{chunk_seconds:g}-s chunks" if chunk_seconds else "no chunks"
        print(
            f"  {label:16s} ({chunks:11s}): peak {r['peak_mb']:6.0f} MB, "
            f"working {working:6.0f} MB, output {r['output_mb']:4.0f} MB; "
            f"{r['seconds']:4.0f} s; file {r['file_bytes'] / 1000:.0f} kB",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--preset", default="44khz", help="model for the speed test (random weights)"
    )
    parser.add_argument("--weights", help="checkpoint to time instead of a random preset model")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--memory-preset",
        default="tiny",
        help="model for the memory test (10 min of full-model "
        "coding takes tens of minutes on a small CPU)",
    )
    parser.add_argument(
        "--chunk-seconds", type=float, default=5.0, help="chunk length for the memory runs"
    )
    parser.add_argument(
        "--memory-threads",
        type=int,
        default=1,
        help="threads for the memory runs (the tiny model's small ops run best on one)",
    )
    parser.add_argument("--memory-case", type=float, help=argparse.SUPPRESS)  # minutes; internal
    args = parser.parse_args()
    if args.memory_case is not None:
        return memory_case(args)
    if not args.skip_speed:
        speed(args)
    if not args.skip_memory:
        memory(args)


if __name__ == "__main__":
    main()
