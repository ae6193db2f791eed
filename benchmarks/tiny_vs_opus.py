"""The tiny codec after 5 and 15 minutes of CPU training vs Opus at 8, 12 and 16 kbps (issue 5's
bar), and its codebook utilization on held-out toy clips (issue 7's bar).

    # 15 minutes, 2 threads:
    python benchmarks/tiny_vs_opus.py --save benchmarks/reference_curves/tiny_15min.pt
    # a quick check of the machinery:
    python benchmarks/tiny_vs_opus.py --minutes 1 --snapshots 0.5 1 --no-opus
    # the same encoder and decoder, unquantized:
    python benchmarks/tiny_vs_opus.py --no-quantizer --no-opus
    # score a saved model at 1, 4 and 9 codebooks, per source of the real held-out sets:
    python benchmarks/tiny_vs_opus.py --evaluate benchmarks/reference_curves/tiny_15min.pt \\
        --real data/real --by-source --codebooks 1 4 9
    # the paper's recipe:
    python benchmarks/tiny_vs_opus.py --set lr=1e-4 lr_schedule=exponential gan_start=0 \\
        revive_every=0

Trains ``DAC.from_preset("tiny")`` with the package's trainer and the tiny preset's recipe
(``train.RECIPES["cpu"]``; ``--set FIELD=VALUE`` overrides any ``TrainConfig`` field) on the toy
corpus's train split, counting only the time spent in training steps (not evaluation). Each
snapshot is then evaluated at all 9 codebooks (7.75 kbps) on held-out clips: a toy test split of 24
clips of 2 s per domain, made with a seed that no training split uses (clips the codec never saw;
the trainer's ``valid`` split, 4 clips per domain, is too small to rank codecs) and, when the
machine has them, real recordings shipped by Debian (``alsa-utils``: a person saying the names of
the speaker channels; ``sound-theme-freedesktop``: recorded and synthesised desktop sounds), never
used for training. Every clip is mono, at 44.1 kHz and normalised to -24 LUFS, the training
loudness. Opus is ffmpeg's libopus at 48 kHz, resampled back and aligned for its delay
(``dac_minimal.evaluate.baselines``); its measured bitrate is printed beside the requested one.
The score is the mel distance (the training mel loss, lower is better). Codebook utilization is
measured on the 72 toy test clips: 12,456 frames, about 12 per entry, so that a well-used codebook
can show it.
"""

from __future__ import annotations

import argparse
import copy
import glob
import json
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from dac_minimal import DAC
from dac_minimal.data import ensure_toy_corpus, ensure_toy_split, normalize_loudness
from dac_minimal.evaluate.baselines import codec_roundtrip, ffmpeg_available
from dac_minimal.evaluate.metrics import CodebookUtilization, codebook_utilization, mel_distance
from dac_minimal.train import TrainConfig, Trainer
from dac_minimal.utils.audio import find_audio_files, load_audio, to_mono

SR = 44100
PROBE_STEPS = 100  # steps timed before the schedule's length is fixed
TEST_SEED = 2_000_000  # the toy corpus uses seed 0 (train) and 1,000,000 (valid)
REAL = ["/usr/share/sounds/alsa/*.wav", "/usr/share/sounds/freedesktop/stereo/*.oga"]


def load_clip(path: Path, max_seconds: float = 4.0) -> np.ndarray | None:
    """Mono ``(T,)`` float32 at 44.1 kHz, at most ``max_seconds``, at -24 LUFS (the training
    loudness); ``None`` when shorter than 0.25 s (too short for a meaningful score) or silent. A
    file longer than three times ``max_seconds`` (a music track) is cut a third of the way in,
    past its intro."""
    audio, _ = load_audio(path, SR)
    x = to_mono(audio)[0]
    n = int(max_seconds * SR)
    start = x.size // 3 if x.size > 3 * n else 0
    x = x[start : start + n]
    if x.size < SR // 4 or np.abs(x).max() < 1e-4:
        return None
    return normalize_loudness(x, SR, -24.0).astype(np.float32)


