"""EnCodec's gradient balancer (Défossez et al., 2022; the DAC report's eq. 5): the road not taken.

With fixed weights the generator follows ``Σ_i λ_i g_i`` where ``g_i = ∂ℓ_i/∂x̂`` is the gradient
of loss ``ℓ_i`` with respect to the generator's output x̂. A loss whose natural scale is 100x
another's then owns ~100x the gradient, whatever λ says. The balancer takes each ``g_i``
separately and rescales it to

    g̃_i = R · (λ_i / Σ_j λ_j) · g_i / ⟨‖g_i‖₂⟩_β

where ``⟨‖g_i‖₂⟩_β`` is an exponential moving average (decay β) of the gradient norm and R a
reference norm, then backpropagates ``Σ_i g̃_i`` from x̂ into the generator. Each term then
contributes a share ``λ_i / Σλ`` of the total gradient norm R (exactly, once the EMA has caught up
with the true norms): λ_i says "how much of the step", independently of the loss's units.

DAC uses fixed weights instead (report §3.5, ``dac_minimal.loss.LOSS_WEIGHTS``); this module
exists so the book can show the difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch


class Balancer:
    """Rescale per-loss gradients at the generator output so that loss i gets a share λ_i/Σλ of R.

    Args:
        weights: λ_i by loss name, each ≥ 0 and summing to > 0.
        total_norm: R, the norm the balanced gradient ``Σ g̃_i`` aims for (when all g_i are aligned;
            in general each term has norm R·λ_i/Σλ).
        beta: β, the EMA decay of the gradient norms, in [0, 1). β = 0 uses this step's norms.
        per_item: if True (EnCodec's default), ``‖g_i‖₂`` is the norm over each batch item,
            averaged over the batch (dim 0), so the batch size does not change the scale; else the
            norm of the whole tensor.
        eps: added to the EMA before dividing, so a loss with zero gradient does not blow up.

    The EMA is bias-corrected: after t steps it is ``Σ_k β^{t-k} n_k / Σ_k β^{t-k}``, so the first
    step uses the true norm instead of a value shrunk towards 0.
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        total_norm: float = 1.0,
        beta: float = 0.999,
        per_item: bool = True,
        eps: float = 1e-12,
    ):
        if not weights:
            raise ValueError("weights is empty: give λ_i for at least one loss")
        for name, w in weights.items():
            if not (math.isfinite(w) and w >= 0):
                raise ValueError(f"weight of {name!r} must be a finite number ≥ 0, got {w}")
        if sum(weights.values()) <= 0:
            raise ValueError("the weights sum to 0: at least one λ_i must be positive")
        if not (math.isfinite(total_norm) and total_norm > 0):
            raise ValueError(f"total_norm R must be positive, got {total_norm}")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.weights = dict(weights)
        self.total_norm, self.beta, self.per_item, self.eps = (
            float(total_norm),
            float(beta),
            per_item,
            float(eps),
        )
        # Bias-corrected EMA as a ratio of two decayed sums: ema = _sum / _count.
        self._sum: dict[str, float] = {name: 0.0 for name in weights}
        self._count = 0.0
        self.steps = 0
        #: ‖g_i‖₂ of the last call (before any rescaling), by loss name.
        self.last_norms: dict[str, float] = {}
        #: The factor s_i = R·λ_i/Σλ / (EMA_i + eps) applied to g_i in the last call.
        self.last_scales: dict[str, float] = {}

    @property
    def ratios(self) -> dict[str, float]:
        """The target share λ_i / Σ_j λ_j of each loss."""
        total = sum(self.weights.values())
        return {name: w / total for name, w in self.weights.items()}

    @property
    def ema(self) -> dict[str, float]:
        """⟨‖g_i‖₂⟩_β by loss name (empty before the first step)."""
        if self._count == 0:
            return {}
        return {name: s / self._count for name, s in self._sum.items()}

    def _norm(self, g: torch.Tensor) -> float:
        if self.per_item and g.dim() >= 1 and g.shape[0] > 0:
            return g.reshape(g.shape[0], -1).norm(dim=1).mean().item()
        return g.norm().item()

    def _check(self, losses: Mapping[str, torch.Tensor], output: torch.Tensor) -> None:
        missing, extra = set(self.weights) - set(losses), set(losses) - set(self.weights)
        if missing or extra:
            raise ValueError(
                "the losses must match the weights' names: "
                f"missing {sorted(missing)}, no weight for {sorted(extra)}"
            )
        if not isinstance(output, torch.Tensor) or not output.requires_grad:
            raise ValueError("output must be the generator's output x̂, a tensor that requires grad")
        for name, loss in losses.items():
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
                raise ValueError(f"loss {name!r} must be a scalar tensor, got {shape}")
            if not loss.requires_grad:
                raise ValueError(
                    f"loss {name!r} does not require grad: it cannot depend on the output"
                )

    def backward(self, losses: Mapping[str, torch.Tensor], output: torch.Tensor) -> torch.Tensor:
        """Backpropagate ``Σ_i g̃_i`` from ``output`` into whatever produced it.

        Args:
            losses: scalar ℓ_i by name; exactly the names of ``weights``, each a function of
                ``output``. Losses that do not pass through x̂ (VQ codebook/commitment) are not
                balanced: add their ``.backward()`` yourself.
            output: x̂, e.g. the decoded audio ``(B, 1, T)``; gradients g_i have its shape.

        Returns:
            The "effective loss" ``Σ_i s_i ℓ_i`` (detached, for logging): its gradient w.r.t. x̂ is
            exactly ``Σ_i g̃_i``.

        Only ``output``'s ancestors receive gradients: anything else the losses went through (e.g.
        the discriminator's parameters) is left untouched, unlike ``sum(...).backward()``.
        """
        self._check(losses, output)
        grads, norms = {}, {}
        for name, loss in losses.items():
            # retain_graph: every loss shares the graph up to x̂, and x̂'s own graph is needed at
            # the end.
            (g,) = torch.autograd.grad(
                loss.reshape(()), output, retain_graph=True, allow_unused=True
            )
            if g is None:
                raise ValueError(
                    f"loss {name!r} does not depend on the output; backpropagate it separately"
                )
            norm = self._norm(g)
            if not math.isfinite(norm):
                raise ValueError(f"the gradient of loss {name!r} is not finite")
            grads[name], norms[name] = g, norm

        self._count = self.beta * self._count + 1.0
        for name, norm in norms.items():
            self._sum[name] = self.beta * self._sum[name] + norm
        self.steps += 1
        ema, ratios = self.ema, self.ratios

        total = torch.zeros_like(output)
        effective = torch.zeros((), dtype=output.dtype, device=output.device)
        self.last_norms, self.last_scales = norms, {}
        for name, g in grads.items():
            scale = self.total_norm * ratios[name] / (ema[name] + self.eps)
            self.last_scales[name] = scale
            total.add_(g, alpha=scale)
            effective = effective + scale * losses[name].detach().reshape(())
        output.backward(total)
        return effective

    def state_dict(self) -> dict:
        """The EMA state, to resume training with the same norms."""
        return {"sum": dict(self._sum), "count": self._count, "steps": self.steps}

    def load_state_dict(self, state: Mapping) -> None:
        if set(state.get("sum", {})) != set(self.weights):
            raise ValueError(
                f"state is for losses {sorted(state.get('sum', {}))}, not {sorted(self.weights)}"
            )
        self._sum = {k: float(v) for k, v in state["sum"].items()}
        self._count, self.steps = float(state["count"]), int(state["steps"])
