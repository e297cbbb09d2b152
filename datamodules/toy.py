"""Small synthetic sets for the perceptron's classic properties.

- `xor`: the four points of XOR, which no single threshold unit separates (Minsky & Papert 1969).
- `separable`: points drawn on both sides of a known hyperplane through the origin with a margin
  gamma; Novikoff (1962) bounds the perceptron's mistakes by (R/gamma)^2, R = max ||x||, computed
  here on the inputs augmented with the constant 1 the bias multiplies.
"""

from __future__ import annotations

import lightning as L
import torch

from datamodules.tensor_batches import TensorBatches


class ToyDataModule(L.LightningDataModule):
    def __init__(self, kind: str = "xor", size: int = 200, dim: int = 2, margin: float = 0.1,
                 batch_size: int | None = None, subset: int | None = None, test_subset: int | None = None,
                 seed: int = 0) -> None:
        super().__init__()
        if kind not in ("xor", "separable"):
            raise ValueError(f"data.kind={kind!r}: use 'xor' or 'separable'")
        if subset:  # smoke runs shrink every dataset the same way
            size = min(size, subset)
        self.kind, self.size, self.dim, self.margin = kind, size, dim, margin
        self.batch_size, self.seed = batch_size, seed
        self.novikoff_bound: float | None = None
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        if self.kind == "xor":
            x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
            y = torch.tensor([0, 1, 1, 0])
            self.splits = {"train": (x, y), "test": (x, y)}
            return
        generator = torch.Generator().manual_seed(self.seed)
        normal = torch.randn(self.dim, generator=generator)
        normal /= normal.norm()

        def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
            x = torch.rand(4 * n, self.dim, generator=generator) * 2 - 1
            x = x[(x @ normal).abs() >= self.margin][:n]
            return x, (x @ normal > 0).long()

        train, test = draw(self.size), draw(self.size)
        radius = torch.cat([train[0], torch.ones(len(train[0]), 1)], 1).norm(dim=1).max()
        gamma = (train[0] @ normal).abs().min()  # the augmented separator (normal, 0) is a unit vector
        self.novikoff_bound = float((radius / gamma) ** 2)
        self.splits = {"train": train, "test": test}

    def _batches(self, split: str, shuffle: bool) -> TensorBatches:
        x, y = self.splits[split]
        return TensorBatches(x, y, self.batch_size or len(x), shuffle=shuffle, seed=self.seed)

    def train_dataloader(self):
        return self._batches("train", shuffle=True)

    def test_dataloader(self):
        return self._batches("test", shuffle=False)
