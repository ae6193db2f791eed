"""The tiny codec after 5 and 15 minutes of CPU training vs Opus at 8, 12 and 16 kbps (issue 5's bar).

    python benchmarks/tiny_vs_opus.py                         # 15 minutes of training, snapshots at 5 and 15
    python benchmarks/tiny_vs_opus.py --minutes 1 --snapshots 0.5 1   # a quick check of the machinery

Trains ``DAC.from_preset("tiny")`` with the package's trainer (the official recipe's losses and optimiser) on the
toy corpus's train split, counting only the time spent in training steps (not validation). Each snapshot is then
evaluated at all 9 codebooks (7.75 kbps) on held-out clips: the toy corpus's ``valid`` split (clips the codec
never saw) and, when the machine has them, real recordings shipped by Debian (``alsa-utils``: a person saying the
names of the speaker channels; ``sound-theme-freedesktop``: recorded and synthesised desktop sounds), never used
for training. Every clip is mono, at 44.1 kHz and normalised to -24 LUFS, the training loudness. Opus is ffmpeg's
libopus at 48 kHz, resampled back and aligned for its delay (``dac_minimal.baselines``); its measured bitrate is
printed beside the requested one. The score is the mel distance (the training mel loss, lower is better).
"""

from __future__ import annotations

import argparse
import copy
import glob
import time
from pathlib import Path

import numpy as np
import torch

from dac_minimal.audio import load_audio, to_mono
from dac_minimal.baselines import codec_roundtrip, ffmpeg_available
from dac_minimal.data import ensure_toy_corpus, normalize_loudness
from dac_minimal.metrics import mel_distance
from dac_minimal.train import TrainConfig, Trainer

SR = 44100
REAL = ["/usr/share/sounds/alsa/*.wav", "/usr/share/sounds/freedesktop/stereo/*.oga"]


def held_out_clips(max_seconds: float = 4.0) -> dict[str, list[np.ndarray]]:
    """``{"toy/<domain>": [...], "real": [...]}``, mono (T,) float32 at 44.1 kHz, -24 LUFS."""
    sets: dict[str, list[np.ndarray]] = {}
    corpus = ensure_toy_corpus()
    for path in sorted(corpus.valid.rglob("*.wav")):
        sets.setdefault(f"toy/{path.parent.name}", []).append(path)
    sets["real"] = [Path(p) for pattern in REAL for p in sorted(glob.glob(pattern))]
    clips: dict[str, list[np.ndarray]] = {}
    for name, paths in sets.items():
        for path in paths:
            audio, _ = load_audio(path, SR)
            x = to_mono(audio)[0, : int(max_seconds * SR)]
            if x.size < SR // 4 or np.abs(x).max() < 1e-4:
                continue  # too short for a meaningful score, or silent
            clips.setdefault(name, []).append(normalize_loudness(x, SR, -24.0).astype(np.float32))
    return clips


def codec_scores(model, clips: dict[str, list[np.ndarray]]) -> dict[str, float]:
    model.eval()
    scores = {}
    with torch.inference_mode():
        for name, xs in clips.items():
            values = []
            for x in xs:
                t = torch.from_numpy(x)[None, None]
                y = model.decode_codes(model.encode(t).codes, length=t.shape[-1])
                values.append(mel_distance(y[0, 0].numpy(), x, SR))
            scores[name] = float(np.mean(values))
    return scores


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15.0, help="training-step time budget")
    parser.add_argument("--snapshots", type=float, nargs="+", default=[5.0, 15.0], help="minutes to evaluate at")
    parser.add_argument("--batch-size", type=int, default=6)
    parser.add_argument("--duration", type=float, default=0.38)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="runs/tiny_vs_opus")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clips = held_out_clips()
    print("held-out clips:", {k: len(v) for k, v in clips.items()})

    cfg = TrainConfig(preset="tiny", out=args.out, steps=10**9, batch_size=args.batch_size, duration=args.duration,
                      threads=args.threads, log_every=0, val_every=0, sample_every=0, ckpt_every=0, progress=False,
                      tensorboard=False)
    trainer = Trainer(cfg)
    snapshots, pending = {}, sorted(args.snapshots)
    spent, steps = 0.0, 0
    for step, batch in trainer.batches():
        tick = time.perf_counter()
        trainer.train_step(step, batch)
        spent += time.perf_counter() - tick
        trainer.step = steps = step
        while pending and spent >= pending[0] * 60:
            snapshots[pending.pop(0)] = (steps, copy.deepcopy(trainer.model).cpu())
            print(f"snapshot at {spent / 60:.1f} min: step {steps} ({steps / spent:.2f} steps/s)", flush=True)
        if not pending or spent >= args.minutes * 60:
            break

    rows = []
    for minutes, (step, model) in snapshots.items():
        rows.append((f"tiny codec, {minutes:g} min CPU ({step} steps), 9 codebooks", 44100 / 512 * 90 / 1000,
                     codec_scores(model, clips)))
    if ffmpeg_available("opus"):
        for kbps in (8, 12, 16):
            scores, measured = opus_scores(clips, kbps)
            rows.append((f"Opus {kbps} kbps (libopus)", measured, scores))
    else:
        print("ffmpeg with libopus not found: Opus rows skipped")
    names = list(clips)
    print(f"\nmel distance (lower is better) on held-out clips; {args.batch_size} x {args.duration} s per step, "
          f"{args.threads} threads")
    print(f"| {'codec':50s} | kbps | " + " | ".join(f"{n:>13s}" for n in names) + " |")
    print("|" + "-" * 52 + "|------|" + "|".join("-" * 15 for _ in names) + "|")
    for label, kbps, scores in rows:
        print(f"| {label:50s} | {kbps:4.1f} | " + " | ".join(f"{scores[n]:13.3f}" for n in names) + " |")


if __name__ == "__main__":
    main()
