"""ImageNet-style data for AlexNet: an ImageFolder tree (train/ and val/ with WordNet-id folders) or the
Hugging Face hub copy, with the preprocessing of Krizhevsky et al. 2012, section 2 and 4.1:

- rescale so the short side is 256, take the centre 256x256 (done once per image; with
  `resize_cache` the result is kept as a JPEG under cache_dir, so later epochs skip the full decode);
- training: random 227x227 crops and horizontal flips (in the workers, on uint8 tensors), then PCA
  "lighting" noise (sigma 0.1) and mean subtraction on the device, batched;
- test: the four corner and the centre crops and their flips (10 crops, softmax averaged by the
  system), which also gives the single centre-crop number.
JPEGs are decoded with torchvision.io (libjpeg-turbo) in DataLoader workers, or, with `decode_on_device`,
on the model's device: the workers only read the file bytes (the cached 256x256 JPEG when there is one)
and each batch is decoded in one decode_jpeg call (nvJPEG on CUDA), resized and cropped there. That path
reads the resize cache but never writes it (it decodes on the device); the worker path builds it.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets import DatasetFolder
from torchvision.io import ImageReadMode, decode_image, decode_jpeg, encode_jpeg, read_file
from torchvision.transforms import v2

from datamodules.batch_augment import random_crops
from datamodules.in_memory import channel_constant, check_count
from repro.errors import UserError, brief

# ImageNet's RGB statistics on [0, 1] pixels: the mean pixel, and the eigenvalues/eigenvectors of the
# pixel covariance used for the paper's PCA lighting noise (values as published with fb.resnet.torch).
MEAN = (0.485, 0.456, 0.406)
EIGVAL = (0.2175, 0.0188, 0.0045)
EIGVEC = ((-0.5675, 0.7192, 0.4009), (-0.5808, -0.0045, -0.8140), (-0.5836, -0.6948, 0.4203))
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".JPEG", ".JPG")


def pca_lighting(x: torch.Tensor, std: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """Section 4.1: add sum_i alpha_i lambda_i p_i to every pixel, alpha_i ~ N(0, std), one draw per image."""
    eigval = torch.tensor(EIGVAL, device=x.device, dtype=x.dtype)
    eigvec = torch.tensor(EIGVEC, device=x.device, dtype=x.dtype)
    alpha = torch.randn(x.shape[0], 3, generator=generator, device=x.device, dtype=x.dtype) * std
    offset = (alpha * eigval) @ eigvec.T  # (N, 3): eigvec's columns are the eigenvectors
    return x + offset[:, :, None, None]


class TenCrops:
    """The four corner crops, the centre crop and the flips of all five, stacked: (10, C, size, size)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return torch.stack(v2.functional.ten_crop(image, [self.size, self.size]))


def collate_bytes(samples):
    """The batch's JPEG bytes (lengths differ) packed into one flat uint8 tensor plus their lengths: one
    shared-memory buffer per batch crosses from a worker (read_file's own tensors cannot be shared, and
    one buffer per image would cost a file descriptor each). `unpack_bytes` splits it again."""
    data, labels, paths = zip(*samples)
    return torch.cat(data), torch.tensor([len(d) for d in data]), torch.tensor(labels), list(paths)


