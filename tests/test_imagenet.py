"""The ImageNet pipeline of Krizhevsky et al. 2012: resizing, crops, PCA lighting, 10-crop testing."""

from pathlib import Path

import pytest
import torch
from torchvision.transforms import v2

from datamodules.batch_augment import random_crops
from datamodules.imagenet import EIGVAL, EIGVEC, ImageNetDataModule, pca_lighting
from models.classifier import Classifier
from models.nets.alexnet import AlexNet
from repro.errors import UserError
from tests.conftest import FIXTURES, real_data_dir

IMAGENETTE = FIXTURES / "imagenette"


def test_pca_lighting_draws_alpha_times_eigenvalue_along_each_eigenvector():
    x = torch.zeros(20000, 3, 1, 1)
    offsets = pca_lighting(x, std=0.1, generator=torch.Generator().manual_seed(0)).flatten(1)
    along = offsets @ torch.tensor(EIGVEC)  # coordinates in the eigenvector basis
    expected = 0.1 * torch.tensor(EIGVAL)
    assert torch.allclose(along.std(0), expected, rtol=0.05)
    assert torch.allclose(along.mean(0), torch.zeros(3), atol=3 * expected.max() / 100)


def test_lighting_is_one_shift_per_image():
    x = torch.rand(4, 3, 8, 8)
    shift = pca_lighting(x) - x
    assert torch.allclose(shift, shift[:, :, :1, :1].expand_as(shift), atol=1e-6)


@pytest.fixture
def imagenette(tmp_path):
    dm = ImageNetDataModule(str(IMAGENETTE), num_workers=0, batch_size=4, eval_batch_size=2, resize_cache=False)
    dm.setup()
    return dm


def test_training_crops_are_227_and_test_has_ten(imagenette):
    image, label = imagenette.train_set[0]
    assert image.shape == (3, 227, 227) and image.dtype == torch.uint8 and 0 <= label < 10
    crops, _ = imagenette.test_set[0]
    assert crops.shape == (10, 3, 227, 227)
    assert torch.equal(crops[4], imagenette.val_set[0][0])  # crop 4 of TenCrop is the centre crop
    base = imagenette.test_set._load(imagenette.test_set.samples[0][0])  # 256x256 after resize + centre crop
    assert base.shape == (3, 256, 256)
    assert torch.equal(crops[9], v2.functional.center_crop(base.flip(-1), [227, 227]))  # then the flipped image's five


def test_resize_cache_is_written_once_and_read_back(tmp_path):
    dm = ImageNetDataModule(str(IMAGENETTE), num_workers=0, cache_dir=str(tmp_path))
    dm.setup()
    first = dm.val_set[0][0]
    cached = list(tmp_path.rglob("*.jpg"))
    assert len(cached) == 1
    again = dm.val_set[0][0]
    assert len(list(tmp_path.rglob("*.jpg"))) == 1
    assert 0 < (again.float() - first.float()).abs().mean() < 3  # read back from the cache: a JPEG q95 round trip


def test_ten_crop_evaluation_averages_softmax_and_reports_centre_crop(imagenette):
    system = Classifier(AlexNet(num_classes=10), optimizer=torch.optim.SGD, num_classes=10, top5=True).eval()
    crops, label = imagenette.test_set[0]
    x = (crops.float() / 255).unsqueeze(0)
    with torch.no_grad():
        system.test_step((x, torch.tensor([label])), 0)
        probs = system(x[0]).softmax(-1)
    assert system.center_accuracy.update_count == 1 and system.test_top5.update_count == 1
    expected_right = int(probs.mean(0).argmax() == label)
    assert float(system.test_accuracy.compute()) == expected_right


def _transferred(dm, loader):
    return dm.transfer_batch_to_device(next(iter(loader)), torch.device("cpu"), 0)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_decode_on_device_gives_the_worker_path_batches(num_workers):
    """On the CPU the device path runs the same decode_jpeg call that nvJPEG runs on a GPU. With worker
    processes the bytes cross process boundaries (packed into one buffer per batch)."""
    args = dict(batch_size=4, eval_batch_size=3, resize_cache=False)
    workers = ImageNetDataModule(str(IMAGENETTE), num_workers=0, **args)
    device = ImageNetDataModule(str(IMAGENETTE), decode_on_device=True, num_workers=num_workers, **args)
    workers.setup()
    device.setup()
    batch = _transferred(device, device.val_dataloader())
    assert isinstance(batch[0], list) and batch[0][0].dtype == torch.uint8 and batch[0][0].dim() == 1  # file bytes
    assert all(blob.device.type == "cpu" for blob in batch[0]) and len(batch[0]) == len(batch[1]) == 3
    for stage in ("train", "val", "test"):
        expected, _ = next(iter(getattr(workers, f"{stage}_dataloader")()))
        images, labels = device.decode_batch(_transferred(device, getattr(device, f"{stage}_dataloader")()), stage)
        assert images.shape == expected.shape and images.dtype == expected.dtype and labels.shape == (len(images),)
    assert images.shape[1] == 10  # test: 10 crops per image
    x, y = workers.on_after_batch_transfer(next(iter(workers.val_dataloader())), 0)  # no trainer: validation
    x_device, y_device = device.on_after_batch_transfer(_transferred(device, device.val_dataloader()), 0)
    assert torch.equal(y, y_device) and (x_device - x).abs().max() <= 1 / 255 + 1e-6  # decoders may differ by 1
    device.random_resized_crop = True
    assert device.decode_batch(batch, "train")[0].shape == (3, 3, 227, 227)


