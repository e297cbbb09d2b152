"""AlexNet throughput, each as a ratio against a torchvision-reference-style plain loop measured in
the same run (Krizhevsky et al. 2012 trained at about 240 images/s on two GTX 580s):

1. training, model only, synthetic batches: the suite (Lightning, the alexnet experiment's system;
   bf16 autocast and channels_last on a GPU) against a plain fp32 NCHW loop over the textbook torch.nn
   net (nn.LocalResponseNorm, grouped nn.Conv2d), and, to separate the precision and layout gain from
   the model code's, a plain fp32 NCHW loop over the suite's own net;
2. the input pipeline on real JPEGs (Imagenette): the suite's datamodule (torchvision.io decode,
   uint8 crops in workers, lighting on the device) against torchvision's ImageFolder with PIL and
   transforms on float tensors, as in torchvision's reference scripts.

    make bench   (python -m benchmarks.alexnet_throughput)
"""

from __future__ import annotations

import argparse
import os
import time

import lightning as L
import torch
from hydra.utils import instantiate
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from benchmarks.common import report_ratio
from models.nets.alexnet import LocalResponseNorm, PerGPUConv2d
from repro.allocator import keep_freed_memory
from repro.compose import compose_experiment
from repro.meter import RunMeter, synchronize


class Synthetic:
    """One batch already on the device, served `steps` times: the model alone is measured. (An
    iterable, not a list: Lightning reads a list as several dataloaders.)"""

    def __init__(self, batch: int, steps: int, device: torch.device) -> None:
        self.batch = (torch.randn(batch, 3, 227, 227, device=device), torch.randint(0, 1000, (batch,), device=device))
        self.steps = steps

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        return iter([self.batch] * self.steps)


def plain_training(net: torch.nn.Module, batch: int, steps: int, device: torch.device) -> float:
    net = net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x, y = torch.randn(batch, 3, 227, 227, device=device), torch.randint(0, 1000, (batch,), device=device)
    for step in range(steps + 1):
        if step == 1:  # the first step warms up
            synchronize(device)
            start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return steps * batch / (time.perf_counter() - start)


def textbook_alexnet(net: torch.nn.Module) -> torch.nn.Module:
    """The same net (and weights) as torch.nn spells it: torch's LocalResponseNorm (alpha is divided by n
    inside) and grouped nn.Conv2d, where the suite has a banded-convolution LRN and one convolution per GPU."""
    for i, layer in enumerate(net.features):
        if isinstance(layer, LocalResponseNorm):
            net.features[i] = torch.nn.LocalResponseNorm(layer.n, alpha=layer.alpha * layer.n, beta=layer.beta, k=layer.k)
        elif isinstance(layer, PerGPUConv2d):
            conv = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                                   layer.padding, groups=layer.groups)
            conv.load_state_dict(layer.state_dict())
            net.features[i] = conv
    return net


def suite_training(cfg, batch: int, steps: int, device: torch.device) -> float:
    meter = RunMeter()
    trainer = instantiate(cfg.trainer, callbacks=[meter], logger=False, enable_checkpointing=False,
                          enable_progress_bar=False, max_epochs=1, limit_val_batches=0)
    trainer.fit(instantiate(cfg.model), train_dataloaders=Synthetic(batch, steps + 1, device))
    return meter.samples_per_s


def _images_per_s(loader, batches: int) -> float:
    batches = min(batches, len(loader) - 1)  # Imagenette's 3,000 images are 23 batches of 128
    iterator = iter(loader)
    next(iterator)  # worker start-up is not throughput
    start, count = time.perf_counter(), 0
    for _ in range(batches):
        images, _ = next(iterator)
        count += len(images)
    return count / (time.perf_counter() - start)


def pipeline_throughputs(data_dir: str, batch: int, batches: int, workers: int) -> tuple[float, float]:
    dm = instantiate(compose_experiment("alexnet_imagenette", "outputs/bench", [
        f"data.data_dir={data_dir}", f"data.batch_size={batch}", f"data.num_workers={workers}",
        "data.resize_cache=false"]).data)
    dm.setup()
    suite = _images_per_s(dm.train_dataloader(), batches)
    reference = datasets.ImageFolder(os.path.join(data_dir, "train"), transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(256), transforms.RandomCrop(227),
        transforms.RandomHorizontalFlip(), transforms.ToTensor(), transforms.Normalize((0.485, 0.456, 0.406), (1, 1, 1))]))
    plain = _images_per_s(DataLoader(reference, batch_size=batch, shuffle=True, num_workers=workers), batches)
    return suite, plain


def main() -> None:
    keep_freed_memory()  # as scripts/train.py does; both loops share it
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=None, help="default: 128 on a GPU, 16 on a CPU")
    parser.add_argument("--steps", type=int, default=None, help="default: 50 on a GPU, 4 on a CPU")
    parser.add_argument("--data-dir", default=os.path.join(os.environ.get("DATA_DIR", "data"), "imagenette"))
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    args = parser.parse_args()
    gpu = torch.cuda.is_available()
    batch, steps = args.batch or (128 if gpu else 16), args.steps or (50 if gpu else 4)
    # bf16 autocast on a GPU; channels_last comes with the model config; no validation, so no plateau schedule
    overrides = ["model.scheduler=null", *(["trainer=gpu"] if gpu else [])]
    cfg = compose_experiment("alexnet", "outputs/bench", overrides)
    L.seed_everything(0, verbose=False)
    device = torch.device("cuda" if gpu else "cpu")
    textbook = plain_training(textbook_alexnet(instantiate(cfg.model.net)), batch, steps, device)
    same_net = plain_training(instantiate(cfg.model.net), batch, steps, device)
    suite = suite_training(cfg, batch, steps, device)
    precision = "bf16, channels_last" if gpu else "fp32"
    report_ratio(f"AlexNet training, synthetic batch {batch} ({precision} vs plain fp32 NCHW, textbook torch.nn net)",
                 suite, textbook, unit="images/s")
    report_ratio(f"AlexNet training, synthetic batch {batch} ({precision} vs plain fp32 NCHW, the suite's net)",
                 suite, same_net, unit="images/s")
    suite_pipe, plain_pipe = pipeline_throughputs(args.data_dir, batch, max(steps, 8), args.workers)
    report_ratio(f"AlexNet input pipeline, Imagenette JPEGs, {args.workers} workers (vs ImageFolder + PIL)",
                 suite_pipe, plain_pipe, unit="images/s")
    print(f"model vs input pipeline: the pipeline feeds {suite_pipe / suite:.2f}x what training consumes")


if __name__ == "__main__":
    main()
