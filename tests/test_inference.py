import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from dac_minimal import DAC, Snake
from dac_minimal.codec.chunked import chunk_margins
from dac_minimal.codec.convs import ChannelsLastConv1d, PolyphaseConvTranspose1d
from dac_minimal.codec.inference import FusedSnake, prepare_for_inference, snake_addcmul


@pytest.fixture(scope="module")
def model() -> DAC:
    """A tiny codec with weights and Snake α moved away from their initial values."""
    torch.manual_seed(3)
    model = DAC.from_preset("tiny").eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("alpha"):
                p.uniform_(0.3, 3.0)
            else:
                p.add_(torch.randn_like(p) * 0.02)
    return model


def test_snake_addcmul_matches_the_closed_form():
    x = torch.randn(2, 5, 300, dtype=torch.float64) * 3
    alpha = torch.rand(1, 5, 1, dtype=torch.float64) * 4 + 0.1
    expected = x + torch.sin(alpha * x) ** 2 / alpha
    assert torch.allclose(snake_addcmul(x, alpha, 1 / alpha), expected, atol=1e-12)


def test_prepare_folds_weight_norm_and_swaps_every_snake(model):
    n_snakes = sum(isinstance(m, Snake) for m in model.modules())
    n_wn = sum(parametrize.is_parametrized(m, "weight") for m in model.modules())
    assert n_snakes > 0 and n_wn > 0
    prepared = copy.deepcopy(model).prepare_for_inference()
    assert not any(parametrize.is_parametrized(m) for m in prepared.modules())
    assert not any(isinstance(m, Snake) for m in prepared.modules())
    assert sum(isinstance(m, FusedSnake) for m in prepared.modules()) == n_snakes
    assert not prepared.training and not any(p.requires_grad for p in prepared.parameters())
    # The folded weight is the one weight norm computed: g · v / ‖v‖.
    conv = model.decoder.model[0]
    g, v = conv.parametrizations.weight.original0, conv.parametrizations.weight.original1
    expected = g * v / v.norm(dim=(1, 2), keepdim=True)
    assert torch.allclose(prepared.decoder.model[0].weight, expected, atol=1e-6)


def test_prepared_model_gives_the_same_codes_and_audio(model):
    prepared = prepare_for_inference(copy.deepcopy(model))
    x = torch.sin(torch.arange(6000) / 7.0)[None, None] * 0.4 + torch.randn(2, 1, 6000) * 0.05
    with torch.inference_mode():
        a, b = model.encode(x), prepared.encode(x)
        differ = int((a.codes != b.codes).sum())
        assert differ <= a.codes.numel() // 1000  # a near-tie may flip with rounding; none expected
        assert (a.z - b.z).abs().max() < 1e-4
        diff = (model.decode_codes(a.codes) - prepared.decode_codes(a.codes)).abs().max()
    assert diff < 1e-4
    # The chunked codec works on the prepared model too (margins come from its plain convs).
    assert torch.equal(prepared.compress(x[:, 0], chunk_seconds=0.05).codes, b.codes)


def test_prepare_refuses_non_modules():
    with pytest.raises(ValueError, match="torch module"):
        prepare_for_inference("model")


# The decoder's transposed convs (kernel 2s, padding ceil(s/2), output_padding s % 2, for the
# 44.1 kHz strides 8, 8, 4, 2 and the 16/24 kHz models' 5), and shapes no preset uses.
TRANSPOSED = [(2, 4, 1, 0), (4, 8, 2, 0), (8, 16, 4, 0), (5, 10, 3, 1), (3, 7, 0, 0), (3, 5, 2, 2)]


