"""GPT training throughput in tokens/s: the suite (Lightning, the `gpt_shakespeare_cpu` experiment's config:
random Tiny Shakespeare blocks cut on the device, the default callbacks, CSV logging, gradient clipping) against
a plain PyTorch loop over the very same batches (the same RandomBlocks draw), the same net, loss, optimiser
(nanoGPT's parameter groups), clipping and schedule. On a GPU both run under bf16 autocast and the
`gpt_shakespeare` config (nanoGPT's GPU sizes), so the ratio is the suite's overhead alone. Both run in this
process, alternating for `--rounds` rounds; the medians and their ratio are printed.

    make bench            (python -m benchmarks.gpt_throughput)
"""

from __future__ import annotations

import contextlib
import time

import lightning as L
import torch
from hydra.utils import instantiate

from benchmarks.common import alternate, bench_args, report_ratio, suite_meter
from datamodules.char_text import RandomBlocks
from repro.allocator import keep_freed_memory
from repro.compose import compose_experiment
from repro.meter import synchronize


def compose_gpt(steps: int, output_dir: str, gpu: bool):
    """The experiment as users run it, one epoch of steps + 1 (the first is warm-up), no evaluation."""
    return compose_experiment("gpt_shakespeare" if gpu else "gpt_shakespeare_cpu", output_dir, [
        f"data.steps_per_epoch={steps + 1}", f"trainer.max_steps={steps + 1}", "trainer.limit_val_batches=0",
        *(["trainer=gpu"] if gpu else [])])


def plain_throughput(cfg, steps: int, device: torch.device) -> float:
    """The same batches in the same order, a hand-written loop: forward, loss, backward, clip, step, schedule."""
    L.seed_everything(0, verbose=False)
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    batches = iter(RandomBlocks(datamodule.splits["train"].to(device), datamodule.block_size, datamodule.batch_size,
                                steps + 1, seed=datamodule.seed))  # the datamodule's draw
    net = instantiate(cfg.model.net).to(device)
    params = list(net.parameters())
    optimizer = instantiate(cfg.model.optimizer)(params=[{"params": [p for p in params if p.dim() >= 2]},
                                                         {"params": [p for p in params if p.dim() < 2],
                                                          "weight_decay": 0.0}])
    schedule = instantiate(cfg.model.scheduler)(optimizer=optimizer, total_steps=steps + 1)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    tokens, start = 0, None
    for step in range(steps + 1):
        x, y = next(batches)
        if step == 1:
            synchronize(device)
            start = time.perf_counter()
        with autocast:
            loss = torch.nn.functional.cross_entropy(net(x).flatten(0, 1).float(), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.trainer.gradient_clip_val)
        optimizer.step()
        schedule.step()
        if step >= 1:
            tokens += y.numel()
    synchronize(device)
    return tokens / (time.perf_counter() - start)


def main() -> None:
    keep_freed_memory()  # as scripts/train.py does; both loops share it
    # 100 steps x 3 rounds swung the ratio between 0.90 and 1.02 on a 2-core CPU (about 8 s a loop); longer loops
    # and more rounds settle it
    args = bench_args(__doc__, steps=200, rounds=5)
    gpu = torch.cuda.is_available()
    cfg = compose_gpt(args.steps, "outputs/bench", gpu)
    device = torch.device("cuda" if gpu else "cpu")
    suite, plain = alternate(args.rounds, lambda: plain_throughput(cfg, args.steps, device),
                             lambda: suite_meter(cfg).tokens_per_s)
    net = cfg.model.net
    report_ratio(f"GPT training ({net.n_layer} layers x {net.n_embd}, {cfg.data.batch_size} blocks of "
                 f"{cfg.data.block_size}, {'bf16' if gpu else 'fp32'})", suite,
                 plain, unit="tokens/s")


if __name__ == "__main__":
    main()
