"""The Transformer's learning-rate schedule (Vaswani et al. 2017, section 5.3)."""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import LambdaLR


class InverseSqrtWarmup:
    """Vaswani et al. 2017, section 5.3, eq. 3:
    lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5), step counted from 1: linear warm-up for
    `warmup` steps, then decay with the inverse square root of the step. `factor` scales the whole
    curve (1.0 is the paper)."""

    def __init__(self, d_model: int, warmup: int, factor: float = 1.0) -> None:
        if warmup < 1 or d_model < 1:
            raise ValueError(f"d_model={d_model} and warmup={warmup} must be >= 1")
        self.d_model, self.warmup, self.factor = d_model, warmup, factor

    def __call__(self, step: int) -> float:
        step = step + 1  # LambdaLR counts from 0; the paper's first step is 1
        return self.factor * self.d_model ** -0.5 * min(step ** -0.5, step * self.warmup ** -1.5)


def inverse_sqrt_warmup(optimizer: torch.optim.Optimizer, d_model: int, warmup: int, factor: float = 1.0) -> LambdaLR:
    """The schedule as a per-step scheduler; give the optimiser lr=1.0 so the lambda is the rate itself."""
    return LambdaLR(optimizer, InverseSqrtWarmup(d_model, warmup, factor))
