"""Losses: the multi-scale mel reconstruction loss, the GAN losses, feature matching, and the
loss weights in one place.

The generator minimises ``15·mel + 2·feature + 1·adversarial + 1·codebook + 0.25·commitment``
(``LossWeights``); the discriminator minimises its own adversarial loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

GANKind = Literal["lsgan", "hinge", "bce"]
#: The GAN objectives by name (``TrainConfig`` checks a run's choice against them).
GAN_KINDS: tuple[str, ...] = get_args(GANKind)


@dataclass(frozen=True)
class LossWeights:
    """λ for each generator loss term (official 44.1 kHz recipe; report §3.5)."""

    mel: float = 15.0
    feature: float = 2.0
    adversarial: float = 1.0
    codebook: float = 1.0
    commitment: float = 0.25

    def total(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """``Σ λ_i · ℓ_i`` over the terms present in ``losses`` (keys are this class's field names;
        a term without a weight is an ``AttributeError`` naming it)."""
        return sum(getattr(self, name) * value for name, value in losses.items())


#: The weights DAC trains with.
LOSS_WEIGHTS = LossWeights()


def mel_filters(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Slaney-normalised mel filterbank ``(n_mels, n_fft // 2 + 1)`` from librosa.

    With few FFT bins (short windows) and many mels, some triangular filters fall between two
    bins and come out all zero: the "holes" that scaling n_mels with the window avoids.
    """
    import warnings

    import librosa

    with warnings.catch_warnings():  # librosa warns about exactly those empty filters
        warnings.simplefilter("ignore", UserWarning)
        return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in fp32 if it is in a half-precision type (bf16, fp16), else as it is (fp32, fp64)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def stft_magnitude(
    x: torch.Tensor, window_length: int, hop_length: int | None = None
) -> torch.Tensor:
    """``|STFT|`` of ``(B, 1, T)`` as ``(B, 1 + window/2, frames)``; Hann window, centred,
    reflect-padded (so T > window / 2).

    Half-precision input (bf16/fp16, e.g. under autocast) is computed in fp32: cuFFT has no bf16.
    fp32 and fp64 input keep their precision.
    """
    x = at_least_fp32(x)
    hop = hop_length or window_length // 4
    window = torch.hann_window(window_length, device=x.device, dtype=x.dtype)
    spec = torch.stft(
        x.reshape(-1, x.shape[-1]),
        window_length,
        hop,
        window=window,
        center=True,
        return_complex=True,
    )
    return spec.abs()


