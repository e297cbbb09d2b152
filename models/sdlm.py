"""The stochastic diagonal Levenberg-Marquardt method of LeCun et al. 1998 (appendix C; its use in
section III-B), for the fully connected nets of section III-C trained on the squared error against
target codes (models.losses.squared_error_to_codes).

Each parameter k steps by eps_k = eta / (mu + h_kk) times its gradient, where h_kk estimates the
second derivative of the per-example loss: the Gauss-Newton diagonal, back-propagated with squared
weights and squared derivatives of the squashing function (appendix C), averaged over 500 training
examples before each pass and kept fixed during the pass (section III-B). The paper updates after
every example; a minibatch of B examples here steps by B * eps_k times the batch's mean gradient, the
sum of the B per-example steps taken from the same weights.
"""

from __future__ import annotations

import torch
from torch import nn

from models.nets.lenet import SQUASH_A, SQUASH_S
from models.nets.mlp import LeCunTanh


def squash_derivative_squared(y: torch.Tensor) -> torch.Tensor:
    """f'(a)^2 for f(a) = A tanh(S a), from y = f(a): f'(a) = (S / A)(A^2 - y^2)."""
    return ((SQUASH_S / SQUASH_A) * (SQUASH_A * SQUASH_A - y * y)).square()


def gauss_newton_diagonal(layers: nn.Sequential, x: torch.Tensor, output_curvature: float = 2.0) -> dict:
    """{parameter: mean over the batch of the Gauss-Newton d2E/dw2} for a stack of nn.Flatten,
    nn.Linear and squashing layers (models.nets.mlp.LeCunTanh); `output_curvature` is d2E/dy2 at the
    outputs (2 for E = sum_i (y_i - t_i)^2). Appendix C: d2E/dw_ij2 = x_j^2 d2E/da_i2, and
    d2E/da_i2 = f'(a_i)^2 sum_k w_ki^2 d2E/da_k2, the terms in f'' dropped."""
    inputs, outputs = [], []  # each module's input and output, on the way up
    with torch.no_grad():
        for layer in layers:
            if not isinstance(layer, (nn.Flatten, nn.Linear, LeCunTanh)):
                raise TypeError(f"gauss_newton_diagonal handles Flatten, Linear and LeCunTanh, not {type(layer).__name__}")
            inputs.append(x)
            x = layer(x)
            outputs.append(x)
        curvature = torch.full_like(x, output_curvature)  # d2E/d(output)2, per example and unit
        diagonal = {}
        for layer, x_in, y in zip(reversed(layers), reversed(inputs), reversed(outputs)):
            if isinstance(layer, LeCunTanh):
                curvature = curvature * squash_derivative_squared(y)
            elif isinstance(layer, nn.Linear):
                diagonal[layer.weight] = curvature.T @ x_in.square() / len(x_in)
                if layer.bias is not None:
                    diagonal[layer.bias] = curvature.mean(0)
                curvature = curvature @ layer.weight.square()
    return diagonal


class SDLM(torch.optim.Optimizer):
    """w_k -= examples_per_step * lr / (mu + h_kk) * grad_k, with h_kk from `refresh_curvature`.

    `lr` is the paper's global learning rate eta (per example; a scheduler may change it), `mu` its
    0.02 (section III-B), `samples` the 500 examples h is estimated on before each pass, and
    `examples_per_step` the minibatch size (set it to data.batch_size)."""

    def __init__(self, params, lr: float = 5e-4, mu: float = 0.02, examples_per_step: int = 1,
                 samples: int = 500) -> None:
        if lr <= 0 or mu <= 0 or examples_per_step < 1 or samples < 1:
            raise ValueError(f"SDLM needs lr > 0, mu > 0, examples_per_step >= 1, samples >= 1; got "
                             f"lr={lr}, mu={mu}, examples_per_step={examples_per_step}, samples={samples}")
        super().__init__(params, dict(lr=lr, mu=mu, examples_per_step=examples_per_step))
        self.samples = samples

    def refresh_curvature(self, net: nn.Module, datamodule, epoch: int) -> None:
        """Estimate h on `samples` training examples drawn for this pass (seeded by the data seed and
        the epoch) and keep it for the pass. Needs an in-memory data module (datamodules.in_memory)."""
        splits = getattr(datamodule, "splits", {})
        if "train" not in splits:
            raise ValueError("SDLM draws its curvature examples from an in-memory data module's training split")
        images, _ = splits["train"]
        generator = torch.Generator().manual_seed(1000 * int(datamodule.seed) + epoch)
        pick = torch.randperm(len(images), generator=generator)[: self.samples]
        device = next(net.parameters()).device
        x = datamodule.to_model_input(images[pick].to(device), train=True)
        diagonal = gauss_newton_diagonal(net.layers, x)
        for group in self.param_groups:
            for p in group["params"]:
                if p not in diagonal:
                    raise ValueError(f"SDLM has no curvature for a parameter of shape {tuple(p.shape)}")
                self.state[p]["curvature"] = diagonal[p]

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            scale = group["examples_per_step"] * group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                curvature = self.state[p].get("curvature")
                if curvature is None:
                    raise RuntimeError("SDLM.step before refresh_curvature: the Classifier calls it at each epoch start")
                p.addcdiv_(p.grad, curvature + group["mu"], value=-scale)
        return loss
