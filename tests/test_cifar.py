"""CIFAR-10 from the JPEG copy: decoded once, cached, batched augmentation; the Fig. 1 net."""

import pytest
import torch

from datamodules.cifar10 import CIFAR10DataModule, load_cifar10, random_crop_flip
from models.nets.convnet import FourLayerConvNet
from repro.errors import UserError
from tests.conftest import FIXTURES


def test_decodes_once_and_caches(tmp_path):
    images, labels = load_cifar10(FIXTURES, tmp_path, train=True)
    assert images.shape == (200, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.equal(torch.bincount(labels), torch.full((10,), 20))
    [cache] = (tmp_path / "cifar10").glob("train-*.pt")
    again, _ = load_cifar10(FIXTURES, tmp_path, train=True)
    assert torch.equal(images, again) and len(list((tmp_path / "cifar10").glob("*"))) == 1


def test_decoded_pixels_look_like_photographs(tmp_path):
    images, _ = load_cifar10(FIXTURES, tmp_path, train=False)
    mean = images.float().div(255).mean(dim=(0, 2, 3))
    assert torch.all((mean > 0.3) & (mean < 0.65))  # CIFAR-10's channel means are about 0.45-0.49


def test_crop_flip_keeps_shape_and_content():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).view(2, 3, 32, 32)
    out = random_crop_flip(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert not torch.equal(out, x)
    assert torch.equal(random_crop_flip(x, padding=0, generator=torch.Generator().manual_seed(1)).sort(3).values,
                       x.sort(3).values)  # without padding only flips happen


def test_model_input_is_normalised(tmp_path):
    dm = CIFAR10DataModule(data_dir=str(FIXTURES), cache_dir=str(tmp_path))
    dm.setup()
    x = dm.to_model_input(dm.splits["train"][0])
    assert abs(float(x.mean())) < 0.3 and 0.7 < float(x.std()) < 1.3


def test_fig1_net_shapes_and_activations():
    for activation in ("relu", "tanh"):
        net = FourLayerConvNet(activation)
        assert net(torch.zeros(4, 3, 32, 32)).shape == (4, 10)
    assert any(isinstance(m, torch.nn.Tanh) for m in FourLayerConvNet("tanh").modules())


def test_centre_is_raw_pixels_minus_the_mean_image(tmp_path):
    """Krizhevsky et al. 2012, section 2: the centred raw RGB values, nothing else."""
    dm = CIFAR10DataModule(data_dir=str(FIXTURES), cache_dir=str(tmp_path), normalize="centre")
    dm.setup()
    images = dm.splits["train"][0]
    x = dm.to_model_input(images)
    assert torch.allclose(x.mean(0), torch.zeros(3, 32, 32), atol=1e-3)  # every pixel centred over the training set
    assert torch.allclose(x[0], images[0].float() - images.float().mean(0))  # and not rescaled: 0-255 units
    assert 30 < float(x.std()) < 100
    with pytest.raises(UserError, match="data.normalize='zscore' is not known"):
        CIFAR10DataModule(data_dir=str(FIXTURES), cache_dir=str(tmp_path), normalize="zscore")


def test_fig1_net_paper_init_is_gaussian_001_with_zero_biases():
    torch.manual_seed(0)
    net = FourLayerConvNet("tanh", init="paper")
    weights = torch.cat([m.weight.flatten() for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))])
    assert abs(float(weights.std()) - 0.01) < 0.0005 and abs(float(weights.mean())) < 0.0005
    assert all(float(m.bias.abs().max()) == 0 for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    torch_init = FourLayerConvNet("tanh", init="torch")
    assert float(torch_init.features[0].weight.std()) > 0.05  # PyTorch's default: about 1/sqrt(3 * 75)
    with pytest.raises(UserError, match="init='xavier'"):
        FourLayerConvNet("relu", init="xavier")
