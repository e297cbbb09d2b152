"""A callback that measures what a record reports: training throughput and FLOPs per sample.

The unit is a sample (len(batch[1]), FLOPs counted on batch[0][:2]) unless the LightningModule says
otherwise: a module that defines `count_tokens(batch)` (a tensor or int: the tokens a batch trains
on) and `flops_inputs(batch) -> (forward's arguments, tokens they hold)` is measured in tokens, as
translation is (tokens/s, FLOPs per token). Samples are counted either way.

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


def count_flops(module: torch.nn.Module, *inputs: torch.Tensor) -> tuple[int, int]:
    """(forward, forward+backward) FLOPs of module(*inputs) (FlopCounterMode: matmuls, convs, attention),
    less those of submodules marked `uncounted_flops` (see _uncounted)."""
    with FlopCounterMode(display=False) as counter:
        out = module(*inputs)
    forward = counter.get_total_flops() - _uncounted(counter, module)
    if not out.requires_grad:
        return forward, forward
    with FlopCounterMode(display=False) as counter:
        out = module(*inputs)
        out.float().sum().backward()
    module.zero_grad(set_to_none=True)
    return forward, counter.get_total_flops() - _uncounted(counter, module)


def _uncounted(counter: FlopCounterMode, module: torch.nn.Module) -> int:
    """FLOPs the counter saw in submodules with `uncounted_flops = True`: a matmul or convolution that
    stands in for cheaper arithmetic (AlexNet's LRN window sum, a few adds, runs as a banded 1x1
    convolution) would otherwise inflate FLOPs per sample and the achieved TFLOP/s."""
    counts, root = counter.get_flop_counts(), type(module).__name__
    return sum(sum(counts.get(f"{root}.{name}" if name else root, {}).values())
               for name, sub in module.named_modules() if getattr(sub, "uncounted_flops", False))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class RunMeter(L.Callback):
    def __init__(self, flops_batch: int = 2) -> None:
        self.flops_batch = flops_batch
        self.samples = 0
        self.seconds = 0.0
        self.last_end: float | None = None
        self.flops_forward: float | None = None  # per unit: a sample, or a token
        self.flops_train: float | None = None
        self.unit = "sample"
        self.tokens: torch.Tensor | int = 0  # summed on the device: no per-step sync

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if self.flops_train is None:
            if hasattr(pl_module, "count_tokens"):
                self.unit = "token"
                inputs, count = pl_module.flops_inputs(batch)
            else:
                inputs = (batch[0][: self.flops_batch],)
                count = len(inputs[0])
            forward, train = count_flops(pl_module, *inputs)
            self.flops_forward, self.flops_train = forward / count, train / count

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.last_end = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        now = time.perf_counter()
        if self.last_end is not None:
            self.seconds += now - self.last_end
            self.samples += len(batch[1]) * trainer.world_size
            if self.unit == "token":
                self.tokens = self.tokens + pl_module.count_tokens(batch) * trainer.world_size
        self.last_end = now

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        synchronize(pl_module.device)

    @property
    def samples_per_s(self) -> float | None:
        return self.samples / self.seconds if self.seconds > 0 else None

    @property
    def tokens_per_s(self) -> float | None:
        return float(self.tokens) / self.seconds if self.unit == "token" and self.seconds > 0 else None

    @property
    def items_per_s(self) -> float | None:
        """Units (samples or tokens) per second: what the FLOPs per unit multiply with."""
        return self.tokens_per_s if self.unit == "token" else self.samples_per_s

    def record_fields(self) -> dict[str, float | None]:
        """Token-measured runs add tokens/s and FLOPs per token to the record; their FLOPs are not per sample."""
        if self.unit != "token":
            return {}
        return {"tokens_per_s": self.tokens_per_s, "flops_per_token_forward": self.flops_forward,
                "flops_per_token_train": self.flops_train}
