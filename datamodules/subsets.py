"""Choosing training subsets that keep the classes balanced."""

from __future__ import annotations

import torch


def balanced_indices(targets: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """`per_class` random examples of every class (sorted), for learning curves."""
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for label in targets.unique():
        members = (targets == label).nonzero().flatten()
        if len(members) < per_class:
            raise ValueError(f"class {int(label)} has only {len(members)} examples, {per_class} asked")
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen).sort().values


def subset_indices(targets: torch.Tensor, size: int, seed: int = 0) -> torch.Tensor:
    """About `size` examples with the classes as balanced as the data allows (smoke runs)."""
    num_classes = int(targets.max()) + 1
    counts = torch.bincount(targets, minlength=num_classes)
    per_class = max(1, min(size // num_classes, int(counts.min())))
    return balanced_indices(targets, per_class, seed)
