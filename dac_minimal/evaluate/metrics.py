"""Metrics: how far a reconstruction x̂ is from the original x, and how well the codebooks are used.

Two families, one question ("is the codec any good?"):

1. **Waveform and spectral distances** between a reconstruction ``x̂`` and its reference ``x``:
   ``mse``, ``snr_db``, ``si_sdr_db`` (sample by sample, so a phase shift ruins them),
   ``mel_distance`` (exactly the training mel loss), ``stft_distance`` (multi-resolution STFT) and
   ``mfcc_distance`` (on the magnitude spectrum only, so they forgive phase), and ``visqol_score``
   when the optional ``visqol-python`` package is installed.
2. **Codebook statistics** over a whole evaluation set: ``codebook_utilization`` (the report's
   92.45 %), ``codebook_entropy_bits`` and ``codebook_perplexity``, or ``CodebookStats`` to collect
   them batch by batch.

Conventions: every distance takes ``(estimate, reference)`` = ``(x̂, x)`` in that order (as the
training losses do), NumPy arrays or torch tensors shaped ``(..., T)`` with the same shape. A 1-D
input gives a Python ``float``; a batched input gives a NumPy array of one value per item, shaped
``x.shape[:-1]``. Waveforms are in full-scale units (|x| ≤ 1). Everything is computed in float64
except ``mel_distance``, which is the float32 training loss itself.

Edge cases, decided once: a reconstruction equal to its reference has distance 0 and SNR / SI-SDR
``+inf``, silence included (silence vs silence is a perfect reconstruction); anything else against
a silent reference has SNR / SI-SDR ``-inf``. Shapes that differ, NaN or infinite samples and empty
signals raise ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

from dac_minimal.utils.checks import MIN_SAMPLES, check_codes

ArrayLike = np.ndarray | torch.Tensor

#: ``stft_distance`` resolutions: (window length, hop) in samples. The MRD discriminator's windows,
#: hop = window / 4: at 44.1 kHz 46 ms, 23 ms and 12 ms windows.
STFT_RESOLUTIONS: tuple[tuple[int, int], ...] = ((2048, 512), (1024, 256), (512, 128))


def _signal(x: ArrayLike, name: str, min_length: int = 1) -> np.ndarray:
    """``x`` as a float64 array ``(..., T)``, or a ``ValueError`` saying why it is not a signal.

    Real samples (float or integer), not a scalar, not empty, T >= ``min_length``, finite.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if not (x.is_floating_point() or x.dtype in (torch.int16, torch.int32, torch.int64)):
            raise ValueError(f"{name} must hold real samples, got dtype {x.dtype}")
        x = x.double().numpy()
    elif isinstance(x, np.ndarray) and x.dtype.kind in "fiu":
        x = x.astype(np.float64)
    else:
        kind = f"dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(
            f"{name} must be a NumPy array or torch tensor of real samples (..., T), got {kind}"
        )
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}, expected (..., T)")
    if x.shape[-1] < min_length:
        raise ValueError(f"{name} is too short: {x.shape[-1]} samples, need at least {min_length}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or infinite samples")
    return x


