"""The AlphaGo Zero / AlphaZero residual policy-value network, f(s) = (p, v), sized for small boards.

Silver et al. 2017, "Mastering the game of Go without human knowledge", Nature 550, Methods "Neural
network architecture" (AlphaZero, Science 2018, keeps it): a convolutional block (3x3 convolution,
batch norm, ReLU), then residual blocks (3x3 conv, BN, ReLU, 3x3 conv, BN, skip connection, ReLU);
a policy head (1x1 conv to 2 filters, BN, ReLU, a linear layer to the move logits) and a value head
(1x1 conv to 1 filter, BN, ReLU, linear to 256 units, ReLU, linear to a scalar, tanh). The paper uses
256 filters and 19 or 39 residual blocks on 19 x 19 Go; `channels`, `blocks` and `value_hidden` shrink
it for 3 x 3 and 6 x 7 boards (guess: sizes for a 2-core CPU, see the experiment configs). Input: two
planes, the stones of the player to move and the opponent's (the games here need no move history).
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(out_channels))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.first, self.second = conv_bn(channels, channels, 3), conv_bn(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.second(torch.relu(self.first(x))))


class AlphaZeroNet(nn.Module):
    def __init__(self, height: int, width: int, num_actions: int, in_channels: int = 2, channels: int = 64,
                 blocks: int = 5, policy_channels: int = 2, value_channels: int = 1, value_hidden: int = 256) -> None:
        super().__init__()
        cells = height * width
        self.stem = nn.Sequential(conv_bn(in_channels, channels, 3), nn.ReLU())
        self.tower = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))
        self.policy = nn.Sequential(conv_bn(channels, policy_channels, 1), nn.ReLU(), nn.Flatten(),
                                    nn.Linear(policy_channels * cells, num_actions))
        self.value = nn.Sequential(conv_bn(channels, value_channels, 1), nn.ReLU(), nn.Flatten(),
                                   nn.Linear(value_channels * cells, value_hidden), nn.ReLU(),
                                   nn.Linear(value_hidden, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, in_channels, H, W) planes -> (move logits (N, num_actions), value (N,) in [-1, 1])."""
        features = self.tower(self.stem(x))
        return self.policy(features), self.value(features).squeeze(-1)
