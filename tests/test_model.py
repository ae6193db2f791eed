import math

import pytest
import torch

from dac_minimal import DAC, DACConfig, Discriminator, MultiScaleMelLoss, count_parameters
from dac_minimal.model import PRESETS
from dac_minimal.train import CodecForward
from dac_minimal.utils.checks import skip_finite_checks


def test_full_model_parameter_counts_match_the_official_model():
    model = DAC()
    expected = {"total": 76.65e6, "encoder": 22.31e6, "decoder": 54.10e6, "quantizer": 0.24e6}
    measured = {
        "total": count_parameters(model),
        "encoder": count_parameters(model.encoder),
        "decoder": count_parameters(model.decoder),
        "quantizer": count_parameters(model.quantizer),
    }
    for part in ("total", "encoder", "decoder"):
        assert abs(measured[part] - expected[part]) / expected[part] < 1e-3, (part, measured[part])
    assert abs(measured["quantizer"] - expected["quantizer"]) < 0.005e6
    assert model.hop_length == 512 and model.sample_rate == 44100 and model.n_codebooks == 9
    assert math.isclose(model.bitrate(), 44100 / 512 * 90, rel_tol=1e-12)  # ≈ 7.75 kbps


def test_tiny_preset_is_small_and_same_codec_family():
    tiny = DAC.from_preset("tiny")
    assert count_parameters(tiny) < 1_000_000
    assert tiny.hop_length == 512 and tiny.sample_rate == 44100
    assert tiny.n_codebooks == 9 and tiny.config.codebook_size == 1024


@pytest.mark.parametrize("length", [1, 511, 512, 513, 1000, 44101])
def test_lengths_for_odd_inputs(tiny, length):
    x = torch.randn(2, 1, length) * 0.1
    with torch.no_grad():
        enc = tiny.encode(x)
        out = tiny(x)
    frames = math.ceil(length / 512)
    assert enc.codes.shape == (2, 9, frames) and enc.codes.dtype == torch.int64
    assert enc.z.shape == (2, 64, frames) and enc.latents.shape == (2, 9 * 8, frames)
    assert out.audio.shape == x.shape
    assert tiny.decode(enc.z).shape == (2, 1, frames * 512)
    assert tiny.decode_codes(enc.codes, length=length).shape == x.shape


@pytest.mark.parametrize("preset", ["24khz", "16khz"])
def test_odd_stride_presets_keep_the_length(preset):
    model = DAC.from_preset(
        preset, decoder_dim=96, encoder_dim=8
    ).eval()  # same strides, small widths
    assert model.hop_length == 320
    x = torch.randn(1, 1, 320 * 3 + 7) * 0.1
    with torch.no_grad():
        assert model(x).audio.shape == x.shape
        assert model.decode(model.encode(x).z).shape[-1] == 320 * 4


def test_presets_cover_the_published_family():
    assert PRESETS["24khz"].n_codebooks == 32 and PRESETS["24khz"].sample_rate == 24000
    assert PRESETS["16khz"].n_codebooks == 12 and PRESETS["16khz"].sample_rate == 16000
    assert PRESETS["44khz_16kbps"].n_codebooks == 18
    with pytest.raises(ValueError, match="unknown preset"):
        DAC.from_preset("48khz")


def test_decode_codes_from_a_leading_subset_equals_the_sum_of_quantizer_outputs(tiny):
    x = torch.randn(1, 1, 4000) * 0.1
    with torch.no_grad():
        codes = tiny.encode(x).codes
        for k in (1, 4, 9):
            z_k = sum(tiny.quantizer.quantizers[i].decode_code(codes[:, i]) for i in range(k))
            torch.testing.assert_close(
                tiny.decode_codes(codes[:, :k]), tiny.decode(z_k), atol=1e-6, rtol=1e-5
            )


def test_eval_encode_and_decode_codes_reconstructs_the_forward_pass(tiny):
    x = torch.randn(1, 1, 3000) * 0.1
    with torch.no_grad():
        out = tiny(x)
        torch.testing.assert_close(
            tiny.decode_codes(out.codes, length=3000), out.audio, atol=1e-5, rtol=1e-4
        )


@pytest.mark.parametrize("training", [True, False])
def test_n_quantizers_is_honoured_in_train_and_eval_mode(training):
    model = DAC.from_preset("tiny", quantizer_dropout=1.0).train(training)
    x = torch.randn(3, 1, 2048) * 0.1
    enc = model.encode(x, n_quantizers=4)
    assert enc.codes.shape == (3, 4, 4)
    torch.testing.assert_close(enc.z, model.quantizer.from_codes(enc.codes), atol=1e-5, rtol=1e-5)


