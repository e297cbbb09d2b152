"""The small CIFAR-10 net of Krizhevsky et al. 2012, Fig. 1: "a four-layer convolutional neural
network" trained with ReLUs and again with tanh units. The paper does not list its layers; this is
the cuda-convnet-style net of that era (guess): three 5x5 convolutions (32, 32, 64 maps) with 3x3/2
pooling, and one fully connected output layer. No dropout, no normalisation ("no regularization").

`init="paper"` draws every weight from N(0, 0.01) with zero biases (section 5's init; its biases of 1
are a ReLU device for AlexNet's inner layers, so both nets here get 0); `init="torch"` keeps PyTorch's
defaults (a variant: today's habit, with which tanh stays near its linear range and loses little)."""

from __future__ import annotations

import torch
from torch import nn

from repro.errors import UserError


class FourLayerConvNet(nn.Module):
    def __init__(self, activation: str = "relu", num_classes: int = 10, init: str = "paper") -> None:
        super().__init__()
        if activation not in ("relu", "tanh") or init not in ("paper", "torch"):
            raise UserError(f"FourLayerConvNet(activation={activation!r}, init={init!r}): use relu|tanh and paper|torch")
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 5, padding=2), act(), nn.MaxPool2d(3, 2),   # 32 -> 15
            nn.Conv2d(32, 32, 5, padding=2), act(), nn.AvgPool2d(3, 2),  # 15 -> 7
            nn.Conv2d(32, 64, 5, padding=2), act(), nn.AvgPool2d(3, 2),  # 7 -> 3
        )
        self.classifier = nn.Linear(64 * 3 * 3, num_classes)
        if init == "paper":
            for layer in self.modules():
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(layer.weight, 0.0, 0.01)
                    nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))
