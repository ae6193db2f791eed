"""Training data: the project's own toy corpus, and a loader for any folder of audio.

Two halves, one idea ("what the codec is trained on"):

1. **A toy corpus** generated from a seed, at 44.1 kHz, in the three domains DAC trains on:
   speech-like (glottal pulses through formant filters), music-like (harmonic notes, chords and
   drums) and general sound (noise textures, sweeps, impacts). Every 4th clip of a domain is
   band-limited (as if recorded at 16-24 kHz) so the full-band detector has both kinds to tell
   apart. ``python -m dac_minimal.data`` writes it as WAV files under ``toy_root()``
   (``$DAC_MINIMAL_DATA/toy``, else ``~/.cache/dac_minimal/data/toy``).

2. **A loader** for a folder whose subfolders are domains (``speech/``, ``music/``,
   ``general/``) holding any format libsndfile reads (wav, flac, ogg/oga, opus, mp3, aiff, ...).
   It follows the paper's recipe: mono mix,
   resample to 44.1 kHz, random 0.38 s excerpts, loudness normalised (ITU-R BS.1770), random
   polarity and phase, equal numbers of each domain in every batch, full-band files preferred.
   Bad files are skipped with one warning per folder (counts and examples); a folder that
   cannot give a single batch fails
   with a ``ValueError`` before training starts, not hours in.

Shapes: clips are NumPy ``(T,)``; batches are float32 tensors ``(B, 1, T)`` with ``T =
round(duration * sample_rate)`` and domain labels ``(B,)`` (int64 indices into ``domains``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf
import torch
from scipy import signal

from dac_minimal.utils.audio import SNDFILE_READS, list_audio, resample, save_audio, to_mono
from dac_minimal.utils.files import atomic_path

SAMPLE_RATE = 44_100
DOMAINS = ("speech", "music", "general")
#: The environment variable naming the folder the toy corpus is generated in (``toy/`` below it).
DATA_ENV = "DAC_MINIMAL_DATA"
#: The held-out split draws from seeds this far away, so no validation clip is a training clip.
VALID_SEED_OFFSET = 1_000_000
#: Clip ``i`` of each domain is band-limited when ``i % BANDLIMIT_EVERY == BANDLIMIT_EVERY - 1``.
BANDLIMIT_EVERY = 4
#: Bump when the generator changes, so ``ensure_toy_corpus`` regenerates stale folders.
GENERATOR_VERSION = 1


# Formant frequencies F1-F4 (Hz) of a few vowels of an adult male voice (Peterson & Barney, 1952,
# rounded); higher voices scale them up (shorter vocal tract).
VOWELS = {
    "i": (270, 2290, 3010, 3500),
    "e": (530, 1840, 2480, 3500),
    "ae": (660, 1720, 2410, 3500),
    "a": (730, 1090, 2440, 3500),
    "o": (570, 840, 2410, 3500),
    "u": (300, 870, 2240, 3500),
    "schwa": (500, 1500, 2500, 3500),
}
FORMANT_BANDWIDTHS = (60, 90, 120, 150, 250, 300, 350, 400)  # Hz, for F1-F8
# A real vocal tract has a resonance about every 1 kHz; the fixed F5-F8 stand in for them (Klatt's
# "higher-pole correction"), keeping vowels from falling silent above 4 kHz.
HIGHER_FORMANTS = (4500, 5500, 6500, 7500)
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = (
    (0, 5, 3, 4),
    (0, 3, 4, 0),
    (5, 3, 0, 4),
    (0, 4, 5, 3),
)  # scale degrees of chord roots


def toy_root() -> Path:
    """Where notebooks and tests find the toy corpus: ``$DAC_MINIMAL_DATA/toy``, by default
    ``~/.cache/dac_minimal/data/toy`` (a user's cache, so it works wherever the package is
    installed, not only from a clone of the repository)."""
    base = os.environ.get(DATA_ENV) or Path.home() / ".cache" / "dac_minimal" / "data"
    return Path(base).expanduser() / "toy"


def _clip_rng(seed: int, domain: str, index: int) -> np.random.Generator:
    """One independent random stream per (seed, domain, clip index): clips never share draws."""
    return np.random.default_rng([seed, DOMAINS.index(domain), index])


def _fade(n: int, attack: int, release: int) -> np.ndarray:
    """Envelope of ``n`` samples rising over ``attack``, falling over ``release`` (raised
    cosine)."""
    env = np.ones(n)
    attack, release = min(attack, n), min(release, n)
    if attack > 0:
        env[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    if release > 0:
        env[n - release :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(release) / release)
    return env


def _resonator(freq: float, bandwidth: float, sr: int) -> tuple[list[float], list[float]]:
    """Two-pole resonator (Klatt, 1980) at ``freq`` Hz, -3 dB width ``bandwidth`` Hz, unit gain
    at 0 Hz."""
    r = math.exp(-math.pi * bandwidth / sr)
    a1, a2 = -2.0 * r * math.cos(2.0 * math.pi * freq / sr), r * r
    return [1.0 + a1 + a2], [1.0, a1, a2]


def _formant_filter(x: np.ndarray, formants: Sequence[float], sr: int) -> np.ndarray:
    """The vocal tract as a cascade of resonators, one per formant (skipping any above Nyquist)."""
    for freq, bw in zip((*formants, *HIGHER_FORMANTS), FORMANT_BANDWIDTHS):
        if freq < 0.45 * sr:
            b, a = _resonator(freq, bw, sr)
            x = signal.lfilter(b, a, x)
    return x


def _highpass_noise(
    rng: np.random.Generator, n: int, cutoff: float, sr: int, order: int = 4
) -> np.ndarray:
    """White noise above ``cutoff`` Hz: its spectrum reaches Nyquist (fricatives, hi-hats, rain)."""
    sos = signal.butter(order, min(cutoff, 0.45 * sr), btype="highpass", fs=sr, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(n))


def _coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum ~ 1/f^exponent (0 white, 1 pink, 2 brown), unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=float)
    f[0] = 1.0
    x = np.fft.irfft(spec * f ** (-exponent / 2.0), n)
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _glottal_source(rng: np.random.Generator, f0: np.ndarray, sr: int) -> np.ndarray:
    """Voiced excitation: one pulse per glottal period, with jitter and shimmer.

    ``f0`` is the pitch contour in Hz, one value per sample. Each period lasts ``1/f0`` with ~1 %
    random jitter; pulses are placed at fractional sample positions (split between two samples) so
    the pitch is not quantised to whole samples. Two one-pole low-passes shape the pulse (-12 dB
    per octave) and a first difference models radiation at the lips (+6 dB per octave).
    """
    n = len(f0)
    pulses = np.zeros(n + 1)
    t = rng.uniform(0.0, sr / f0[0])
    while t < n - 1:
        i = int(t)
        frac, amp = t - i, 1.0 + 0.05 * rng.standard_normal()
        pulses[i] += amp * (1.0 - frac)
        pulses[i + 1] += amp * frac
        t += sr / f0[i] * (1.0 + 0.01 * rng.standard_normal())
    glottis = np.convolve([1.0, -0.97], [1.0, -0.97])
    return signal.lfilter([1.0, -1.0], glottis, pulses[:n])


def _speech(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Speech-like audio: syllables of voiced vowels with fricative and plosive onsets, and breaths.

    Pitch ``f0`` between 90 and 220 Hz (male to female range) with slow intonation and a falling
    declination line; syllables of 120-300 ms with raised-cosine envelopes, separated by short gaps
    and now and then a pause with an audible breath.
    """
    t = np.arange(n) / sr
    f0_mean = rng.uniform(90.0, 220.0)
    tract_scale = 1.0 + 0.2 * (f0_mean - 90.0) / 130.0
    wander = sum(
        rng.uniform(0.03, 0.08)
        * np.sin(2 * np.pi * rng.uniform(0.3, 2.0) * t + rng.uniform(0, 2 * np.pi))
        for _ in range(2)
    )
    f0 = f0_mean * (1.0 + wander) * (1.0 - 0.08 * t / max(t[-1], 1e-9))
    source = _glottal_source(rng, f0, sr)
    breathiness = 0.02 * rng.standard_normal(n)  # turbulent airflow through the glottis
    out = np.zeros(n)
    pre = int(0.03 * sr)  # filter pre-roll so each syllable starts with settled resonators
    pos = int(rng.uniform(0.0, 0.1) * sr)
    while pos < n:
        onset = rng.random()
        if onset < 0.45:  # fricative ("s", "f", "sh"): high-passed noise, reaches Nyquist
            length = min(int(rng.uniform(0.05, 0.12) * sr), n - pos)
            noise = _highpass_noise(rng, length, rng.uniform(2500, 6000), sr)
            out[pos : pos + length] += 0.08 * noise * _fade(length, length // 3, length // 3)
            pos += length
        elif onset < 0.65:  # plosive burst ("t", "k", "p")
            length = min(int(rng.uniform(0.005, 0.015) * sr), n - pos)
            out[pos : pos + length] += 0.3 * rng.standard_normal(length) * _fade(length, 0, length)
            pos += length + int(0.01 * sr)
        length = min(int(rng.uniform(0.12, 0.30) * sr), n - pos)
        if length <= 0:
            break
        vowel = np.array(list(VOWELS.values())[rng.integers(len(VOWELS))]) * tract_scale
        start = max(pos - pre, 0)
        excitation = source[start : pos + length] + breathiness[start : pos + length]
        voiced = _formant_filter(excitation, vowel, sr)[pos - start :]
        env = _fade(length, int(rng.uniform(0.02, 0.04) * sr), int(rng.uniform(0.04, 0.08) * sr))
        out[pos : pos + length] += voiced * env
        pos += length
        if rng.random() < 0.2:  # a pause with a breath: soft noise through a neutral vocal tract
            length = min(int(rng.uniform(0.15, 0.35) * sr), n - pos)
            if length > 0:
                breath = _formant_filter(rng.standard_normal(length), VOWELS["schwa"], sr)
                out[pos : pos + length] += 0.05 * breath * _fade(length, length // 2, length // 2)
                pos += length
        pos += int(rng.uniform(0.02, 0.12) * sr)
    return out


def _midi_to_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


def _harmonic_tone(
    rng: np.random.Generator, f0: float, n: int, sr: int, rolloff: float
) -> np.ndarray:
    """``n`` samples of a tone with every partial ``k * f0`` below Nyquist, amplitude
    ``k^-rolloff``.

    A wavetable: one period is built with an inverse FFT (partial k in bin k), then read at
    ``f0`` with linear interpolation. ``rolloff`` 1 is bright (sawtooth-like, partials up to
    ~22 kHz), 2 is mellow. Normalised to unit RMS so notes of any timbre are equally loud.
    """
    k = np.arange(1, int((0.5 * sr - 1.0) // f0) + 1)
    size = 1 << int(np.ceil(np.log2(16 * k[-1] + 2)))
    spec = np.zeros(size // 2 + 1, dtype=complex)
    spec[k] = k ** (-rolloff) * np.exp(1j * rng.uniform(0, 2 * np.pi, len(k)))
    table = np.fft.irfft(spec, size)
    table /= np.sqrt(np.mean(table**2))
    phase = (f0 * np.arange(n) / sr) % 1.0 * size
    i = phase.astype(int)
    frac = phase - i
    return table[i] * (1.0 - frac) + table[(i + 1) % size] * frac


def _adsr(
    n: int, sr: int, attack: float, decay: float, sustain: float, release: float
) -> np.ndarray:
    """Attack-decay-sustain-release envelope (times in s) of a note held for ``n`` samples, plus
    release."""
    a, d, r = (max(int(x * sr), 1) for x in (attack, decay, release))
    held = np.concatenate(
        [np.linspace(0, 1, a, endpoint=False), np.linspace(1, sustain, d, endpoint=False)]
    )
    held = np.concatenate([held, np.full(max(n - len(held), 0), sustain)])[:n]
    return np.concatenate([held, np.linspace(held[-1], 0.0, r)])


def _add(out: np.ndarray, x: np.ndarray, pos: int) -> None:
    """Mix ``x`` into ``out`` starting at ``pos``, cutting whatever runs past the end."""
    end = min(pos + len(x), len(out))
    if end > pos:
        out[pos:end] += x[: end - pos]


def _drum(rng: np.random.Generator, kind: str, sr: int) -> np.ndarray:
    """One drum hit: a kick (falling sine), a snare (tone + band noise) or a hi-hat (noise above
    7 kHz)."""
    if kind == "kick":
        t = np.arange(int(0.35 * sr)) / sr
        freq = 50.0 + 110.0 * np.exp(-t / 0.03)  # the pitch drop makes the "thump"
        return np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.12)
    if kind == "snare":
        t = np.arange(int(0.2 * sr)) / sr
        sos = signal.butter(2, [1000, 9000], btype="bandpass", fs=sr, output="sos")
        noise = signal.sosfilt(sos, rng.standard_normal(len(t)))
        return 0.5 * np.sin(2 * np.pi * 185.0 * t) * np.exp(-t / 0.04) + 1.5 * noise * np.exp(
            -t / 0.06
        )
    t = np.arange(int(0.08 * sr)) / sr
    return 0.8 * _highpass_noise(rng, len(t), 7000.0, sr) * np.exp(-t / rng.uniform(0.015, 0.04))


def _music(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Music-like audio: a chord progression, a melody above it and (usually) a drum pattern.

    Tempo 80-150 BPM, a random major or minor key; chords are triads held two beats with a soft
    timbre, the melody plays eighth or quarter notes with a brighter one. Notes are equal-tempered
    (A4 = 440 Hz), so every partial sits on a harmonic of a note on that grid.
    """
    beat = 60.0 / rng.uniform(80.0, 150.0) * sr
    root = int(rng.integers(45, 57))  # MIDI A2..G#3
    scale = MAJOR if rng.random() < 0.5 else MINOR
    progression = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]

    def note_of(degree: int, octave: int) -> int:
        return root + 12 * (octave + degree // 7) + scale[degree % 7]

    out = np.zeros(n)
    chord_rolloff, lead_rolloff = rng.uniform(1.4, 2.2), rng.uniform(0.9, 1.4)
    chord_attack = rng.uniform(0.005, 0.08)
    for c in range(int(np.ceil(n / (2 * beat)))):
        degree = progression[c % len(progression)]
        length = int(2 * beat)
        for step in (0, 2, 4):  # root, third, fifth of the triad
            f0 = _midi_to_hz(note_of(degree + step, 1))
            env = _adsr(length, sr, chord_attack, 0.2, 0.6, 0.15)
            _add(
                out,
                0.25 * _harmonic_tone(rng, f0, len(env), sr, chord_rolloff) * env,
                int(c * 2 * beat),
            )
    step = beat / 2 if rng.random() < 0.5 else beat
    for m in range(int(np.ceil(n / step))):
        if rng.random() < 0.15:
            continue  # a rest
        f0 = _midi_to_hz(note_of(int(rng.integers(0, 8)), 2))
        env = _adsr(int(0.9 * step), sr, 0.01, 0.1, 0.5, 0.08)
        _add(out, 0.35 * _harmonic_tone(rng, f0, len(env), sr, lead_rolloff) * env, int(m * step))
    if rng.random() < 0.75:
        for h in range(int(np.ceil(n / (beat / 2)))):
            pos = int(h * beat / 2)
            if h % 4 == 0:
                _add(out, 0.9 * _drum(rng, "kick", sr), pos)
            if h % 4 == 2:
                _add(out, 0.5 * _drum(rng, "snare", sr), pos)
            _add(out, 0.25 * _drum(rng, "hihat", sr), pos)
    return out


def _general(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """General sound: a noise texture (rain, wind, pink or white noise) plus sweeps and impacts.

    Rain and white noise reach Nyquist; sweeps climb to 35-95 % of Nyquist; impacts ring with
    inharmonic modes (ratios of a free bar) that decay faster the higher they are.
    """
    t = np.arange(n) / sr
    texture = ("rain", "wind", "pink", "white")[rng.integers(4)]
    if texture == "rain":
        drops = np.zeros(n)
        hits = rng.integers(0, n, size=int(rng.uniform(200, 800) * n / sr))
        drops[hits] = rng.uniform(-1.0, 1.0, len(hits))
        bed = _highpass_noise(rng, n, rng.uniform(800, 2000), sr)
        bed /= np.sqrt(np.mean(bed**2)) + 1e-12
        x = 0.3 * bed + 2.0 * drops
    elif texture == "wind":
        gusts = 1.0 + 0.6 * np.sin(
            2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 2 * np.pi)
        )
        x = _coloured_noise(rng, n, rng.uniform(1.5, 2.0)) * gusts
    else:
        x = _coloured_noise(rng, n, 1.0 if texture == "pink" else 0.0)
    out = x * rng.uniform(0.05, 0.3)

    has_sweep, has_impact = rng.random() < 0.6, rng.random() < 0.6
    if has_sweep:
        length = int(min(rng.uniform(0.4, 1.5), n / sr) * sr)
        tt = np.arange(length) / sr
        low, high = rng.uniform(100, 800), rng.uniform(0.35, 0.95) * sr / 2
        f_start, f_end = (low, high) if rng.random() < 0.7 else (high, low)
        method = "logarithmic" if rng.random() < 0.5 else "linear"
        sweep = signal.chirp(tt, f0=f_start, t1=tt[-1] + 1e-9, f1=f_end, method=method)
        _add(
            out,
            0.5 * sweep * _fade(length, length // 10, length // 10),
            int(rng.integers(0, max(n - length, 1))),
        )
    if has_impact or not has_sweep:
        for _ in range(int(rng.integers(1, 5))):
            length = int(min(1.0, n / sr) * sr)
            tt = np.arange(length) / sr
            base = rng.uniform(150.0, 1500.0)
            hit = np.zeros(length)
            for m, ratio in enumerate((1.0, 2.756, 5.404, 8.933, 13.345)):
                freq = base * ratio * (1.0 + 0.03 * rng.standard_normal())
                if freq < 0.45 * sr:
                    tau = rng.uniform(0.1, 0.6) / (1.0 + m)
                    hit += (
                        np.sin(2 * np.pi * freq * tt + rng.uniform(0, 2 * np.pi))
                        * np.exp(-tt / tau)
                        / np.sqrt(1 + m)
                    )
            click = int(0.002 * sr)  # the contact itself: a broadband click
            hit[:click] += rng.standard_normal(click) * np.exp(-np.arange(click) / (click / 4))
            _add(out, rng.uniform(0.3, 1.0) * hit, int(rng.integers(0, n)))
    return out


def _band_limit(x: np.ndarray, cutoff: float, sr: int) -> np.ndarray:
    """Remove everything above ``cutoff`` Hz (a brick wall in the FFT), as a lower-rate recording
    would."""
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(len(x), 1.0 / sr) > cutoff] = 0.0
    return np.fft.irfft(spec, len(x))


_GENERATORS = {"speech": _speech, "music": _music, "general": _general}


def toy_clip(
    domain: str, seconds: float = 2.0, seed: int = 0, index: int = 0, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """One toy clip in memory: float32 ``(T,)`` with ``T = round(seconds * sample_rate)``.

    ``domain`` is "speech", "music" or "general". The clip depends only on ``(seed, domain,
    index)``: clip ``index`` of ``generate_toy_corpus(..., seed=seed)`` is this clip. Clips with
    ``index % 4 == 3`` are band-limited to 8, 11.025 or 12 kHz; the others are full band. The peak
    level is random (0.25-0.9) so loudness normalisation has something to do.
    """
    if domain not in _GENERATORS:
        raise ValueError(f"unknown toy domain {domain!r}; choose from {DOMAINS}")
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"seconds must be a positive number, got {seconds}")
    if sample_rate < 16_000:
        raise ValueError(
            f"the toy generator needs a sample rate of at least 16000 Hz, got {sample_rate}"
        )
    rng = _clip_rng(seed, domain, index)
    n = max(round(seconds * sample_rate), 1)
    x = _GENERATORS[domain](rng, n, sample_rate)
    if index % BANDLIMIT_EVERY == BANDLIMIT_EVERY - 1:
        cutoff = (8000.0, 11025.0, 12000.0)[rng.integers(3)]
        x = _band_limit(x, min(cutoff, 0.45 * sample_rate), sample_rate)
    x = x - x.mean()
    peak = np.max(np.abs(x))
    if peak > 0:
        x = x * (rng.uniform(0.25, 0.9) / peak)
    return x.astype(np.float32)


def _manifest(n_per_domain: int, seconds: float, seed: int, sample_rate: int) -> dict:
    files = [f"{d}/{d}_{i:03d}.wav" for d in DOMAINS for i in range(n_per_domain)]
    return {
        "generator_version": GENERATOR_VERSION,
        "n_per_domain": n_per_domain,
        "seconds": seconds,
        "seed": seed,
        "sample_rate": sample_rate,
        "files": files,
    }


MANIFEST_NAME = "toy_corpus.json"


def generate_toy_corpus(
    out_dir: str | os.PathLike,
    n_per_domain: int = 8,
    seconds: float = 2.0,
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
) -> list[Path]:
    """Write ``out_dir/{speech,music,general}/{domain}_{i:03d}.wav`` (16-bit) and return the paths.

    Each file is ``toy_clip(domain, seconds, seed, index=i)``. A manifest ``toy_corpus.json``,
    written last, records the parameters (``ensure_toy_corpus`` uses it to skip regeneration).
    Stale ``{domain}_NNN.wav`` files from a larger earlier run are removed; other files are left.
    """
    if n_per_domain < 1:
        raise ValueError(f"n_per_domain must be at least 1, got {n_per_domain}")
    out_dir = Path(out_dir)
    manifest = _manifest(n_per_domain, seconds, seed, sample_rate)
    paths = []
    for domain in DOMAINS:
        for i in range(n_per_domain):
            path = out_dir / domain / f"{domain}_{i:03d}.wav"
            paths.append(
                save_audio(path, toy_clip(domain, seconds, seed, i, sample_rate), sample_rate)
            )
        pattern = re.compile(rf"{domain}_\d{{3}}\.wav")
        for old in (out_dir / domain).glob(f"{domain}_*.wav"):
            if pattern.fullmatch(old.name) and int(old.stem.split("_")[-1]) >= n_per_domain:
                old.unlink()
    with atomic_path(out_dir / MANIFEST_NAME) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return paths


def _is_complete(out_dir: Path, manifest: dict) -> bool:
    try:
        if json.loads((out_dir / MANIFEST_NAME).read_text()) != manifest:
            return False
    except (OSError, ValueError):
        return False
    return all(
        (out_dir / f).is_file() and (out_dir / f).stat().st_size > 44 for f in manifest["files"]
    )


class ToyCorpus(NamedTuple):
    """The two splits of the toy corpus: ``train`` and held-out ``valid`` folders (domains
    inside)."""

    train: Path
    valid: Path


def ensure_toy_corpus(
    root: str | os.PathLike | None = None,
    n_per_domain: int = 8,
    n_valid_per_domain: int = 4,
    seconds: float = 2.0,
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
) -> ToyCorpus:
    """Generate the toy corpus under ``root`` unless it is already there, complete and current.

    Layout: ``root/train/{speech,music,general}/*.wav`` from ``seed`` and
    ``root/valid/{speech,music,general}/*.wav`` from ``seed + VALID_SEED_OFFSET`` (clips the model
    never trains on). ``root`` defaults to ``toy_root()`` (``$DAC_MINIMAL_DATA/toy``, else
    ``~/.cache/dac_minimal/data/toy``).
    """
    root = Path(root) if root is not None else toy_root()
    splits = ToyCorpus(root / "train", root / "valid")
    ensure_toy_split(splits.train, n_per_domain, seconds, seed, sample_rate)
    ensure_toy_split(
        splits.valid, n_valid_per_domain, seconds, seed + VALID_SEED_OFFSET, sample_rate
    )
    return splits


def ensure_toy_split(
    out_dir: str | os.PathLike,
    n_per_domain: int,
    seconds: float = 2.0,
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
) -> Path:
    """One folder of toy clips (``out_dir/{speech,music,general}/*.wav``), generated unless it is
    already there, complete and current. Used for the corpus's splits and for larger held-out
    test sets (a seed the training split does not use gives clips no model has seen)."""
    out_dir = Path(out_dir)
    if not _is_complete(out_dir, _manifest(n_per_domain, seconds, seed, sample_rate)):
        generate_toy_corpus(out_dir, n_per_domain, seconds, seed, sample_rate)
    return out_dir


class AudioDataWarning(UserWarning):
    """Files the loader skips (unreadable, silent, too short): once per folder when scanning it,
    once per file that fails later, while training."""


@dataclass
class DataConfig:
    """How excerpts are drawn and prepared; the defaults are the paper's recipe.

    sample_rate: Hz every file is resampled to (the codec's rate).
    duration: excerpt length in s (0.38 s in the official recipe: T = 16758 samples).
    loudness_db: target integrated loudness in LUFS (ITU-R BS.1770, K-weighted and gated); the
        report says -24 LUFS, the official code -16 dB. ``None`` keeps each file's level.
    max_peak: after normalisation an excerpt is scaled down if its peak exceeds this, so the codec
        never sees clipped input (a few percussive excerpts end up quieter than the target).
    augment: apply random polarity and phase (training batches only, never validation clips).
    polarity_prob: probability of multiplying an excerpt by -1.
    phase_prob: probability of a constant phase rotation: every frequency component is shifted by
        the same angle phi ~ U(-pi, pi) using the Hilbert transform H,
        ``x cos(phi) + H{x} sin(phi)``.
        The magnitude spectrum (what we hear) is unchanged; the waveform is not.
    fullband_prob: probability that an item is drawn from its domain's full-band files (when the
        domain has any); otherwise it is drawn from all of the domain's files.
    fullband_cutoff_hz, fullband_floor_db: a file is full band when the energy above the cutoff is
        at least ``floor_db`` dB relative to its total energy (a 16-bit band-limited file sits near
        -90 dB, real full-band recordings between -50 and -20 dB).
    silence_db: a file whose analysed audio peaks below this (dBFS) is silent and skipped.
    salient_db, salient_tries: an excerpt quieter than ``salient_db`` LUFS (a pause) is redrawn
        elsewhere in the file, up to ``salient_tries`` times, as the official loader does.
    analysis_seconds: how much of each file (from its middle) is read when scanning the folder.
    """

    sample_rate: int = SAMPLE_RATE
    duration: float = 0.38
    loudness_db: float | None = -24.0
    max_peak: float = 1.0
    augment: bool = True
    polarity_prob: float = 0.5
    phase_prob: float = 0.5
    fullband_prob: float = 0.75
    fullband_cutoff_hz: float = 16_000.0
    fullband_floor_db: float = -60.0
    silence_db: float = -80.0
    salient_db: float = -40.0
    salient_tries: int = 8
    analysis_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        if not (self.duration > 0 and math.isfinite(self.duration)):
            raise ValueError(f"duration must be a positive number of seconds, got {self.duration}")
        for name in ("polarity_prob", "phase_prob", "fullband_prob"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        if not self.max_peak > 0:
            raise ValueError(f"max_peak must be positive, got {self.max_peak}")
        if self.salient_tries < 1:
            raise ValueError(f"salient_tries must be at least 1, got {self.salient_tries}")

    @property
    def num_samples(self) -> int:
        """Excerpt length ``T`` in samples."""
        return round(self.duration * self.sample_rate)


def highband_db(audio: np.ndarray, sample_rate: int, cutoff_hz: float = 16_000.0) -> float:
    """Energy above ``cutoff_hz`` relative to the total energy of ``audio`` ``(T,)``, in dB.

    Welch's averaged periodogram (Hann windows, whose side lobes keep strong low frequencies from
    leaking upwards). ``-inf`` when the file's Nyquist frequency is below the cutoff or it is
    silent.
    """
    if sample_rate / 2 <= cutoff_hz or len(audio) == 0:
        return -math.inf
    freqs, power = signal.welch(audio, fs=sample_rate, nperseg=min(2048, len(audio)))
    total = power.sum()
    high = power[freqs >= cutoff_hz].sum()
    if total <= 0 or high <= 0:
        return -math.inf
    return float(10.0 * np.log10(high / total))


@lru_cache(maxsize=8)
def _meter(sample_rate: int, block_size: float):
    import pyloudnorm  # only the loader needs it

    return pyloudnorm.Meter(sample_rate, block_size=block_size)


def loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness of ``audio`` ``(T,)`` in LUFS (ITU-R BS.1770 via pyloudnorm).

    BS.1770 gates 400 ms blocks; a shorter excerpt (0.38 s!) is measured as a single block of its
    own length instead of failing. Silence returns ``-inf`` (no warning, no NaN).
    """
    n = len(audio)
    if n < 2:
        return -math.inf
    block = min(0.4, (n - 1) / sample_rate)  # one sample of slack: pyloudnorm needs len > block
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        value = _meter(sample_rate, block).integrated_loudness(np.asarray(audio, dtype=np.float64))
    return float(value) if np.isfinite(value) else -math.inf


def normalize_loudness(
    audio: np.ndarray, sample_rate: int, target_db: float, max_peak: float = 1.0
) -> np.ndarray:
    """Scale ``audio`` ``(T,)`` to ``target_db`` LUFS, then down if its peak would exceed
    ``max_peak``.

    Silent audio (loudness ``-inf``) is returned unchanged rather than amplified to infinity.
    """
    current = loudness(audio, sample_rate)
    if not math.isfinite(current):
        return audio
    out = audio * 10.0 ** ((target_db - current) / 20.0)
    peak = np.max(np.abs(out))
    return out * (max_peak / peak) if peak > max_peak else out


def rotate_phase(audio: np.ndarray, phi: float) -> np.ndarray:
    """Shift the phase of every frequency component of ``audio`` ``(T,)`` by ``phi`` radians.

    ``x cos(phi) + H{x} sin(phi)`` with H the Hilbert transform (``Im`` of the analytic signal);
    ``phi = pi`` is a polarity flip. Computed with an FFT, so it treats the excerpt as periodic:
    the loader rotates a slightly longer read and crops, keeping the wrap-around out of the excerpt.
    """
    analytic = signal.hilbert(audio)
    return np.real(analytic) * math.cos(phi) + np.imag(analytic) * math.sin(phi)


@dataclass
class AudioItem:
    """One usable file: where it is, its domain, its length, and whether it is full band."""

    path: Path
    domain: str
    sample_rate: int  # Hz, the file's own rate
    frames: int  # samples per channel at the file's own rate
    num_samples: int  # samples at the loader's rate
    highband_db: float  # energy above the cutoff relative to the total, dB
    fullband: bool


class _Unusable(Exception):
    """Internal: a file the loader must skip, with the reason."""


# What soundfile raises for missing, corrupt or unsupported files (LibsndfileError is a
# RuntimeError).
_READ_ERRORS = (RuntimeError, OSError, ValueError, TypeError, EOFError)


def _read(path: Path, start: int, frames: int) -> tuple[np.ndarray, int]:
    """Read ``frames`` frames from ``start`` as float32 mono ``(T,)``; raises ``_Unusable``."""
    try:
        with sf.SoundFile(str(path)) as f:
            f.seek(start)
            data = f.read(frames, dtype="float32", always_2d=True)
            sr = f.samplerate
    except _READ_ERRORS as err:
        raise _Unusable(f"cannot be read ({err})") from None
    if data.shape[0] == 0:
        raise _Unusable("holds no samples")
    if not np.isfinite(data).all():
        raise _Unusable("holds NaN or infinite samples")
    return to_mono(data.T)[0], sr


def _kind(reason: str) -> str:
    """The reason a file was skipped without its details: "is too short: 0.1 s ..." -> "too
    short", "cannot be read (...)" -> "cannot be read"."""
    kind = reason.split(" (")[0].split(":")[0]
    return kind.removeprefix("is ")


#: ``_analyse``'s results by file (path, modification time, size) and settings: a process that
#: builds several loaders on one folder (a trainer's train and validation sets, a notebook's
#: experiments, the test suite) reads and analyses each file once.
_ANALYSED: dict[tuple, tuple[int, int, float, float] | str] = {}


def _analyse(
    path: Path, analysis_seconds: float, cutoff_hz: float
) -> tuple[int, int, float, float]:
    """``(frames, sample_rate, peak, highband_db)`` of a file, from up to ``analysis_seconds`` of
    its middle; raises ``_Unusable``. Cached until the file changes."""
    try:
        stat = path.stat()
    except OSError as err:
        raise _Unusable(f"cannot be read ({err})") from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, analysis_seconds, cutoff_hz)
    if key not in _ANALYSED:
        try:
            _ANALYSED[key] = _analyse_uncached(path, analysis_seconds, cutoff_hz)
        except _Unusable as why:
            _ANALYSED[key] = str(why)
    result = _ANALYSED[key]
    if isinstance(result, str):
        raise _Unusable(result)
    return result


def _analyse_uncached(
    path: Path, analysis_seconds: float, cutoff_hz: float
) -> tuple[int, int, float, float]:
    try:
        info = sf.info(str(path))
    except _READ_ERRORS as err:
        raise _Unusable(f"cannot be read ({err})") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise _Unusable("holds no samples")
    window = min(info.frames, int(analysis_seconds * info.samplerate))
    mono, sr = _read(path, (info.frames - window) // 2, window)
    peak = float(np.max(np.abs(mono)))
    return info.frames, sr, peak, highband_db(mono, sr, cutoff_hz)


class AudioFolder:
    """Index of a folder of audio files, grouped into domains, checked before any training.

    ``root/<domain>/**/*.{wav,flac,ogg,mp3,...}``: each immediate subfolder holding audio is a
    domain (files in nested folders belong to it). A folder with no such subfolders is a single
    domain named after it. Files directly in ``root`` next to domain folders are ignored with a
    warning. Domains are sorted by name unless ``domains`` gives the order (and selects them).

    Every file is probed once: unreadable, empty, non-finite, silent and too-short files (and
    formats only ffmpeg reads, which cannot be seeked into per excerpt: convert them to FLAC) are
    skipped, listed in ``skipped`` (path -> reason) and summed up in one ``AudioDataWarning``
    for the folder (``skip_report``). A
    ``ValueError`` is raised here, before training, when the folder is missing or empty, when no
    file can be read, when every file is shorter than the excerpt, or when a domain is left empty.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        config: DataConfig | None = None,
        domains: Sequence[str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.config = config or DataConfig()
        self.skipped: dict[Path, str] = {}
        if not self.root.is_dir():
            raise ValueError(f"data folder not found: {self.root}")
        by_domain = self._find_files(domains)
        self.domains: list[str] = list(by_domain)
        self.items: dict[str, list[AudioItem]] = {d: [] for d in self.domains}
        for domain, paths in by_domain.items():
            for path in paths:
                try:
                    self.items[domain].append(self._probe(path, domain))
                except _Unusable as why:
                    self.skipped[path] = str(why)
        n_files = sum(len(p) for p in by_domain.values()) + self._n_unread
        if self.skipped:
            warnings.warn(self.skip_report(n_files), AudioDataWarning, stacklevel=2)
        self._check_usable(by_domain)

    def _audio_under(self, folder: Path) -> list[Path]:
        """The audio files under ``folder``; files only ffmpeg reads are recorded as skipped."""
        files, others = list_audio(folder, SNDFILE_READS)
        for path, why in others:
            if why != "not audio":  # .m4a and the like: audio, but no seeking into it per excerpt
                self.skipped[path] = f"needs conversion ({path.suffix} is read through ffmpeg only)"
                self._n_unread += 1
        return files

    def _find_files(self, domains: Sequence[str] | None) -> dict[str, list[Path]]:
        self._n_unread = 0
        subfolders = {
            p.name: self._audio_under(p)
            for p in sorted(self.root.iterdir())
            if p.is_dir() and not p.name.startswith(".")
        }
        found = {name: files for name, files in subfolders.items() if files}
        loose = [
            p
            for p in sorted(self.root.iterdir())
            if p.is_file() and p.suffix.lower() in SNDFILE_READS
        ]
        if not found and loose:
            found = {self.root.name: self._audio_under(self.root)}
        elif loose:
            warnings.warn(
                f"{len(loose)} audio files directly in {self.root} are ignored: "
                f"only files inside the domain folders {sorted(found)} are used",
                AudioDataWarning,
                stacklevel=3,
            )
        if not found:
            raise ValueError(f"no audio files ({', '.join(SNDFILE_READS)}) found under {self.root}")
        splits = sorted(set(found) & {"train", "valid", "test"})
        if splits:
            raise ValueError(
                f"{self.root} holds split folders {splits}, not domains: pass one split, "
                f"e.g. {self.root / splits[0]}"
            )
        if domains is not None:
            missing = [d for d in domains if d not in found]
            if missing:
                raise ValueError(
                    f"domain folders {missing} hold no audio files under {self.root} "
                    f"(found: {sorted(found)})"
                )
            found = {d: found[d] for d in domains}
        return found

    def _probe(self, path: Path, domain: str) -> AudioItem:
        cfg = self.config
        frames, sr, peak, hb = _analyse(path, cfg.analysis_seconds, cfg.fullband_cutoff_hz)
        if peak < 10.0 ** (cfg.silence_db / 20.0):
            raise _Unusable(f"is silent (peak below {cfg.silence_db:.0f} dBFS)")
        num_samples = int(frames * cfg.sample_rate // sr)
        if num_samples < cfg.num_samples:
            raise _Unusable(f"is too short: {frames / sr:.3f} s, excerpts need {cfg.duration} s")
        return AudioItem(path, domain, sr, frames, num_samples, hb, hb >= cfg.fullband_floor_db)

    def _skip(self, path: Path, reason: str) -> None:
        """A file that fails after the scan (while training): one warning, however often."""
        if path not in self.skipped:
            self.skipped[path] = reason
            warnings.warn(f"skipping {path}: {reason}", AudioDataWarning, stacklevel=3)

    def skip_report(self, n_files: int | None = None, examples: int = 3) -> str:
        """One line on what was skipped and why, with a few examples of each reason: "skipping 212
        of 839 files in DIR: 210 too short (< 0.38 s, e.g. a.wav, b.wav, c.wav), 2 cannot be read
        (e.g. x.wav, y.flac)"."""
        by_kind: dict[str, list[Path]] = {}
        for path, reason in self.skipped.items():
            by_kind.setdefault(_kind(reason), []).append(path)
        parts = []
        for kind, paths in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
            label = f"< {self.config.duration} s, " if kind == "too short" else ""
            names = ", ".join(p.name for p in paths[:examples])
            more = ", ..." if len(paths) > examples else ""
            parts.append(f"{len(paths)} {kind} ({label}e.g. {names}{more})")
        of = f" of {n_files}" if n_files is not None else ""
        return f"skipping {len(self.skipped)}{of} files in {self.root}: " + ", ".join(parts)

    def _check_usable(self, by_domain: dict[str, list[Path]]) -> None:
        n_files = sum(len(p) for p in by_domain.values())
        if sum(len(v) for v in self.items.values()) > 0:
            empty = [d for d, v in self.items.items() if not v]
            if empty:
                raise ValueError(
                    f"domain folders {empty} under {self.root} have no usable file "
                    f"(every batch needs each domain); skipped: {self._summary()}"
                )
            return
        reasons = list(self.skipped.values())
        if all(r.startswith("is too short") for r in reasons):
            raise ValueError(
                f"all {n_files} audio files under {self.root} are shorter than the excerpt "
                f"duration {self.config.duration} s; use shorter excerpts or longer files"
            )
        raise ValueError(
            f"no usable audio file under {self.root}: none of the {n_files} files could be "
            f"used; {self._summary()}"
        )

    def _summary(self) -> str:
        counts: dict[str, int] = {}
        for reason in self.skipped.values():
            counts[_kind(reason)] = counts.get(_kind(reason), 0) + 1
        return ", ".join(f"{n} {k}" for k, n in counts.items()) or "none"

    @property
    def n_skipped(self) -> int:
        """How many files were skipped so far (at the scan and while reading excerpts)."""
        return len(self.skipped)

    def __len__(self) -> int:
        return sum(len(v) for v in self.items.values())

    def excerpt(
        self,
        item: AudioItem,
        start: int,
        rng: np.random.Generator | None = None,
        num_samples: int | None = None,
    ) -> np.ndarray:
        """``num_samples`` samples of ``item`` from ``start`` (at the loader's rate): float64
        ``(T,)``.

        Mono mix, resampled, and when ``rng`` is given randomly flipped and phase-rotated; not yet
        loudness-normalised. Reads a margin around the excerpt so that neither the resampler nor
        the FFT-based phase rotation sees the excerpt's edges. Raises ``_Unusable`` on read errors.
        """
        cfg = self.config
        n = num_samples or cfg.num_samples
        ratio = item.sample_rate / cfg.sample_rate
        margin = 256 if ratio == 1.0 else 1024  # native samples either side
        lo = max(int(start * ratio) - margin, 0)
        hi = min(math.ceil((start + n) * ratio) + margin + 1, item.frames)
        x, sr = _read(item.path, lo, hi - lo)
        x = resample(x.astype(np.float32), sr, cfg.sample_rate).astype(np.float64)
        if rng is not None and cfg.augment:
            if rng.random() < cfg.phase_prob:
                x = rotate_phase(x, rng.uniform(-np.pi, np.pi))
            if rng.random() < cfg.polarity_prob:
                x = -x
        offset = round(start - lo / ratio)
        x = x[max(offset, 0) : max(offset, 0) + n]
        return np.pad(x, (0, n - len(x)))  # a sample short after resampling rounding

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Loudness-normalise an excerpt (when configured) and return float32."""
        cfg = self.config
        if cfg.loudness_db is not None:
            x = normalize_loudness(x, cfg.sample_rate, cfg.loudness_db, cfg.max_peak)
        return x.astype(np.float32)

    def random_excerpt(self, item: AudioItem, rng: np.random.Generator) -> np.ndarray:
        """A prepared random excerpt ``(T,)``, redrawn when it lands on a pause (see
        ``salient_db``)."""
        cfg = self.config
        best, best_db = None, -math.inf
        for _ in range(cfg.salient_tries):
            start = int(rng.integers(0, item.num_samples - cfg.num_samples + 1))
            x = self.excerpt(item, start, rng)
            level = loudness(x, cfg.sample_rate)
            if best is None or level > best_db:
                best, best_db = x, level
            if level >= cfg.salient_db:
                break
        return self.prepare(best)

    def choose(self, domain: str, rng: np.random.Generator) -> AudioItem:
        """Draw one file of ``domain``: from its full-band files with probability
        ``fullband_prob``."""
        items = self.items[domain]
        if not items:
            raise RuntimeError(
                f"every file of domain {domain!r} under {self.root} failed while training; "
                f"skipped: {self._summary()}"
            )
        fullband = [it for it in items if it.fullband]
        pool = fullband if fullband and rng.random() < self.config.fullband_prob else items
        return pool[int(rng.integers(len(pool)))]

    def draw(self, domain: str, rng: np.random.Generator) -> np.ndarray:
        """One prepared excerpt of ``domain``; a file that fails now is skipped (once) and another
        drawn."""
        while True:
            item = self.choose(domain, rng)
            try:
                return self.random_excerpt(item, rng)
            except _Unusable as why:
                self.items[domain].remove(item)
                self._skip(item.path, str(why))

    def fixed_clips(
        self, n_per_domain: int = 2, duration: float | None = None, candidates: int = 8
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Deterministic clips for validation: the same audio on every call, no augmentation.

        Per domain, ``n_per_domain`` files evenly spread over the sorted list; from each, the
        loudest of ``candidates`` evenly spaced windows of ``duration`` s (default: the excerpt
        duration). Returns ``(audio (N, 1, T), domain (N,))`` with ``N <= n_per_domain * domains``
        (fewer when a domain has fewer files, or files shorter than ``duration``).
        """
        cfg = self.config
        n = round((duration or cfg.duration) * cfg.sample_rate)
        clips, labels = [], []
        for d, domain in enumerate(self.domains):
            items = [it for it in self.items[domain] if it.num_samples >= n]
            picks = np.unique(
                np.linspace(0, len(items) - 1, min(n_per_domain, len(items))).round().astype(int)
            )
            for i in picks if items else []:
                item = items[i]
                starts = np.linspace(0, item.num_samples - n, candidates).astype(int)
                try:
                    windows = [self.excerpt(item, int(s), None, n) for s in np.unique(starts)]
                except _Unusable as why:
                    self._skip(item.path, str(why))
                    continue
                clips.append(self.prepare(max(windows, key=lambda w: loudness(w, cfg.sample_rate))))
                labels.append(d)
        if not clips:
            raise ValueError(
                f"no file under {self.root} is long enough for {n / cfg.sample_rate:.3f} s clips"
            )
        return torch.from_numpy(np.stack(clips))[:, None], torch.tensor(labels, dtype=torch.long)


def validation_clips(
    root: str | os.PathLike,
    n_per_domain: int = 2,
    duration: float | None = 1.0,
    config: DataConfig | None = None,
    domains: Sequence[str] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed validation clips from a folder: ``(audio (N, 1, T), domain (N,))``, identical on
    every call.

    A shortcut for ``AudioFolder(root, config, domains).fixed_clips(n_per_domain, duration)``;
    the domain names are ``AudioFolder(root).domains`` (sorted folder names by default).
    """
    return AudioFolder(root, config, domains).fixed_clips(n_per_domain, duration)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dac_minimal.data",
        description="Generate the toy multi-domain corpus (train and valid splits).",
    )
    parser.add_argument(
        "--out",
        default=None,
        help=f"output folder (default: ${DATA_ENV}/toy, else ~/.cache/dac_minimal/data/toy)",
    )
    parser.add_argument("--n-per-domain", type=int, default=8, help="training clips per domain")
    parser.add_argument(
        "--n-valid-per-domain", type=int, default=4, help="held-out clips per domain"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each clip in seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--force", action="store_true", help="regenerate even if the corpus is current"
    )
    args = parser.parse_args(argv)
    args.out = args.out or str(toy_root())
    start = time.perf_counter()
    if args.force:
        for manifest in (
            Path(args.out) / "train" / MANIFEST_NAME,
            Path(args.out) / "valid" / MANIFEST_NAME,
        ):
            manifest.unlink(missing_ok=True)
    splits = ensure_toy_corpus(
        args.out, args.n_per_domain, args.n_valid_per_domain, args.seconds, args.seed
    )
    n_files = sum(1 for split in splits for _ in split.rglob("*.wav"))
    size = sum(p.stat().st_size for split in splits for p in split.rglob("*.wav"))
    print(
        f"toy corpus: {n_files} files, {size / 1e6:.1f} MB in {splits.train} and {splits.valid} "
        f"({time.perf_counter() - start:.1f} s)",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
