"""A language-model system: takes one autoregressive net (GPT), trains it on next-token cross-entropy
and evaluates it as nanoGPT's train.py does (the mean loss of a set of held-out batches, val/loss),
plus a final pass over the held-out split (val/loss_full, in the test stage).

Optimisation as nanoGPT's configure_optimizers: AdamW with weight decay on the matrices and embeddings
only (parameters of two or more dimensions), none on biases and LayerNorm gains; gradient clipping is
the Trainer's (trainer.gradient_clip_val). The schedule is a Hydra partial stepped every optimiser step.

`compute_budget` (training FLOPs, for scaling-law sweeps): the run trains for C / (F x tokens per step)
steps, F the training FLOPs per token that torch's FLOP counter counts on this net, so the schedule
(warmup, cosine) ends exactly at the budget (Hoffmann et al. 2022, section 3.2).

At the end of training the net, its constructor arguments and the character vocabulary go to
checkpoints/gpt.pt (what scripts/sample.py reads).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric

from repro.errors import UserError
from repro.meter import count_flops


class LanguageModel(L.LightningModule):
    def __init__(self, net: torch.nn.Module, optimizer: Callable, scheduler: Callable | None = None,
                 scheduler_interval: str = "step", compute_budget: float | None = None) -> None:
        super().__init__()
        if compute_budget is not None and not float(compute_budget) > 0:
            raise UserError(f"model.compute_budget={compute_budget!r} must be a number of FLOPs above 0")
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net = net
        self.make_optimizer, self.make_scheduler = optimizer, scheduler
        self.train_sums: torch.Tensor | None = None  # the epoch's summed training loss
        self.train_steps = 0
        self.val_loss, self.full_loss = MeanMetric(), MeanMetric()
        self.val_curve: list[tuple[int, int, float]] = []  # (step, training tokens seen, val/loss)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.net(idx)

    @staticmethod
    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())

    # ---- what repro.meter.RunMeter measures: tokens ----
    def count_tokens(self, batch) -> int:
        return batch[1].numel()

    def flops_inputs(self, batch, blocks: int = 2) -> tuple[tuple[torch.Tensor], int]:
        x = batch[0][:blocks]
        return (x,), x.numel()

    # ---- a compute budget sets the number of steps ----
    def setup(self, stage: str) -> None:
        if stage != "fit" or self.hparams.compute_budget is None:
            return
        steps = self.budget_steps(self.hparams.compute_budget)
        self.trainer.fit_loop.epoch_loop.max_steps = steps  # before configure_optimizers sizes the schedule

    def budget_steps(self, budget: float) -> int:
        datamodule = self.trainer.datamodule
        block = torch.zeros(2, datamodule.block_size, dtype=torch.long, device=next(self.net.parameters()).device)
        _, train_flops = count_flops(self.net, block)
        tokens_per_step = datamodule.batch_size * datamodule.block_size * self.trainer.world_size
        return max(1, round(float(budget) / (train_flops / block.numel() * tokens_per_step)))

    # ---- training ----
    def on_train_epoch_start(self) -> None:
        self.train_sums, self.train_steps = None, 0

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = self.loss(self(x), y)
        # summed on the device (one add, no sync), logged once an epoch
        self.train_sums = loss.detach() if self.train_sums is None else self.train_sums + loss.detach()
        self.train_steps += 1
        return loss

    def on_train_epoch_end(self) -> None:
        if self.train_sums is not None:
            sums = torch.stack([self.train_sums, self.train_sums.new_tensor(float(self.train_steps))])
            loss_sum, steps = self.trainer.strategy.reduce(sums, reduce_op="sum")
            self.log("train/loss", loss_sum / steps)

    def tokens_seen(self) -> int:
        """Training tokens so far, over all ranks (every step trains on batch_size x block_size per rank)."""
        datamodule = self.trainer.datamodule
        return self.global_step * datamodule.batch_size * datamodule.block_size * self.trainer.world_size

    # ---- evaluation ----
    def validation_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        self.val_loss.update(self.loss(self(x), y))  # nanoGPT: the plain mean over eval_iters batches

    def on_validation_epoch_end(self) -> None:
        value = self.val_loss.compute()
        self.val_loss.reset()
        self.log("val/loss", value, sync_dist=True)
        if not self.trainer.sanity_checking:
            self.val_curve.append((self.global_step, self.tokens_seen(), round(float(value), 5)))

    def test_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        self.full_loss.update(self.loss(self(x), y), weight=y.numel())

    def on_test_epoch_end(self) -> None:
        self.log("val/loss_full", self.full_loss.compute(), sync_dist=True)
        self.full_loss.reset()

    def record_fields(self) -> dict:
        """Added to the run record: the learning curve and, for nets that know them, Kaplan's N and his
        estimate of training FLOPs per token (to set beside the counted ones)."""
        fields = {"val_curve": [list(point) for point in self.val_curve]}
        if self._trainer is not None:
            tokens, datamodule = self.tokens_seen(), self.trainer.datamodule
            fields["tokens_trained"] = tokens
            if getattr(datamodule, "splits", None):  # passes over the training text (Kaplan: about one)
                fields["data_epochs"] = round(tokens / len(datamodule.splits["train"]), 3)
        if hasattr(self.net, "non_embedding_params"):
            fields["non_embedding_params"] = self.net.non_embedding_params()
            fields["flops_per_token_kaplan"] = self.net.kaplan_flops_per_token()
        return fields

    # ---- the trained model, for scripts/sample.py ----
    def on_fit_end(self) -> None:
        datamodule = self.trainer.datamodule
        if not self.trainer.is_global_zero or not getattr(datamodule, "chars", None):
            return
        path = Path(self.trainer.default_root_dir) / "checkpoints" / "gpt.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"net_class": f"{type(self.net).__module__}.{type(self.net).__qualname__}",
                    "net_config": self.net.config, "state_dict": self.net.state_dict(), "chars": datamodule.chars,
                    "what": datamodule.what, "steps": self.global_step}, path)

    # ---- optimisation ----
    def parameter_groups(self) -> list[dict]:
        """nanoGPT: decay every parameter of 2 or more dimensions (matmuls, embeddings), no others."""
        params = [p for p in self.parameters() if p.requires_grad]
        return [{"params": [p for p in params if p.dim() >= 2]},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]

    def configure_optimizers(self):
        optimizer = self.make_optimizer(params=self.parameter_groups())
        if self.make_scheduler is None:
            return optimizer
        make = self.make_scheduler
        extra = {}
        if "total_steps" in inspect.signature(getattr(make, "func", make)).parameters \
                and "total_steps" not in getattr(make, "keywords", {}):
            extra["total_steps"] = int(self.trainer.estimated_stepping_batches)
        schedule = {"scheduler": make(optimizer=optimizer, **extra), "interval": self.hparams.scheduler_interval}
        return {"optimizer": optimizer, "lr_scheduler": schedule}
