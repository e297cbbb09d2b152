"""A datamodule for datasets that fit in memory as uint8 tensors (MNIST, CIFAR-10).

Subclasses say how to load a split and how to turn a uint8 batch into model input; this class does
the rest: balanced subsets, a held-out split, batches cut by index on the training device, the
resume position inside an epoch, and the batch conversion after transfer.
"""

from __future__ import annotations

import functools

import lightning as L
import torch

from datamodules.resume import ResumableTrainBatches
from datamodules.subsets import balanced_indices, subset_indices
from datamodules.tensor_batches import TensorBatches
from repro.errors import UserError


@functools.lru_cache(maxsize=None)
def channel_constant(values: tuple[float, ...], device: torch.device) -> torch.Tensor:
    """Per-channel statistics as a (C, 1, 1) tensor on `device`, made once, not copied there every batch."""
    return torch.tensor(values, device=device).view(-1, 1, 1)


def check_count(name: str, value, allow_none: bool = True, minimum: int = 1) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"data.{name}={value!r} must be a whole number >= {minimum}")


class InMemoryDataModule(ResumableTrainBatches, L.LightningDataModule):
    def __init__(self, batch_size: int = 128, eval_batch_size: int = 1000, subset: int | None = None,
                 test_subset: int | None = None, per_class: int | None = None, val_size: int = 0,
                 val_on_test: bool = False, seed: int = 0) -> None:
        super().__init__()
        check_count("batch_size", batch_size, allow_none=False)
        check_count("eval_batch_size", eval_batch_size, allow_none=False)
        for name, value in (("subset", subset), ("test_subset", test_subset), ("per_class", per_class)):
            check_count(name, value)
        check_count("val_size", val_size, minimum=0)
        if val_size and val_on_test:
            raise UserError("data.val_size and data.val_on_test exclude each other: keep one")
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.subset, self.test_subset, self.per_class = subset, test_subset, per_class
        self.val_size, self.val_on_test, self.seed = val_size, val_on_test, seed
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.train_batches: TensorBatches | None = None
        self.resume_position: dict[str, int] | None = None

    # ---- what a dataset provides ----
    def load(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(images uint8 (N, C, H, W), labels int64) of the training or the test split."""
        raise NotImplementedError

    def to_model_input(self, images: torch.Tensor, train: bool = False) -> torch.Tensor:
        """A uint8 batch on the device -> the float batch the net sees (augmented when `train`)."""
        raise NotImplementedError

    # ---- the rest ----
    def prepare_data(self) -> None:
        self.load(train=True)  # fail early (and decode or download once), on rank 0

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        x, y = self.load(train=True)
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
        x, y = self.load(train=False)
        if self.test_subset:
            x, y = x[: self.test_subset], y[: self.test_subset]
        self.splits["test"] = (x, y)

    def _batches(self, split: str, shuffle: bool) -> TensorBatches | list:
        if split not in self.splits:
            return []
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        x, y = self.splits[split]
        return TensorBatches(x.to(device), y.to(device), self.batch_size if shuffle else self.eval_batch_size,
                             shuffle=shuffle, seed=self.seed, rank=rank, world_size=world)

    def train_dataloader(self):
        return self.resumed(self._batches("train", shuffle=True))

    def val_dataloader(self):
        # val_on_test: evaluate the test set after every epoch, only to time when a paper's target is
        # first met (MLPerf's rule); nothing is ever chosen by it.
        return self._batches("test" if self.val_on_test else "val", shuffle=False)

    def test_dataloader(self):
        return self._batches("test", shuffle=False)

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        return batch  # cut on the device already: skip Lightning's walk over the batch

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, labels = batch
        training = self.trainer is not None and self.trainer.training
        return self.to_model_input(images, train=training), labels
