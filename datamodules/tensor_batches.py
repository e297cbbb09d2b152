"""Batches cut by index from tensors that already sit on the training device.

A DataLoader over a TensorDataset collates sample by sample in Python; for MNIST-sized nets that
costs a third of the throughput on a 2-core CPU (GUIDE.md). This iterable instead draws one
permutation per epoch and slices whole batches, so the hot loop has no per-sample Python.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from datamodules.resume import EpochPosition


class TensorBatches(EpochPosition):
    """Iterate (x, y) batches over tensors, sharded across `world_size` ranks.

    Shuffled epochs use permutation `seed + epoch`, so every rank draws the same permutation and
    takes a disjoint slice of it; training shards are cut to equal length (DDP needs every rank to
    run the same number of steps), evaluation shards cover every sample once.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False,
                 seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0  # the next epoch __iter__ serves
        self.served = 0  # batches already served in the epoch under way (for resume)
        self._skip = 0

    def _indices(self) -> torch.Tensor:
        n = len(self.x)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=generator)
            order = order[: n - n % self.world_size]  # equal steps on every rank
        else:
            order = torch.arange(n)
        return order[self.rank :: self.world_size].to(self.x.device)

    def __len__(self) -> int:
        n = len(self.x)
        per_rank = n // self.world_size if self.shuffle else len(range(self.rank, n, self.world_size))
        return -(-per_rank // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        indices = self._indices()
        if self.shuffle:
            self.epoch += 1
        skip, self._skip = self._skip, 0
        self.served = skip
        for start in range(skip * self.batch_size, len(indices), self.batch_size):
            idx = indices[start : start + self.batch_size]
            self.served += 1
            yield self.x[idx], self.y[idx]
        self.served = 0
