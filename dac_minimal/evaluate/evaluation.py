"""Evaluate a codec on a folder of audio: the report's Table 1 and Figs. 5-7, per domain, bitrate.

For every clip and every number of codebooks n_q (bitrate = n_q · 86.13 frames/s · 10 bits), the
clip is encoded once, decoded from its first n_q codebooks, and compared with the original by every
metric in ``dac_minimal.evaluate.metrics``; codebook utilization and perplexity are counted over
all clips of a domain at once (they describe a set, not a clip). Opus and MP3 at the same
bitrate, through ffmpeg, give the baseline rows. Command line::

    python -m dac_minimal.evaluate --weights runs/ch08/tiny.pt --data data/toy/valid \\
        --n-quantizers 1 3 9 --baselines opus,mp3 --out runs/eval

writes ``metrics.csv`` and ``metrics.md`` (one row per domain, system and bitrate, means over
clips; domain "all" pools every clip), ``per_clip.csv``, and ``figures/*.png`` (waveform,
spectrogram and MFCC of original vs reconstruction, like the report's Figs. 5-7).

Data: ``--data DIR`` holds one subfolder per domain (``speech/``, ``music/``, ``general/``) with
wav/flac/ogg/mp3 files (searched recursively); files directly in DIR form a domain named after DIR.
Each file is mixed to mono, resampled to the model's rate and cut to ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

import dac_minimal.evaluate.metrics as M
from dac_minimal.evaluate.baselines import codec_roundtrip, ffmpeg_available
from dac_minimal.model import DAC
from dac_minimal.utils.audio import find_audio_files, load_audio, to_mono
from dac_minimal.utils.checks import MIN_SAMPLES
from dac_minimal.utils.files import atomic_path, default_device

#: The numbers each row carries, in table order. Codebook columns are empty for the baselines.
CLIP_METRICS = ("mel_distance", "stft_distance", "si_sdr_db", "snr_db", "mse", "mfcc_distance")
CODEBOOK_METRICS = ("codebook_utilization", "codebook_perplexity", "codebook_entropy_bits")
COLUMNS = ("domain", "system", "n_q", "kbps", "clips", *CLIP_METRICS, *CODEBOOK_METRICS)
#: The report's Table 1 (official 44.1 kHz model, 9 codebooks): for the chapter's comparison.
REPORT_TABLE1 = {"codebook_utilization": 0.9245, "snr_db": 27.86, "mse": 0.001835}


@dataclass
class Clip:
    """One evaluation clip: mono float32 ``audio`` ``(T,)`` at the model's rate."""

    domain: str
    name: str
    audio: np.ndarray


class Evaluation(NamedTuple):
    """``rows``: means per (domain, system, n_q); ``per_clip``: one row per clip, system and n_q."""

    rows: list[dict]
    per_clip: list[dict]


def load_clips(
    source: str | os.PathLike | Sequence[str | os.PathLike] | Mapping[str, Sequence[np.ndarray]],
    sample_rate: int,
    clips_per_domain: int | None = None,
    max_seconds: float | None = 10.0,
) -> list[Clip]:
    """Evaluation clips ``(T,)`` from a folder, a list of files, or in memory.

    A folder's subfolders are its domains; a listed file's domain is its parent folder; a dict
    ``{domain: [audio (T,), ...]}`` holds clips already at ``sample_rate``.

    Keeps the first ``clips_per_domain`` of each domain (sorted by path) and the first
    ``max_seconds`` of each clip. Raises ``ValueError`` naming a clip shorter than ``MIN_SAMPLES``.
    """
    if clips_per_domain is not None and clips_per_domain < 1:
        raise ValueError(f"clips_per_domain must be at least 1, got {clips_per_domain}")
    clips: list[Clip] = []
    if isinstance(source, Mapping):
        for domain, arrays in source.items():
            for i, a in enumerate(arrays):
                a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
                if a.ndim != 1:
                    raise ValueError(
                        f"in-memory clips must be shaped (T,), "
                        f"got {tuple(a.shape)} in domain {domain!r}"
                    )
                clips.append(Clip(domain, f"{domain}_{i:03d}", a.astype(np.float32)))
    else:
        if isinstance(source, (str, os.PathLike)):
            files = find_audio_files(source)
        else:
            files = [(Path(p).parent.name, Path(p)) for p in source]
        for domain, path in files:
            audio, _ = load_audio(path, sample_rate)
            clips.append(Clip(domain, path.stem, to_mono(audio)[0]))
    if not clips:
        raise ValueError("no clips to evaluate")
    kept, seen = [], {}
    for clip in clips:
        seen[clip.domain] = seen.get(clip.domain, 0) + 1
        if clips_per_domain is None or seen[clip.domain] <= clips_per_domain:
            if max_seconds is not None:
                clip.audio = clip.audio[: max(int(max_seconds * sample_rate), 1)]
            if clip.audio.shape[-1] < MIN_SAMPLES:
                raise ValueError(
                    f"clip {clip.domain}/{clip.name} is too short to evaluate: "
                    f"{clip.audio.shape[-1]} samples, need at least {MIN_SAMPLES}"
                )
            if not np.isfinite(clip.audio).all():
                raise ValueError(f"clip {clip.domain}/{clip.name} holds NaN or infinite samples")
            kept.append(clip)
    return kept


