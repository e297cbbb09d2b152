"""Paper facts about AlexNet (Krizhevsky et al. 2012)."""

import torch

from models.nets.alexnet import AlexNet, paper_lrn, torchvision_alexnet


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


def test_lrn_matches_the_papers_formula():
    a = torch.randn(2, 12, 5, 5) * 3
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    squares = a.pow(2)
    expected = torch.empty_like(a)
    for i in range(a.shape[1]):  # b_i = a_i / (k + alpha * sum_{j = i - n/2}^{i + n/2} a_j^2)^beta
        lo, hi = max(0, i - n // 2), min(a.shape[1] - 1, i + n // 2)
        expected[:, i] = a[:, i] / (k + alpha * squares[:, lo : hi + 1].sum(1)).pow(beta)
    assert torch.allclose(paper_lrn(k, n, alpha, beta)(a), expected, atol=1e-6)


def test_initialisation_follows_section_5():
    net = AlexNet()
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    fcs = [m for m in net.classifier if isinstance(m, torch.nn.Linear)]
    assert [float(c.bias.mean()) for c in convs] == [0.0, 1.0, 0.0, 1.0, 1.0]
    assert [float(f.bias.mean()) for f in fcs] == [1.0, 1.0, 0.0]
    assert abs(float(fcs[0].weight.std()) - 0.01) < 1e-3


def test_ablations_keep_the_output_shape():
    assert AlexNet(lrn=False)(torch.zeros(1, 3, 227, 227)).shape == (1, 1000)
    assert AlexNet(pool_kernel=2, num_classes=10)(torch.zeros(1, 3, 227, 227)).shape == (1, 10)
