"""The small CIFAR-10 net of Krizhevsky et al. 2012, Fig. 1: "a four-layer convolutional neural
network" trained with ReLUs and again with tanh units. The paper does not list its layers; this is
the cuda-convnet-style net of that era (guess): three 5x5 convolutions (32, 32, 64 maps) with 3x3/2
pooling, and one fully connected output layer. No dropout, no normalisation ("no regularization")."""

from __future__ import annotations

import torch
from torch import nn


class FourLayerConvNet(nn.Module):
    def __init__(self, activation: str = "relu", num_classes: int = 10) -> None:
        super().__init__()
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 5, padding=2), act(), nn.MaxPool2d(3, 2),   # 32 -> 15
            nn.Conv2d(32, 32, 5, padding=2), act(), nn.AvgPool2d(3, 2),  # 15 -> 7
            nn.Conv2d(32, 64, 5, padding=2), act(), nn.AvgPool2d(3, 2),  # 7 -> 3
        )
        self.classifier = nn.Linear(64 * 3 * 3, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))
