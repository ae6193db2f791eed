import pytest
import torch

from dac_minimal import Discriminator, DiscriminatorConfig
from dac_minimal.discriminator import MPD, MRD, complex_stft


def test_default_discriminator_outputs(tmp_path):
    disc = Discriminator.from_preset("tiny")
    x = torch.randn(2, 1, 8192) * 0.3
    outs = disc(x)
    assert len(outs) == 5 + 3  # five periods, three STFT windows
    for p, fmaps in zip((2, 3, 5, 7, 11), outs[:5]):
        assert len(fmaps) == 6  # 5 conv layers + logits
        logits = fmaps[-1]
        assert logits.shape[:2] == (2, 1) and logits.shape[-1] == p
    for w, fmaps in zip((2048, 1024, 512), outs[5:]):
        assert len(fmaps) == 5 * 5 + 1  # five bands x five layers + logits
        logits = fmaps[-1]
        frames = 8192 // (w // 4)
        assert logits.shape[:3] == (2, 1, frames)


def test_official_discriminator_feature_map_channels():
    disc = Discriminator()
    outs = disc(torch.randn(1, 1, 4096))
    assert [f.shape[1] for f in outs[0]] == [32, 128, 512, 1024, 1024, 1]
    assert [f.shape[1] for f in outs[-1]] == [32] * 25 + [1]


def test_mpd_fold_puts_samples_one_period_apart_in_a_column():
    mpd = MPD(3, channels=(4, 4, 4, 4))
    x = torch.arange(12.0).reshape(1, 1, 12)
    folded = mpd.fold(x)
    assert folded.shape == (1, 1, 4, 3)
    assert torch.equal(folded[0, 0, :, 1], torch.tensor([1.0, 4.0, 7.0, 10.0]))
    assert mpd.fold(torch.arange(13.0).reshape(1, 1, 13)).shape == (1, 1, 5, 3)  # reflect-padded


def test_mrd_bands_and_complex_stft():
    mrd = MRD(2048)
    assert mrd.bands == [(0, 102), (102, 256), (256, 512), (512, 768), (768, 1025)]
    x = torch.randn(2, 1, 5000)
    spec = complex_stft(x, 512)
    assert spec.shape == (2, 2, -(-5000 // 128), 257)
    # the real/imaginary parts are those of torch.stft on the same padded signal
    ref = torch.stft(
        torch.nn.functional.pad(x, (192, 192 + (-5000 % 128)), mode="reflect")[:, 0],
        512,
        128,
        window=torch.hann_window(512),
        center=True,
        return_complex=True,
    )[..., 2:-2]
    torch.testing.assert_close(spec[:, 0], ref.real.transpose(1, 2))
    torch.testing.assert_close(spec[:, 1], ref.imag.transpose(1, 2))


def test_no_band_split_and_msd_options():
    disc = Discriminator(
        DiscriminatorConfig(
            bands=((0.0, 1.0),), rates=(1, 2), mpd_channels=(4, 4, 4, 4), mrd_channels=4
        )
    )
    outs = disc(torch.randn(1, 1, 4096))
    assert len(outs) == 5 + 2 + 3
    assert len(outs[-1]) == 6
    assert outs[5][-1].shape[-1] > outs[6][-1].shape[-1]  # the rate-2 MSD sees half the samples


def test_preprocess_removes_dc_and_sets_peak():
    x = torch.randn(3, 1, 1000) + 5.0
    y = Discriminator.preprocess(x)
    torch.testing.assert_close(y.mean(-1), torch.zeros(3, 1), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.abs().amax(-1), torch.full((3, 1), 0.8))


def test_bad_inputs():
    with pytest.raises(ValueError, match="bands"):
        DiscriminatorConfig(bands=((0.5, 0.2),))
    with pytest.raises(ValueError, match="unknown discriminator preset"):
        Discriminator.from_preset("huge")
    with pytest.raises(ValueError, match="powers of two"):
        DiscriminatorConfig(rates=(1, 3))


def test_stfts_run_in_fp32_for_bf16_input():
    # Under bf16 autocast on CUDA the generator's output is bf16, and cuFFT has no bf16 transform:
    # the discriminator's and the mel loss's STFTs must cast to fp32 first (found on the first GPU
    # run).
    from dac_minimal.loss import stft_magnitude

    x = torch.randn(2, 1, 4000)
    assert complex_stft(x.bfloat16(), 128).dtype == torch.float32
    torch.testing.assert_close(
        complex_stft(x.bfloat16(), 128), complex_stft(x.bfloat16().float(), 128)
    )
    assert stft_magnitude(x.bfloat16(), 256).dtype == torch.float32
    # fp64 keeps its precision (the book checks the package's STFT against torch.stft in fp64)
    assert (
        complex_stft(x.double(), 128).dtype
        == stft_magnitude(x.double(), 256).dtype
        == torch.float64
    )


def test_compiled_preprocess_of_bf16_input_has_finite_gradients():
    # Found on the GPU: `torch.compile` of the discriminator under bf16 autocast gave the generator
    # NaN gradients (pytorch/pytorch#186799: the compiled backward of amax in bf16). The
    # normalisation runs in fp32 now.
    x = (torch.randn(2, 1, 1000) * 0.1).bfloat16().requires_grad_()
    weights = torch.linspace(-1, 1, 1000)
    (torch.compile(Discriminator.preprocess)(x) * weights).sum().backward()
    reference = x.detach().float().requires_grad_()
    (Discriminator.preprocess(reference) * weights).sum().backward()
    assert torch.isfinite(x.grad).all()
    torch.testing.assert_close(x.grad.float(), reference.grad, rtol=1e-2, atol=1e-2)
