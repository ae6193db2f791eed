import copy

import pytest
import torch
from torch.nn.utils import parametrize

from dac_minimal import DAC, Snake
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
