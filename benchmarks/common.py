"""What every benchmark shares: the suite's side of the comparison (a fit as users run it) and how a ratio is
printed."""

from __future__ import annotations

import argparse
import statistics
from typing import Callable

import lightning as L
import torch
from hydra.utils import instantiate

from repro.environment import cpu_name
from repro.meter import RunMeter


def suite_meter(cfg, **trainer_overrides) -> RunMeter:
    """One fit of the experiment as users run it (its callbacks: progress bar, checkpoints ...; the CSV logger),
    timed by a RunMeter, which skips the first step as the plain loops do."""
    L.seed_everything(0, verbose=False)
    meter = RunMeter()
    callbacks = [instantiate(c) for c in cfg.callbacks.values()]
    trainer = instantiate(cfg.trainer, callbacks=[*callbacks, meter], logger=[instantiate(cfg.logger.csv)],
                          **trainer_overrides)
    trainer.fit(instantiate(cfg.model), datamodule=instantiate(cfg.data))
    return meter


def report_ratio(what: str, suite: float, baseline: float, unit: str) -> float:
    ratio = suite / baseline
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"{cpu_name()}, {torch.get_num_threads()} threads"
    print(f"{what} on {device}: suite {suite:,.0f} {unit}, plain loop {baseline:,.0f} {unit}, ratio {ratio:.2f}x")
    return ratio


def bench_args(doc: str, steps: int, rounds: int = 3) -> argparse.Namespace:
    """--steps (each loop's training steps) and --rounds (alternations) for a benchmark module."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--steps", type=int, default=steps, help="training steps for each of the two loops")
    parser.add_argument("--rounds", type=int, default=rounds, help="alternating plain/suite measurements")
    return parser.parse_args()


def alternate(rounds: int, plain: Callable[[], float], suite: Callable[[], float]) -> tuple[float, float]:
    """The medians of the suite's and the plain loop's throughputs, measured in turn `rounds` times (a 2-core
    machine's speed drifts from one minute to the next; alternating shares the drift)."""
    plains, suites = [], []
    for _ in range(rounds):
        plains.append(plain())
        suites.append(suite())
    return statistics.median(suites), statistics.median(plains)
