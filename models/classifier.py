"""A generic image classifier system: takes one net, an optimiser and an optional scheduler
(Hydra partials), and logs error rates in percent, the unit the papers use."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy

from models.losses import lecun_map_loss, squared_error_to_codes

LOSSES = ("cross_entropy", "lecun_map", "squared_error")


def error_pct(accuracy: torch.Tensor) -> torch.Tensor:
    """100 (1 - accuracy), rounded to 1e-4 points. torchmetrics returns accuracy in float32, which turns
    95 mistakes in 10,000 into 0.9500027%: a run that meets a paper's 0.95% exactly would read as
    missing it. 1e-4 points is far above float32's noise and below one mistake in any test set here
    (0.002 points on ImageNet's 50,000)."""
    return torch.round(100 * (1 - accuracy.double()), decimals=4)


class Classifier(L.LightningModule):
    def __init__(self, net: torch.nn.Module, optimizer: Callable, scheduler: Callable | None = None,
                 scheduler_interval: str = "epoch", scheduler_monitor: str | None = None,
                 loss: str = "cross_entropy", label_smoothing: float = 0.0,
                 num_classes: int = 10, channels_last: bool = False, top5: bool = False) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"model.loss={loss!r}: use one of {', '.join(LOSSES)}")
        # Optimiser and scheduler are partials: kept as attributes, out of the checkpoint's
        # hyperparameters, so checkpoints stay loadable with torch.load(weights_only=True).
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net = net
        self.train_sums: torch.Tensor | None = None
        self.make_optimizer, self.make_scheduler = optimizer, scheduler
        self.val_accuracy = MulticlassAccuracy(num_classes, average="micro")
        self.test_accuracy = MulticlassAccuracy(num_classes, average="micro")
        # ImageNet-style evaluation: top-5, and for 10-crop batches (N, 10, C, H, W) the centre crop alone
        # beside the 10-crop average (Krizhevsky et al. 2012 test on 10 crops; torchvision on the centre).
        self.test_top5 = MulticlassAccuracy(num_classes, top_k=5, average="micro") if top5 else None
        self.center_accuracy = MulticlassAccuracy(num_classes, average="micro")
        self.center_top5 = MulticlassAccuracy(num_classes, top_k=5, average="micro") if top5 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.hparams.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def on_fit_start(self) -> None:
        if self.hparams.channels_last:
            self.net.to(memory_format=torch.channels_last)

    def loss(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Labels are class indices (N,), or class probabilities (N, classes) from MixUp/CutMix."""
        if self.hparams.loss in ("lecun_map", "squared_error"):
            if labels.dim() != 1:
                raise ValueError(f"model.loss={self.hparams.loss} needs class labels: turn off data.mixup_alpha/cutmix_alpha")
            return (lecun_map_loss if self.hparams.loss == "lecun_map" else squared_error_to_codes)(scores, labels)
        return F.cross_entropy(scores, labels, label_smoothing=self.hparams.label_smoothing)

    # Training loss and error are summed on the device and logged once an epoch: two self.log calls
    # a step cost LeNet-5 several percent of its throughput on a 2-core CPU.
    def on_train_epoch_start(self) -> None:
        self.train_sums = None  # loss * n, mistakes, n; made at the first step (a resumed epoch has no start)
        # Second-order optimisers that re-estimate their curvature before each pass (models.sdlm.SDLM)
        refresh = getattr(self.optimizers(use_pl_optimizer=False), "refresh_curvature", None)
        if refresh is not None:
            refresh(self.net, self.trainer.datamodule, self.current_epoch)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        scores = self(x)
        loss = self.loss(scores, y)
        with torch.no_grad():
            if self.train_sums is None:
                self.train_sums = torch.zeros(3, device=self.device)
            hard = y.argmax(1) if y.dim() == 2 else y  # soft (mixed) targets: their largest share counts
            self.train_sums += torch.stack([loss.detach() * len(y), (scores.argmax(1) != hard).sum(),
                                            y.new_tensor(len(y))]).to(self.train_sums.dtype)
        return loss

    def on_train_epoch_end(self) -> None:
        if self.train_sums is None:
            return
        loss_sum, mistakes, count = self.trainer.strategy.reduce(self.train_sums, reduce_op="sum")
        self.log("train/loss", loss_sum / count)
        self.log("train/error_pct", 100 * mistakes / count)

    def _evaluate(self, batch, metrics, stage: str) -> None:
        x, y = batch
        scores = self(x)
        for metric in metrics:
            if metric is not None:
                metric.update(scores, y)
        self.log(f"{stage}/loss", self.loss(scores, y), on_epoch=True, batch_size=len(y), sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, (self.val_accuracy,), "val")

    def on_validation_epoch_end(self) -> None:
        self.log("val/error_pct", error_pct(self.val_accuracy.compute()))
        self.val_accuracy.reset()

    def test_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        if x.dim() != 5:
            self._evaluate(batch, (self.test_accuracy, self.test_top5), "test")
            return
        n, crops = x.shape[:2]  # ten crops: softmax averaged over crops (section 4.1); crop 4 is the centre
        probs = self(x.flatten(0, 1)).softmax(-1).view(n, crops, -1)
        for metrics, p in (((self.test_accuracy, self.test_top5), probs.mean(1)),
                           ((self.center_accuracy, self.center_top5), probs[:, 4])):
            for metric in metrics:
                if metric is not None:
                    metric.update(p, y)

    def on_test_epoch_end(self) -> None:
        named = {"test/error_pct": self.test_accuracy, "test/top5_error_pct": self.test_top5,
                 "test/center_error_pct": self.center_accuracy, "test/center_top5_error_pct": self.center_top5}
        for name, metric in named.items():
            if metric is not None and metric.update_count:
                self.log(name, error_pct(metric.compute()))
                metric.reset()

    def configure_optimizers(self):
        optimizer = self.make_optimizer(params=[p for p in self.parameters() if p.requires_grad])
        if self.make_scheduler is None:
            return optimizer
        make = self.make_scheduler
        target = getattr(make, "func", make)
        extra = {}
        if "total_steps" in inspect.signature(target).parameters and "total_steps" not in getattr(make, "keywords", {}):
            extra["total_steps"] = int(self.trainer.estimated_stepping_batches)  # OneCycleLR needs the run's length
        schedule = {"scheduler": make(optimizer=optimizer, **extra), "interval": self.hparams.scheduler_interval}
        if self.hparams.scheduler_monitor:  # ReduceLROnPlateau watches a validation metric
            schedule["monitor"] = self.hparams.scheduler_monitor
        return {"optimizer": optimizer, "lr_scheduler": schedule}
