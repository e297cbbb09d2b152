"""GPT's part of the report (Radford et al. 2018/2019, as nanoGPT trains it on Tiny Shakespeare characters).

The claims themselves (nanoGPT's held-out losses) are plain claims the core report judges from each record;
this section adds what a reader of nanoGPT's README would compare: the parameter count nanoGPT prints,
both held-out losses (nanoGPT's estimate from a few random batches, and the whole held-out split), speed
(tokens/s, FLOPs per token counted and by Kaplan's formula, achieved TFLOP/s), the projected time of the full
schedule for runs that only sampled it, and the learning curves against the paper's final number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from repro.report.tables import config_value, fmt, fmt_duration, hardware, metric, save_png, table

TITLE = "GPT (Radford et al. 2018, 2019, as nanoGPT trains it)"
CURVES_PNG = "radford2019_curves.png"


def nanogpt_params(record: dict[str, Any]) -> int | None:
    """The count nanoGPT prints (get_num_params: every parameter but the position embeddings)."""
    block, width = config_value(record, "model.net.block_size"), config_value(record, "model.net.n_embd")
    return record["params"] - block * width if record.get("params") and block and width else None


def paper_loss(record: dict[str, Any]) -> float | None:
    return next((c["paper"] for c in record.get("claims") or []), None)


def _steps(record: dict[str, Any]) -> Any:
    curve = record.get("val_curve") or []
    return curve[-1][0] if curve else config_value(record, "trainer.max_steps")


def _loss(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"  # nanoGPT prints four decimals


def run_rows(records: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for r in sorted(records, key=lambda r: (r["experiment"], str(r.get("finished_at", "")))):
        projected = r.get("projected") or {}
        rows.append([r["experiment"], r.get("seed", "?"), hardware([r]), r.get("precision", "?"),
                     f"{nanogpt_params(r) / 1e6:.2f}M" if nanogpt_params(r) else "n/a", _steps(r),
                     _loss(metric(r, "val/loss")), _loss(metric(r, "val/loss_full")), fmt(paper_loss(r)),
                     fmt_duration(r.get("wall_time_s")), fmt(r.get("tokens_per_s")),
                     fmt((r.get("flops_per_token_train") or 0) / 1e6 or None),
                     fmt((r.get("flops_per_token_kaplan") or 0) / 1e6 or None), fmt(r.get("achieved_tflops")),
                     fmt_duration(projected.get("seconds")) if projected else "—"])
    return rows


HEADER = ["experiment", "seed", "hardware", "precision", "params (as nanoGPT prints)", "steps",
          "val/loss (nanoGPT's estimate)", "val/loss_full (whole held-out split)", "paper", "wall time", "tokens/s",
          "MFLOP/token (counted)", "MFLOP/token (6N + attention)", "achieved TFLOP/s", "full schedule at this speed"]


def plot_curves(records: list[dict[str, Any]], path: Path) -> bool:
    """Held-out loss against steps, one line per run, the paper's final loss as a dashed line per experiment."""
    runs = [r for r in records if r.get("val_curve")]
    if not runs:
        return False
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    colours: dict[str, str] = {}
    for r in sorted(runs, key=lambda r: r["experiment"]):
        colour = colours.setdefault(r["experiment"], f"C{len(colours)}")
        ax.plot([p[0] for p in r["val_curve"]], [p[2] for p in r["val_curve"]], "-o", markersize=3, color=colour,
                label=f"{r['experiment']} (seed {r.get('seed', '?')}, {hardware([r])})")
    for experiment, colour in colours.items():
        paper = next((paper_loss(r) for r in runs if r["experiment"] == experiment and paper_loss(r)), None)
        if paper:
            ax.axhline(paper, color=colour, linestyle="--", alpha=0.7, label=f"nanoGPT README: {paper:g}")
    ax.set_xlabel("training steps")
    ax.set_ylabel("held-out loss (nats/char)")
    ax.set_title("Character-level GPT on Tiny Shakespeare", fontsize="medium")
    ax.legend(fontsize="small")
    save_png(fig, path)
    return True


def section(ctx) -> list[str]:
    records, explorations = list(ctx.records), list(getattr(ctx, "explorations", []) or [])
    out_dir = Path(ctx.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["", f"## {TITLE}: character-level Tiny Shakespeare"]
    if not records and not explorations:
        return lines + ["", "No GPT runs yet (`make reproduce-gpt_shakespeare_cpu`)."]
    lines += ["", "val/loss is nanoGPT's estimate (the mean of `eval_iters` random held-out batches, the same batches "
              "at every evaluation); val/loss_full is the loss over every position of the held-out split, the "
              "quantity that estimate samples, and what the claims are judged on. Counted FLOPs are torch's; "
              "6N + attention is Kaplan et al. 2020's Table 1 estimate.", ""]
    if records:
        lines += table(HEADER, run_rows(records))
    if explorations:
        lines += ["", "Explorations (other overrides than the paper's recipe; no verdict):", "",
                  *table(HEADER, run_rows(explorations))]
    if plot_curves(records + explorations, out_dir / CURVES_PNG):
        lines += ["", f"![Held-out loss against steps beside nanoGPT's final numbers]({CURVES_PNG})"]
    return lines
