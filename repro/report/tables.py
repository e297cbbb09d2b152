"""Markdown tables and number formatting shared by the report's sections."""

from __future__ import annotations

import math
import statistics
from typing import Any, Iterable


def fmt(value: float | None) -> str:
    """Three significant digits, but never scientific notation for big counts (12,345 not 1.23e+04)."""
    if value is None:
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{fmt(seconds)} s"
    if seconds < 7200:
        return f"{fmt(seconds / 60)} min"
    return f"{fmt(seconds / 3600)} h"


def summarize(values: Iterable[float | None]) -> tuple[float | None, float | None, int]:
    """(mean, sample std, n) of the values that are present; (None, None, 0) when none are."""
    present = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not present:
        return None, None, 0
    std = statistics.stdev(present) if len(present) > 1 else 0.0
    return statistics.fmean(present), std, len(present)


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(fmt(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else str(c)
                                    for c in row) + " |" for row in rows]