def held_out_clips(
    max_seconds: float = 4.0,
    per_domain: int = 24,
    real_corpus: str | None = None,
    by_source: bool = False,
) -> dict[str, list[np.ndarray]]:
    """``{"toy/<domain>": [...], "real": [...], "real/<domain>": [...]}``, each clip as
    ``load_clip`` returns it: the toy test split (``per_domain`` clips of 2 s per domain, see
    ``test_split``), the real recordings of ``REAL`` and, with ``real_corpus`` (a folder made by
    ``python -m dac_minimal.tools.corpus``), its held-out ``valid`` split by domain; with
    ``by_source`` also ``"real/<domain>/<source>"`` (the corpus's subfolders: ``freedesktop``,
    ``alsa-voices``, ``hedgewars-voices``, ...)."""
    sets: dict[str, list[Path]] = {}
    for path in sorted(test_split(per_domain).rglob("*.wav")):
        sets.setdefault(f"toy/{path.parent.name}", []).append(path)
    sets["real"] = [Path(p) for pattern in REAL for p in sorted(glob.glob(pattern))]
    if real_corpus:
        valid = Path(real_corpus) / "valid"
        for domain, path in find_audio_files(valid):
            sets.setdefault(f"real/{domain}", []).append(path)
            if by_source:
                source = path.relative_to(valid / domain).parts[0]
                sets.setdefault(f"real/{domain}/{source}", []).append(path)
    clips: dict[str, list[np.ndarray]] = {}
    for name, paths in sets.items():
        for path in paths:
            if (x := load_clip(path, max_seconds)) is not None:
                clips.setdefault(name, []).append(x)
    return clips


def codec_scores(
    model,
    clips: dict[str, list[np.ndarray]],
    quantize: bool = True,
    n_quantizers: int | None = None,
) -> dict[str, float]:
    """Mean mel distance per set with the first ``n_quantizers`` codebooks (default all;
    ``quantize=False``: the decoder gets the unquantized latent)."""
    model.eval()
    scores = {}
    with torch.inference_mode():
        for name, xs in clips.items():
            values = []
            for x in xs:
                t = torch.from_numpy(x)[None, None]
                if quantize:
                    codes = model.encode(t, n_quantizers).codes
                    y = model.decode_codes(codes, length=t.shape[-1])
                else:
                    y = model.decode(model.encoder(model.preprocess(t)), length=t.shape[-1])
                values.append(mel_distance(y[0, 0].numpy(), x, SR))
            scores[name] = float(np.mean(values))
    return scores


def bypass_quantizer(model) -> None:
    """Turn ``model`` into a plain autoencoder for training, in place: its quantizer returns the
    latent ``z`` unchanged as ``z_q``, with zero codebook and commitment losses (the codes are still
    computed, unused), so the decoder learns from the encoder's continuous latent. A diagnostic,
    not a codec: it measures what the architecture reaches in the time budget when quantization
    costs nothing."""
    quantize = model.quantizer.forward

    def forward(z: torch.Tensor, n_quantizers: int | None = None):
        zero = z.new_zeros(())
        return quantize(z, n_quantizers)._replace(z_q=z, commitment_loss=zero, codebook_loss=zero)

    model.quantizer.forward = forward


def test_split(per_domain: int = 24) -> Path:
    """The toy test split: clips from a seed no split of the training corpus uses (2 s each); 24
    per domain = 144 s = 12,456 frames, about 12 per entry of a 1024-entry codebook. Made on first
    use beside the toy corpus's splits."""
    return ensure_toy_split(
        ensure_toy_corpus().train.parent / f"test_{per_domain}", per_domain, seed=TEST_SEED
    )


def utilization(model, clips: list[np.ndarray]) -> CodebookUtilization:
    model.eval()
    with torch.inference_mode():
        codes = [model.encode(torch.from_numpy(x)[None, None]).codes[0].numpy() for x in clips]
    return codebook_utilization(codes, model.config.codebook_size)


def opus_scores(clips: dict[str, list[np.ndarray]], kbps: float) -> tuple[dict[str, float], float]:
    scores, rates = {}, []
    for name, xs in clips.items():
        values = []
        for x in xs:
            rt = codec_roundtrip(x, SR, "opus", kbps)
            values.append(mel_distance(rt.audio.astype(np.float32), x, SR))
            rates.append(rt.kbps)
        scores[name] = float(np.mean(values))
    return scores, float(np.mean(rates))


#: The clips ``--clips`` writes: (name, held-out source folder of the corpus's ``valid`` split).
CLIP_SOURCES = [
    ("speech", "speech/hedgewars-voices"),  # the held-out speakers
    ("music", "music/supertuxkart-music"),  # held-out tracks
    ("effect", "general/freedesktop"),  # desktop sounds, never trained on
]


