import math

import pytest
import torch

from dac_minimal.layers import (
    SNAKE_EPS,
    ResidualUnit,
    Snake,
    WNConv1d,
    WNConvTranspose1d,
    activation,
    compile_snakes,
    init_weights,
    snake,
    snake_unfused,
)


def closed_form(x, alpha):
    """Eq. (1) with the package's epsilon, through autograd's operators (float64 in these tests)."""
    return x + torch.sin(alpha * x) ** 2 / (alpha + SNAKE_EPS)


def test_snake_matches_closed_form():
    x = torch.linspace(-5, 5, 101).reshape(1, 1, -1).repeat(1, 3, 1)
    alpha = torch.tensor([0.5, 1.0, 3.0]).reshape(1, 3, 1)
    expected = x + torch.sin(alpha * x) ** 2 / alpha
    torch.testing.assert_close(snake(x, alpha), expected, rtol=1e-6, atol=1e-6)
    x64 = torch.randn(2, 5, 300, dtype=torch.float64) * 3
    alpha64 = torch.rand(1, 5, 1, dtype=torch.float64) * 4 + 0.1
    for f in (snake, snake_unfused):
        torch.testing.assert_close(f(x64, alpha64), closed_form(x64, alpha64), rtol=0, atol=1e-12)


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


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 3, 1), (3, 4, 57), (1, 16, 1000)])
def test_snake_gradients_match_autograd_through_the_closed_form(shape):
    torch.manual_seed(0)
    x = (torch.randn(shape, dtype=torch.float64) * 3).requires_grad_()
    alpha = (torch.rand(1, shape[1], 1, dtype=torch.float64) * 3 + 0.05).requires_grad_()
    upstream = torch.randn(shape, dtype=torch.float64)
    y = snake(x, alpha)
    assert y.shape == shape
    got = torch.autograd.grad(y, (x, alpha), upstream)
    expected = torch.autograd.grad(closed_form(x, alpha), (x, alpha), upstream)
    assert got[0].shape == x.shape and got[1].shape == alpha.shape
    # ∂y/∂x drops the factor α/(α+ε) of sin(2αx): off by at most 2ε|x| per unit of upstream
    bound = 2 * SNAKE_EPS * (x * upstream).abs().detach() + 1e-12
    assert ((got[0] - expected[0]).abs() <= bound).all()
    torch.testing.assert_close(got[1], expected[1], rtol=1e-10, atol=1e-10)
    assert torch.autograd.gradcheck(snake, (x[..., :20].detach().requires_grad_(), alpha))


def test_snake_gradient_in_float32_is_as_close_to_float64_as_autograds():
    # α's gradient sums B·T terms in float32; taking sin²(αx) from y − x instead of keeping it
    # (see _SnakeFunction) would fail here at α = 0.01 (3e-5)
    torch.manual_seed(1)
    x64 = torch.randn(4, 6, 4000, dtype=torch.float64) * 2
    alpha64 = torch.tensor([0.01, 0.1, 0.5, 1.0, 2.0, 5.0], dtype=torch.float64).view(1, 6, 1)
    upstream = torch.randn_like(x64)
    truth = torch.autograd.grad(closed_form(x64, alpha64.requires_grad_()), alpha64, upstream)[0]
    for f, tolerance in ((snake, 1e-5), (snake_unfused, 1e-5)):
        alpha = alpha64.detach().float().requires_grad_()
        (got,) = torch.autograd.grad(f(x64.float(), alpha), alpha, upstream.float())
        assert ((got.double() - truth).abs() / truth.abs()).max() < tolerance, f.__name__


@pytest.mark.parametrize("a", [0.0, 1e-12, -1e-12, 1e-6, 1e-3])
def test_snake_near_alpha_zero_stays_finite(a):
    x = (torch.randn(2, 3, 100) * 5).requires_grad_()
    alpha = torch.full((1, 3, 1), a, requires_grad=True)
    y = snake(x, alpha)
    y.square().sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
    assert torch.isfinite(alpha.grad).all()
    x = x.detach()
    assert ((y - x).abs() <= abs(a) * x**2 + 2e-7 * x.abs()).all()  # |snake − x| <= |α| x²


def test_snake_broadcasts_alpha_of_any_shape_and_sums_its_gradient_back():
    x = torch.randn(2, 3, 10, dtype=torch.float64)
    for shape in ((), (1, 1, 1), (3, 1), (1, 3, 10)):
        alpha = (torch.rand(shape, dtype=torch.float64) + 0.5).requires_grad_()
        (got,) = torch.autograd.grad(snake(x, alpha).sum(), alpha)
        (expected,) = torch.autograd.grad(closed_form(x, alpha).sum(), alpha)
        assert got.shape == alpha.shape
        torch.testing.assert_close(got, expected)


def test_snake_module_has_one_alpha_per_channel_initialised_to_one():
    s = Snake(7)
    assert s.alpha.shape == (1, 7, 1) and torch.all(s.alpha == 1)
    assert torch.isfinite(snake(torch.randn(1, 7, 5), torch.zeros(1, 7, 1))).all()  # eps guards 1/α


def test_the_unfused_snake_module_is_the_same_function():
    torch.manual_seed(2)
    fused, unfused = Snake(5).double(), Snake(5).double()
    unfused.fused = False
    with torch.no_grad():
        fused.alpha.uniform_(0.3, 3.0)
        unfused.alpha.copy_(fused.alpha)
    assert "unfused" in repr(unfused) and "unfused" not in repr(fused)
    x = torch.randn(3, 5, 200, dtype=torch.float64, requires_grad=True)
    results = []
    for module in (fused, unfused):
        y = module(x)
        results.append((y, *torch.autograd.grad(y.square().sum(), (x, module.alpha))))
    for got, expected in zip(*results):
        torch.testing.assert_close(got, expected, rtol=1e-7, atol=1e-7)


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


@CUDA
def test_snake_on_cuda_matches_the_cpu():
    torch.manual_seed(3)
    x = torch.randn(2, 8, 3000, dtype=torch.float64) * 3
    alpha = torch.rand(1, 8, 1, dtype=torch.float64) * 3 + 0.1
    upstream = torch.randn_like(x)
    results = []
    for device in ("cpu", "cuda"):
        xd, ad = x.to(device).requires_grad_(), alpha.to(device).requires_grad_()
        y = snake(xd, ad)
        results.append([v.cpu() for v in (y, *torch.autograd.grad(y, (xd, ad), upstream))])
    for got, expected in zip(*results):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)
