"""Learning-rate schedules as LambdaLR factories (Hydra partials; the Classifier passes total_steps).

Dosovitskiy et al. 2020, Appendix B.1 and Table 3: "linear learning rate warmup and decay" (cosine
decay for ImageNet-1k), warmup 10k steps. Use with `scheduler_interval: step`.
"""

from __future__ import annotations

import bisect
import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_decay_factor(step: int, total_steps: int, warmup_steps: int, decay: str = "cosine",
                        final_factor: float = 0.0) -> float:
    """The multiplier of the base lr before optimiser step `step` (0-based).

    Warmup rises linearly to 1 over `warmup_steps` steps, (step + 1) / warmup_steps, so the first
    update is not wasted at lr 0; then the factor decays from 1 at step `warmup_steps` to
    `final_factor` at step `total_steps`, along a half cosine or a straight line.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    shape = 0.5 * (1 + math.cos(math.pi * progress)) if decay == "cosine" else 1 - progress
    return final_factor + (1 - final_factor) * shape


def warmup_decay(optimizer: Optimizer, total_steps: int, warmup_steps: int = 0, warmup_fraction: float | None = None,
                 decay: str = "cosine", final_factor: float = 0.0) -> LambdaLR:
    """Linear warmup, then cosine or linear decay over the rest of `total_steps`.

    `warmup_fraction` (of total_steps) replaces `warmup_steps` when given, so a CIFAR recipe keeps its
    shape when the epochs change. Warmup never exceeds the run (a smoke run has a handful of steps).
    """
    if decay not in ("cosine", "linear"):
        raise ValueError(f"decay={decay!r}: use 'cosine' or 'linear'")
    total_steps = max(1, int(total_steps))
    warmup = round(warmup_fraction * total_steps) if warmup_fraction is not None else int(warmup_steps)
    warmup = max(0, min(warmup, total_steps))
    return LambdaLR(optimizer, lambda step: warmup_decay_factor(step, total_steps, warmup, decay, final_factor))


def piecewise_constant(optimizer: Optimizer, milestones: list[int], factors: list[float]) -> LambdaLR:
    """The base lr times factors[i] from milestone i-1 to milestone i (epochs or steps, as the
    scheduler interval says): LeCun et al. 1998, section III-B, decrease eta "0.0005 for the first two
    passes, 0.0002 for the next three, 0.0001 for the next three, 0.00005 for the next 4, and 0.00001
    thereafter": milestones [2, 5, 8, 12], factors [1, 0.4, 0.2, 0.1, 0.02] on lr 0.0005."""
    if len(factors) != len(milestones) + 1 or list(milestones) != sorted(milestones):
        raise ValueError(f"piecewise_constant needs increasing milestones and one factor more than milestones; "
                         f"got milestones={list(milestones)}, factors={list(factors)}")
    return LambdaLR(optimizer, lambda step: factors[bisect.bisect_right(milestones, step)])
