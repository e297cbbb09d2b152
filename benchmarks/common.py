"""What every benchmark shares: where the configs are, and how a ratio is printed."""

from __future__ import annotations

import torch

from repro.environment import cpu_name


def report_ratio(what: str, suite: float, baseline: float, unit: str) -> float:
    ratio = suite / baseline
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"{cpu_name()}, {torch.get_num_threads()} threads"
    print(f"{what} on {device}: suite {suite:,.0f} {unit}, plain loop {baseline:,.0f} {unit}, ratio {ratio:.2f}x")
    return ratio
