import librosa
import numpy as np
import pytest
import torch

from dac_minimal.loss import (
    LOSS_WEIGHTS,
    LossWeights,
    MultiScaleMelLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    mel_filters,
)


def _signal(seed=0, length=8000):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / 44100
    return (
        0.3 * torch.sin(2 * torch.pi * 440 * t) + 0.05 * torch.randn(length, generator=g)
    ).reshape(1, 1, -1)


def test_mel_loss_is_zero_on_identical_inputs_and_grows_with_distortion():
    loss = MultiScaleMelLoss()
    x = _signal()
    assert loss(x, x).item() == 0.0
    noise = torch.randn_like(x)
    values = [loss(x + s * noise, x).item() for s in (0.001, 0.01, 0.1)]
    assert 0 < values[0] < values[1] < values[2]


def test_mel_loss_matches_an_independent_librosa_computation():
    x, y = _signal(0), _signal(1)
    windows, mels = (32, 256, 2048), (5, 40, 320)
    ours = MultiScaleMelLoss(window_lengths=windows, n_mels=mels)(x, y).item()
    ref = 0.0
    for w, m in zip(windows, mels):

        def logmel(a):
            mag = np.abs(
                librosa.stft(
                    a.numpy()[0, 0],
                    n_fft=w,
                    hop_length=w // 4,
                    window="hann",
                    center=True,
                    pad_mode="reflect",
                )
            )
            return np.log10(
                np.maximum(librosa.filters.mel(sr=44100, n_fft=w, n_mels=m) @ mag, 1e-5)
            )

        ref += np.abs(logmel(x) - logmel(y)).mean()
    assert abs(ours - ref) / ref < 1e-5


def test_fixed_64_mel_bins_leave_empty_filters_at_short_windows():
    empty = (mel_filters(44100, 32, 64).sum(axis=1) == 0).sum()
    assert empty > 0
    assert (mel_filters(44100, 32, 5).sum(axis=1) == 0).sum() == 0


def _outputs(*logit_values):
    """Discriminator-shaped outputs: one sub-discriminator per value, one feature map + logits."""
    return [[torch.full((1, 2, 2), v * 2.0), torch.tensor([v])] for v in logit_values]


def test_gan_losses_on_hand_computed_inputs():
    fake, real = _outputs(0.2, -1.5), _outputs(0.9, 2.0)
    # least squares: D: (1 - D(x))^2 + D(G)^2 ; G: (1 - D(G))^2
    assert discriminator_loss(fake, real).item() == pytest.approx(0.2**2 + 0.1**2 + 1.5**2 + 1.0**2)
    assert generator_adversarial_loss(fake).item() == pytest.approx(0.8**2 + 2.5**2)
    # hinge: D: relu(1 - D(x)) + relu(1 + D(G)) ; G: -D(G)
    assert discriminator_loss(fake, real, "hinge").item() == pytest.approx(
        (0.1 + 1.2) + (0.0 + 0.0)
    )
    assert generator_adversarial_loss(fake, "hinge").item() == pytest.approx(-0.2 + 1.5)
    # original (non-saturating) GAN with logits
    sp = lambda v: float(np.log1p(np.exp(v)))  # noqa: E731
    assert discriminator_loss(fake, real, "bce").item() == pytest.approx(
        sp(0.2) + sp(-0.9) + sp(-1.5) + sp(-2.0)
    )
    assert generator_adversarial_loss(fake, "bce").item() == pytest.approx(sp(-0.2) + sp(1.5))


def test_feature_matching_skips_logits_and_detaches_real():
    real = [[torch.ones(2, 3, requires_grad=True), torch.tensor([100.0])]]
    fake = [[torch.zeros(2, 3, requires_grad=True), torch.tensor([-100.0])]]
    loss = feature_matching_loss(fake, real)
    assert loss.item() == pytest.approx(1.0)
    loss.backward()
    assert real[0][0].grad is None and fake[0][0].grad is not None


def test_loss_weights_in_one_place():
    assert LOSS_WEIGHTS == LossWeights(
        mel=15.0, feature=2.0, adversarial=1.0, codebook=1.0, commitment=0.25
    )
    total = LOSS_WEIGHTS.total(
        {"mel": torch.tensor(1.0), "feature": torch.tensor(1.0), "commitment": torch.tensor(4.0)}
    )
    assert total.item() == pytest.approx(15 + 2 + 1)
