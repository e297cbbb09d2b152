"""Numbers, markdown tables and files for the report: the helpers every section shares."""

from __future__ import annotations

import io
import math
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any, Iterable

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from repro.claims import AtLeast, AtMost


def summarize(values: Iterable[float | None]) -> tuple[float | None, float | None, int]:
    """(mean, sample std, n) of the values that are present; (None, None, 0) when none are. The mean of
    lower bounds is a lower bound (AtLeast), of upper bounds an upper bound; a mix of both is no number."""
    present = [v for v in values if v is not None and not math.isnan(v)]
    if not present:
        return None, None, 0
    mean = statistics.fmean(float(v) for v in present)
    std = statistics.stdev(float(v) for v in present) if len(present) > 1 else 0.0
    bounds = {type(v) for v in present} & {AtLeast, AtMost}
    if len(bounds) > 1:
        return None, None, len(present)
    return (bounds.pop()(mean) if bounds else mean), std, len(present)


def mean(values: Iterable[float | None]) -> float | None:
    return summarize(values)[0]


def fmt(value: float | None) -> str:
    """Three significant digits, never scientific notation for big counts (12,345 not 1.23e+04); a bound
    shows its side ("≥ 5")."""
    if value is None:
        return "n/a"
    side = "≥ " if isinstance(value, AtLeast) else "≤ " if isinstance(value, AtMost) else ""
    return side + (f"{value:,.0f}" if abs(value) >= 1000 else f"{float(value):.3g}")


def fmt_spread(values: list[float | None]) -> str:
    """mean ± sample std (n=...); a bound is shown as a bound, never with a spread."""
    centre, std, n = summarize(values)
    if n == 0:
        return "n/a"
    if centre is None:
        return f"bounds on both sides (n={n})"
    if n == 1 or isinstance(centre, (AtLeast, AtMost)):
        return f"{fmt(centre)} (n={n})"
    return f"{fmt(centre)} ± {fmt(std)} (n={n})"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{fmt(seconds)} s"
    if seconds < 7200:
        return f"{fmt(seconds / 60)} min"
    return f"{fmt(seconds / 3600)} h"


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], lines: list[list[Any]]) -> list[str]:
    """A markdown table's lines."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(cell(c) for c in line) + " |" for line in lines]


def hardware(records: list[dict[str, Any]]) -> str:
    """Where the records ran, each machine named once."""
    summaries = dict.fromkeys((r.get("hardware") or {}).get("summary", "unknown") for r in records)
    return "; ".join(summaries) or "—"


def metric(record: dict[str, Any], key: str) -> float | None:
    value = (record.get("metrics") or {}).get(key)
    return None if value is None else float(value)


def config_value(record: dict[str, Any], dotted: str) -> Any:
    node: Any = record.get("config") or {}
    for key in dotted.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write to a temp file beside `path`, then rename over it: a reader never sees half a file."""
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the report is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_png(fig: Figure, path: Path) -> None:
    """A figure as PNG, with Agg and no pyplot (no global backend state, no figure left open)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    write_atomically(Path(path), buffer.getvalue())


def save_log_x_plot(fig: Figure, ax, path: Path, *, xlabel: str, ylabel: str, title: str) -> bool:
    """Label a curve plot over a log-scaled x axis (data sizes), give it its legend and save it."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    save_png(fig, path)
    return True
