"""Batch augmentations from torchvision.transforms.v2 for data that sits on the device as tensors.

- AutoAugment (Cubuk et al. 2019, CIFAR-10 policy) or RandAugment (Cubuk et al. 2020) on uint8
  batches. A v2 transform draws its random operation once per call and applies it to every image it
  is given, so the batch is cut into groups of `group` images, each with its own draw: per-image
  calls would cost about 30 ms a batch of 128 on a 2-core CPU, groups of 8 about 4 ms.
- MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019) on a float batch and its labels; they return
  soft targets (N, classes), which models.classifier.Classifier accepts. One mixing weight per batch,
  as torchvision draws it; with both, each batch gets one of the two at random.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from repro.errors import UserError

POLICIES = ("autoaugment", "randaugment")


def random_crops(x: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random size x size crop of every image of (N, C, H, W), each flipped with probability 1/2: one
    gather for the batch (the flip is a reversed column index)."""
    n, _, height, width = x.shape
    top = torch.randint(0, height - size + 1, (n, 1, 1), generator=generator, device=x.device)
    left = torch.randint(0, width - size + 1, (n, 1, 1), generator=generator, device=x.device)
    step = torch.arange(size, device=x.device)
    flip = torch.rand(n, 1, 1, generator=generator, device=x.device) < 0.5
    columns = left + torch.where(flip, size - 1 - step, step)
    rows = top + step[:, None]
    return x.permute(0, 2, 3, 1)[torch.arange(n, device=x.device)[:, None, None], rows, columns].permute(0, 3, 1, 2)


def policy_transform(policy: str | None, num_ops: int = 2, magnitude: int = 9) -> v2.Transform | None:
    """The v2 transform for `policy` ('autoaugment', 'randaugment' or None)."""
    if policy is None:
        return None
    if policy == "autoaugment":
        return v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10)
    if policy == "randaugment":
        return v2.RandAugment(num_ops=num_ops, magnitude=magnitude)
    raise UserError(f"data.policy={policy!r}: use one of {', '.join(POLICIES)}, or null")


def in_groups(transform: v2.Transform, images: torch.Tensor, group: int) -> torch.Tensor:
    """Apply `transform` to consecutive groups of `group` images (a fresh random draw per group)."""
    return torch.cat([transform(chunk) for chunk in images.split(group)])


def mix_transform(mixup_alpha: float, cutmix_alpha: float, num_classes: int) -> v2.Transform | None:
    """MixUp and/or CutMix (alpha 0 leaves one out), or None when both alphas are 0."""
    for name, alpha in (("mixup_alpha", mixup_alpha), ("cutmix_alpha", cutmix_alpha)):
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
            raise UserError(f"data.{name}={alpha!r} must be a number >= 0 (0 turns it off)")
    chosen = ([v2.MixUp(alpha=float(mixup_alpha), num_classes=num_classes)] if mixup_alpha else []) + \
             ([v2.CutMix(alpha=float(cutmix_alpha), num_classes=num_classes)] if cutmix_alpha else [])
    if not chosen:
        return None
    return chosen[0] if len(chosen) == 1 else v2.RandomChoice(chosen)
