"""MNIST in memory: the IDX files read once into uint8 tensors on the training device.

Conversion to float, LeCun's normalisation and the optional random distortions run on whole
batches after transfer (datamodules/in_memory.py does the batching).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.datasets import MNIST

from datamodules.distortions import random_affine
from datamodules.download import download as download_files
from datamodules.in_memory import InMemoryDataModule
from repro.errors import UserError, brief

# Section II-B: "the background level (white) corresponds to a value of -0.1 and the foreground
# (black) corresponds to 1.175. This makes the mean input roughly 0, and the variance roughly 1."
LECUN_LOW, LECUN_HIGH = -0.1, 1.175


def default_data_dir() -> str:
    return os.environ.get("DATA_DIR", "./data")


def load_mnist(data_dir: str | Path, train: bool, download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 28, 28), labels int64) from torchvision's layout `data_dir/MNIST/raw`; missing
    files are downloaded through torchvision when `download` (and a network answers)."""
    raw = Path(data_dir).resolve() / "MNIST" / "raw"
    prefix = "train" if train else "t10k"
    files = [raw / f"{prefix}-images-idx3-ubyte", raw / f"{prefix}-labels-idx1-ubyte"]
    expected = "the four IDX files (train-images-idx3-ubyte ...)"
    if not all(f.is_file() for f in files):
        if not download:
            raise UserError(f"MNIST not found in {raw}: put {expected} there, set DATA_DIR to the folder that holds "
                            f"MNIST/, or pass data.download=true when online")
        download_files("MNIST", "11 MB", raw, lambda: MNIST(str(data_dir), train=train, download=True), expected)
    try:
        ds = MNIST(str(data_dir), train=train)
    except Exception as error:  # a wrong magic number (an empty AssertionError), a short file ...
        raise UserError(f"MNIST file {files[0].name} or {files[1].name} in {raw} is damaged or truncated "
                        f"({brief(error, 80)}): replace them with the original IDX files") from error
    if len(ds.data) != len(ds.targets):
        raise UserError(f"MNIST in {raw}: {len(ds.data)} images but {len(ds.targets)} labels: replace the files")
    return ds.data, ds.targets


MNIST_BOX = 20  # MNIST's digits were size-normalised to fit a 20x20 box (section III-A)


def downsample_digits(x: torch.Tensor, size: int) -> torch.Tensor:
    """Float batch (N, 1, 28, 28) with background 0 -> the same field with each digit's 20x20 box
    resampled to `size` x `size` pixels and centred, in one affine_grid/grid_sample for the batch.

    Section III-C.7 (LeNet-1): "the images were down-sampled to 16x16 pixels and centered in the
    28x28 input layer". Guess: what is down-sampled is the 20x20 box MNIST normalised each digit to
    (around the digit's bounding-box centre; MNIST centres by centre of mass, so the box sits off
    centre in the field), bilinearly, and the box's centre goes to the field's centre."""
    n, _, h, w = x.shape
    ink = x[:, 0] > 0
    grid = torch.arange(h, device=x.device, dtype=x.dtype)

    def centre(mask: torch.Tensor) -> torch.Tensor:  # (N, L) -> middle of the first and last inked line
        first = torch.where(mask, grid, grid.new_tensor(float("inf"))).amin(1)
        last = torch.where(mask, grid, grid.new_tensor(float("-inf"))).amax(1)
        middle = (first + last) / 2
        return torch.where(mask.any(1), middle, middle.new_tensor((h - 1) / 2))  # blank image: stay put

    cy, cx = centre(ink.any(2)), centre(ink.any(1))
    scale = MNIST_BOX / size  # input pixels per output pixel
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, 0, 2] = (2 * cx + 1) / w - 1  # output centre samples the box centre (align_corners=False)
    theta[:, 1, 2] = (2 * cy + 1) / h - 1
    sampling = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, sampling, mode="bilinear", padding_mode="zeros", align_corners=False)


class MNISTDataModule(InMemoryDataModule):
    def __init__(self, data_dir: str | None = None, pad_to_32: bool = True, distort: bool = False,
                 normalize: str = "lecun", download: bool = False, downsample_to: int | None = None,
                 **batching) -> None:
        super().__init__(**batching)
        if normalize not in ("lecun", "unit"):
            raise UserError(f"data.normalize={normalize!r} is not known: use 'lecun' or 'unit'")
        if downsample_to is not None and (isinstance(downsample_to, bool) or not isinstance(downsample_to, int)
                                          or not 1 <= downsample_to <= MNIST_BOX):
            raise UserError(f"data.downsample_to={downsample_to!r} must be null or a whole number of pixels "
                            f"from 1 to {MNIST_BOX} (LeNet-1 uses 16)")
        self.data_dir = data_dir or default_data_dir()
        self.pad_to_32, self.distort, self.normalize, self.download = pad_to_32, distort, normalize, download
        self.downsample_to = downsample_to

    def load(self, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = load_mnist(self.data_dir, train=train, download=self.download)
        return images.unsqueeze(1), labels

    def to_model_input(self, images: torch.Tensor, train: bool = False) -> torch.Tensor:
        """uint8 (N, 1, 28, 28) -> float (N, 1, S, S): down-sample, pad, scale, and distort when training."""
        x = images.float().div_(255)
        if self.downsample_to:
            x = downsample_digits(x, self.downsample_to)
        if self.pad_to_32:
            x = F.pad(x, (2, 2, 2, 2))
        if self.normalize == "lecun":
            x = x.mul_(LECUN_HIGH - LECUN_LOW).add_(LECUN_LOW)
        if self.distort and train:
            x = random_affine(x)
        return x
