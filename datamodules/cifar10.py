"""CIFAR-10 in memory as uint8 tensors (Krizhevsky 2009).

Sources, in order: torchvision's python-pickle layout (`data_dir/cifar-10-batches-py`), the JPEG
re-encoding in ../shared/data (`data_dir/cifar10/{train,test}_jpeg.npz`, decoded once with
torchvision.io and cached under `cache_dir`), or, when neither is there, a download through
torchvision (170 MB).
Augmentation (random crop with padding, horizontal flip) runs on whole batches on the device; optional
AutoAugment/RandAugment on uint8 groups and MixUp/CutMix with soft targets (datamodules/batch_augment.py).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.datasets import CIFAR10
from torchvision.io import decode_jpeg

from datamodules.batch_augment import in_groups, mix_transform, policy_transform, random_crops
from datamodules.in_memory import InMemoryDataModule, channel_constant, check_count
from datamodules.download import download as download_files
from repro.errors import UserError, brief

# Per-channel statistics of the training set (the usual CIFAR-10 values; the JPEG copy differs by < 1e-3).
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def _decode_npz(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    with np.load(path, allow_pickle=False) as archive:
        data, offsets, labels = archive["jpeg_bytes"], archive["jpeg_offsets"], archive["labels"]
    blobs = [torch.from_numpy(data[offsets[i] : offsets[i + 1]]) for i in range(len(labels))]
    images = torch.stack(decode_jpeg(blobs))  # (N, 3, 32, 32) uint8, one C++ call for the whole list
    return images, torch.from_numpy(labels).long()


def load_cifar10(data_dir: str | Path, cache_dir: str | Path, train: bool,
                 download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 3, 32, 32), labels int64) for the training or the test split."""
    data_dir, split = Path(data_dir), "train" if train else "test"
    source = data_dir / "cifar10" / f"{split}_jpeg.npz"
    batches = data_dir / "cifar-10-batches-py"
    if not batches.is_dir() and not source.is_file():
        expected = "cifar-10-batches-py/ (torchvision's layout) or cifar10/{train,test}_jpeg.npz"
        if not download:
            raise UserError(f"CIFAR-10 not found in {data_dir}: put {expected} there, set DATA_DIR to the folder "
                            f"that holds it, or pass data.download=true when online")
        download_files("CIFAR-10", "163 MB", data_dir, lambda: CIFAR10(str(data_dir), train=train, download=True),
                       expected)
    if batches.is_dir():
        try:
            ds = CIFAR10(str(data_dir), train=train)
        except Exception as error:
            raise UserError(f"CIFAR-10 in {batches} could not be read ({brief(error, 80)}): replace the files "
                            f"(or delete the folder to download them again)") from error
        return torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(ds.targets)
    stat = source.stat()  # the cache is keyed by the source's path, size and time: a new copy decodes anew
    key = hashlib.sha1(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    cache = Path(cache_dir) / "cifar10" / f"{split}-{key}.pt"
    if cache.is_file():
        cached = torch.load(cache, weights_only=True)
        return cached["images"], cached["labels"]
    try:
        images, labels = _decode_npz(source)
    except Exception as error:  # a truncated archive or a broken JPEG
        raise UserError(f"{source} is damaged ({brief(error, 80)}): replace it") from error
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    torch.save({"images": images, "labels": labels}, partial)
    os.replace(partial, cache)  # never a half-written cache
    return images, labels


def random_crop_flip(x: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crops of the reflect-padded (square) batch at the original size, and random horizontal flips."""
    return random_crops(F.pad(x, (padding,) * 4, mode="reflect"), x.shape[-1], generator)


class CIFAR10DataModule(InMemoryDataModule):
    def __init__(self, data_dir: str | None = None, cache_dir: str = ".cache", augment: bool = False,
                 normalize: bool | str = True, download: bool = False, policy: str | None = None,
                 policy_num_ops: int = 2, policy_magnitude: int = 9, policy_group: int = 8,
                 mixup_alpha: float = 0.0, cutmix_alpha: float = 0.0, **batching) -> None:
        """`normalize`: true = per-channel mean and std on [0, 1] pixels; "centre" = the raw 0-255 values minus
        the training set's mean image, the only preprocessing of Krizhevsky et al. 2012 (section 2); false = [0, 1]."""
        super().__init__(**batching)
        if normalize not in (True, False, "centre"):
            raise UserError(f"data.normalize={normalize!r} is not known: use true, false or centre")
        self.data_dir = data_dir or os.environ.get("DATA_DIR", "./data")
        self.mean_image: torch.Tensor | None = None
        self.cache_dir, self.augment, self.normalize, self.download = cache_dir, augment, normalize, download
        check_count("policy_group", policy_group, allow_none=False)
        self.policy = policy_transform(policy, policy_num_ops, policy_magnitude)
        self.policy_group = policy_group
        self.mix = mix_transform(mixup_alpha, cutmix_alpha, num_classes=10)

    def load(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        return load_cifar10(self.data_dir, self.cache_dir, train=train, download=self.download)

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if self.normalize == "centre" and self.mean_image is None:
            self.mean_image = self.splits["train"][0].float().mean(0)  # (3, 32, 32), 0-255

    def to_model_input(self, images: torch.Tensor, train: bool = False) -> torch.Tensor:
        if self.policy is not None and train:
            images = in_groups(self.policy, images, self.policy_group)  # on uint8, as the policies expect
        centre = self.normalize == "centre"  # Krizhevsky et al. 2012, section 2: raw 0-255 values minus the mean image
        x = images.float() if centre else images.float().div_(255)
        if self.augment and train:
            x = random_crop_flip(x)
        if centre:
            if self.mean_image.device != x.device:
                self.mean_image = self.mean_image.to(x.device)
            return x.sub_(self.mean_image)
        if self.normalize:
            x = (x - channel_constant(MEAN, x.device)) / channel_constant(STD, x.device)
        return x

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        x, y = super().on_after_batch_transfer(batch, dataloader_idx)
        if self.mix is not None and self.trainer is not None and self.trainer.training:
            x, y = self.mix(x, y)  # soft targets (N, 10) for the training loss only
        return x, y