@pytest.mark.parametrize("stride, kernel, padding, output_padding", TRANSPOSED)
@pytest.mark.parametrize("channels_last", [False, True])
def test_polyphase_bank_equals_the_transposed_conv(
    stride, kernel, padding, output_padding, channels_last
):
    torch.manual_seed(stride * 10 + kernel)
    conv = nn.ConvTranspose1d(
        6, 5, kernel, stride=stride, padding=padding, output_padding=output_padding
    )
    bank = PolyphaseConvTranspose1d(conv, channels_last)
    x = torch.randn(2, 6, 13)
    with torch.no_grad():
        expected = conv(x)
        got = bank(x.transpose(1, 2).contiguous().transpose(1, 2) if channels_last else x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() < 1e-5
    # The bank is one ordinary conv: s phases of ceil(K / s) taps each, no zeros inserted.
    assert bank.weight.shape == (stride * 5, 6, -(-kernel // stride))


def test_channels_last_conv_equals_the_conv():
    torch.manual_seed(1)
    conv = nn.Conv1d(6, 4, 7, stride=2, padding=9, dilation=3)
    fast = ChannelsLastConv1d.from_conv(copy.deepcopy(conv))
    x = torch.randn(2, 6, 50)
    with torch.no_grad():
        y = fast(x.transpose(1, 2).contiguous().transpose(1, 2))
        assert (y - conv(x)).abs().max() < 1e-5
    assert y.transpose(1, 2).is_contiguous()  # the output stays channels-last for the next layer
    assert fast.weight.shape == conv.weight.shape and fast.kernel_size == (7,)


def test_prepare_rewrites_the_convolutions_unless_told_not_to(model):
    fast = copy.deepcopy(model).prepare_for_inference()
    plain = copy.deepcopy(model).prepare_for_inference(fast_convs=False)
    n_transposed = sum(isinstance(m, nn.ConvTranspose1d) for m in model.modules())
    assert n_transposed == len(model.config.decoder_rates)
    assert not any(isinstance(m, nn.ConvTranspose1d) for m in fast.modules())
    assert sum(isinstance(m, PolyphaseConvTranspose1d) for m in fast.modules()) == n_transposed
    assert sum(isinstance(m, nn.ConvTranspose1d) for m in plain.modules()) == n_transposed
    assert not any(isinstance(m, ChannelsLastConv1d) for m in plain.modules())
    x = torch.randn(1, 1, 5000) * 0.3
    with torch.inference_mode():
        codes = model.encode(x).codes
        assert torch.equal(fast.encode(x).codes, codes)
        y_fast, y_plain = fast.decode_codes(codes), plain.decode_codes(codes)
        assert (y_fast - model.decode_codes(codes)).abs().max() < 1e-4
        assert (y_fast - y_plain).abs().max() < 1e-4
        assert y_fast.is_contiguous() and fast.encode(x).z.is_contiguous()


def test_chunked_decoding_of_the_prepared_model_matches_one_pass(model):
    # The decoder's chunk margins come from its receptive field, which must still count the
    # polyphase banks as the transposed convs they replaced.
    fast = copy.deepcopy(model).prepare_for_inference()
    assert chunk_margins(fast) == chunk_margins(model)
    x = torch.randn(1, 6000) * 0.3
    compressed = fast.compress(x, chunk_seconds=None)
    whole = fast.decompress(compressed, chunk_seconds=None)
    pieces = fast.decompress(compressed, chunk_seconds=0.03)
    assert (whole - pieces).abs().max() < 1e-5


def test_compress_takes_the_fast_path_on_long_inputs_and_leaves_the_model_alone(model, monkeypatch):
    from dac_minimal.codec import inference

    assert not inference.is_prepared(model)
    assert inference.fast_model(model, 1.0) is model  # too short to repay a copy
    fast = inference.fast_model(model, 10.0, compile=False)
    assert fast is not model and inference.is_prepared(fast)
    assert inference.fast_model(fast, 10.0) is fast  # a prepared model is used as it is
    prepared, original = [], inference.prepare_for_inference

    def counted(m, compile):
        prepared.append(m)
        return original(m, compile=compile)

    monkeypatch.setattr(inference, "prepare_for_inference", counted)
    x = torch.randn(1, int(inference.PREPARE_PAYS_FROM_SECONDS * model.sample_rate) + 1) * 0.3
    assert torch.equal(model.compress(x).codes, model.compress(x, fast=False).codes)
    assert len(prepared) == 1 and prepared[0] is not model  # a copy; False prepared nothing
    assert not inference.is_prepared(model)
