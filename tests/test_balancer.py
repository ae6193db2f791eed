import math

import pytest
import torch

from dac_minimal.evaluate.balancer import Balancer


def _problem(seed=0, batch=3):
    """A tiny 'generator' (one linear layer) and three losses of very different scales on it."""
    g = torch.Generator().manual_seed(seed)
    net = torch.nn.Linear(8, 16)
    with torch.no_grad():
        net.weight.copy_(torch.randn(16, 8, generator=g))
        net.bias.copy_(torch.randn(16, generator=g))
    x = torch.randn(batch, 8, generator=g)
    target = torch.randn(batch, 16, generator=g)

    def losses(out):
        return {
            "l1": (out - target).abs().mean(),
            "big": 100.0 * (out - 2 * target).pow(2).mean(),
            "small": 0.01 * out.sin().sum(),
        }

    return net, x, losses


def _grads(losses, out):
    return {k: torch.autograd.grad(v, out, retain_graph=True)[0] for k, v in losses.items()}


def _norm(g, per_item):
    return g.reshape(g.shape[0], -1).norm(dim=1).mean().item() if per_item else g.norm().item()


@pytest.mark.parametrize("per_item", [True, False])
def test_each_balanced_gradient_has_norm_R_times_its_share(per_item):
    net, x, make = _problem()
    weights = {"l1": 1.0, "big": 2.0, "small": 5.0}
    bal = Balancer(weights, total_norm=3.0, beta=0.9, per_item=per_item)
    out = net(x)
    raw = _grads(make(out), out)
    bal.backward(make(out), out)
    for name, g in raw.items():
        balanced = bal.last_scales[name] * g
        # First step: the bias-corrected EMA is the true norm, so the share is exact.
        assert _norm(balanced, per_item) == pytest.approx(3.0 * weights[name] / 8.0, rel=1e-5)
        assert bal.last_norms[name] == pytest.approx(_norm(g, per_item), rel=1e-6)


def test_ema_follows_the_bias_corrected_formula():
    beta = 0.7
    net, x, make = _problem()
    bal = Balancer({"l1": 1.0, "big": 1.0, "small": 1.0}, beta=beta)
    history = []
    for step in range(4):
        with torch.no_grad():  # change the output each step so the norms differ
            net.bias.add_(0.3 * (step + 1))
        out = net(x)
        history.append({k: _norm(g, True) for k, g in _grads(make(out), out).items()})
        bal.backward(make(out), out)
        t = len(history)
        for name in history[0]:
            num = sum(beta ** (t - 1 - k) * history[k][name] for k in range(t))
            den = sum(beta ** (t - 1 - k) for k in range(t))
            assert bal.ema[name] == pytest.approx(num / den, rel=1e-6)
    # The norms did change, so a wrong (e.g. un-decayed or last-only) average would have failed
    # above.
    assert history[0]["small"] != pytest.approx(history[-1]["small"], rel=1e-3)
    assert bal.steps == 4


def test_beta_zero_equals_plain_weighted_backward_with_the_true_norms():
    weights = {"l1": 1.0, "big": 3.0, "small": 0.5}
    R = 2.0
    net, x, make = _problem()
    bal = Balancer(weights, total_norm=R, beta=0.0)
    out = net(x)
    bal.backward(make(out), out)
    balanced = [p.grad.clone() for p in net.parameters()]

    net2, x2, make2 = _problem()
    out2 = net2(x2)
    norms = {k: _norm(g, True) for k, g in _grads(make2(out2), out2).items()}
    total = sum(weights.values())
    loss = sum(R * weights[k] / total / norms[k] * v for k, v in make2(out2).items())
    loss.backward()
    for a, b in zip(balanced, net2.parameters()):
        torch.testing.assert_close(a, b.grad, rtol=1e-5, atol=1e-6)


