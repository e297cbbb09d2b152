"""Training by the perceptron rule inside Lightning: manual optimisation, no gradients.

Each example is presented in turn and the weights change only on a mistake (Rosenblatt 1958).
That rule is sequential by nature, so the loop over a batch's examples is the algorithm, not
overhead. The system counts mistakes, for Novikoff's bound, and can track the best accuracy the
unit ever reaches on its training set (the XOR claim says it never passes 75%).
"""

from __future__ import annotations

import lightning as L
import torch

from models.nets.perceptron import Perceptron


class PerceptronSystem(L.LightningModule):
    def __init__(self, net: Perceptron, track_best_accuracy: bool = False, stop_when_separated: bool = True) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"])
        self.automatic_optimization = False
        self.net = net
        self.mistakes_total = 0
        self.epoch_mistakes = 0
        self.best_accuracy_pct = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def on_train_epoch_start(self) -> None:
        self.epoch_mistakes = 0

    def training_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        x = x.flatten(1).float()
        for example, label in zip(x, y.tolist()):
            if self.net.learn(example, label):
                self.epoch_mistakes += 1
                if self.hparams.track_best_accuracy:
                    self._track_best(x, y)

    def _track_best(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Accuracy on the current batch after each update: toy sets are one batch, so this is
        the whole training set at every moment of training."""
        accuracy = (self.net.predict(x) == y).float().mean().item() * 100
        self.best_accuracy_pct = max(self.best_accuracy_pct, accuracy)

    def on_train_epoch_end(self) -> None:
        self.mistakes_total += self.epoch_mistakes
        self.log("train/mistakes", float(self.epoch_mistakes))
        self.log("train/mistakes_total", float(self.mistakes_total))
        if self.hparams.track_best_accuracy:
            self.log("train/best_accuracy_pct", self.best_accuracy_pct)
        bound = getattr(self.trainer.datamodule, "novikoff_bound", None)
        if bound is not None:  # (R/gamma)^2 for the separator the data was drawn from
            self.log("train/novikoff_bound", float(bound))
            self.log("train/mistakes_over_bound", self.mistakes_total / bound)
        if self.hparams.stop_when_separated and self.epoch_mistakes == 0:
            self.trainer.should_stop = True  # converged: a full pass without a mistake
        self.log("train/converged", float(self.epoch_mistakes == 0))

    def test_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        errors = (self.net.predict(x.flatten(1).float()) != y).float()
        self.log("test/error_pct", errors.mean() * 100, on_epoch=True, batch_size=len(y), reduce_fx="mean")
        self.log("test/accuracy_pct", 100 - errors.mean() * 100, on_epoch=True, batch_size=len(y))

    def configure_optimizers(self):
        return None
