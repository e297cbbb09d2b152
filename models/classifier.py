"""A generic image classifier system: takes one net, an optimiser and an optional scheduler
(Hydra partials), and logs error rates in percent, the unit the papers use."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy

from models.losses import lecun_map_loss


class Classifier(L.LightningModule):
    def __init__(self, net: torch.nn.Module, optimizer: Callable, scheduler: Callable | None = None,
                 scheduler_interval: str = "epoch", loss: str = "cross_entropy", label_smoothing: float = 0.0,
                 num_classes: int = 10, channels_last: bool = False) -> None:
        super().__init__()
        if loss not in ("cross_entropy", "lecun_map"):
            raise ValueError(f"model.loss={loss!r}: use 'cross_entropy' or 'lecun_map'")
        # Optimiser and scheduler are partials: kept as attributes, out of the checkpoint's
        # hyperparameters, so checkpoints stay loadable with torch.load(weights_only=True).
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net = net
        self.make_optimizer, self.make_scheduler = optimizer, scheduler
        self.val_accuracy = MulticlassAccuracy(num_classes, average="micro")
        self.test_accuracy = MulticlassAccuracy(num_classes, average="micro")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.hparams.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def on_fit_start(self) -> None:
        if self.hparams.channels_last:
            self.net.to(memory_format=torch.channels_last)

    def loss(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.hparams.loss == "lecun_map":
            return lecun_map_loss(scores, labels)
        return F.cross_entropy(scores, labels, label_smoothing=self.hparams.label_smoothing)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        scores = self(x)
        loss = self.loss(scores, y)
        error = (scores.argmax(1) != y).float().mean() * 100
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        self.log("train/error_pct", error, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def _evaluate(self, batch, metric: MulticlassAccuracy, stage: str) -> None:
        x, y = batch
        scores = self(x)
        metric.update(scores, y)
        self.log(f"{stage}/loss", self.loss(scores, y), on_epoch=True, batch_size=len(y), sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, self.val_accuracy, "val")

    def on_validation_epoch_end(self) -> None:
        self.log("val/error_pct", 100 * (1 - self.val_accuracy.compute()))
        self.val_accuracy.reset()

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, self.test_accuracy, "test")

    def on_test_epoch_end(self) -> None:
        self.log("test/error_pct", 100 * (1 - self.test_accuracy.compute()))
        self.test_accuracy.reset()

    def configure_optimizers(self):
        optimizer = self.make_optimizer(params=[p for p in self.parameters() if p.requires_grad])
        if self.make_scheduler is None:
            return optimizer
        make = self.make_scheduler
        target = getattr(make, "func", make)
        extra = {}
        if "total_steps" in inspect.signature(target).parameters and "total_steps" not in getattr(make, "keywords", {}):
            extra["total_steps"] = int(self.trainer.estimated_stepping_batches)  # OneCycleLR needs the run's length
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": make(optimizer=optimizer, **extra),
                                 "interval": self.hparams.scheduler_interval}}