def test_training_forward_has_gradients_everywhere_that_trains():
    model = DAC.from_preset("tiny").train()
    out = model(torch.randn(2, 1, 2048) * 0.1)
    (out.audio.pow(2).mean() + out.commitment_loss + out.codebook_loss).backward()
    assert model.encoder.block[0].parametrizations.weight.original1.grad.abs().sum() > 0
    assert model.quantizer.quantizers[0].codebook.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "x, message",
    [
        (torch.zeros(1, 100), "shape"),
        (torch.zeros(100), "shape"),
        (torch.zeros(1, 2, 100), "mono"),
        (torch.zeros(1, 1, 0), "too short"),
        (torch.zeros(0, 1, 100), "empty batch"),
        (torch.tensor([[[0.0, float("nan"), 0.0]]]), "NaN"),
        (torch.tensor([[[0.0, float("inf"), 0.0]]]), "NaN or infinite"),
        (torch.zeros(1, 1, 100, dtype=torch.int16), "floating-point"),
    ],
)
def test_bad_audio_gives_a_clear_error(tiny, x, message):
    with pytest.raises(ValueError, match=message):
        tiny.encode(x)
    with pytest.raises(ValueError, match=message):
        tiny(x)


def test_skip_finite_checks_keeps_the_shape_checks(tiny):
    nan = torch.tensor([[[0.0, float("nan"), 0.0]]])
    with skip_finite_checks():
        assert torch.isnan(tiny(nan).audio).any()  # no scan of the values: NaN in, NaN out
        with pytest.raises(ValueError, match="mono"):
            tiny(torch.zeros(1, 2, 100))
    with pytest.raises(ValueError, match="NaN"):  # restored on leaving the block
        tiny(nan)


@pytest.mark.parametrize("training", [True, False])
def test_the_trainers_modules_compile_without_graph_breaks(training):
    # A value read back inside a module's forward (the NaN scan of its input, the number of
    # codebooks to run) would split the graph that `--compile full` builds, and with it each CUDA
    # graph; the scan is skipped while dynamo traces.
    x = torch.randn(2, 1, 4096) * 0.1
    model = DAC.from_preset("tiny").train(training)
    for module, args in [
        (CodecForward(model), (x,)),
        (Discriminator().train(training), (x,)),
        (MultiScaleMelLoss(), (x, x.flip(-1))),
    ]:
        explained = torch._dynamo.explain(module)(*args)
        assert explained.graph_break_count == 0, (type(module).__name__, explained.break_reasons)
    with pytest.raises(ValueError, match="NaN"):  # eager calls still scan
        CodecForward(model)(torch.full_like(x, float("nan")))


def test_bad_n_quantizers_codes_and_latents(tiny):
    x = torch.zeros(1, 1, 600)
    for bad in (0, 10, -3, 2.0):
        with pytest.raises(ValueError, match="n_quantizers"):
            tiny.encode(x, n_quantizers=bad)
    with pytest.raises(ValueError, match=r"\[0, 1024\)"):
        tiny.decode_codes(torch.full((1, 9, 2), 1024))
    with pytest.raises(ValueError, match="no frames"):
        tiny.decode_codes(torch.zeros(1, 9, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="torch.Tensor"):
        tiny.decode_codes([[1, 2]])
    with pytest.raises(ValueError, match="integer"):
        tiny.decode_codes(torch.zeros(1, 9, 2))
    with pytest.raises(ValueError, match="10 codebooks; this model has 1..9"):
        tiny.decode_codes(torch.zeros(1, 10, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(B, n_q, S\)"):
        tiny.decode_codes(torch.zeros(9, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="n_quantizers"):
        tiny.bitrate(10)
    with pytest.raises(ValueError, match=r"\(B, 64, S\)"):
        tiny.decode(torch.zeros(1, 32, 4))
    with pytest.raises(ValueError, match="length"):
        tiny.decode_codes(torch.zeros(1, 9, 2, dtype=torch.long), length=5000)


def test_config_validation():
    with pytest.raises(ValueError, match="same product"):
        DACConfig(encoder_rates=(2, 4), decoder_rates=(4, 4))
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        DACConfig(activation="gelu")
    with pytest.raises(ValueError, match="quantizer_dropout"):
        DACConfig(quantizer_dropout=1.5)
    with pytest.raises(ValueError, match="sample_rate"):
        DACConfig(sample_rate=0)
    with pytest.raises(ValueError, match="rate"):
        DACConfig(encoder_rates=(2, 0), decoder_rates=(0, 2))
    assert DACConfig(encoder_dim=8, encoder_rates=(2, 2), decoder_rates=(4,)).latent_dim == 32


def test_leaky_relu_variant_builds_and_runs():
    model = DAC.from_preset("tiny", activation="leaky_relu").eval()
    assert not any(n.endswith("alpha") for n, _ in model.named_parameters())
    with torch.no_grad():
        assert model(torch.randn(1, 1, 1024) * 0.1).audio.shape == (1, 1, 1024)