def unpack_bytes(flat: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
    return list(torch.split(flat, lengths.tolist()))


class ResizedJpegs(Dataset):
    """(uint8 (3, 256, 256), label) per image of an ImageFolder tree, short side 256 + centre crop; with
    `read_bytes`, (the file's bytes, label, path) instead, for decoding on the device."""

    def __init__(self, root: Path, transform, size: int = 256, cache_dir: Path | None = None,
                 limit_per_class: int | None = None, read_bytes: bool = False) -> None:
        try:
            folder = DatasetFolder(str(root), loader=str, extensions=IMAGE_EXTENSIONS)
        except (FileNotFoundError, OSError) as error:
            raise UserError(f"no images in {root} ({brief(error, 90)}): an ImageFolder tree has one "
                            f"folder per class (WordNet ids) with JPEGs inside") from error
        self.samples = folder.samples
        if limit_per_class:  # the first N files of every class (smoke runs)
            taken: Counter[int] = Counter()
            kept = []
            for path, label in self.samples:
                if taken[label] < limit_per_class:
                    kept.append((path, label))
                    taken[label] += 1
            self.samples = kept
        self.classes, self.root, self.size, self.transform = folder.classes, root, size, transform
        self.read_bytes = read_bytes
        self.base = _resized(size)
        self.cache_dir = None
        if cache_dir is not None:
            key = hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:12]
            self.cache_dir = Path(cache_dir) / f"resized{size}-{key}"

    def __len__(self) -> int:
        return len(self.samples)

    def _cached(self, path: str) -> Path | None:
        return self.cache_dir / Path(path).relative_to(self.root).with_suffix(".jpg") if self.cache_dir else None

    def _load(self, path: str) -> torch.Tensor:
        cached = self._cached(path)
        if cached is not None and cached.is_file():
            return decode_image(read_file(str(cached)), mode=ImageReadMode.RGB)
        try:
            image = self.base(decode_image(read_file(path), mode=ImageReadMode.RGB))
        except RuntimeError as error:
            raise UserError(f"cannot decode {path} ({brief(error, 80)}): remove or replace it") from error
        if cached is not None:  # written once, atomically, so parallel workers never read half a file
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(encode_jpeg(image, quality=95).numpy().tobytes())
            os.replace(partial, cached)
        return image

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        if self.read_bytes:  # no cache written here: the image is only decoded on the device
            cached = self._cached(path)
            return read_file(str(cached if cached is not None and cached.is_file() else path)), label, path
        return self.transform(self._load(path)), label


def _resized(size: int):
    """Section 2: rescale so the short side is `size`, then take the central size x size patch."""
    return v2.Compose([v2.Resize(size, antialias=True), v2.CenterCrop(size)])


def _from_hub(example: dict, base) -> tuple[torch.Tensor, int]:
    return base(v2.functional.pil_to_tensor(example["image"].convert("RGB"))), int(example["label"])


class HubImages(Dataset):
    """(uint8 (3, 256, 256) after `transform`, label) from a Hugging Face `datasets` split with
    `image` (PIL) and `label` columns, as ILSVRC/imagenet-1k has them."""

    def __init__(self, split, transform, size: int = 256, limit: int | None = None) -> None:
        self.split = split.select(range(min(limit, len(split)))) if limit else split
        self.transform, self.base = transform, _resized(size)

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int):
        image, label = _from_hub(self.split[index], self.base)
        return self.transform(image), label


class StreamingHubImages(torch.utils.data.IterableDataset):
    """The same from a streamed split (no full download): `datasets` spreads its shards over the
    DataLoader workers; shuffling is a buffer of `buffer` examples."""

    def __init__(self, split, transform, size: int = 256, buffer: int = 10_000, seed: int = 0) -> None:
        self.split = split.shuffle(buffer_size=buffer, seed=seed) if buffer else split
        self.transform, self.base = transform, _resized(size)

    def __iter__(self):
        for example in self.split:
            image, label = _from_hub(example, self.base)
            yield self.transform(image), label


def load_hub_split(name: str, split: str, streaming: bool):
    """One split of a hub dataset, or one line saying why not (offline, no access, no such split)."""
    import datasets

    try:
        return datasets.load_dataset(name, split=split, streaming=streaming)
    except Exception as error:  # ConnectionError, gated-repo, missing split ... all user-fixable here
        raise UserError(f"cannot load {name} split {split!r} from the Hugging Face hub "
                        f"({type(error).__name__}: {brief(error, 100)}): log in "
                        f"(huggingface-cli login), accept the dataset's terms, or use an ImageFolder tree "
                        f"(data.source=folder)") from error


