"""Paper facts about the LeNet family (LeCun et al. 1998, section II-B, Table I, appendix A)."""

import pytest
import torch

from models.nets.lenet import C3_TABLE, LeNet1, LeNet4, LeNet5, LeNet5Modern, digit_codes, lecun_tanh


def trainable(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def test_lenet5_has_exactly_60000_trainable_parameters():
    assert trainable(LeNet5()) == 60_000


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
    assert LeNet1()(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
