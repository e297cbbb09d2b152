"""Paper facts about the LeNet family (LeCun et al. 1998, sections II-B, III-C.7, III-C.8, Table I,
appendix A; LeNet-1's layout from LeCun et al. 1990)."""

import pytest
import torch
from torch import nn

from datamodules.mnist import MNISTDataModule, downsample_digits
from models.nets.lenet import (
    C3_TABLE, LENET1_H3_TABLE, LENET4_C3_TABLE, LENET4_F5_TABLE, EuclideanRBF, LeNet1, LeNet4, LeNet5,
    LeNet5Modern, SparseConv, Subsampling, digit_codes, lecun_tanh,
)
from tests.conftest import FIXTURES


def trainable(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def connections(net: nn.Module, x: torch.Tensor) -> int:
    """The paper's count: every input of every unit, its bias included (an RBF unit has no bias)."""
    total = 0

    def count(module, inputs, out):
        nonlocal total
        positions = out[0, 0].numel() if out.dim() == 4 else 1
        if isinstance(module, SparseConv):
            kernel = module.shape[-1] * module.shape[-2]
            total += positions * sum(len(row) * kernel + 1 for row in module_tables[module])
        elif isinstance(module, nn.Conv2d):
            total += out[0].numel() * (module.weight[0].numel() + 1)
        elif isinstance(module, Subsampling):
            total += out[0].numel() * (module.fan_in + 1)
        elif isinstance(module, nn.Linear):
            total += module.out_features * (module.in_features + 1)
        elif isinstance(module, EuclideanRBF):
            total += module.centres.numel()

    module_tables = {m: t for m, t in _tables(net)}
    hooks = [m.register_forward_hook(count) for m in net.modules()
             if isinstance(m, (SparseConv, nn.Conv2d, Subsampling, nn.Linear, EuclideanRBF))]
    if isinstance(net, LeNet5):
        net.convolve_c5 = lambda s4: net.c5(s4)  # the matrix-product shortcut skips the module's hook
    net(x)
    for hook in hooks:
        hook.remove()
    return total


def _tables(net: nn.Module):
    for table, name in ((C3_TABLE, "c3"), (LENET1_H3_TABLE, "c3"), (LENET4_C3_TABLE, "c3"), (LENET4_F5_TABLE, "f5")):
        module = getattr(net, name, None)
        if isinstance(module, SparseConv) and module.weight.shape[0] == sum(map(len, table)) \
                and module.shape[0] == len(table):
            yield module, table


def test_lenet5_has_exactly_60000_trainable_parameters():
    assert trainable(LeNet5()) == 60_000


def test_lenet5_has_340908_connections():
    assert connections(LeNet5(), torch.zeros(1, 1, 32, 32)) == 340_908  # section II-B, layer by layer


def test_lenet1_has_about_2600_parameters_and_100000_connections():
    # Section III-C.7: "about 100,000 multiply/add steps", "only about 2600" free parameters; LeCun et
    # al. 1990 give the exact 2,578 parameters and 98,442 connections, which this layout meets.
    net = LeNet1()
    assert trainable(net) == 2_578 and abs(trainable(net) - 2_600) <= 0.05 * 2_600
    assert connections(net, torch.zeros(1, 1, 28, 28)) == 98_442


def test_lenet1_reads_16x16_digits_in_a_28x28_field():
    assert LeNet1()(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert [len(inputs) for inputs in LENET1_H3_TABLE].count(2) == 8  # 20 kernels: 4 maps of one, 8 of two
    dm = MNISTDataModule(data_dir=str(FIXTURES), pad_to_32=False, downsample_to=16)
    dm.setup()
    x = dm.to_model_input(dm.splits["train"][0][:50])
    assert x.shape == (50, 1, 28, 28) and x.min().item() == pytest.approx(-0.1)
    ink = x[:, 0] > 0
    rows, cols = ink.any(2), ink.any(1)
    for lines in (rows, cols):  # every digit inside a 16x16 box (to a pixel of interpolation) and centred
        index = torch.arange(28).expand_as(lines)
        first = torch.where(lines, index, 99).amin(1)
        last = torch.where(lines, index, -1).amax(1)
        assert (last - first + 1).max() <= 17
        assert ((first + last) / 2 - 13.5).abs().max() <= 1.0
    assert (rows.sum(1).max(), cols.sum(1).max()) >= (15, 15)  # the tallest and widest digits fill 16 rows, columns


def test_downsampling_keeps_the_ink():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 3:23, 10:18] = 1.0  # a 20-high, 8-wide bar, off centre like MNIST's centre-of-mass placement
    out = downsample_digits(x, 16)
    assert out.sum().item() == pytest.approx(x.sum().item() * (16 / 20) ** 2, rel=0.03)
    assert out[0, 0, :6].abs().sum() == 0 and out[0, 0, 22:].abs().sum() == 0  # 16 rows, centred


def test_lenet4_has_about_17000_parameters_and_260000_connections():
    # Section III-C.8: "about 260,000 connections and ... about 17,000 free parameters"
    net = LeNet4()
    params, links = trainable(net), connections(net, torch.zeros(1, 1, 32, 32))
    assert abs(params - 17_000) <= 0.05 * 17_000 and abs(links - 260_000) <= 0.05 * 260_000
    assert (params, links) == (16_998, 258_306)


def test_lenet4_layout_follows_section_3c8():
    net = LeNet4()
    assert (net.c1.out_channels, net.s2.coefficient.numel(), net.c3.shape[:2], net.s4.coefficient.numel()) == (
        4, 8, (16, 8), 16)
    assert net.f5.shape[:2] == (120, 16) and net.out.out_features == 10
    # S2 maps 2i and 2i+1 both subsample C1 map i, each with its own coefficient and bias
    x = torch.randn(1, 1, 32, 32)
    c1 = lecun_tanh(net.c1(x))
    s2 = net.s2(c1.repeat_interleave(2, dim=1))
    for i in range(4):
        alone = torch.zeros_like(c1)
        alone[:, i] = c1[:, i]
        changed = (net.s2(alone.repeat_interleave(2, dim=1)) - s2).abs().sum(dim=(0, 2, 3)) == 0
        assert changed.tolist() == [j // 2 == i for j in range(8)]


@pytest.mark.parametrize("make", [LeNet1, LeNet4, LeNet5])
def test_subsampling_coefficients_start_as_appendix_a_says(make):
    # Appendix A: uniform in +-2.4/F_in; a subsampling unit has F_in = 4 inputs
    torch.manual_seed(0)
    for module in make().modules():
        if isinstance(module, Subsampling):
            assert module.coefficient.abs().max() <= 0.6
            assert module.coefficient.unique().numel() == module.coefficient.numel()  # random, not all 1
            assert torch.equal(module.bias, torch.zeros_like(module.bias))
    many = Subsampling(20_000).coefficient
    assert many.min() < -0.59 and many.max() > 0.59 and abs(many.mean()) < 0.02


def test_lenet5_layer_shapes_follow_section_2b():
    net = LeNet5()
    x = torch.zeros(3, 1, 32, 32)
    c1 = net.c1(x)
    assert c1.shape == (3, 6, 28, 28)
    s2 = net.s2(c1)
    assert s2.shape == (3, 6, 14, 14)
    c3 = net.c3(s2)
    assert c3.shape == (3, 16, 10, 10)
    s4 = net.s4(c3)
    assert s4.shape == (3, 16, 5, 5)
    assert net.c5(s4).shape == (3, 120, 1, 1)
    assert net(x).shape == (3, 10)


@pytest.mark.parametrize("size", [5, 7])  # 32x32 input gives 5x5 S4 maps; a larger input, larger maps
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_c5_matrix_product_is_the_convolution(size, memory_format):
    net = LeNet5().to(memory_format=memory_format)
    s4 = torch.randn(3, 16, size, size).contiguous(memory_format=memory_format).requires_grad_()
    got, expected = net.convolve_c5(s4), net.c5(s4)
    assert got.shape == expected.shape == (3, 120, size - 4, size - 4)
    assert torch.allclose(got, expected, atol=1e-5)
    weights = torch.randn_like(expected)
    grads = torch.autograd.grad((got * weights).sum(), [s4, net.c5.weight, net.c5.bias])
    expected_grads = torch.autograd.grad((expected * weights).sum(), [s4, net.c5.weight, net.c5.bias])
    for g, e in zip(grads, expected_grads):
        assert torch.allclose(g, e, atol=1e-4)


def test_c3_follows_table_1():
    weight = LeNet5().c3.dense_weight()
    connected = weight.abs().sum(dim=(2, 3)) > 0
    expected = torch.zeros(16, 6, dtype=torch.bool)
    for out_map, inputs in enumerate(C3_TABLE):
        expected[out_map, list(inputs)] = True
    assert torch.equal(connected, expected)
    assert expected.sum() == 60  # 6x3 + 9x4 + 1x6 kernels, 1,500 weights


def test_c3_gradient_reaches_only_connected_kernels():
    net = LeNet5()
    net(torch.randn(2, 1, 32, 32)).sum().backward()
    assert net.c3.weight.grad.shape == (60, 5, 5)
    assert net.c3.weight.grad.abs().sum() > 0


def test_subsampling_is_coefficient_times_2x2_sum_plus_bias_then_squashing():
    # Section II-B: "the four inputs ... are added, then multiplied by a trainable coefficient, and
    # added to a trainable bias"; checked against that definition, values and gradients.
    s2 = LeNet5().s2
    with torch.no_grad():
        s2.coefficient.copy_(torch.linspace(-0.6, 0.9, 6))
        s2.bias.copy_(torch.linspace(0.3, -0.2, 6))
    x = torch.randn(3, 6, 28, 28, requires_grad=True)
    block_sum = x.unfold(2, 2, 2).unfold(3, 2, 2).sum(dim=(-1, -2))
    expected = lecun_tanh(block_sum * s2.coefficient.view(1, -1, 1, 1) + s2.bias.view(1, -1, 1, 1))
    got = s2(x)
    assert got.shape == (3, 6, 14, 14)
    assert torch.allclose(got, expected, atol=1e-6)
    weights = torch.randn_like(got)
    grads = torch.autograd.grad((got * weights).sum(), [x, s2.coefficient, s2.bias])
    expected_grads = torch.autograd.grad((expected * weights).sum(), [x, s2.coefficient, s2.bias])
    for g, e in zip(grads, expected_grads):
        assert torch.allclose(g, e, atol=1e-4)


def test_squashing_function_constants():
    # f(a) = 1.7159 tanh(2a/3): f(1) = 1 and f(-1) = -1 (appendix A)
    assert torch.allclose(lecun_tanh(torch.tensor([1.0, -1.0])), torch.tensor([1.0, -1.0]), atol=1e-3)


def test_squashing_function_gradient_is_exact():
    # the hand-written backward pass against autograd's derivative of 1.7159 tanh(2a/3), in float64
    a = torch.randn(4, 6, 7, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lecun_tanh, (a,))
    reference = 1.7159 * torch.tanh(a * (2.0 / 3.0))
    assert torch.allclose(lecun_tanh(a), reference)
    with torch.no_grad():
        assert torch.allclose(lecun_tanh(a), reference)


def test_squashing_function_is_accurate_in_float32_and_saturates():
    # computed through 2 sigmoid(2z) - 1 for speed: within 1e-6 of tanh over the whole range, and
    # exactly +-A far out (no inf or nan from exp overflow)
    a = torch.cat([torch.linspace(-30, 30, 100_001), torch.tensor([-1e30, 1e30])])
    reference = 1.7159 * torch.tanh(a.double() * (2.0 / 3.0))
    assert (lecun_tanh(a).double() - reference).abs().max() < 1e-6
    assert lecun_tanh(torch.tensor([-1e30, 1e30])).tolist() == pytest.approx([-1.7159, 1.7159], abs=1e-6)


def test_rbf_centres_are_ten_7x12_bitmaps_of_plus_minus_one():
    codes = digit_codes()
    assert codes.shape == (10, 84)
    assert set(codes.unique().tolist()) == {-1.0, 1.0}
    assert torch.cdist(codes, codes).add(torch.eye(10)).min() > 0  # all distinct


def test_rbf_centres_are_not_trained():
    net = LeNet5()
    assert not any(p is net.rbf.centres for p in net.parameters())


def test_scores_are_negated_squared_distances():
    net = LeNet5()
    x = torch.randn(4, 1, 32, 32)
    distances = torch.cdist(net.features(x), digit_codes()).pow(2)
    assert torch.allclose(net(x), -distances, atol=1e-4)


def test_variants_output_ten_scores():
    assert LeNet5Modern()(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    assert LeNet4()(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_subsampling_coefficients_start_at_one_only_when_asked():
    from models.nets.lenet import Subsampling

    assert torch.equal(Subsampling(6, "ones").coefficient.detach(), torch.ones(6))
    with pytest.raises(ValueError, match="appendix_a or ones"):
        Subsampling(6, "twos")