class ImageNetDataModule(L.LightningDataModule):
    def __init__(self, data_dir: str, train_dir: str = "train", val_dir: str = "val", batch_size: int = 128,
                 eval_batch_size: int = 64, num_workers: int = 2, crop_size: int = 227, lighting_std: float = 0.1,
                 ten_crop: bool = True, resize_cache: bool = True, cache_dir: str = ".cache",
                 limit_per_class: int | None = None, subset: int | None = None, test_subset: int | None = None,
                 what: str = "ImageNet", source: str = "folder", hub_name: str = "ILSVRC/imagenet-1k",
                 hub_splits: tuple[str, str] = ("train", "validation"), streaming: bool = False,
                 random_resized_crop: bool = False, decode_on_device: bool = False) -> None:
        """`subset`/`test_subset`: about that many images, the same number from every class (smoke runs).
        `random_resized_crop`: Inception-style crops (random area and aspect, resized to crop_size) of the
        256x256 centre square instead of plain random crops (the ViT recipe; AlexNet's is the plain crop).
        `decode_on_device`: workers read JPEG bytes only; decoding, resizing and crops run batched on the
        model's device (nvJPEG on CUDA). ImageFolder trees only."""
        super().__init__()
        check_count("batch_size", batch_size, allow_none=False)
        check_count("eval_batch_size", eval_batch_size, allow_none=False)
        check_count("num_workers", num_workers, minimum=0)
        for name, value in (("limit_per_class", limit_per_class), ("subset", subset), ("test_subset", test_subset)):
            check_count(name, value)
        self.subset, self.test_subset = subset, test_subset
        if source not in ("folder", "hub"):
            raise UserError(f"data.source={source!r}: use 'folder' (an ImageFolder tree) or 'hub' (Hugging Face)")
        self.source, self.hub_name, self.hub_splits, self.streaming = source, hub_name, tuple(hub_splits), streaming
        if decode_on_device and source != "folder":
            raise UserError("data.decode_on_device=true decodes JPEG files: use data.source=folder, or set it false")
        self.decode_on_device = decode_on_device
        self.base = _resized(256)
        self.root = Path(data_dir)
        self.train_dir, self.val_dir = train_dir, val_dir
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.crop_size, self.lighting_std, self.ten_crop = crop_size, lighting_std, ten_crop
        self.random_resized_crop = random_resized_crop
        self.cache_dir = Path(cache_dir) if resize_cache else None
        self.limit_per_class, self.what = limit_per_class, what
        self.train_set: ResizedJpegs | None = None
        self.test_set: ResizedJpegs | None = None
        self.val_set: ResizedJpegs | None = None

    def _check_layout(self) -> None:
        missing = [d for d in (self.train_dir, self.val_dir) if not (self.root / d).is_dir()]
        if missing:
            raise UserError(f"{self.what} not found: {self.root} has no {' or '.join(missing)}/ folder. Expected "
                            f"{self.root}/{self.train_dir}/<wnid>/*.JPEG and {self.root}/{self.val_dir}/<wnid>/*.JPEG "
                            f"(ImageFolder layout; ILSVRC-2012 from image-net.org, val sorted into class folders)")

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        crop = v2.RandomResizedCrop(self.crop_size, antialias=True) if self.random_resized_crop \
            else v2.RandomCrop(self.crop_size)
        train = v2.Compose([crop, v2.RandomHorizontalFlip()])
        test = TenCrops(self.crop_size) if self.ten_crop else v2.CenterCrop(self.crop_size)
        if self.source == "hub":
            self._setup_hub(train, test)
            return
        self._check_layout()
        classes = len([d for d in (self.root / self.train_dir).iterdir() if d.is_dir()]) or 1

        def limit(size: int | None) -> int | None:
            return max(1, size // classes) if size else self.limit_per_class

        read_bytes = self.decode_on_device
        self.train_set = ResizedJpegs(self.root / self.train_dir, train, cache_dir=self.cache_dir,
                                      limit_per_class=limit(self.subset), read_bytes=read_bytes)
        self.test_set = ResizedJpegs(self.root / self.val_dir, test, cache_dir=self.cache_dir,
                                     limit_per_class=limit(self.test_subset), read_bytes=read_bytes)
        self.val_set = ResizedJpegs(self.root / self.val_dir, v2.CenterCrop(self.crop_size), cache_dir=self.cache_dir,
                                    limit_per_class=limit(self.test_subset), read_bytes=read_bytes)
        if self.train_set.classes != self.test_set.classes:
            raise UserError(f"{self.root}: train/ and val/ hold different class folders: make them match")

    def _setup_hub(self, train, test) -> None:
        train_split = load_hub_split(self.hub_name, self.hub_splits[0], self.streaming)
        val_split = load_hub_split(self.hub_name, self.hub_splits[1], self.streaming)
        if self.streaming:
            self.train_set = StreamingHubImages(train_split, train)
            self.test_set = StreamingHubImages(val_split, test, buffer=0)
            self.val_set = StreamingHubImages(val_split, v2.CenterCrop(self.crop_size), buffer=0)
            return
        self.train_set = HubImages(train_split, train, limit=self.subset)
        self.test_set = HubImages(val_split, test, limit=self.test_subset)
        self.val_set = HubImages(val_split, v2.CenterCrop(self.crop_size), limit=self.test_subset)

    def _loader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> DataLoader:
        pin = self.trainer is not None and self.trainer.strategy.root_device.type == "cuda"
        streamed = isinstance(dataset, torch.utils.data.IterableDataset)  # shuffled by its own buffer
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and not streamed,
                          num_workers=self.num_workers, pin_memory=pin, persistent_workers=self.num_workers > 0,
                          drop_last=shuffle, collate_fn=collate_bytes if self.decode_on_device else None)

    def train_dataloader(self):
        return self._loader(self.train_set, self.batch_size, shuffle=True)

    def val_dataloader(self):
        # The paper's "validation error" (which drives the lr steps) is the ILSVRC val set, the set its
        # results are reported on; validation uses the centre crop only, the final test all 10.
        return self._loader(self.val_set, self.eval_batch_size, shuffle=False)

    def test_dataloader(self):
        return self._loader(self.test_set, self.eval_batch_size, shuffle=False)

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        if not self.decode_on_device:
            return super().transfer_batch_to_device(batch, device, dataloader_idx)
        flat, lengths, labels, paths = batch  # decode_jpeg reads bytes on the CPU (`device` says where to decode)
        return unpack_bytes(flat, lengths), labels.to(device), paths

    def _decode(self, data: list[torch.Tensor], paths: list[str], device: torch.device) -> list[torch.Tensor]:
        try:
            return decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
        except RuntimeError as error:  # the batched call names no file: decode one by one to find it
            for blob, path in zip(data, paths):
                try:
                    decode_jpeg(blob, mode=ImageReadMode.RGB, device=device)
                except RuntimeError as bad:
                    first = (str(bad).strip().splitlines() or [type(bad).__name__])[0]
                    reason = first.rsplit(", ", 1)[-1][:80]  # drop the C++ source location
                    raise UserError(f"cannot decode {path} ({reason}): remove or replace it, or set "
                                    f"data.decode_on_device=false") from bad
            raise UserError(f"cannot decode a batch of {len(data)} JPEGs on {device} ({brief(error, 80)}): "
                            f"set data.decode_on_device=false") from error

    def decode_batch(self, batch, stage: str):
        """(JPEG bytes, labels, paths) -> (uint8 images, labels) on the labels' device, cropped as the workers
        crop for `stage` ("train", "val" or "test")."""
        data, labels, paths = batch
        images = self._decode(data, paths, labels.device)
        x = torch.stack([self.base(image) for image in images])  # sizes differ until resized: one resize each
        size = [self.crop_size, self.crop_size]
        if stage == "train" and self.random_resized_crop:  # random area and aspect: one resize per image again
            crop = v2.Compose([v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()])
            return torch.stack([crop(image) for image in x]), labels
        if stage == "train":
            return random_crops(x, self.crop_size), labels
        if stage == "test" and self.ten_crop:
            return torch.stack(v2.functional.ten_crop(x, size), dim=1), labels  # (N, 10, C, size, size)
        return v2.functional.center_crop(x, size), labels

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """uint8 -> [0, 1] floats, PCA lighting when training, minus the mean pixel; batched on device."""
        if self.decode_on_device:
            trainer = self.trainer
            stage = "val" if trainer is None else "train" if trainer.training else "test" if trainer.testing else "val"
            batch = self.decode_batch(batch, stage)
        images, labels = batch
        x = images.float().div_(255)
        if self.trainer is not None and self.trainer.training and self.lighting_std > 0:
            x = pca_lighting(x, self.lighting_std)
        return x - channel_constant(MEAN, x.device), labels