def _pair(
    estimate: ArrayLike, reference: ArrayLike, min_length: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The metrics' one input check: x̂ and x as float64 arrays of one shape ``(..., T)``.

    Each must be a finite signal of at least ``min_length`` samples (``_signal``); a length or
    shape mismatch raises ``ValueError`` with a hint.
    """
    est = _signal(estimate, "estimate", min_length)
    ref = _signal(reference, "reference", min_length)
    if est.shape[-1] != ref.shape[-1]:
        raise ValueError(
            f"length mismatch: estimate has {est.shape[-1]} samples, reference {ref.shape[-1]}; "
            "trim or align them first (e.g. model.decode(z, length=T))"
        )
    if est.shape != ref.shape:
        raise ValueError(
            f"shape mismatch: estimate {tuple(est.shape)} vs reference {tuple(ref.shape)}"
        )
    return est, ref


def _out(values: np.ndarray) -> float | np.ndarray:
    """A Python float for a single item (shape ``()``), else the per-item array."""
    return float(values) if values.ndim == 0 else values


def _ratio_db(
    signal_energy: np.ndarray, noise_energy: np.ndarray, identical: np.ndarray
) -> np.ndarray:
    """``10 log10(signal / noise)`` with the edge cases of the module docstring: identical → +inf,
    otherwise a zero signal energy → -inf (this also covers 0/0 for non-identical inputs)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10.0 * np.log10(signal_energy / noise_energy)
    db = np.where(identical, np.inf, db)
    return np.where(~identical & (signal_energy == 0), -np.inf, db)


def mse(estimate: ArrayLike, reference: ArrayLike) -> float | np.ndarray:
    """Mean squared error ``mean_t (x̂_t − x_t)²`` per item, in squared full-scale units.

    The report's Table 1 gives 0.001835 for the official model. Input ``(..., T)``; output a float
    or an array shaped ``(...)``.
    """
    est, ref = _pair(estimate, reference)
    return _out(np.mean((est - ref) ** 2, axis=-1))


def snr_db(estimate: ArrayLike, reference: ArrayLike) -> float | np.ndarray:
    """Signal-to-noise ratio ``10 log10(Σ x² / Σ (x − x̂)²)`` in dB per item (the report's 27.86 dB).

    ``+inf`` when ``x̂ == x`` (silence vs silence too), ``-inf`` against a silent reference
    otherwise. Note what it rewards: matching the waveform sample by sample. A reconstruction
    that is only shifted in phase (inaudible) scores badly.
    """
    est, ref = _pair(estimate, reference)
    identical = np.all(est == ref, axis=-1)
    return _out(_ratio_db(np.sum(ref**2, axis=-1), np.sum((ref - est) ** 2, axis=-1), identical))


def si_sdr_db(
    estimate: ArrayLike, reference: ArrayLike, zero_mean: bool = False
) -> float | np.ndarray:
    """Scale-invariant signal-to-distortion ratio in dB per item (Le Roux et al., 2019).

    Project x̂ onto x: ``α = ⟨x̂, x⟩ / ‖x‖²``, target ``s = α x``, distortion ``e = x̂ − s``;
    ``SI-SDR = 10 log10(‖s‖² / ‖e‖²)``. Unlike SNR it forgives a gain (x̂ = 0.5 x scores +inf).
    ``zero_mean`` removes each signal's mean first (as some toolkits do). ``+inf`` when x̂ is an
    exact multiple of x (x̂ == x included, silence vs silence too), ``-inf`` when nothing of x is
    in x̂.
    """
    est, ref = _pair(estimate, reference)
    if zero_mean:
        est = est - est.mean(axis=-1, keepdims=True)
        ref = ref - ref.mean(axis=-1, keepdims=True)
    ref_energy = np.sum(ref**2, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(
            ref_energy > 0, np.sum(est * ref, axis=-1, keepdims=True) / ref_energy, 0.0
        )
    target = alpha * ref
    distortion = est - target
    identical = np.all(est == ref, axis=-1) | (
        np.all(distortion == 0, axis=-1) & np.any(target != 0, axis=-1)
    )
    return _out(_ratio_db(np.sum(target**2, axis=-1), np.sum(distortion**2, axis=-1), identical))


@lru_cache(maxsize=4)
def _mel_loss(sample_rate: int):
    from dac_minimal.loss import MultiScaleMelLoss

    return MultiScaleMelLoss(sample_rate=sample_rate)


def mel_distance(
    estimate: ArrayLike, reference: ArrayLike, sample_rate: int = 44100
) -> float | np.ndarray:
    """The training mel loss per item: ``MultiScaleMelLoss()(x̂, x)`` with the official settings.

    Sum over 7 scales (windows 32…2048, 5…320 mels) of the mean |log10 mel(x̂) − log10 mel(x)|,
    so the unit is "log10 magnitude, summed over scales"; 0 for identical signals. Needs
    T >= ``MIN_SAMPLES`` = 1025 samples (the longest window reflect-pads by half a window).
    Computed in float32, like the loss it is.
    """
    est, ref = _pair(estimate, reference, MIN_SAMPLES)
    loss = _mel_loss(int(sample_rate))
    T = est.shape[-1]
    flat_est, flat_ref = est.reshape(-1, 1, 1, T), ref.reshape(-1, 1, 1, T)
    with torch.no_grad():
        values = [
            float(loss(torch.from_numpy(a).float(), torch.from_numpy(b).float()))
            for a, b in zip(flat_est, flat_ref)
        ]
    return _out(np.array(values).reshape(est.shape[:-1]))


def _stft_mag(x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """``|STFT|`` of ``(N, T)`` float64 → ``(N, 1 + window/2, frames)``.

    Hann window, centred frames, reflect padding (as ``torch.stft`` with ``center=True``).
    """
    xt = torch.from_numpy(x)
    spec = torch.stft(
        xt,
        window,
        hop,
        window=torch.hann_window(window, dtype=torch.float64),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return spec.abs().numpy()


def stft_distance(
    estimate: ArrayLike,
    reference: ArrayLike,
    resolutions: Sequence[tuple[int, int]] = STFT_RESOLUTIONS,
    eps: float = 1e-5,
) -> float | np.ndarray:
    """Multi-resolution STFT distance per item (Yamamoto et al., Parallel WaveGAN, 2020).

    For each resolution (window, hop) in ``resolutions`` (default 2048/512, 1024/256, 512/128
    samples; Hann window, centred, reflect-padded), with magnitudes S = |STFT(x)|, Ŝ = |STFT(x̂)|:

    - spectral convergence ``‖S − Ŝ‖_F / ‖S‖_F`` (0 when both are zero, inf when only S is), and
    - log-magnitude distance ``mean |ln max(Ŝ, eps) − ln max(S, eps)|`` (natural log),

    and the result is their sum averaged over the resolutions (dimensionless). 0 for identical
    signals; needs T > window/2 for the longest window (``MIN_SAMPLES`` for the defaults).
    """
    est, ref = _pair(estimate, reference, max(w for w, _ in resolutions) // 2 + 1)
    T = est.shape[-1]
    flat_est, flat_ref = est.reshape(-1, T), ref.reshape(-1, T)
    total = np.zeros(len(flat_est))
    for window, hop in resolutions:
        s_hat, s = _stft_mag(flat_est, window, hop), _stft_mag(flat_ref, window, hop)
        num = np.sqrt(np.sum((s - s_hat) ** 2, axis=(-2, -1)))
        den = np.sqrt(np.sum(s**2, axis=(-2, -1)))
        with np.errstate(divide="ignore", invalid="ignore"):
            sc = np.where(num == 0, 0.0, num / den)
        log_l1 = np.mean(
            np.abs(np.log(np.maximum(s_hat, eps)) - np.log(np.maximum(s, eps))), axis=(-2, -1)
        )
        total += sc + log_l1
    return _out((total / len(resolutions)).reshape(est.shape[:-1]))


def mfcc(
    x: ArrayLike,
    sample_rate: int = 44100,
    n_mfcc: int = 13,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
) -> np.ndarray:
    """MFCCs of ``(..., T)`` with librosa: ``(..., n_mfcc, frames)``.

    Power mel spectrogram (Hann, centred, ``n_mels`` Slaney mel bands up to Nyquist), converted to
    dB (``10 log10``, floor 1e-10, 80 dB below each signal's peak), then an orthonormal DCT-II.
    """
    import librosa

    audio = _signal(x, "audio")
    # One item at a time: librosa's 80 dB floor is taken from the peak of the whole array it is
    # given.
    flat = [
        librosa.feature.mfcc(
            y=a, sr=sample_rate, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels
        )
        for a in audio.reshape(-1, audio.shape[-1])
    ]
    return np.stack(flat).reshape(*audio.shape[:-1], *flat[0].shape)


def mfcc_distance(
    estimate: ArrayLike,
    reference: ArrayLike,
    sample_rate: int = 44100,
    n_mfcc: int = 13,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
) -> float | np.ndarray:
    """Mean over frames of the Euclidean distance between MFCC vectors (``mfcc`` settings).

    The unit is dB-cepstral.

    ``mean_frames ‖c(x̂) − c(x)‖₂`` with c the first ``n_mfcc`` coefficients (c0, the log energy,
    included). The quantity behind the report's Fig. 5; 0 for identical signals.
    """
    est, ref = _pair(estimate, reference)
    c_hat = mfcc(est, sample_rate, n_mfcc, n_fft, hop_length, n_mels)
    c = mfcc(ref, sample_rate, n_mfcc, n_fft, hop_length, n_mels)
    return _out(np.mean(np.sqrt(np.sum((c_hat - c) ** 2, axis=-2)), axis=-1))


def visqol_available() -> bool:
    """True when the optional ``visqol-python`` package can be imported."""
    try:
        import visqol  # noqa: F401
    except ImportError:
        return False
    return True


def visqol_score(
    estimate: ArrayLike, reference: ArrayLike, sample_rate: int = 44100, mode: str = "audio"
) -> float:
    """ViSQOL MOS-LQO (1 = bad … 5 = excellent) of a 1-D reconstruction, via ``visqol-python``.

    ``mode="audio"`` resamples both to 48 kHz (music and general sound), ``"speech"`` to 16 kHz.
    Needs about 1.5 s of audio or more. Raises ``ImportError`` with the install command when the
    package is missing.
    """
    try:
        from visqol import VisqolApi
    except ImportError:
        raise ImportError(
            "visqol_score needs the optional package visqol-python: pip install visqol-python"
        ) from None
    if mode not in ("audio", "speech"):
        raise ValueError(f"mode must be 'audio' or 'speech', got {mode!r}")
    est, ref = _pair(estimate, reference)
    if est.ndim != 1:
        raise ValueError(f"visqol_score takes one clip shaped (T,), got shape {tuple(est.shape)}")
    from dac_minimal.utils.audio import resample

    rate = 48000 if mode == "audio" else 16000
    est, ref = resample(est, sample_rate, rate), resample(ref, sample_rate, rate)
    api = VisqolApi()
    api.create(mode=mode)
    try:
        result = api.measure_from_arrays(
            ref.astype(np.float64), est.astype(np.float64), sample_rate=rate
        )
    except ValueError as err:  # e.g. a clip shorter than one ViSQOL patch
        raise ValueError(
            f"ViSQOL cannot score this clip (it needs about 1.5 s or more): {err}"
        ) from None
    return float(result.moslqo)


class CodebookUtilization(NamedTuple):
    """Share (0…1) of the K entries that occur at least once, per codebook ``(n_q,)`` and mean."""

    per_codebook: np.ndarray
    mean: float


def _codes_list(codes: ArrayLike | Iterable[ArrayLike], codebook_size: int) -> list[np.ndarray]:
    """Codes ``(n_q, S)``, ``(B, n_q, S)`` or a list of those -> list of int64 ``(n_q, S)`` arrays.

    Each item goes through ``check_codes`` (integers in [0, K), K = ``codebook_size``).
    """
    items = [codes] if isinstance(codes, (np.ndarray, torch.Tensor)) else list(codes)
    if not items:
        raise ValueError("no codes given")
    out = []
    for c in items:
        if isinstance(c, (np.ndarray, torch.Tensor)) and c.ndim == 2:
            c = c[None]
        if isinstance(c, torch.Tensor):
            c = c.detach().cpu()
        out.extend(check_codes(c, codebook_size).numpy())
    return out


class CodebookStats:
    """Counts of every code of every codebook, accumulated over an evaluation set batch by batch.

    >>> stats = CodebookStats(n_codebooks=9, codebook_size=1024)
    >>> for x in clips: stats.update(model.encode(x).codes)      # (B, n_q, S) or (n_q, S)
    >>> stats.utilization().mean, stats.perplexity()

    ``counts`` is ``(n_codebooks, codebook_size)`` int64. Codes from fewer codebooks than
    ``n_codebooks`` (a lower bitrate) count towards the first ones only.
    """

    def __init__(self, n_codebooks: int, codebook_size: int):
        if n_codebooks < 1 or codebook_size < 1:
            raise ValueError(
                "n_codebooks and codebook_size must be positive, "
                f"got {n_codebooks}, {codebook_size}"
            )
        self.codebook_size = int(codebook_size)
        self.counts = np.zeros((n_codebooks, codebook_size), dtype=np.int64)

    @property
    def n_codebooks(self) -> int:
        return self.counts.shape[0]

    def update(self, codes: ArrayLike | Iterable[ArrayLike]) -> CodebookStats:
        """Add codes ``(n_q, S)``, ``(B, n_q, S)`` or a list of those (frames S may differ)."""
        return self._add(_codes_list(codes, self.codebook_size))

    def _add(self, codes: list[np.ndarray]) -> CodebookStats:
        """Count checked int64 ``(n_q, S)`` arrays (``_codes_list``'s output)."""
        for c in codes:
            if c.shape[0] > self.n_codebooks:
                raise ValueError(
                    f"codes have {c.shape[0]} codebooks, these stats hold {self.n_codebooks}"
                )
            for q, row in enumerate(c):
                self.counts[q] += np.bincount(row, minlength=self.codebook_size)
        return self

    def _used(self) -> np.ndarray:
        frames = self.counts.sum(axis=1)
        if not frames.any():
            raise ValueError("no codes counted yet: call update() first")
        return frames > 0

    def utilization(self) -> CodebookUtilization:
        """Share of entries used at least once, per codebook with any frames, and their mean."""
        used = self._used()
        per = (self.counts[used] > 0).mean(axis=1)
        return CodebookUtilization(per, float(per.mean()))

    def entropy_bits(self) -> np.ndarray:
        """Entropy ``H = −Σ_k p_k log2 p_k`` of each codebook's code frequencies.

        In bits, shaped ``(n_q,)``; at most log2 K.
        """
        counts = self.counts[self._used()].astype(np.float64)
        p = counts / counts.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, -p * np.log2(p), 0.0)
        return terms.sum(axis=1)

    def perplexity(self) -> np.ndarray:
        """``2^H`` per codebook ``(n_q,)``: how many equally likely entries give the same entropy.

        Between 1 (collapse) and K (uniform use).
        """
        return 2.0 ** self.entropy_bits()


def _stats(codes: ArrayLike | Iterable[ArrayLike], codebook_size: int) -> CodebookStats:
    """``CodebookStats`` over one evaluation set whose items all hold the same n_q codebooks."""
    items = _codes_list(codes, codebook_size)
    n_q = {c.shape[0] for c in items}
    if len(n_q) != 1:
        raise ValueError(f"all codes must use the same number of codebooks, got {sorted(n_q)}")
    return CodebookStats(n_q.pop(), codebook_size)._add(items)


def codebook_utilization(
    codes: ArrayLike | Iterable[ArrayLike], codebook_size: int
) -> CodebookUtilization:
    """Share of the ``codebook_size`` entries used at least once over all ``codes``.

    Per codebook ``(n_q,)`` and their mean.

    ``codes``: ``(n_q, S)``, ``(B, n_q, S)`` or a list of those (one per clip of an evaluation set).
    Utilization is a property of the whole set: compute it once over all clips, not per clip.
    """
    return _stats(codes, codebook_size).utilization()


def codebook_entropy_bits(codes: ArrayLike | Iterable[ArrayLike], codebook_size: int) -> np.ndarray:
    """Entropy of each codebook's code frequencies over all ``codes``: bits ``(n_q,)``, ≤ log2 K."""
    return _stats(codes, codebook_size).entropy_bits()


def codebook_perplexity(codes: ArrayLike | Iterable[ArrayLike], codebook_size: int) -> np.ndarray:
    """Perplexity ``2^H`` of each codebook over all ``codes``, ``(n_q,)``.

    K for a uniformly used codebook, 1 for a collapsed one.
    """
    return _stats(codes, codebook_size).perplexity()


def max_entropy_bits(codebook_size: int) -> float:
    """``log2 K``: the bits a code carries when every entry is equally likely (10 for K = 1024)."""
    return math.log2(codebook_size)


__all__ = [
    "STFT_RESOLUTIONS",
    "CodebookStats",
    "CodebookUtilization",
    "codebook_entropy_bits",
    "codebook_perplexity",
    "codebook_utilization",
    "max_entropy_bits",
    "mel_distance",
    "mfcc",
    "mfcc_distance",
    "mse",
    "si_sdr_db",
    "snr_db",
    "stft_distance",
    "visqol_available",
    "visqol_score",
]