def write_clips(model, corpus: str, out: Path, seconds: float = 3.0) -> list[dict]:
    """For the longest held-out file of each ``CLIP_SOURCES`` folder: its first ``seconds`` (a
    third of the way into a long track) as ``<name>_original.ogg`` and decoded with 1, 4 and 9
    codebooks as ``<name>_<n>cb.ogg`` (Ogg Vorbis at about 100 kbps, far above the codec's rate,
    so that what a listener hears is the codec), plus the manifest's record of each source."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((Path(corpus) / "manifest.json").read_text())
    records = {r["path"]: r for r in manifest["files"]}
    written = []
    for name, folder in CLIP_SOURCES:
        files = sorted((Path(corpus) / "valid" / folder).rglob("*.*"))
        path = max(files, key=lambda f: sf.info(str(f)).duration)
        x = load_clip(path, seconds)
        versions = {"original": x}
        with torch.inference_mode():
            t = torch.from_numpy(x)[None, None]
            for n in (1, 4, 9):
                codes = model.eval().encode(t, n).codes
                versions[f"{n}cb"] = model.decode_codes(codes, length=t.shape[-1])[0, 0].numpy()
        for version, y in versions.items():
            sf.write(
                out / f"{name}_{version}.ogg",
                np.clip(y, -1, 1),
                SR,
                format="OGG",
                subtype="VORBIS",
                compression_level=0.5,
            )
        record = records[str(path.relative_to(corpus))]
        written.append({"clip": name, **{k: record[k] for k in ("path", "package", "licence")}})
    (out / "sources.json").write_text(json.dumps(written, indent=1) + "\n")
    return written


def train_snapshots(cfg: TrainConfig, args: argparse.Namespace) -> dict:
    """Train for ``args.minutes`` of training-step time; ``{minutes: (step, model copy)}`` at each
    of ``args.snapshots``."""
    trainer = Trainer(cfg)
    if args.no_quantizer:
        bypass_quantizer(trainer.generator)
    snapshots, pending = {}, sorted(args.snapshots)
    spent, steps = 0.0, 0
    for step, batch in trainer.batches():
        tick = time.perf_counter()
        trainer.train_step(step, batch)
        spent += time.perf_counter() - tick
        trainer.step = steps = step
        if step >= PROBE_STEPS and not args.steps:
            # The schedule's length (the linear one falls to 0 at cfg.steps): what fits in the time
            # budget at the pace so far, re-estimated every step so that the fall ends with the
            # budget.
            trainer.cfg.steps = max(step + 1, round(args.minutes * 60 * step / spent))
            if step == PROBE_STEPS:
                print(
                    f"{step / spent:.2f} steps/s over the first {step} steps: the schedule "
                    f"would end at step {trainer.cfg.steps} (re-estimated every step)",
                    flush=True,
                )
        done = (
            spent >= args.minutes * 60 or step >= trainer.cfg.steps
        )  # out of time, or the schedule ended
        while pending and (spent >= pending[0] * 60 or done):
            snapshots[pending.pop(0)] = (steps, copy.deepcopy(trainer.generator).cpu())
            print(
                f"snapshot at {spent / 60:.1f} min: step {steps} ({steps / spent:.2f} steps/s)",
                flush=True,
            )
        if not pending or done:
            break
    return snapshots


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=15.0, help="training-step time budget")
    parser.add_argument(
        "--snapshots", type=float, nargs="+", default=[5.0, 15.0], help="minutes to evaluate at"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="length of the learning-rate schedule (default: what fits in --minutes at the pace "
        f"so far, re-estimated every step from step {PROBE_STEPS} on)",
    )
    parser.add_argument("--batch-size", type=int, default=6)
    parser.add_argument("--duration", type=float, default=0.38)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="runs/tiny_vs_opus")
    parser.add_argument(
        "--train-per-domain",
        type=int,
        default=None,
        help="train on a toy corpus of this many clips per domain (default: the standard corpus)",
    )
    parser.add_argument(
        "--save", default=None, help="write the last snapshot's model here (DAC.save)"
    )
    parser.add_argument(
        "--no-quantizer",
        action="store_true",
        help="diagnostic: train and score the encoder and decoder without quantization (no bits; "
        "what the architecture reaches in the budget when quantization costs nothing; a --save'd "
        "model is decoded from its encoder's latent, not from codes)",
    )
    parser.add_argument(
        "--no-opus", action="store_true", help="skip the Opus rows (they do not change)"
    )
    parser.add_argument(
        "--real",
        default=None,
        metavar="CORPUS",
        help="also score on this real corpus's held-out split by domain (a folder made by "
        "python -m dac_minimal.tools.corpus); train on it with --set data=CORPUS/train",
    )
    parser.add_argument(
        "--evaluate",
        default=None,
        metavar="MODEL",
        help="no training: score this DAC.save file (e.g. the committed reference model)",
    )
    parser.add_argument(
        "--codebooks",
        type=int,
        nargs="+",
        default=[9],
        help="score the codec at these numbers of codebooks (default 9, 7.75 kbps)",
    )
    parser.add_argument(
        "--clips",
        default=None,
        metavar="DIR",
        help="with --real: write a held-out speech, music and effect clip decoded at 1, 4 and 9 "
        "codebooks (Ogg Vorbis) to DIR, for listening",
    )
    parser.add_argument(
        "--by-source",
        action="store_true",
        help="with --real: also one column per source folder of each held-out domain",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="override TrainConfig fields, e.g. --set lr=3e-4 gan_start=500",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clips = held_out_clips(real_corpus=args.real, by_source=args.by_source)
    test = [x for name, xs in clips.items() if name.startswith("toy/") for x in xs]
    # the corpus's held-out domains, each clip once (not again in its --by-source column)
    real_test = [
        x for n, xs in clips.items() if n.startswith("real/") and n.count("/") == 1 for x in xs
    ]
    print("held-out clips:", {k: len(v) for k, v in clips.items()})

    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        if not hasattr(TrainConfig, name):
            parser.error(f"--set: TrainConfig has no field {name!r}")
        if isinstance(getattr(TrainConfig, name), bool):
            overrides[name] = value.lower() in ("1", "true", "yes")
            continue
        for kind in (int, float, str):
            try:
                overrides[name] = kind(value)
                break
            except ValueError:
                continue
    if args.train_per_domain:
        root = ensure_toy_corpus().train.parent.parent / f"toy_{args.train_per_domain}"
        overrides.setdefault(
            "data", str(ensure_toy_corpus(root, n_per_domain=args.train_per_domain).train)
        )
    cfg = TrainConfig(
        preset="tiny",
        out=args.out,
        steps=args.steps or 10**9,
        batch_size=args.batch_size,
        duration=args.duration,
        threads=args.threads,
        log_every=0,
        val_every=0,
        sample_every=0,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
        **overrides,
    )
    print(
        "training config:",
        {
            k: getattr(cfg, k)
            for k in (
                "lr",
                "lr_schedule",
                "warmup",
                "gan_start",
                "revive_every",
                "quantizer_dropout",
            )
        },
    )
    if args.evaluate:
        snapshots = {None: (None, DAC.load(args.evaluate))}
    else:
        snapshots = train_snapshots(cfg, args)
    if args.save and not args.evaluate:
        last_step, last_model = snapshots[max(snapshots)]
        last_model.save(args.save)
        print(f"saved the model of step {last_step} to {args.save}")
    if args.clips and args.real:
        last_model = snapshots[max(snapshots, key=lambda k: k or 0)][1]
        for record in write_clips(last_model, args.real, Path(args.clips)):
            print(f"clip {record['clip']}: {record['path']} ({record['licence']})")
    rows = []
    for minutes, (step, model) in snapshots.items():
        what = args.evaluate if minutes is None else f"{minutes:g} min CPU ({step} steps)"
        if args.no_quantizer:
            rows.append(
                (f"tiny, no quantizer, {what}", float("inf"), codec_scores(model, clips, False))
            )
            continue
        for n in args.codebooks:
            scores = codec_scores(model, clips, n_quantizers=n)
            rows.append((f"tiny codec, {what}, {n} codebooks", model.bitrate(n) / 1000, scores))
        for which, xs in (("toy", test), ("real", real_test)):
            if xs:
                u = utilization(model, xs)
                print(
                    f"{what}: codebook utilization on {len(xs)} held-out {which} clips: "
                    f"mean {u.mean:.1%}, per codebook "
                    + " ".join(f"{v:.0%}" for v in u.per_codebook)
                )
    if args.no_opus:
        pass
    elif ffmpeg_available("opus"):
        for kbps in (8, 12, 16):
            scores, measured = opus_scores(clips, kbps)
            rows.append((f"Opus {kbps} kbps (libopus)", measured, scores))
    else:
        print("ffmpeg with libopus not found: Opus rows skipped")
    names = list(clips)
    print(
        f"\nmel distance (lower is better) on held-out clips; "
        f"{args.batch_size} x {args.duration} s per step, {args.threads} threads"
    )
    print(f"| {'codec':50s} | kbps | " + " | ".join(f"{n:>13s}" for n in names) + " |")
    print("|" + "-" * 52 + "|------|" + "|".join("-" * 15 for _ in names) + "|")
    # one clip count per column, so that a reader can weigh each mean
    print(f"| {'(clips)':50s} |      | " + " | ".join(f"{len(clips[n]):13d}" for n in names) + " |")
    for label, kbps, scores in rows:
        print(
            f"| {label:50s} | {kbps:4.1f} | "
            + " | ".join(f"{scores[n]:13.3f}" for n in names)
            + " |"
        )


if __name__ == "__main__":
    main()
