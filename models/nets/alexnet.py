"""AlexNet: Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep convolutional
neural networks", NeurIPS. Section 3 (architecture, Fig. 2), section 3.3 (local response
normalisation), section 3.4 (overlapping pooling), section 4.2 (dropout), section 5 (initialisation).

`AlexNet` is the paper's two-GPU network as one module: conv2, conv4 and conv5 see only the kernel
maps on their own GPU (`PerGPUConv2d`, groups=2); conv3 and the fully connected layers connect across.
Input 227x227: the paper says 224, but (224 - 11) / 4 + 1 is not the 55 its Fig. 2 shows; 227 is.
It has 60,965,224 trainable parameters (the paper's "60 million").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LocalResponseNorm(nn.Module):
    """Section 3.3: b_i = a_i / (k + alpha * sum_j a_j^2)^beta, j over the n maps centred on map i,
    clipped at the first and last map. The window sum is a 1x1 convolution of the squares with a fixed
    banded 0/1 matrix: the values of torch's nn.LocalResponseNorm(n, alpha * n, beta, k) (tested to
    1e-12 in float64), about 1.9x faster forward + backward on a 2-core CPU, where torch's version sums
    through avg_pool3d on a 5-D view. The band is a buffer left out of the state dict: checkpoints are
    unchanged. The window sum is n adds per value, not a convolution's FLOPs: records leave it out."""

    uncounted_flops = True  # repro.meter.count_flops skips this module's convolution

    def __init__(self, channels: int, k: float = 2.0, n: int = 5, alpha: float = 1e-4, beta: float = 0.75) -> None:
        super().__init__()
        self.k, self.n, self.alpha, self.beta = k, n, alpha, beta
        offset = torch.arange(channels)[None, :] - torch.arange(channels)[:, None]  # [out i, in j] = j - i
        band = (offset >= -(n // 2)) & (offset <= (n - 1) // 2)  # torch's window for even n too
        self.register_buffer("band", band.float()[:, :, None, None], persistent=False)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        window = F.conv2d(a * a, self.band.to(a.dtype))
        return a / (self.k + self.alpha * window).pow(self.beta)

    def extra_repr(self) -> str:
        return f"{self.band.shape[0]}, k={self.k}, n={self.n}, alpha={self.alpha}, beta={self.beta}"


class PerGPUConv2d(nn.Conv2d):
    """Section 3.2's split: each GPU convolves only its own half of the kernel maps. The weights are
    nn.Conv2d's with `groups` (same shape, init and state dict), but the forward pass runs one plain
    convolution per group, as the two GTX 580s did. The values are a grouped convolution's (tested);
    the speed is not: cuDNN's weight gradient for grouped bf16 channels_last convolutions falls back to
    a slow kernel (wgrad_alg1, 32% of an H100 training step), and the split runs 1.26x faster there."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return super().forward(x)
        halves = zip(x.chunk(self.groups, 1), self.weight.chunk(self.groups, 0), self.bias.chunk(self.groups, 0))
        return torch.cat([F.conv2d(xi, w, b, self.stride, self.padding) for xi, w, b in halves], 1)


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, lrn: bool = True,
                 pool_kernel: int = 3, groups: int = 2) -> None:
        """`lrn=False` and `pool_kernel=2` (non-overlapping 2x2/2 pooling) are the paper's ablations
        (sections 3.3 and 3.4); `groups=1` is the one-GPU layout."""
        super().__init__()
        norm = LocalResponseNorm if lrn else nn.Identity  # defaults: the paper's k, n, alpha, beta
        pool = lambda: nn.MaxPool2d(kernel_size=pool_kernel, stride=2)  # noqa: E731  3x3/2 overlaps
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(inplace=True), norm(96), pool(),            # conv1
            PerGPUConv2d(96, 256, 5, padding=2, groups=groups), nn.ReLU(inplace=True), norm(256), pool(),  # conv2
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),                          # conv3
            PerGPUConv2d(384, 384, 3, padding=1, groups=groups), nn.ReLU(inplace=True),        # conv4
            PerGPUConv2d(384, 256, 3, padding=1, groups=groups), nn.ReLU(inplace=True), pool(),  # conv5
        )
        # Section 4.2: dropout "in the first two fully-connected layers" sets each hidden neuron's
        # output to zero with probability 0.5, so it drops the outputs of fc6 and fc7 (Caffe's reference
        # net: fc6, relu6, drop6, fc7, relu7, drop7, fc8), not their inputs. fc7's ReLU and dropout share
        # one slot so fc6, fc7 and fc8 keep the indices 1, 4 and 6 of earlier checkpoints (and of
        # torchvision's AlexNet, whose dropout sits before fc6 and fc7).
        self.classifier = nn.Sequential(
            nn.Flatten(),                                                                # conv5's 256x6x6
            nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),   # fc6
            nn.Linear(4096, 4096), nn.Sequential(nn.ReLU(inplace=True), nn.Dropout(dropout)),  # fc7
            nn.Linear(4096, num_classes),                                                # fc8
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Section 5: weights N(0, 0.01); biases 1 in conv2, conv4, conv5 and the fully connected
        hidden layers ("accelerates the early stages of learning by providing the ReLUs with
        positive inputs"), 0 elsewhere. The paper's "fully-connected hidden layers" leaves fc8 open;
        we give it 0 (guess)."""
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        linears = [m for m in self.classifier if isinstance(m, nn.Linear)]
        for layer in convs + linears:
            nn.init.normal_(layer.weight, 0.0, 0.01)
            nn.init.zeros_(layer.bias)
        for layer in (convs[1], convs[3], convs[4], linears[0], linears[1]):
            nn.init.ones_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))  # 2x2/2 pooling also ends at 6x6


def torchvision_alexnet(num_classes: int = 1000) -> nn.Module:
    """torchvision's one-GPU AlexNet (64-192-384-256-256 kernels, after "One weird trick",
    Krizhevsky 2014), 61,100,840 parameters, untrained: for comparison with the paper's net."""
    from torchvision.models import alexnet

    return alexnet(weights=None, num_classes=num_classes)
