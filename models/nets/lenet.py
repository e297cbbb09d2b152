"""The LeNet family of LeCun, Bottou, Bengio & Haffner (1998), "Gradient-based learning applied to
document recognition", Proc. IEEE 86(11).

`LeNet5` follows section II-B: 32x32 input, C1 6@5x5, S2 trainable subsampling, C3 16@5x5 wired by
Table I, S4, C5 120, F6 84, ten Euclidean RBF outputs, squashing f(a) = 1.7159 tanh(2a/3), weights
uniform in +-2.4/F_in (appendix A). It has exactly 60,000 trainable parameters and 340,908
connections, as the paper says.
`LeNet1` is section III-C.7's net (16x16 digits centred in a 28x28 input, "about 2,600" parameters),
laid out as in LeCun et al. 1990 (NIPS 2), which gives its 2,578 parameters and 98,442 connections.
`LeNet4` is section III-C.8's net ("about 17,000 free parameters", "about 260,000 connections"). The
paper gives both shapes only in words, so the places where we had to choose are marked "guess".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Table I: which S2 maps (columns 0-5) feed each C3 map (rows 0-15).
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

# Fig. 3: the RBF centres are stylised 7x12 bitmaps of the digits, +1 ink / -1 paper. The paper
# prints them only as a picture; these bitmaps are our redrawing of it (guess, same size and style).
DIGIT_BITMAPS = (
    ("..###..", ".#...#.", "#.....#", "#.....#", "#.....#", "#.....#",
     "#.....#", "#.....#", "#.....#", ".#...#.", "..###..", "......."),
    ("...#...", "..##...", ".#.#...", "...#...", "...#...", "...#...",
     "...#...", "...#...", "...#...", "...#...", ".#####.", "......."),
    (".####..", "#....#.", "......#", "......#", ".....#.", "....#..",
     "...#...", "..#....", ".#.....", "#......", "#######", "......."),
    (".####..", "#....#.", "......#", ".....#.", "..###..", ".....#.",
     "......#", "......#", "......#", "#....#.", ".####..", "......."),
    ("....#..", "...##..", "..#.#..", ".#..#..", "#...#..", "#...#..",
     "#######", "....#..", "....#..", "....#..", "....#..", "......."),
    ("#######", "#......", "#......", "#......", "#####..", ".....#.",
     "......#", "......#", "......#", "#....#.", ".####..", "......."),
    ("..###..", ".#.....", "#......", "#......", "#.###..", "##...#.",
     "#.....#", "#.....#", "#.....#", ".#...#.", "..###..", "......."),
    ("#######", "......#", ".....#.", ".....#.", "....#..", "....#..",
     "...#...", "...#...", "..#....", "..#....", "..#....", "......."),
    ("..###..", ".#...#.", "#.....#", ".#...#.", "..###..", ".#...#.",
     "#.....#", "#.....#", "#.....#", ".#...#.", "..###..", "......."),
    ("..###..", ".#...#.", "#.....#", "#.....#", ".#...##", "..###.#",
     "......#", "......#", ".....#.", "....#..", "..##...", "......."),
)


SQUASH_A, SQUASH_S = 1.7159, 2.0 / 3.0


class _LeCunTanh(torch.autograd.Function):
    """f(a) = A tanh(S a) in one buffer, keeping only f(a) for the backward pass, whose derivative
    f'(a) = A S (1 - tanh^2) = (S / A)(A^2 - f^2) needs nothing else. Autograd's version of the
    three-op expression allocates three activation-sized tensors each way; on a 2-core CPU these
    passes over LeNet-5's C1 maps cost more than C1's convolution.

    tanh is computed as tanh(z) = 2 sigmoid(2z) - 1: PyTorch's CPU tanh kernel is accurate to 1 ulp
    and 4x slower than its sigmoid on this project's AVX2 machine (1.5 against 0.36 ms for one batch
    of C1 maps). The identity costs 3e-7 of absolute accuracy in float32, far below what training
    notices."""

    @staticmethod
    def forward(ctx, a: torch.Tensor) -> torch.Tensor:
        y = a.mul(2 * SQUASH_S).sigmoid_().mul_(2 * SQUASH_A).sub_(SQUASH_A)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        a_squared = y.new_tensor(SQUASH_A * SQUASH_A)
        return torch.addcmul(a_squared, y, y, value=-1.0).mul_(grad).mul_(SQUASH_S / SQUASH_A)


def lecun_tanh(a: torch.Tensor) -> torch.Tensor:
    """Appendix A's squashing function f(a) = A tanh(S a) with A = 1.7159, S = 2/3."""
    return _LeCunTanh.apply(a)  # with no gradient wanted, autograd drops what the Function saved


