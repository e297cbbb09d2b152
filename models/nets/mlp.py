"""The fully connected nets of LeCun et al. 1998, section III-C.1, III-C.5 and III-C.6 (Fig. 9): the
"linear classifier" (a one-layer net, `hidden=()`), one hidden layer of 300 or 1000 units, and two
hidden layers of 300-100 or 500-150 (Fig. 9; section III-C.6 says 1000-150), on 28x28 inputs. The
paper's hidden units are sigmoidal; we use its squashing function f(a) = 1.7159 tanh(2a/3) (section
II-B, appendix A) and appendix A's initialisation. `output_activation="lecun_tanh"` squashes the
outputs too, for the squared error against +-1 target codes (guess: the paper's usual output units,
whose f(+-1) = +-1 appendix A chooses for such targets)."""

from __future__ import annotations

import torch
from torch import nn

from models.nets.lenet import lecun_init_, lecun_tanh


class LeCunTanh(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lecun_tanh(x)


ACTIVATIONS = {"lecun_tanh": LeCunTanh, "tanh": nn.Tanh, "relu": nn.ReLU}


class MLP(nn.Module):
    def __init__(self, in_features: int = 784, hidden: tuple[int, ...] = (300,), num_classes: int = 10,
                 activation: str = "lecun_tanh", output_activation: str | None = None) -> None:
        super().__init__()
        for name in (activation, output_activation):
            if name is not None and name not in ACTIVATIONS:
                raise ValueError(f"activation {name!r} is not known: use one of {sorted(ACTIVATIONS)}")
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for units in hidden:
            layers += [nn.Linear(width, units), ACTIVATIONS[activation]()]
            width = units
        layers.append(nn.Linear(width, num_classes))
        if output_activation is not None:
            layers.append(ACTIVATIONS[output_activation]())
        self.layers = nn.Sequential(*layers)
        if activation == "lecun_tanh":
            lecun_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
