"""LeNet-5 training throughput: the suite (Lightning + TensorBatches, the lenet5 experiment config)
against a plain PyTorch loop over the same preloaded tensor: same net, loss, optimiser, batch 128,
threads. Both run in this process, alternating for `--rounds` rounds (a 2-core machine's speed drifts by
20% from one minute to the next); the medians and their ratio are printed.

    make bench            (python benchmarks/lenet5_throughput.py --steps 300)
"""

from __future__ import annotations

import argparse
import statistics
import time

import lightning as L
import torch
from hydra.utils import instantiate

from benchmarks.common import report_ratio
from models.losses import lecun_map_loss
from repro.allocator import keep_freed_memory
from repro.compose import compose_experiment
from repro.meter import RunMeter

BATCH = 128


def compose_lenet5(steps: int, output_dir: str):
    return compose_experiment("lenet5", output_dir, [
        f"data.batch_size={BATCH}", f"trainer.limit_train_batches={steps}", "trainer.max_epochs=1"])


def suite_throughput(cfg) -> float:
    L.seed_everything(0, verbose=False)
    meter = RunMeter()
    callbacks = [instantiate(c) for c in cfg.callbacks.values()]  # the default progress bar, as users run it
    trainer = instantiate(cfg.trainer, callbacks=[*callbacks, meter], logger=[instantiate(cfg.logger.csv)])
    trainer.fit(instantiate(cfg.model), datamodule=instantiate(cfg.data))
    return meter.samples_per_s


def plain_throughput(cfg, steps: int) -> float:
    """A torchvision-reference-style loop: preloaded float tensor, index a batch, step; the same
    optimiser and per-step schedule as the experiment."""
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    images, labels = datamodule.splits["train"]
    x = datamodule.to_model_input(images).contiguous(memory_format=torch.channels_last)
    net = instantiate(cfg.model.net).to(memory_format=torch.channels_last)
    optimizer = instantiate(cfg.model.optimizer)(params=net.parameters())
    scheduler = instantiate(cfg.model.scheduler)(optimizer=optimizer, total_steps=steps)
    order = torch.randperm(len(x))
    start = None
    for step in range(steps):
        if step == 1:  # the suite's meter also skips the first step
            start = time.perf_counter()
        idx = order[step * BATCH : (step + 1) * BATCH]
        loss = lecun_map_loss(net(x[idx]), labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    return (steps - 1) * BATCH / (time.perf_counter() - start)


def main() -> None:
    keep_freed_memory()  # as scripts/train.py does; both loops share it
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps for each of the two loops")
    parser.add_argument("--rounds", type=int, default=3, help="alternating plain/suite measurements")
    args = parser.parse_args()
    cfg = compose_lenet5(args.steps, "outputs/bench")
    plain, suite = [], []
    for _ in range(args.rounds):
        plain.append(plain_throughput(cfg, args.steps))
        suite.append(suite_throughput(cfg))
    report_ratio("LeNet-5 training, batch 128", statistics.median(suite), statistics.median(plain), unit="samples/s")


if __name__ == "__main__":
    main()