def test_effective_loss_has_the_balanced_gradient():
    weights = {"l1": 1.0, "big": 1.0, "small": 2.0}
    net, x, make = _problem()
    bal = Balancer(weights, beta=0.5)
    out = net(x)
    effective = bal.backward(make(out), out)
    expected = sum(bal.last_scales[k] * v.item() for k, v in make(net(x)).items())
    assert effective.item() == pytest.approx(expected, rel=1e-6)
    assert not effective.requires_grad


def test_fixed_weights_let_the_big_loss_dominate_but_the_balancer_does_not():
    net, x, make = _problem()
    out = net(x)
    raw = _grads(make(out), out)
    fixed_share = raw["big"].norm() / sum(g.norm() for g in raw.values())
    assert fixed_share > 0.9
    bal = Balancer({"l1": 1.0, "big": 1.0, "small": 1.0}, beta=0.0, per_item=False)
    bal.backward(make(out), out)
    shares = {k: bal.last_scales[k] * raw[k].norm().item() for k in raw}
    for v in shares.values():
        assert v / sum(shares.values()) == pytest.approx(1 / 3, rel=1e-5)


def test_only_the_outputs_ancestors_get_gradients():
    """Losses that pass through another module (a discriminator) must not touch its grads."""
    net, x, _ = _problem()
    critic = torch.nn.Linear(16, 1)
    out = net(x)
    bal = Balancer({"adv": 1.0, "rec": 1.0})
    bal.backward({"adv": critic(out).pow(2).mean(), "rec": out.abs().mean()}, out)
    assert critic.weight.grad is None
    assert net.weight.grad is not None and torch.isfinite(net.weight.grad).all()


def test_zero_gradient_loss_does_not_blow_up():
    net, x, _ = _problem()
    out = net(x)
    bal = Balancer({"a": 1.0, "zero": 1.0})
    bal.backward({"a": out.pow(2).mean(), "zero": 0.0 * out.sum()}, out)
    assert bal.last_norms["zero"] == 0.0
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


def test_state_dict_round_trip():
    net, x, make = _problem()
    a = Balancer({"l1": 1.0, "big": 1.0, "small": 1.0}, beta=0.9)
    for _ in range(2):
        out = net(x)
        a.backward(make(out), out)
    b = Balancer({"l1": 1.0, "big": 1.0, "small": 1.0}, beta=0.9)
    b.load_state_dict(a.state_dict())
    assert b.ema == a.ema and b.steps == 2
    with pytest.raises(ValueError, match="state is for"):
        Balancer({"x": 1.0}).load_state_dict(a.state_dict())


def test_bad_inputs_give_clear_errors():
    net, x, make = _problem()
    bal = Balancer({"l1": 1.0, "big": 1.0, "small": 1.0})
    out = net(x)
    losses = make(out)
    with pytest.raises(ValueError, match=r"missing \['small'\]"):
        bal.backward({"l1": losses["l1"], "big": losses["big"]}, out)
    with pytest.raises(ValueError, match=r"no weight for \['extra'\]"):
        bal.backward({**losses, "extra": out.mean()}, out)
    with pytest.raises(ValueError, match="scalar"):
        bal.backward({**losses, "l1": (out - 1).abs()}, out)
    with pytest.raises(ValueError, match="requires grad"):
        bal.backward(losses, out.detach())
    other = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="does not depend on the output"):
        bal.backward({**losses, "small": other.sum()}, out)
    with pytest.raises(ValueError, match="does not require grad"):
        bal.backward({**losses, "small": torch.tensor(1.0)}, out)
    with pytest.raises(ValueError, match="not finite"):
        bal.backward({**losses, "small": (out * math.inf).sum()}, out)
    assert bal.steps == 0 and net.weight.grad is None  # failed calls change nothing
    for kwargs in (
        {"weights": {}},
        {"weights": {"a": -1.0}},
        {"weights": {"a": 0.0}},
        {"weights": {"a": 1.0}, "beta": 1.0},
        {"weights": {"a": 1.0}, "total_norm": 0.0},
        {"weights": {"a": float("nan")}},
    ):
        with pytest.raises(ValueError):
            Balancer(**kwargs)
