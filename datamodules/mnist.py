"""MNIST in memory: the IDX files read once into uint8 tensors on the training device.

Batches are cut by index on the device (`TensorBatches`); conversion to float, LeCun's
normalisation and the optional random distortions run on whole batches after transfer.
"""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torchvision.datasets import MNIST

from datamodules.distortions import random_affine
from datamodules.subsets import balanced_indices, subset_indices
from datamodules.tensor_batches import TensorBatches
from repro.errors import UserError

# Section II-A: "the background level (white) corresponds to a value of -0.1 and the foreground
# (black) corresponds to 1.175. This makes the mean input roughly 0, and the variance roughly 1."
LECUN_LOW, LECUN_HIGH = -0.1, 1.175


def default_data_dir() -> str:
    return os.environ.get("DATA_DIR", "./data")


def load_mnist(data_dir: str | Path, train: bool, download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 28, 28), labels int64) from torchvision's layout `data_dir/MNIST/raw`."""
    raw = Path(data_dir).resolve() / "MNIST" / "raw"
    prefix = "train" if train else "t10k"
    files = [raw / f"{prefix}-images-idx3-ubyte", raw / f"{prefix}-labels-idx1-ubyte"]
    present = all(f.is_file() for f in files)
    try:
        ds = MNIST(str(data_dir), train=train, download=download and not present)
    except Exception as error:  # torchvision raises RuntimeError, ValueError, URLError ... by case
        if present:
            raise UserError(f"MNIST file {files[0].name} or {files[1].name} in {raw} is damaged or truncated "
                            f"({str(error).splitlines()[0][:80]}): replace them with the original IDX files") from error
        raise UserError(
            f"MNIST not found in {raw} ({'download failed' if download else 'download disabled'}): put the four "
            f"IDX files there, set DATA_DIR to the folder that holds MNIST/, or pass data.download=true when online"
        ) from error
    if len(ds.data) != len(ds.targets):
        raise UserError(f"MNIST in {raw}: {len(ds.data)} images but {len(ds.targets)} labels: replace the files")
    return ds.data, ds.targets


def _check_count(name: str, value, allow_none: bool = True, minimum: int = 1) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"data.{name}={value!r} must be a whole number >= {minimum}")


class MNISTDataModule(L.LightningDataModule):
    def __init__(self, data_dir: str | None = None, batch_size: int = 128, eval_batch_size: int = 1000,
                 pad_to_32: bool = True, subset: int | None = None, test_subset: int | None = None,
                 per_class: int | None = None, val_size: int = 0, val_on_test: bool = False, distort: bool = False,
                 normalize: str = "lecun", download: bool = False, seed: int = 0) -> None:
        super().__init__()
        _check_count("batch_size", batch_size, allow_none=False)
        _check_count("eval_batch_size", eval_batch_size, allow_none=False)
        for name, value in (("subset", subset), ("test_subset", test_subset), ("per_class", per_class)):
            _check_count(name, value)
        _check_count("val_size", val_size, minimum=0)
        if normalize not in ("lecun", "unit"):
            raise UserError(f"data.normalize={normalize!r} is not known: use 'lecun' or 'unit'")
        self.data_dir = data_dir or default_data_dir()
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.pad_to_32, self.subset, self.test_subset = pad_to_32, subset, test_subset
        if val_size and val_on_test:
            raise UserError("data.val_size and data.val_on_test exclude each other: keep one")
        self.per_class, self.val_size, self.distort = per_class, val_size, distort
        self.val_on_test = val_on_test
        self.normalize, self.download, self.seed = normalize, download, seed
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.train_batches: TensorBatches | None = None
        self.resume_position: dict[str, int] | None = None

    # Checkpointed with the run, so a resumed run continues mid-epoch where it stopped.
    def state_dict(self) -> dict[str, int]:
        return self.train_batches.position() if self.train_batches else {}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.resume_position = state or None

    def prepare_data(self) -> None:
        load_mnist(self.data_dir, train=True, download=self.download)  # fail early, on rank 0

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        x, y = load_mnist(self.data_dir, train=True, download=self.download)
        if self.val_size:
            order = torch.randperm(len(x), generator=torch.Generator().manual_seed(12345))
            val_idx, train_idx = order[: self.val_size], order[self.val_size :].sort().values
            self.splits["val"] = (x[val_idx], y[val_idx])
            x, y = x[train_idx], y[train_idx]
        if self.per_class:
            available = int(torch.bincount(y).min())
            if self.per_class > available:
                raise UserError(f"data.per_class={self.per_class} but the smallest class has {available} "
                                f"training examples: ask for at most {available}")
            keep = balanced_indices(y, self.per_class, self.seed)
            x, y = x[keep], y[keep]
        elif self.subset:
            keep = subset_indices(y, self.subset, self.seed)
            x, y = x[keep], y[keep]
        self.splits["train"] = (x, y)
        x, y = load_mnist(self.data_dir, train=False, download=self.download)
        if self.test_subset:
            x, y = x[: self.test_subset], y[: self.test_subset]
        self.splits["test"] = (x, y)

    @property
    def image_size(self) -> int:
        return 32 if self.pad_to_32 else 28

    def _batches(self, split: str, shuffle: bool) -> TensorBatches | list:
        if split not in self.splits:
            return []
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        x, y = self.splits[split]
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        return TensorBatches(x.unsqueeze(1).to(device), y.to(device),
                             self.batch_size if shuffle else self.eval_batch_size,
                             shuffle=shuffle, seed=self.seed, rank=rank, world_size=world)

    def train_dataloader(self):
        self.train_batches = self._batches("train", shuffle=True)
        if self.resume_position:
            self.train_batches.seek(self.resume_position)
            self.resume_position = None
        return self.train_batches

    def val_dataloader(self):
        # val_on_test: evaluate the test set after every epoch, only to time when a paper's target is
        # first met (MLPerf's rule); nothing is ever chosen by it.
        return self._batches("test" if self.val_on_test else "val", shuffle=False)

    def test_dataloader(self):
        return self._batches("test", shuffle=False)

    def to_model_input(self, images: torch.Tensor, distort: bool = False) -> torch.Tensor:
        """uint8 (N, 1, 28, 28) -> float (N, 1, S, S): pad, scale, optionally distort."""
        x = images.float().div_(255)
        if self.pad_to_32:
            x = F.pad(x, (2, 2, 2, 2))
        if self.normalize == "lecun":
            x = x.mul_(LECUN_HIGH - LECUN_LOW).add_(LECUN_LOW)
        if distort:
            x = random_affine(x)
        return x

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        return batch  # cut on the device already: skip Lightning's walk over the batch

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, labels = batch
        training = self.trainer is not None and self.trainer.training
        return self.to_model_input(images, distort=self.distort and training), labels