def digit_codes() -> torch.Tensor:
    """The ten 84-dimensional RBF centres (7x12 bitmaps flattened, +1/-1)."""
    rows = [[1.0 if ch == "#" else -1.0 for line in bitmap for ch in line] for bitmap in DIGIT_BITMAPS]
    return torch.tensor(rows)


def lecun_init_(module: nn.Module) -> None:
    """Appendix A: weights uniform in (-2.4/F_in, 2.4/F_in), F_in = fan-in of the unit. Guess: the
    biases start at 0 (appendix A speaks of the weights only)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            nn.init.uniform_(m.weight, -2.4 / fan_in, 2.4 / fan_in)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class Subsampling(nn.Module):
    """S2/S4 (section II-B): sum of each 2x2 block times one trainable coefficient, plus one
    trainable bias, per map, then the squashing function. Two parameters per map. Each unit has four
    inputs, so appendix A starts the coefficient uniform in +-2.4/4 (the bias at 0, as elsewhere).
    `init="ones"` starts it at 1 instead (plain 2x2 sums), for comparison."""

    fan_in = 4

    def __init__(self, channels: int, init: str = "appendix_a") -> None:
        super().__init__()
        if init not in ("appendix_a", "ones"):
            raise ValueError(f"subsampling init {init!r}: choose appendix_a or ones")
        bound = 2.4 / self.fan_in
        start = torch.empty(channels).uniform_(-bound, bound) if init == "appendix_a" else torch.ones(channels)
        self.coefficient = nn.Parameter(start)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The 2x2 sum times the coefficient, plus the bias, is one depthwise stride-2 convolution whose
        # four taps all share the coefficient: one fused op instead of pool, scale and shift (and
        # their three backward passes) over the largest activations of the net.
        channels = self.coefficient.numel()
        kernel = self.coefficient.view(channels, 1, 1, 1).expand(channels, 1, 2, 2)
        return lecun_tanh(F.conv2d(x, kernel, self.bias, stride=2, groups=channels))


class SparseConv(nn.Module):
    """C3: a 5x5 convolution where output map i sees only the input maps in table[i]. Only the
    connected kernels are parameters (so the count matches the paper); they are scattered into a
    dense, mostly-zero kernel on each forward, which costs less than 16 separate convolutions."""

    def __init__(self, table: tuple[tuple[int, ...], ...], in_channels: int, kernel_size: int = 5) -> None:
        super().__init__()
        out_channels = len(table)
        slots = [o * in_channels + i for o, inputs in enumerate(table) for i in inputs]
        self.register_buffer("slots", torch.tensor(slots), persistent=False)
        self.shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.empty(len(slots), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        fan_in = torch.tensor([len(inputs) for o, inputs in enumerate(table) for _ in inputs])
        bound = 2.4 / (fan_in * kernel_size * kernel_size)
        with torch.no_grad():  # appendix A init, per unit fan-in
            self.weight.copy_((torch.rand_like(self.weight) * 2 - 1) * bound.view(-1, 1, 1))

    def dense_weight(self) -> torch.Tensor:
        out_c, in_c, k, _ = self.shape
        dense = self.weight.new_zeros(out_c * in_c, k, k).index_copy(0, self.slots, self.weight)
        return dense.view(self.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.dense_weight()
        if x.shape[-2:] == weight.shape[-2:]:  # one output position: a matrix product (see LeNet5.convolve_c5)
            return F.linear(x.flatten(1), weight.flatten(1), self.bias)[:, :, None, None]
        return F.conv2d(x, weight, self.bias)


class EuclideanRBF(nn.Module):
    """Output layer (eq. 7): y_i = sum_j (x_j - w_ij)^2, with the centres w fixed to the digit
    bitmaps (the paper keeps them fixed, "at least initially"; we never train them). The class is
    the smallest distance, so `forward` returns the distances and callers use -y as scores."""

    def __init__(self, centres: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("centres", centres)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cdist(x, self.centres).pow(2)


class LeNet5(nn.Module):
    """LeNet-5 as in LeCun et al. 1998, section II-B and Fig. 2. Input (N, 1, 32, 32).

    Returns *negated* RBF distances (N, 10), so argmax is the prediction like any classifier,
    and `repro`'s MAP loss (eq. 9) applies to them. 60,000 trainable parameters.
    """

    returns_rbf_scores = True

    def __init__(self, num_classes: int = 10, f6_units: int = 84, subsampling_init: str = "appendix_a") -> None:
        super().__init__()
        assert num_classes == 10 and f6_units == 84, "the RBF bitmaps are 7x12 digits: 10 classes, 84 units"
        self.c1 = nn.Conv2d(1, 6, 5)
        self.s2 = Subsampling(6, subsampling_init)
        self.c3 = SparseConv(C3_TABLE, in_channels=6)
        self.s4 = Subsampling(16, subsampling_init)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, f6_units)
        self.rbf = EuclideanRBF(digit_codes())
        lecun_init_(nn.ModuleList([self.c1, self.c5, self.f6]))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s2(lecun_tanh(self.c1(x)))
        x = self.s4(lecun_tanh(self.c3(x)))
        x = lecun_tanh(self.convolve_c5(x)).flatten(1)
        return lecun_tanh(self.f6(x))

    def convolve_c5(self, x: torch.Tensor) -> torch.Tensor:
        """On 32x32 input, S4's maps are 5x5 like C5's kernels, so each C5 unit sees all of them and
        the convolution is a matrix product (the paper keeps the name "convolutional" for larger
        inputs, section II-B). F.linear does it with a third of conv2d's time on a CPU."""
        if x.shape[-2:] != self.c5.kernel_size:
            return self.c5(x)
        return F.linear(x.flatten(1), self.c5.weight.flatten(1), self.c5.bias)[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.rbf(self.features(x))


class LeNet5Modern(nn.Module):
    """The LeNet-5 shape with today's habits: ReLU, max-pooling, full C3, a linear 10-way
    output for cross-entropy, PyTorch's default init. Not the paper's net; a named variant."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# LeNet-1's H3 (LeCun et al. 1990): 12 maps, each reading 5x5 windows of one or two of the 4 H2 maps.
# The 1990 paper's 2,578 parameters and 98,442 connections fix the number of 5x5 kernels at 20 (the
# rest of the net is fully determined); which maps feed which is a guess: each H2 map alone, its
# six pairs, and the two diagonal pairs once more, so every H2 map feeds five kernels.
LENET1_H3_TABLE: tuple[tuple[int, ...], ...] = (
    (0,), (1,), (2,), (3,),
    (0, 1), (1, 2), (2, 3), (0, 3), (0, 2), (1, 3),
    (0, 2), (1, 3),
)


class LeNet1(nn.Module):
    """LeNet-1 (section III-C.7; layout from LeCun et al. 1990, "Handwritten digit recognition with a
    back-propagation network", NIPS 2). Input (N, 1, 28, 28): a 16x16 digit centred in a 28x28 field
    (the data module's `downsample_to: 16`). H1 4@5x5 (24x24), H2 trainable 2x2 subsampling (12x12),
    H3 12@5x5 wired by LENET1_H3_TABLE (8x8), H4 subsampling (4x4), 10 outputs fully connected to
    the 12x4x4 maps: 2,578 parameters ("about 2,600") and 98,442 connections ("about 100,000
    multiply/add steps"). Squashing and initialisation as LeNet-5 (appendix A; guess for this older
    net). Returns the 10 output sums, for cross-entropy or for squashing against target codes."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 5)
        self.s2 = Subsampling(4)
        self.c3 = SparseConv(LENET1_H3_TABLE, in_channels=4)
        self.s4 = Subsampling(12)
        self.out = nn.Linear(12 * 4 * 4, num_classes)
        lecun_init_(nn.ModuleList([self.c1, self.out]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s2(lecun_tanh(self.c1(x)))
        x = self.s4(lecun_tanh(self.c3(x)))
        return self.out(x.flatten(1))


# LeNet-4's connection tables (guess). Section III-C.8 gives the maps and the totals, not the wiring.
# Fully connected, C3 (16 maps over 8 S2 maps) and F5 (120 units over all of S4's 400 values) would
# have 3,216 and 48,120 parameters, already far beyond "about 17,000" in all. Both totals are met with
# C3 reading 60 kernels, in the spirit of Table I (eight maps read four consecutive S2 maps, four read
# the two subsampled versions of two C1 maps, four read three consecutive maps), and each F5 unit
# reading the whole 5x5 extent of four or five consecutive S4 maps.
LENET4_C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 6), (4, 5, 6, 7), (0, 5, 6, 7), (0, 1, 6, 7), (0, 1, 2, 7),
    (0, 1, 4, 5), (1, 2, 5, 6), (2, 3, 6, 7), (0, 3, 4, 7),
    (0, 1, 2), (2, 3, 4), (4, 5, 6), (0, 6, 7),
)
LENET4_F5_TABLE: tuple[tuple[int, ...], ...] = tuple(
    tuple(sorted((u + k) % 16 for k in range(4 if u % 3 == 2 else 5))) for u in range(120)
)


class LeNet4(nn.Module):
    """LeNet-4 (section III-C.8): "4 first-level feature maps, followed by 8 subsampling maps
    connected in pairs to each first-layer feature maps, then 16 feature maps, followed by 16
    subsampling maps, followed by a fully connected layer with 120 units, followed by the output
    layer (10 units)", "about 260,000 connections" and "about 17,000 free parameters".

    Input (N, 1, 32, 32) as LeNet-5 ("very similar to LeNet-5"). C1 4@5x5 (28x28); S2: each C1 map
    feeds two subsampling maps with their own coefficient and bias (14x14); C3 16@5x5 wired by
    LENET4_C3_TABLE (10x10); S4 (5x5); F5 120 units, each seeing the whole 5x5 extent of the S4 maps
    in LENET4_F5_TABLE (guess: "fully connected" read as LeNet-5's C5 is, over whole maps); 10 linear
    outputs. 16,998 parameters and 258,306 connections."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 5)
        self.s2 = Subsampling(8)
        self.c3 = SparseConv(LENET4_C3_TABLE, in_channels=8)
        self.s4 = Subsampling(16)
        self.f5 = SparseConv(LENET4_F5_TABLE, in_channels=16)
        self.out = nn.Linear(120, num_classes)
        lecun_init_(nn.ModuleList([self.c1, self.out]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = lecun_tanh(self.c1(x)).repeat_interleave(2, dim=1)  # S2 maps 2i and 2i+1 read C1 map i
        x = self.s2(x)
        x = self.s4(lecun_tanh(self.c3(x)))
        x = lecun_tanh(self.f5(x)).flatten(1)
        return self.out(x)
