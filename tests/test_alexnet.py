"""Paper facts about AlexNet (Krizhevsky et al. 2012)."""

import pytest
import torch

from models.nets.alexnet import AlexNet, LocalResponseNorm, PerGPUConv2d, torchvision_alexnet


def trainable(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def test_paper_alexnet_has_60965224_parameters():
    assert trainable(AlexNet()) == 60_965_224


def test_torchvision_variant_has_61100840_parameters():
    assert trainable(torchvision_alexnet()) == 61_100_840


def test_shapes_follow_fig_2():
    net = AlexNet().eval()
    x = torch.zeros(2, 3, 227, 227)
    sizes = []
    for layer in net.features:
        x = layer(x)
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.MaxPool2d)):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(96, 55, 55), (96, 27, 27), (256, 27, 27), (256, 13, 13), (384, 13, 13), (384, 13, 13),
                     (256, 13, 13), (256, 6, 6)]
    assert net(torch.zeros(2, 3, 227, 227)).shape == (2, 1000)


def test_conv2_conv4_conv5_are_split_in_two_groups():
    groups = [m.groups for m in AlexNet().features if isinstance(m, torch.nn.Conv2d)]
    assert groups == [1, 2, 1, 2, 2]


@pytest.mark.parametrize("channels_last", [False, True])
def test_per_gpu_convolution_is_a_grouped_convolution(channels_last):
    torch.manual_seed(0)
    ours = PerGPUConv2d(8, 6, 3, padding=1, groups=2).double()
    grouped = torch.nn.Conv2d(8, 6, 3, padding=1, groups=2).double()
    grouped.load_state_dict(ours.state_dict())  # same parameter names and shapes
    x = torch.randn(2, 8, 7, 7, dtype=torch.float64)
    x = (x.contiguous(memory_format=torch.channels_last) if channels_last else x).requires_grad_()
    out, expected = ours(x), grouped(x)
    assert torch.allclose(out, expected, rtol=0, atol=1e-12)
    weights = torch.randn_like(expected)
    ours_grads = torch.autograd.grad((out * weights).sum(), [x, ours.weight, ours.bias])
    grouped_grads = torch.autograd.grad((expected * weights).sum(), [x, grouped.weight, grouped.bias])
    for a, b in zip(ours_grads, grouped_grads):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)


def test_lrn_matches_the_papers_formula():
    a = torch.randn(2, 12, 5, 5) * 3
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    squares = a.pow(2)
    expected = torch.empty_like(a)
    for i in range(a.shape[1]):  # b_i = a_i / (k + alpha * sum_{j = i - n/2}^{i + n/2} a_j^2)^beta
        lo, hi = max(0, i - n // 2), min(a.shape[1] - 1, i + n // 2)
        expected[:, i] = a[:, i] / (k + alpha * squares[:, lo : hi + 1].sum(1)).pow(beta)
    assert torch.allclose(LocalResponseNorm(12, k, n, alpha, beta)(a), expected, atol=1e-6)


@pytest.mark.parametrize("n", [5, 4])
@pytest.mark.parametrize("channels_last", [False, True])
def test_lrn_has_torchs_values_and_gradients(channels_last, n):
    # torch's LocalResponseNorm divides alpha by n inside: the paper's alpha is passed times n
    a = (torch.randn(2, 12, 6, 7, dtype=torch.float64) * 3).requires_grad_()
    ours = LocalResponseNorm(12, n=n).double()(a.contiguous(memory_format=torch.channels_last) if channels_last else a)
    theirs = torch.nn.LocalResponseNorm(n, alpha=1e-4 * n, beta=0.75, k=2.0)(a)
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-12)
    weights = torch.randn_like(theirs)
    ours_grad, = torch.autograd.grad((ours * weights).sum(), a)
    theirs_grad, = torch.autograd.grad((theirs * weights).sum(), a)
    assert torch.allclose(ours_grad, theirs_grad, rtol=0, atol=1e-12)


def test_lrn_band_is_not_in_checkpoints():
    assert not any("band" in key for key in AlexNet().state_dict())


def test_initialisation_follows_section_5():
    net = AlexNet()
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    fcs = [m for m in net.classifier if isinstance(m, torch.nn.Linear)]
    assert [float(c.bias.mean()) for c in convs] == [0.0, 1.0, 0.0, 1.0, 1.0]
    assert [float(f.bias.mean()) for f in fcs] == [1.0, 1.0, 0.0]
    assert abs(float(fcs[0].weight.std()) - 0.01) < 1e-3


def test_dropout_drops_the_outputs_of_fc6_and_fc7():
    # Section 4.2: dropout "in the first two fully-connected layers" zeroes each hidden neuron's output
    # with probability 0.5 (Caffe's reference net: fc6, relu6, drop6, fc7, relu7, drop7, fc8). So fc6
    # reads conv5's maps untouched, and fc7 and fc8 read the ReLU outputs of fc6 and fc7, half zeroed
    # and the rest doubled.
    torch.manual_seed(0)
    classifier = AlexNet(num_classes=10).classifier.train()
    fc6, fc7, fc8 = [m for m in classifier if isinstance(m, torch.nn.Linear)]
    seen = {}
    hooks = [fc.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, (i[0].detach(), o.detach())))
             for name, fc in (("fc6", fc6), ("fc7", fc7), ("fc8", fc8))]
    x = torch.randn(8, 256, 6, 6)
    classifier(x)
    for hook in hooks:
        hook.remove()
    assert torch.equal(seen["fc6"][0], x.flatten(1))  # no dropout before fc6
    for before, after in (("fc6", "fc7"), ("fc7", "fc8")):
        kept = seen[before][1].relu()
        read = seen[after][0]
        active = kept > 0
        assert active.float().mean() > 0.5  # the section-5 biases of 1 keep most ReLUs on
        dropped = (read == 0) & active
        assert 0.45 < dropped.sum() / active.sum() < 0.55
        assert torch.allclose(read[~dropped], 2 * kept[~dropped])


def test_classifier_keeps_its_state_dict_names():
    keys = [k for k in AlexNet().state_dict() if k.startswith("classifier")]
    assert keys == [f"classifier.{i}.{p}" for i in (1, 4, 6) for p in ("weight", "bias")]


def test_ablations_keep_the_output_shape():
    assert AlexNet(lrn=False)(torch.zeros(1, 3, 227, 227)).shape == (1, 1000)
    assert AlexNet(pool_kernel=2, num_classes=10)(torch.zeros(1, 3, 227, 227)).shape == (1, 10)


def test_flop_counts_leave_the_lrn_window_sum_out():
    from repro.meter import count_flops

    x = torch.randn(1, 3, 227, 227)
    without_lrn = count_flops(AlexNet(lrn=False), x)
    assert count_flops(AlexNet(), x) == without_lrn  # the banded convolution stands in for a few adds
    assert without_lrn[0] == 1_448_813_632  # conv1-5 and fc6-8, multiply-adds counted as 2 FLOPs
