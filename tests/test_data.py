"""The MNIST datamodule, balanced subsets, device batches and distortions."""

import pytest
import torch

from datamodules.distortions import random_affine
from datamodules.mnist import MNISTDataModule
from datamodules.subsets import balanced_indices, subset_indices
from datamodules.tensor_batches import TensorBatches
from repro.errors import UserError
from tests.conftest import FIXTURES, real_data_dir


def test_fixture_loads_as_uint8_tensors_padded_to_32():
    dm = MNISTDataModule(data_dir=str(FIXTURES))
    dm.setup()
    x, y = dm.splits["train"]
    assert x.shape == (600, 1, 28, 28) and x.dtype == torch.uint8 and y.shape == (600,)
    batch = dm.to_model_input(x[:5])
    assert batch.shape == (5, 1, 32, 32)
    # LeCun's levels: background -0.1, ink up to 1.175 (section II-B)
    assert batch.min().item() == pytest.approx(-0.1) and batch.max().item() <= 1.175 + 1e-6


def test_missing_data_names_mnist_and_the_folder(tmp_path):
    with pytest.raises(UserError, match=r"MNIST not found in .*MNIST/raw"):
        MNISTDataModule(data_dir=str(tmp_path)).setup()


def test_per_class_subset_is_balanced():
    y = torch.arange(10).repeat(50)
    keep = balanced_indices(y, per_class=7)
    assert torch.equal(torch.bincount(y[keep]), torch.full((10,), 7))
    assert torch.equal(torch.bincount(y[subset_indices(y, 40)]), torch.full((10,), 4))


def test_per_class_asks_for_more_than_there_is():
    with pytest.raises(ValueError, match="has only"):
        balanced_indices(torch.arange(10).repeat(3), per_class=5)


@pytest.mark.parametrize("shuffle", [True, False])
def test_tensor_batches_shard_disjoint_and_cover(shuffle):
    x = torch.arange(103)
    shards = [torch.cat([b for b, _ in TensorBatches(x, x, 10, shuffle=shuffle, rank=r, world_size=2)]) for r in range(2)]
    together = torch.cat(shards)
    assert len(set(together.tolist())) == len(together)  # disjoint
    assert len(together) == (102 if shuffle else 103)  # train shards equal, eval covers all
    if shuffle:
        assert len(shards[0]) == len(shards[1])


def test_tensor_batches_reshuffle_each_epoch_reproducibly():
    x = torch.arange(50)
    a = TensorBatches(x, x, 50, shuffle=True, seed=1)
    first, second = next(iter(a))[0], next(iter(a))[0]
    assert not torch.equal(first, second)
    assert torch.equal(first, next(iter(TensorBatches(x, x, 50, shuffle=True, seed=1)))[0])
    assert len(a) == 1


def test_distortions_keep_shape_and_background():
    x = torch.full((8, 1, 32, 32), -0.1)
    x[:, :, 10:20, 12:18] = 1.175
    out = random_affine(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert out[:, :, 0, 0].allclose(torch.tensor(-0.1))  # corners stay background
    assert not torch.allclose(out, x)


@pytest.mark.data
@pytest.mark.skipif(real_data_dir() is None, reason="DATA_DIR with MNIST not set")
def test_real_mnist_has_60k_and_10k():
    dm = MNISTDataModule(data_dir=str(real_data_dir()), per_class=5000)
    dm.setup()
    assert len(dm.splits["train"][0]) == 50_000 and len(dm.splits["test"][0]) == 10_000
