"""A callback that measures what a record reports: training throughput and FLOPs per sample.

Throughput counts only training steps after the first of each epoch (warm-up, and the data
preparation at epoch start stay out), summing the time between consecutive batch ends. On a GPU the
clock is read after a synchronize at epoch end only, so the measurement adds no per-step stall.
"""

from __future__ import annotations

import time

import lightning as L
import torch
from torch.utils.flop_counter import FlopCounterMode

import repro.flop_formulas  # noqa: F401  (teaches the counter attention's CPU kernel)


def count_flops(module: torch.nn.Module, x: torch.Tensor) -> tuple[int, int]:
    """(forward, forward+backward) FLOPs for the batch `x` (FlopCounterMode: matmuls and convs)."""
    with FlopCounterMode(display=False) as counter:
        out = module(x)
    forward = counter.get_total_flops()
    if not out.requires_grad:
        return forward, forward
    with FlopCounterMode(display=False) as counter:
        out = module(x)
        out.float().sum().backward()
    module.zero_grad(set_to_none=True)
    return forward, counter.get_total_flops()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class RunMeter(L.Callback):
    def __init__(self, flops_batch: int = 2) -> None:
        self.flops_batch = flops_batch
        self.samples = 0
        self.seconds = 0.0
        self.last_end: float | None = None
        self.flops_forward: float | None = None
        self.flops_train: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if self.flops_train is None:
            x = batch[0][: self.flops_batch]
            forward, train = count_flops(pl_module, x)
            self.flops_forward, self.flops_train = forward / len(x), train / len(x)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.last_end = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        now = time.perf_counter()
        if self.last_end is not None:
            self.seconds += now - self.last_end
            self.samples += len(batch[1]) * trainer.world_size
        self.last_end = now

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        _synchronize(pl_module.device)

    @property
    def samples_per_s(self) -> float | None:
        return self.samples / self.seconds if self.seconds > 0 else None
