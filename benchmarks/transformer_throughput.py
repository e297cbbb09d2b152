"""Transformer training throughput in target tokens/s: the suite (Lightning, the `transformer` experiment's
config: Multi30k token-bounded batches cut on the device, the default callbacks, CSV logging) against a
plain PyTorch loop over the very same batches (the same TokenBatches plan and seed), the same net, loss,
optimiser and schedule. On a GPU both run under bf16 autocast, so the ratio is the suite's overhead alone.
Both run in this process, alternating for `--rounds` rounds; the medians and their ratio are printed.

    make bench            (python -m benchmarks.transformer_throughput --steps 20)
"""

from __future__ import annotations

import contextlib
import time

import lightning as L
import torch
from hydra.utils import instantiate

from benchmarks.common import alternate, bench_args, report_ratio, suite_meter
from datamodules.token_batches import TokenBatches
from models.nets.transformer import PAD
from repro.allocator import keep_freed_memory
from repro.compose import compose_experiment
from repro.meter import synchronize


def compose_transformer(steps: int, output_dir: str, gpu: bool):
    return compose_experiment("transformer", output_dir, [
        f"trainer.limit_train_batches={steps + 1}", "trainer.max_epochs=1", "trainer.limit_val_batches=0",
        *(["trainer=gpu"] if gpu else [])])


def plain_throughput(cfg, steps: int, device: torch.device) -> float:
    """The same batches in the same order, a hand-written loop: forward, loss, backward, step, schedule."""
    L.seed_everything(0, verbose=False)
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    src_tokens, tgt_tokens = datamodule.tokens["train"]
    batches = iter(TokenBatches(src_tokens.to(device), tgt_tokens.to(device), datamodule.max_tokens,
                                datamodule.bucket_width, shuffle=True, seed=datamodule.seed))  # the datamodule's plan
    net = instantiate(cfg.model.net).to(device)
    optimizer = instantiate(cfg.model.optimizer)(params=net.parameters())
    schedule = instantiate(cfg.model.scheduler)(optimizer=optimizer)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    tokens, start = 0, None
    for step in range(steps + 1):
        src, tgt = next(batches)
        if step == 1:
            synchronize(device)
            start = time.perf_counter()
        with autocast:
            logits = net(src, tgt[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=PAD,
                                                     label_smoothing=cfg.model.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step >= 1:
            tokens += (tgt[:, 1:] != PAD).sum()
    synchronize(device)
    return float(tokens) / (time.perf_counter() - start)


def main() -> None:
    keep_freed_memory()  # as scripts/train.py does; both loops share it
    args = bench_args(__doc__, steps=20)
    gpu = torch.cuda.is_available()
    cfg = compose_transformer(args.steps, "outputs/bench", gpu)
    device = torch.device("cuda" if gpu else "cpu")
    suite, plain = alternate(args.rounds, lambda: plain_throughput(cfg, args.steps, device),
                             lambda: suite_meter(cfg).tokens_per_s)
    report_ratio(f"Transformer training (Multi30k, {cfg.data.max_tokens}-token batches, "
                 f"{'bf16' if gpu else 'fp32'})", suite, plain, unit="tokens/s")


if __name__ == "__main__":
    main()
