import math

import pytest
import torch

from dac_minimal.layers import (
    ResidualUnit,
    Snake,
    WNConv1d,
    WNConvTranspose1d,
    activation,
    compile_snakes,
    init_weights,
    snake,
)


def test_snake_matches_closed_form():
    x = torch.linspace(-5, 5, 101).reshape(1, 1, -1).repeat(1, 3, 1)
    alpha = torch.tensor([0.5, 1.0, 3.0]).reshape(1, 3, 1)
    expected = x + torch.sin(alpha * x) ** 2 / alpha
    torch.testing.assert_close(snake(x, alpha), expected, rtol=1e-6, atol=1e-6)


def test_snake_gradient_wrt_alpha_matches_derivation():
    # d/dα [x + sin²(αx)/α] = x·sin(2αx)/α − sin²(αx)/α²
    x = torch.randn(2, 4, 50, dtype=torch.float64)
    alpha = (torch.rand(1, 4, 1, dtype=torch.float64) + 0.5).requires_grad_()
    snake(x, alpha).sum().backward()
    a = alpha.detach()
    analytic = (x * torch.sin(2 * a * x) / a - torch.sin(a * x) ** 2 / a**2).sum(
        dim=(0, 2), keepdim=True
    )
    torch.testing.assert_close(alpha.grad, analytic, rtol=1e-6, atol=1e-8)
    assert torch.autograd.gradcheck(lambda al: snake(x, al), (alpha,))


def test_snake_module_has_one_alpha_per_channel_initialised_to_one():
    s = Snake(7)
    assert s.alpha.shape == (1, 7, 1) and torch.all(s.alpha == 1)
    assert torch.isfinite(snake(torch.randn(1, 7, 5), torch.zeros(1, 7, 1))).all()  # eps guards 1/α


def test_residual_unit_keeps_length_and_adds_skip():
    for d in (1, 3, 9):
        unit = ResidualUnit(6, dilation=d)
        x = torch.randn(2, 6, 101)
        assert unit(x).shape == x.shape
    unit = ResidualUnit(6)
    torch.nn.init.zeros_(
        unit.block[3].parametrizations.weight.original0
    )  # last conv outputs bias only
    torch.nn.init.zeros_(unit.block[3].bias)
    x = torch.randn(2, 6, 30)
    torch.testing.assert_close(unit(x), x)


def test_weight_norm_and_variance_preserving_init():
    conv = WNConv1d(16, 32, 7)
    assert hasattr(conv, "parametrizations")
    init_weights(conv)
    w = conv.weight.detach()
    std = (16 * 7) ** -0.5
    assert abs(w.std().item() / std - 0.88) < 0.1  # a normal cut at ±2σ has 0.88σ
    assert w.abs().max() <= 2 * std + 1e-6
    assert torch.all(conv.bias == 0)
    g = conv.parametrizations.weight.original0.detach()
    torch.testing.assert_close(g.flatten(), w.flatten(1).norm(dim=1))
    up = WNConvTranspose1d(64, 32, kernel_size=16, stride=8)
    init_weights(up)
    assert up.weight.abs().max() <= 2 * (64 * 16 / 8) ** -0.5 + 1e-6


def test_init_keeps_the_latent_near_the_input_scale():
    # the tiny model's latent must not start orders of magnitude below the audio (codebook
    # collapse; see init_weights)
    from dac_minimal import DAC

    model = DAC.from_preset("tiny")
    x = torch.randn(2, 1, 8192) * 0.1
    with torch.no_grad():
        z_e = model.quantizer.quantizers[0].in_proj(model.encoder(x))
    assert z_e.std() > 0.01


def test_activation_names():
    assert isinstance(activation("snake", 3), Snake)
    assert isinstance(activation("leaky_relu", 3), torch.nn.LeakyReLU)
    assert math.isclose(float(snake(torch.tensor([[[0.0]]]), torch.ones(1, 1, 1))), 0.0)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize(
    "device, amp",
    [
        ("cpu", False),
        ("cpu", True),
        pytest.param("cuda", False, marks=CUDA),
        pytest.param("cuda", True, marks=CUDA),
    ],
)
def test_the_compiled_snake_matches_the_eager_one(device, amp):
    torch.manual_seed(0)
    x = torch.randn(3, 16, 1000, device=device, requires_grad=True)
    eager, fused = Snake(16).to(device), Snake(16).to(device)
    with torch.no_grad():
        eager.alpha.uniform_(0.5, 2.0)
        fused.alpha.copy_(eager.alpha)
    compile_snakes(fused)
    outputs, grads = [], []
    for module in (eager, fused):
        with torch.autocast(device, dtype=torch.bfloat16, enabled=amp):
            y = module(
                x.to(torch.bfloat16) if amp else x
            )  # as a bf16 convolution would hand it over
        outputs.append(y)
        grads.append(torch.autograd.grad(y.square().sum(), (x, module.alpha)))
    assert outputs[0].dtype == outputs[1].dtype
    for fused_value, eager_value in zip((outputs[1], *grads[1]), (outputs[0], *grads[0])):
        # bf16: eager autograd rounds each path's gradient of x to bf16 before adding them, the
        # fused kernel adds in fp32; where the two nearly cancel, the difference is a bf16 step of
        # the larger one.
        scale = float(eager_value.abs().max()) if amp else 1.0
        rtol = 2e-2 if amp else 1e-5
        torch.testing.assert_close(fused_value, eager_value, rtol=rtol, atol=rtol * scale)
