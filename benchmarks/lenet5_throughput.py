"""LeNet-5 training throughput: the suite (Lightning + TensorBatches, the lenet5 experiment config)
against a plain PyTorch loop over the same preloaded tensor: same net, loss, optimiser, batch 128,
threads. Both run in this process, alternating for `--rounds` rounds (a 2-core machine's speed drifts by
20% from one minute to the next); the medians and their ratio are printed.

    make bench            (python benchmarks/lenet5_throughput.py --steps 300)
"""

from __future__ import annotations

import time

import torch
from hydra.utils import instantiate

from benchmarks.common import alternate, bench_args, report_ratio, suite_meter
from models.losses import lecun_map_loss
from repro.allocator import keep_freed_memory
from repro.compose import compose_experiment

BATCH = 128


def compose_lenet5(steps: int, output_dir: str):
    return compose_experiment("lenet5", output_dir, [
        f"data.batch_size={BATCH}", f"trainer.limit_train_batches={steps}", "trainer.max_epochs=1"])


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
    args = bench_args(__doc__, steps=300)
    cfg = compose_lenet5(args.steps, "outputs/bench")
    suite, plain = alternate(args.rounds, lambda: plain_throughput(cfg, args.steps),
                             lambda: suite_meter(cfg).samples_per_s)
    report_ratio("LeNet-5 training, batch 128", suite, plain, unit="samples/s")


if __name__ == "__main__":
    main()