def clip_metrics(
    estimate: np.ndarray, reference: np.ndarray, sample_rate: int, visqol: bool = False
) -> dict:
    """Every per-clip metric of ``estimate`` vs ``reference``, both ``(T,)``: ``{name: float}``."""
    out = {
        "mel_distance": M.mel_distance(estimate, reference, sample_rate),
        "stft_distance": M.stft_distance(estimate, reference),
        "si_sdr_db": M.si_sdr_db(estimate, reference),
        "snr_db": M.snr_db(estimate, reference),
        "mse": M.mse(estimate, reference),
        "mfcc_distance": M.mfcc_distance(estimate, reference, sample_rate),
    }
    if visqol:
        out["visqol"] = M.visqol_score(estimate, reference, sample_rate)
    return out


@torch.no_grad()
def reconstruct(
    model: DAC, audio: np.ndarray, n_quantizers: Sequence[int], device: torch.device | str = "cpu"
) -> tuple[dict[int, np.ndarray], torch.Tensor]:
    """Encode ``audio`` ``(T,)`` once; decode it from its first k codebooks, each k in n_quantizers.

    RVQ is sequential, so the first k codes do not depend on how many follow: one encode serves
    every bitrate. Returns ``({k: reconstruction (T,)}, codes (N_q, S))``.
    """
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None, None].to(device)
    codes = model.encode(x).codes  # (1, N_q, S)
    outs = {
        k: model.decode_codes(codes[:, :k], length=x.shape[-1])[0, 0].float().cpu().numpy()
        for k in n_quantizers
    }
    return outs, codes[0].cpu()


def _check_n_quantizers(model: DAC, n_quantizers: Sequence[int] | None) -> list[int]:
    if n_quantizers is None:
        return list(range(1, model.n_codebooks + 1))
    ks = sorted({int(k) for k in n_quantizers})
    if not ks or ks[0] < 1 or ks[-1] > model.n_codebooks:
        raise ValueError(
            f"n_quantizers must lie in 1..{model.n_codebooks}, got {list(n_quantizers)}"
        )
    return ks


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _check_extras(baselines: Sequence[str], visqol: bool) -> None:
    """Raise before any work when a baseline is unknown or a needed optional tool is missing."""
    for codec in baselines:
        if codec not in ("opus", "mp3"):
            raise ValueError(f"unknown baseline {codec!r}; choose 'opus' and/or 'mp3'")
        if not ffmpeg_available(codec):
            raise RuntimeError(
                f"the {codec} baseline needs ffmpeg with its encoder: "
                "install ffmpeg (apt-get install ffmpeg)"
            )
    if visqol and not M.visqol_available():
        raise ImportError(
            "visqol=True needs the optional package visqol-python: pip install visqol-python"
        )


def _clip_rows(
    model: DAC,
    clip: Clip,
    ks: Sequence[int],
    baselines: Sequence[str],
    visqol: bool,
    device: torch.device,
) -> tuple[list[dict], torch.Tensor]:
    """The per-clip rows of one clip (DAC, then each baseline, at every n_q) and its codes.

    Codes are ``(N_q, S)``: all codebooks, for the domain's codebook statistics.
    """
    sr = model.sample_rate
    recons, codes = reconstruct(model, clip.audio, ks, device)
    rows = []
    for k in ks:
        kbps = model.bitrate(k) / 1000
        row = {"domain": clip.domain, "clip": clip.name, "system": "dac", "n_q": k, "kbps": kbps}
        rows.append(row | clip_metrics(recons[k], clip.audio, sr, visqol))
        for codec in baselines:
            trip = codec_roundtrip(clip.audio, sr, codec, kbps)
            row = row | {"system": codec, "kbps": trip.kbps}
            rows.append(row | clip_metrics(trip.audio, clip.audio, sr, visqol))
    return rows, codes