class MultiScaleMelLoss(nn.Module):
    """Multi-scale mel loss: ``Σ_w mean |log10 mel_w(x̂) − log10 mel_w(x)|`` (report §3.5).

    Windows 32…2048 samples with hop = window/4 and 5…320 mel bins: the short windows (hop 8)
    resolve fast transients, the long ones fine pitch; scaling the bins with the window leaves no
    empty filters. Mel magnitudes (power 1) are clamped at 1e-5 before the log10.
    Inputs ``(B, 1, T)`` with T >= ``min_length`` (> window_max / 2); output is a scalar. The
    inputs are trusted (the trainer's batches; ``evaluate.metrics.mel_distance`` checks its own).
    """

    def __init__(
        self,
        sample_rate: int = 44100,
        window_lengths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048),
        n_mels: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320),
        clamp_eps: float = 1e-5,
        mag_weight: float = 0.0,
        log_weight: float = 1.0,
        power: float = 1.0,
        fmin: float = 0.0,
        fmax: float | None = None,
    ):
        super().__init__()
        assert len(window_lengths) == len(n_mels), "one n_mels per window length"
        self.window_lengths = tuple(window_lengths)
        self.n_mels = tuple(n_mels)
        self.clamp_eps, self.mag_weight, self.log_weight, self.power = (
            clamp_eps,
            mag_weight,
            log_weight,
            power,
        )
        for i, (w, m) in enumerate(zip(window_lengths, n_mels)):
            fb = torch.from_numpy(mel_filters(sample_rate, w, m, fmin, fmax)).float()
            self.register_buffer(f"mel_fb_{i}", fb, persistent=False)

    @property
    def min_length(self) -> int:
        """Shortest input (samples): the longest window's reflect padding needs T > window / 2."""
        return max(self.window_lengths) // 2 + 1

    def mel(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        """Mel magnitudes of ``(B, 1, T)`` at scale index ``scale``: ``(B, n_mels, frames)``."""
        fb = getattr(self, f"mel_fb_{scale}")
        return fb @ stft_magnitude(x.float(), self.window_lengths[scale])

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The loss between reconstruction ``x_hat`` and target ``x``, both ``(B, 1, T)``."""
        assert x_hat.shape == x.shape, (tuple(x_hat.shape), tuple(x.shape))
        loss = x.new_zeros((), dtype=torch.float32)
        for i in range(len(self.window_lengths)):
            m_hat, m = self.mel(x_hat, i), self.mel(x, i)
            if self.log_weight:
                log_hat = m_hat.clamp(min=self.clamp_eps).pow(self.power).log10()
                log_ref = m.clamp(min=self.clamp_eps).pow(self.power).log10()
                loss = loss + self.log_weight * F.l1_loss(log_hat, log_ref)
            if self.mag_weight:
                loss = loss + self.mag_weight * F.l1_loss(m_hat, m)
        return loss


def _logits(outputs: list[list[torch.Tensor]]) -> list[torch.Tensor]:
    return [fmap[-1] for fmap in outputs]


def discriminator_loss(
    d_fake: list[list[torch.Tensor]], d_real: list[list[torch.Tensor]], kind: GANKind = "lsgan"
) -> torch.Tensor:
    """The discriminator's loss, summed over sub-discriminators (inputs: ``Discriminator`` outputs).

    - ``"lsgan"`` (least squares, the official default): ``(1 − D(x))² + D(x̂)²``
    - ``"hinge"``: ``max(0, 1 − D(x)) + max(0, 1 + D(x̂))``
    - ``"bce"`` (the original GAN, report eq. 4): ``−log σ(D(x)) − log(1 − σ(D(x̂)))``
    Compute ``d_fake`` on a detached reconstruction so that this step does not reach the generator.
    """
    assert kind in GAN_KINDS, kind
    loss = 0.0
    for fake, real in zip(_logits(d_fake), _logits(d_real)):
        if kind == "lsgan":
            loss = loss + fake.pow(2).mean() + (1 - real).pow(2).mean()
        elif kind == "hinge":
            loss = loss + F.relu(1 + fake).mean() + F.relu(1 - real).mean()
        else:  # "bce"
            loss = loss + F.softplus(fake).mean() + F.softplus(-real).mean()
    return loss


def generator_adversarial_loss(
    d_fake: list[list[torch.Tensor]], kind: GANKind = "lsgan"
) -> torch.Tensor:
    """The generator's adversarial loss: ``(1 − D(x̂))²`` (lsgan), ``−D(x̂)`` (hinge) or
    ``−log σ(D(x̂))`` (bce, the non-saturating form), summed over sub-discriminators."""
    assert kind in GAN_KINDS, kind
    loss = 0.0
    for fake in _logits(d_fake):
        if kind == "lsgan":
            loss = loss + (1 - fake).pow(2).mean()
        elif kind == "hinge":
            loss = loss - fake.mean()
        else:  # "bce"
            loss = loss + F.softplus(-fake).mean()
    return loss


def feature_matching_loss(
    d_fake: list[list[torch.Tensor]], d_real: list[list[torch.Tensor]]
) -> torch.Tensor:
    """``Σ_k Σ_l mean |D_k^l(x̂) − D_k^l(x)|`` over every feature map but the logits.

    The real side is detached: feature matching trains the generator only.
    """
    loss = 0.0
    for fake, real in zip(d_fake, d_real):
        for f, r in zip(fake[:-1], real[:-1]):
            loss = loss + F.l1_loss(f, r.detach())
    return loss