def test_random_crops_are_windows_of_each_image_flipped_or_not():
    rows, columns = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    x = torch.stack([rows, columns]).expand(64, 2, 8, 8)
    crops = random_crops(x, 3)
    assert crops.shape == (64, 2, 3, 3)
    step = crops[:, 1, :, 1:] - crops[:, 1, :, :-1]  # column index along each row: +1 everywhere, or -1 (flipped)
    assert ((step == 1).all((1, 2)) | (step == -1).all((1, 2))).all() and (step == -1).any() and (step == 1).any()
    assert (crops[:, 0, 1:] - crops[:, 0, :-1] == 1).all() and len(set(crops[:, 0, 0, 0].tolist())) > 1


def test_decode_on_device_reads_the_resize_cache_but_never_writes_it(tmp_path):
    device = ImageNetDataModule(str(IMAGENETTE), num_workers=0, cache_dir=str(tmp_path), decode_on_device=True)
    device.setup()
    data, _, path = device.val_set[0]
    assert not list(tmp_path.rglob("*.jpg")) and data.numel() == Path(path).stat().st_size  # the original file
    workers = ImageNetDataModule(str(IMAGENETTE), num_workers=0, cache_dir=str(tmp_path))
    workers.setup()
    workers.val_set[0]  # the worker path builds the cache
    (cached,) = tmp_path.rglob("*.jpg")
    assert device.val_set[0][0].numpy().tobytes() == cached.read_bytes()


def test_decode_on_device_names_the_file_it_cannot_decode():
    dm = ImageNetDataModule(str(IMAGENETTE), num_workers=0, resize_cache=False, decode_on_device=True)
    dm.setup()
    good = dm.val_set[0][0]
    batch = ([good, torch.tensor([1, 2, 3], dtype=torch.uint8)], torch.tensor([0, 1]), ["good.JPEG", "bad.JPEG"])
    with pytest.raises(UserError, match=r"cannot decode bad.JPEG \(Not a JPEG file.*\): remove or replace it"):
        dm.decode_batch(batch, "val")


def test_missing_imagenet_says_where_and_how(tmp_path):
    with pytest.raises(UserError, match=r"ImageNet not found: .* has no train or val/ folder.*image-net.org"):
        ImageNetDataModule(str(tmp_path)).setup()


def test_empty_imagefolder_is_one_line(tmp_path):
    for split in ("train", "val"):
        (tmp_path / split / "n01440764").mkdir(parents=True)
    with pytest.raises(UserError, match="no images in"):
        ImageNetDataModule(str(tmp_path), num_workers=0).setup()


@pytest.mark.data
@pytest.mark.skipif(real_data_dir() is None or not (real_data_dir() / "imagenet-sample").exists(),
                    reason="DATA_DIR with imagenet-sample not set")
def test_imagenet_sample_full_resolution_images_go_through(tmp_path):
    dm = ImageNetDataModule(str(real_data_dir() / "imagenet-sample"), train_dir="val", val_dir="val", num_workers=0,
                            cache_dir=str(tmp_path), subset=8, test_subset=4)
    dm.setup()
    assert len(dm.train_set.classes) == 122
    assert dm.train_set[0][0].shape == (3, 227, 227) and dm.test_set[0][0].shape == (10, 3, 227, 227)


def _tiny_hub_split(n: int = 6):
    import datasets
    from PIL import Image

    images = [Image.new("RGB", (300 + 10 * i, 200), color=(20 * i, 100, 200)) for i in range(n)]
    return datasets.Dataset.from_dict({"image": images, "label": [i % 3 for i in range(n)]},
                                      features=datasets.Features({"image": datasets.Image(),
                                                                  "label": datasets.Value("int64")}))


def test_hub_source_reads_a_datasets_split(monkeypatch):
    import datasets

    split = _tiny_hub_split()
    monkeypatch.setattr(datasets, "load_dataset", lambda name, split=None, streaming=False: _tiny_hub_split())
    dm = ImageNetDataModule("unused", source="hub", num_workers=0, test_subset=2)
    dm.setup()
    image, label = dm.train_set[1]
    assert image.shape == (3, 227, 227) and image.dtype == torch.uint8 and label == 1
    assert len(dm.test_set) == 2 and dm.test_set[0][0].shape == (10, 3, 227, 227)
    assert len(split) == 6


def test_hub_without_access_is_one_line(monkeypatch):
    import datasets

    def refuse(name, split=None, streaming=False):
        raise ConnectionError("Couldn't reach 'ILSVRC/imagenet-1k' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", refuse)
    with pytest.raises(UserError, match=r"cannot load ILSVRC/imagenet-1k .*huggingface-cli login"):
        ImageNetDataModule("unused", source="hub", num_workers=0).setup()
