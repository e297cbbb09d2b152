"""The fully connected nets of LeCun et al. 1998, section III-C (Fig. 9): "linear classifier",
one hidden layer of 300 or 1000 units, two hidden layers of 300-100 or 500-150, on 28x28 inputs.
`hidden=()` is the linear classifier (a one-layer net). The paper's hidden units are sigmoidal; we
use its squashing function f(a) = 1.7159 tanh(2a/3) (section II-B, appendix A)."""

from __future__ import annotations

import torch
from torch import nn

from models.nets.lenet import lecun_init_, lecun_tanh


class LeCunTanh(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lecun_tanh(x)


class MLP(nn.Module):
    def __init__(self, in_features: int = 784, hidden: tuple[int, ...] = (300,), num_classes: int = 10,
                 activation: str = "lecun_tanh") -> None:
        super().__init__()
        act = {"lecun_tanh": LeCunTanh, "tanh": nn.Tanh, "relu": nn.ReLU}[activation]
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for units in hidden:
            layers += [nn.Linear(width, units), act()]
            width = units
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)
        if activation == "lecun_tanh":
            lecun_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
