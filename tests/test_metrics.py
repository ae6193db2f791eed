"""Every metric against an independent computation (hand formulas, NumPy, librosa, SciPy).

Plus the edge cases of the metrics module's docstring and its bad-input errors.
"""

import math

import librosa
import numpy as np
import pytest
import scipy.fft
import torch

from dac_minimal.evaluate import metrics as M
from dac_minimal.loss import mel_filters

SR = 44100
RTOL = 1e-6


@pytest.fixture(scope="module")
def pair():
    """A 0.25 s reference (two tones + noise) and a degraded copy: (x̂, x), float64 (T,)."""
    rng = np.random.default_rng(0)
    t = np.arange(SR // 4) / SR
    x = (
        0.3 * np.sin(2 * np.pi * 440 * t)
        + 0.1 * np.sin(2 * np.pi * 3000 * t)
        + 0.01 * rng.standard_normal(len(t))
    )
    x_hat = 0.9 * x + 0.02 * rng.standard_normal(len(t))
    return x_hat, x


def test_mse_and_snr_by_hand():
    x = np.array([3.0, 4.0])  # energy 25
    x_hat = np.array([3.3, 4.4])  # error energy 0.09 + 0.16 = 0.25
    assert M.mse(x_hat, x) == pytest.approx(0.125, rel=RTOL)
    assert M.snr_db(x_hat, x) == pytest.approx(20.0, rel=RTOL)  # 10 log10(25 / 0.25)


def test_snr_and_mse_match_numpy_per_item(pair):
    x_hat, x = pair
    batch_hat = np.stack([x_hat, 0.5 * x_hat, x])[:, None]  # (3, 1, T)
    batch = np.stack([x, x, x])[:, None]
    snr, err = M.snr_db(batch_hat, batch), M.mse(batch_hat, batch)
    assert snr.shape == err.shape == (3, 1)
    for i in range(2):
        expected = 10 * np.log10(
            np.sum(batch[i, 0] ** 2) / np.sum((batch[i, 0] - batch_hat[i, 0]) ** 2)
        )
        np.testing.assert_allclose(snr[i, 0], expected, rtol=RTOL)
        np.testing.assert_allclose(
            err[i, 0], np.mean((batch[i, 0] - batch_hat[i, 0]) ** 2), rtol=RTOL
        )
    assert snr[2, 0] == math.inf and err[2, 0] == 0.0


def test_si_sdr_by_orthogonal_construction(pair):
    _, x = pair
    rng = np.random.default_rng(1)
    n = rng.standard_normal(len(x))
    n -= (
        (n @ x) / (x @ x) * x
    )  # noise orthogonal to x, so the projection of x̂ = a x + n on x is exactly a x
    a = 0.7
    expected = 10 * np.log10(a**2 * (x @ x) / (n @ n))
    assert M.si_sdr_db(a * x + n, x) == pytest.approx(expected, rel=RTOL)
    # scale invariance: a gain on the estimate changes SNR, not SI-SDR
    assert M.si_sdr_db(3 * (a * x + n), x) == pytest.approx(expected, rel=RTOL)
    assert M.si_sdr_db(0.5 * x, x) == math.inf
    assert M.snr_db(0.5 * x, x) == pytest.approx(10 * np.log10(1 / 0.25), rel=RTOL)


def test_si_sdr_zero_mean_option(pair):
    x_hat, x = pair
    xm, ym = x - x.mean(), (x_hat + 0.3) - (x_hat + 0.3).mean()
    s = (ym @ xm) / (xm @ xm) * xm
    expected = 10 * np.log10((s @ s) / ((ym - s) @ (ym - s)))
    assert M.si_sdr_db(x_hat + 0.3, x, zero_mean=True) == pytest.approx(expected, rel=RTOL)


def test_torch_and_numpy_inputs_agree(pair):
    x_hat, x = pair
    for f in (M.mse, M.snr_db, M.si_sdr_db, M.stft_distance):
        assert f(torch.from_numpy(x_hat), torch.from_numpy(x)) == pytest.approx(
            f(x_hat, x), rel=RTOL
        )


def _librosa_mel_loss(x_hat: np.ndarray, x: np.ndarray) -> float:
    total = 0.0
    for w, m in zip((32, 64, 128, 256, 512, 1024, 2048), (5, 10, 20, 40, 80, 160, 320)):

        def mel(y):
            s = librosa.feature.melspectrogram(
                y=y,
                sr=SR,
                n_fft=w,
                hop_length=w // 4,
                window="hann",
                center=True,
                pad_mode="reflect",
                power=1.0,
                n_mels=m,
            )
            return np.log10(np.maximum(s, 1e-5))

        total += np.mean(np.abs(mel(x_hat) - mel(x)))
    return total


def test_mel_distance_is_the_training_loss_and_matches_librosa(pair):
    x_hat, x = pair
    expected = _librosa_mel_loss(
        x_hat.astype(np.float32).astype(np.float64), x.astype(np.float32).astype(np.float64)
    )
    # the loss runs in float32 on float32 samples; the mean of many |differences| still agrees
    # to 1e-6
    assert M.mel_distance(x_hat, x) == pytest.approx(expected, rel=RTOL)
    from dac_minimal.loss import MultiScaleMelLoss

    loss = MultiScaleMelLoss()(
        torch.tensor(x_hat, dtype=torch.float32)[None, None],
        torch.tensor(x, dtype=torch.float32)[None, None],
    )
    assert M.mel_distance(x_hat, x) == pytest.approx(float(loss), rel=RTOL)


def test_stft_distance_matches_librosa(pair):
    x_hat, x = pair
    expected = 0.0
    for w, hop in M.STFT_RESOLUTIONS:
        s_hat = np.abs(
            librosa.stft(
                x_hat, n_fft=w, hop_length=hop, window="hann", center=True, pad_mode="reflect"
            )
        )
        s = np.abs(
            librosa.stft(x, n_fft=w, hop_length=hop, window="hann", center=True, pad_mode="reflect")
        )
        sc = np.linalg.norm(s - s_hat) / np.linalg.norm(s)
        log_l1 = np.mean(np.abs(np.log(np.maximum(s_hat, 1e-5)) - np.log(np.maximum(s, 1e-5))))
        expected += (sc + log_l1) / len(M.STFT_RESOLUTIONS)
    assert M.stft_distance(x_hat, x) == pytest.approx(expected, rel=RTOL)


def _hand_mfcc(y: np.ndarray, n_mfcc=13, n_fft=2048, hop=512, n_mels=128) -> np.ndarray:
    # librosa.stft pads with zeros ("constant") by default in librosa >= 0.10, as feature.mfcc does
    power = (
        np.abs(
            librosa.stft(
                y, n_fft=n_fft, hop_length=hop, window="hann", center=True, pad_mode="constant"
            )
        )
        ** 2
    )
    db = 10 * np.log10(np.maximum(mel_filters(SR, n_fft, n_mels) @ power, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    return scipy.fft.dct(db, type=2, norm="ortho", axis=0)[:n_mfcc]


def test_mfcc_distance_matches_a_hand_built_mfcc(pair):
    x_hat, x = pair
    c_hat, c = _hand_mfcc(x_hat), _hand_mfcc(x)
    np.testing.assert_allclose(M.mfcc(x), c, rtol=RTOL, atol=1e-9)
    expected = np.mean(np.linalg.norm(c_hat - c, axis=0))
    assert M.mfcc_distance(x_hat, x) == pytest.approx(expected, rel=RTOL)


def test_batched_spectral_distances_equal_item_by_item(pair):
    x_hat, x = pair
    batch_hat, batch = (
        np.stack([x_hat, x, 0.1 * x_hat]),
        np.stack([x, x, x]),
    )  # the 80 dB floor is per item
    for f in (M.mel_distance, M.stft_distance, M.mfcc_distance):
        values = f(batch_hat, batch)
        assert values.shape == (3,)
        np.testing.assert_allclose(values, [f(a, b) for a, b in zip(batch_hat, batch)], rtol=RTOL)
        assert values[1] == 0.0 and values[0] > 0 and values[2] > values[0]


def test_identical_signals_are_perfect(pair):
    _, x = pair
    assert M.snr_db(x, x) == math.inf and M.si_sdr_db(x, x) == math.inf
    for f in (M.mse, M.mel_distance, M.stft_distance, M.mfcc_distance):
        assert f(x, x) == 0.0


def test_silence(pair):
    _, x = pair
    silence = np.zeros_like(x)
    # silence reconstructed as silence is a perfect reconstruction
    assert M.snr_db(silence, silence) == math.inf and M.si_sdr_db(silence, silence) == math.inf
    for f in (M.mse, M.mel_distance, M.stft_distance, M.mfcc_distance):
        assert f(silence, silence) == 0.0
    # anything against a silent reference: -inf;
    # a silent estimate of a signal: 0 dB SNR, -inf SI-SDR
    assert M.snr_db(x, silence) == -math.inf and M.si_sdr_db(x, silence) == -math.inf
    assert (
        M.snr_db(silence, x) == pytest.approx(0.0, abs=1e-12)
        and M.si_sdr_db(silence, x) == -math.inf
    )
    assert M.stft_distance(x, silence) == math.inf  # spectral convergence divides by ‖S‖ = 0
    assert np.isfinite(M.mel_distance(x, silence)) and np.isfinite(M.mfcc_distance(x, silence))


@pytest.mark.parametrize(
    "f", [M.mse, M.snr_db, M.si_sdr_db, M.mel_distance, M.stft_distance, M.mfcc_distance]
)
def test_bad_input_raises_clear_errors(f, pair):
    x_hat, x = pair
    with pytest.raises(ValueError, match="length mismatch"):
        f(x_hat[:-1], x)
    with pytest.raises(ValueError, match="shape mismatch"):
        f(np.stack([x_hat, x_hat]), np.stack([x, x, x]))
    nan = x.copy()
    nan[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        f(nan, x)
    with pytest.raises(ValueError, match="NaN"):
        f(x, nan)
    with pytest.raises(ValueError, match="empty"):
        f(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="NumPy array or torch tensor"):
        f(list(x), x)


def test_too_short_for_spectral_distances():
    with pytest.raises(ValueError, match="too short: .* need at least 1025"):
        M.mel_distance(np.zeros(512), np.zeros(512))
    with pytest.raises(ValueError, match="too short: .* need at least 1025"):
        M.stft_distance(np.zeros(1000), np.zeros(1000))


def test_codebook_statistics_by_hand():
    codes = torch.tensor([[0, 1, 1, 3], [2, 2, 2, 2]])  # (n_q=2, S=4), K = 4
    util = M.codebook_utilization(codes, 4)
    np.testing.assert_allclose(util.per_codebook, [0.75, 0.25])
    assert util.mean == pytest.approx(0.5)
    # codebook 0: p = (1/4, 1/2, 0, 1/4) → H = 1.5 bits; codebook 1: one code → 0 bits
    np.testing.assert_allclose(M.codebook_entropy_bits(codes, 4), [1.5, 0.0], rtol=RTOL)
    np.testing.assert_allclose(M.codebook_perplexity(codes, 4), [2**1.5, 1.0], rtol=RTOL)
    assert M.max_entropy_bits(1024) == 10.0


def test_codebook_statistics_match_numpy_over_a_list_of_clips():
    rng = np.random.default_rng(0)
    K = 64
    clips = [
        torch.from_numpy(
            rng.integers(0, K // (q + 1), size=(2, 3, s))
        )  # (B=2, n_q=3, S) with S varying
        for q, s in enumerate((5, 17, 40))
    ]
    flat = np.concatenate(
        [c.numpy().transpose(1, 0, 2).reshape(3, -1) for c in clips], axis=1
    )  # (3, all frames)
    util = M.codebook_utilization(clips, K)
    expected_util = [len(np.unique(row)) / K for row in flat]
    np.testing.assert_allclose(util.per_codebook, expected_util, rtol=RTOL)
    assert util.mean == pytest.approx(np.mean(expected_util), rel=RTOL)
    expected_h = []
    for row in flat:
        _, counts = np.unique(row, return_counts=True)
        p = counts / counts.sum()
        expected_h.append(-(p * np.log2(p)).sum())
    np.testing.assert_allclose(M.codebook_entropy_bits(clips, K), expected_h, rtol=RTOL)
    np.testing.assert_allclose(
        M.codebook_perplexity(clips, K), 2.0 ** np.array(expected_h), rtol=RTOL
    )
    # the accumulator, fed batch by batch, says the same
    stats = M.CodebookStats(3, K)
    for c in clips:
        stats.update(c)
    np.testing.assert_allclose(stats.utilization().per_codebook, expected_util, rtol=RTOL)
    np.testing.assert_allclose(stats.entropy_bits(), expected_h, rtol=RTOL)
    assert stats.counts.sum() == flat.size


def test_uniform_codebook_has_full_utilization_and_perplexity_k():
    codes = np.tile(np.arange(16), (2, 3))  # (2, 48): every code three times
    assert M.codebook_utilization(codes, 16).mean == 1.0
    np.testing.assert_allclose(M.codebook_perplexity(codes, 16), [16.0, 16.0], rtol=RTOL)


def test_fewer_codebooks_count_towards_the_first_ones():
    stats = M.CodebookStats(n_codebooks=4, codebook_size=8)
    stats.update(np.array([[0, 1], [2, 3]]))  # n_q = 2 of 4
    assert stats.utilization().per_codebook.shape == (
        2,
    )  # codebooks never used are not averaged in
    np.testing.assert_allclose(stats.utilization().per_codebook, [0.25, 0.25])


def test_codebook_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        M.codebook_utilization(np.array([[0, 4]]), 4)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        M.codebook_utilization(np.array([[-1, 0]]), 4)
    with pytest.raises(ValueError, match="integer"):
        M.codebook_utilization(np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match="same number of codebooks"):
        M.codebook_utilization([np.zeros((2, 3), int), np.zeros((3, 3), int)], 4)
    with pytest.raises(ValueError, match="shaped"):
        M.codebook_utilization(np.zeros(3, int), 4)
    with pytest.raises(ValueError, match="no codes"):
        M.codebook_utilization([], 4)
    with pytest.raises(ValueError, match="update"):
        M.CodebookStats(2, 4).utilization()


def test_codes_from_the_tiny_model(tiny):
    x = torch.randn(2, 1, 4096) * 0.1
    with torch.no_grad():
        codes = tiny.encode(x).codes  # (2, 9, 8)
    util = M.codebook_utilization(codes, tiny.config.codebook_size)
    assert util.per_codebook.shape == (tiny.n_codebooks,)
    assert 0 < util.mean <= 16 / 1024  # at most 16 frames per codebook, so at most 16 entries


def test_visqol_when_installed(pair):
    if not M.visqol_available():
        with pytest.raises(ImportError, match="pip install visqol-python"):
            M.visqol_score(pair[1], pair[1])
        return
    from dac_minimal.data import toy_clip

    x = toy_clip("music", seconds=2.0, seed=0).astype(np.float64)
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="1.5 s"):
        M.visqol_score(pair[0], pair[1], SR)  # 0.25 s: shorter than one ViSQOL patch
    clean, noisy = (
        M.visqol_score(x, x, SR),
        M.visqol_score(x + 0.05 * rng.standard_normal(len(x)), x, SR),
    )
    assert 1.0 <= noisy < clean <= 5.0 and clean > 4.5
    with pytest.raises(ValueError, match="mode"):
        M.visqol_score(x, x, SR, mode="music")