def evaluate(
    model: DAC,
    source: str | os.PathLike | Sequence[str | os.PathLike] | Mapping[str, Sequence[np.ndarray]],
    n_quantizers: Sequence[int] | None = None,
    baselines: Sequence[str] = (),
    clips_per_domain: int | None = None,
    max_seconds: float | None = 10.0,
    visqol: bool = False,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> Evaluation:
    """Evaluate ``model`` on ``source`` (see ``load_clips``) at each n_q in ``n_quantizers``.

    ``n_quantizers`` defaults to 1..N_q. ``baselines``: any of "opus", "mp3", each run at the
    model's bitrate for every n_q (needs ffmpeg; ``RuntimeError`` otherwise). The model is put in
    eval mode for the run and restored. Returns the per-domain means (``rows``, plus domain
    "all") and the per-clip rows.
    """
    ks = _check_n_quantizers(model, n_quantizers)
    _check_extras(baselines, visqol)
    clips = load_clips(source, model.sample_rate, clips_per_domain, max_seconds)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval().to(device)
    per_clip: list[dict] = []
    codes_by_domain: dict[str, list[torch.Tensor]] = {}
    try:
        for i, clip in enumerate(clips):
            start = time.perf_counter()
            rows, codes = _clip_rows(model, clip, ks, baselines, visqol, device)
            per_clip += rows
            codes_by_domain.setdefault(clip.domain, []).append(codes)
            if progress:
                seconds = time.perf_counter() - start
                print(
                    f"[{i + 1}/{len(clips)}] {clip.domain}/{clip.name}: {seconds:.1f} s",
                    file=sys.stderr,
                )
    finally:
        model.train(was_training)
    rows = summarize(per_clip, codes_by_domain, model.config.codebook_size, visqol)
    return Evaluation(rows, per_clip)


def summarize(
    per_clip: list[dict],
    codes_by_domain: Mapping[str, list[torch.Tensor]] | None = None,
    codebook_size: int = 1024,
    visqol: bool = False,
) -> list[dict]:
    """Mean of each metric per (domain, system, n_q), and over every clip as domain "all".

    Codebook statistics come from ``codes_by_domain`` (``{domain: [codes (N_q, S), ...]}``),
    counted over the first n_q codebooks of all of a domain's clips at once.
    """
    names = [*CLIP_METRICS, "visqol"] if visqol else list(CLIP_METRICS)
    domains = sorted({r["domain"] for r in per_clip})
    groups: dict[tuple, list[dict]] = {}
    for r in per_clip:
        for domain in (r["domain"], "all") if len(domains) > 1 else (r["domain"],):
            groups.setdefault((domain, r["system"], r["n_q"]), []).append(r)
    order = {d: i for i, d in enumerate([*domains, "all"])}
    rows = []
    for (domain, system, k), items in sorted(
        groups.items(), key=lambda g: (order[g[0][0]], g[0][1] != "dac", g[0][1], g[0][2])
    ):
        row = {
            "domain": domain,
            "system": system,
            "n_q": k,
            "kbps": _mean([r["kbps"] for r in items]),
            "clips": len(items),
        }
        row |= {name: _mean([r[name] for r in items]) for name in names}
        row |= dict.fromkeys(CODEBOOK_METRICS, math.nan)
        if system == "dac" and codes_by_domain:
            codes = [c[:k] for d, cs in codes_by_domain.items() if domain in (d, "all") for c in cs]
            stats = M.CodebookStats(k, codebook_size).update(codes)
            row["codebook_utilization"] = stats.utilization().mean
            row["codebook_perplexity"] = float(stats.perplexity().mean())
            row["codebook_entropy_bits"] = float(stats.entropy_bits().mean())
        rows.append(row)
    return rows


def evaluate_model(
    model: DAC,
    files_or_dir: str
    | os.PathLike
    | Sequence[str | os.PathLike]
    | Mapping[str, Sequence[np.ndarray]],
    n_quantizers_list: Sequence[int] | None = None,
    **kwargs,
) -> list[dict]:
    """The table rows of ``evaluate`` (means per domain, system and n_q); keywords as there."""
    return evaluate(model, files_or_dir, n_quantizers_list, **kwargs).rows


def _fmt(name: str, value) -> str:
    if isinstance(value, str) or isinstance(value, int):
        return str(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if name == "mse":
        return f"{value:.3e}"
    if name == "codebook_utilization":
        return f"{100 * value:.2f} %"
    if name in ("kbps", "si_sdr_db", "snr_db", "mfcc_distance", "visqol", "codebook_entropy_bits"):
        return f"{value:.2f}"
    if name == "codebook_perplexity":
        return f"{value:.1f}"
    return f"{value:.3f}"


def _columns(rows: list[dict]) -> list[str]:
    extra = [k for k in rows[0] if k not in COLUMNS] if rows else []
    return [c for c in COLUMNS if not rows or c in rows[0]] + extra


def markdown_table(rows: list[dict]) -> str:
    """The rows as a GitHub Markdown table (utilization in %, MSE in scientific notation)."""
    cols = _columns(rows)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(_fmt(c, r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_csv(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Write ``rows`` as CSV atomically (full float precision; inf and nan spelled out)."""
    cols = _columns(rows)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def read_table(path: str | os.PathLike) -> list[dict]:
    """Read a table written by ``write_csv`` back: one dict per row.

    Numbers come back as floats (empty cells as nan), n_q and clips as ints. Not
    ``dac_minimal.train.read_csv``, which reads a training log into columns of arrays.
    """
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        row = {}
        for k, v in r.items():
            if k in ("domain", "system", "clip"):
                row[k] = v
            elif k in ("n_q", "clips"):
                row[k] = int(v)
            else:
                row[k] = float(v) if v != "" else math.nan
        out.append(row)
    return out


def _subplots(ncols: int, title: str | None, figsize=(10, 3)):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=figsize, constrained_layout=True)
    if title:
        fig.suptitle(title)
    return fig, axes


def plot_waveforms(
    original: np.ndarray,
    reconstruction: np.ndarray,
    sample_rate: int,
    title: str | None = None,
    zoom_ms: float = 20.0,
):
    """Fig. 6: original and reconstruction overlaid.

    The whole clip on the left, ``zoom_ms`` around the loudest sample on the right.
    """
    x, y = np.asarray(original), np.asarray(reconstruction)
    fig, (ax_all, ax_zoom) = _subplots(2, title)
    t = np.arange(len(x)) / sample_rate
    for ax in (ax_all, ax_zoom):
        ax.plot(t, x, lw=0.6, label="original")
        ax.plot(t, y, lw=0.6, alpha=0.8, label="reconstruction")
        ax.set_xlabel("time (s)")
    peak, half = int(np.argmax(np.abs(x))), int(zoom_ms / 2000 * sample_rate)
    lo, hi = max(peak - half, 0), min(peak + half, len(x) - 1)
    ax_zoom.set_xlim(t[lo], t[hi])
    ax_all.set_ylabel("amplitude")
    ax_all.set_title("whole clip")
    ax_zoom.set_title(f"{zoom_ms:g} ms around the peak")
    ax_zoom.legend(loc="upper right", fontsize=8)
    return fig


def _db_spectrogram(x: np.ndarray, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    import librosa

    return librosa.amplitude_to_db(
        np.abs(librosa.stft(np.asarray(x, dtype=np.float32), n_fft=n_fft, hop_length=hop)),
        ref=1.0,
        amin=1e-5,
        top_db=None,
    )


def plot_spectrograms(
    original: np.ndarray, reconstruction: np.ndarray, sample_rate: int, title: str | None = None
):
    """Fig. 7: spectrograms of original and reconstruction.

    dB magnitudes of a 2048-sample Hann STFT, hop 512; time on x, frequency (kHz) on y.
    """
    specs = [_db_spectrogram(original), _db_spectrogram(reconstruction)]
    vmax = max(s.max() for s in specs)
    fig, axes = _subplots(2, title)
    extent = (0, len(original) / sample_rate, 0, sample_rate / 2000)
    for ax, spec, name in zip(axes, specs, ("original", "reconstruction")):
        im = ax.imshow(
            spec,
            origin="lower",
            aspect="auto",
            extent=extent,
            vmin=vmax - 90,
            vmax=vmax,
            cmap="magma",
        )
        ax.set_title(name)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    fig.colorbar(im, ax=axes, label="dB")
    return fig


def plot_mfcc(
    original: np.ndarray,
    reconstruction: np.ndarray,
    sample_rate: int,
    title: str | None = None,
    n_mfcc: int = 13,
):
    """Fig. 5: MFCCs (``metrics.mfcc``) of original and reconstruction, and their difference."""
    c, c_hat = M.mfcc(original, sample_rate, n_mfcc), M.mfcc(reconstruction, sample_rate, n_mfcc)
    fig, axes = _subplots(3, title)
    extent = (0, len(original) / sample_rate, -0.5, n_mfcc - 0.5)
    lim = np.abs(
        np.concatenate([c[1:], c_hat[1:]])
    ).max()  # c0 (log energy) is far larger: let it saturate
    for ax, m, name in zip(
        axes, (c, c_hat, c_hat - c), ("original", "reconstruction", "difference")
    ):
        im = ax.imshow(
            m, origin="lower", aspect="auto", extent=extent, vmin=-lim, vmax=lim, cmap="coolwarm"
        )
        ax.set_title(name)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("MFCC index")
    fig.colorbar(im, ax=axes)
    return fig


def save_figures(
    out_dir: str | os.PathLike,
    stem: str,
    original: np.ndarray,
    reconstruction: np.ndarray,
    sample_rate: int,
    title: str,
) -> list[Path]:
    """Write ``{stem}_{mfcc,waveform,spectrogram}.png`` into ``out_dir`` atomically.

    Returns the three paths.
    """
    import matplotlib.pyplot as plt

    paths = []
    for kind, plot in (
        ("mfcc", plot_mfcc),
        ("waveform", plot_waveforms),
        ("spectrogram", plot_spectrograms),
    ):
        fig = plot(original, reconstruction, sample_rate, title)
        path = Path(out_dir) / f"{stem}_{kind}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m dac_minimal.evaluate",
        description="Evaluate a DAC model per domain and bitrate, with Opus/MP3 baselines.",
    )
    p.add_argument(
        "--weights",
        required=True,
        help="a DAC.save file or an official descript-audio-codec weights.pth",
    )
    p.add_argument("--data", required=True, help="folder of domain subfolders holding audio files")
    p.add_argument(
        "--out",
        required=True,
        help="output folder for metrics.csv, metrics.md, per_clip.csv, figures/",
    )
    p.add_argument(
        "--n-quantizers",
        type=int,
        nargs="+",
        default=None,
        help="numbers of codebooks (default: 1..N_q)",
    )
    p.add_argument(
        "--clips", type=int, default=None, help="at most this many clips per domain (default: all)"
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=10.0,
        help="cut each clip to this length (default 10 s)",
    )
    p.add_argument("--baselines", default="", help="comma-separated: opus,mp3 (needs ffmpeg)")
    p.add_argument(
        "--figures", type=int, default=1, help="clips per domain to draw figures for (default 1)"
    )
    p.add_argument(
        "--visqol", action="store_true", help="add ViSQOL MOS-LQO (needs pip install visqol-python)"
    )
    p.add_argument("--device", default=None, help="e.g. cpu, cuda:0 (default: CUDA when present)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    try:
        model = DAC.load(args.weights)
        device = torch.device(args.device) if args.device else default_device()
        result = evaluate(
            model.to(device),
            args.data,
            args.n_quantizers,
            baselines,
            args.clips,
            args.max_seconds,
            visqol=args.visqol,
            device=device,
            progress=True,
        )
    except (ValueError, RuntimeError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    write_csv(out / "metrics.csv", result.rows)
    write_csv(out / "per_clip.csv", result.per_clip)
    table = markdown_table(result.rows)
    with atomic_path(out / "metrics.md") as tmp:
        tmp.write_text(f"# Evaluation of {args.weights} on {args.data}\n\n{table}")
    if args.figures > 0:
        clips = load_clips(args.data, model.sample_rate, args.figures, args.max_seconds)
        k = max(_check_n_quantizers(model, args.n_quantizers))
        for clip in clips:
            recon = reconstruct(model.eval(), clip.audio, [k], device)[0][k]
            stem = clip.name if clip.name.startswith(clip.domain) else f"{clip.domain}_{clip.name}"
            save_figures(
                out / "figures",
                f"{stem}_nq{k}",
                clip.audio,
                recon,
                model.sample_rate,
                f"{clip.domain}/{clip.name}, {k} codebooks ({model.bitrate(k) / 1000:.2f} kbps)",
            )
    print(table)
    print(
        f"wrote {out / 'metrics.csv'}, {out / 'metrics.md'}, {out / 'per_clip.csv'} "
        f"and figures in {out / 'figures'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
