"""The CIFAR-10 ResNets of He, Zhang, Ren & Sun 2016, "Deep Residual Learning for Image Recognition",
section 4.2: a 3x3 convolution with 16 filters, then three stages of n residual blocks (two 3x3
convolutions each) on 32x32, 16x16 and 8x8 maps with 16, 32 and 64 filters, global average pooling and
a 10-way fully connected layer: 6n + 2 weighted layers. Batch normalisation after every convolution,
shortcuts are identities, and where the shape changes "option A": stride-2 subsampling with the new
channels zero-padded (no parameters). ResNet-20 (n = 3) has 0.27M parameters (Table 6).

Here it is the convolutional net set beside a ViT of the same size (Dosovitskiy et al. 2020, Fig. 3-4
compare ViTs with ResNets of comparable size as the training set grows).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.stride, self.pad = stride, channels_out - channels_in

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """Option A: identity, subsampled by the stride, extra channels zero-padded."""
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.pad)) if self.pad else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs; n=3 is ResNet-20."""

    def __init__(self, n: int = 3, num_classes: int = 10, widths: tuple[int, int, int] = (16, 32, 64)) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU())
        blocks, channels = [], widths[0]
        for stage, width in enumerate(widths):
            for index in range(n):
                blocks.append(BasicBlock(channels, width, stride=2 if stage > 0 and index == 0 else 1))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(channels, num_classes)
        for module in self.modules():  # "initialize the weights as in [He et al. 2015]"
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.stem(x)).mean(dim=(2, 3)))
