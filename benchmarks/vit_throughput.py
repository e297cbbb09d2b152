"""ViT training throughput on CIFAR-10: the suite (Lightning + TensorBatches, the `vit` experiment config)
against a plain PyTorch loop on the same net, batches, augmentation (crop + flip on the device), loss,
AdamW and per-step schedule. On a GPU both run under bf16 autocast (the suite through trainer=gpu).
Both run in this process, alternating for `--rounds` rounds (a 2-core machine's speed drifts from one
minute to the next); the medians and their ratio are printed.

    make bench            (python -m benchmarks.vit_throughput --steps 40)
"""

from __future__ import annotations

import contextlib
import time

import lightning as L
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from benchmarks.common import alternate, bench_args, report_ratio, suite_meter
from repro.allocator import keep_freed_memory
from repro.compose import compose_experiment
from repro.meter import synchronize

BATCH = 128


def compose_vit(steps: int, output_dir: str, cuda: bool):
    return compose_experiment("vit", output_dir, [
        f"data.batch_size={BATCH}", f"trainer.limit_train_batches={steps}", "trainer.max_epochs=1",
        *(["trainer=gpu"] if cuda else [])])


def plain_throughput(cfg, steps: int, device: torch.device) -> float:
    """Index a batch of the uint8 tensor on the device, augment it, step: what a careful hand loop does."""
    L.seed_everything(0, verbose=False)
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    images, labels = (t.to(device) for t in datamodule.splits["train"])
    net = instantiate(cfg.model.net).to(device)
    optimizer = instantiate(cfg.model.optimizer)(params=net.parameters())
    scheduler = instantiate(cfg.model.scheduler)(optimizer=optimizer, total_steps=steps)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    order = torch.randperm(len(images), device=device)
    start = None
    for step in range(steps):
        if step == 1:  # the suite's meter also skips the first step
            synchronize(device)
            start = time.perf_counter()
        idx = order[step * BATCH : (step + 1) * BATCH]
        x = datamodule.to_model_input(images[idx], train=True)
        with autocast:
            loss = F.cross_entropy(net(x), labels[idx], label_smoothing=cfg.model.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    synchronize(device)
    return (steps - 1) * BATCH / (time.perf_counter() - start)


def main() -> None:
    keep_freed_memory()  # as scripts/train.py does; both loops share it
    args = bench_args(__doc__, steps=40)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    cfg = compose_vit(args.steps, "outputs/bench", cuda)
    suite, plain = alternate(args.rounds, lambda: plain_throughput(cfg, args.steps, device),
                             lambda: suite_meter(cfg, limit_val_batches=0).samples_per_s)
    report_ratio(f"ViT training (CIFAR-10, {cfg.model.net.dim}x{cfg.model.net.depth}, patch {cfg.model.net.patch_size}, "
                 f"batch {BATCH}{', bf16' if cuda else ''})", suite, plain,
                 unit="images/s")


if __name__ == "__main__":
    main()
