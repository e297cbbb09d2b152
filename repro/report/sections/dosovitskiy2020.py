"""Dosovitskiy et al. 2020 (ViT): the from-scratch CIFAR-10 runs, and the data-scaling check in direction
(section 4.3, Fig. 3-4): with little data a CNN of the ViT's size wins, and the gap shrinks as data grows.
Claims state every number as test error (`test/error_pct`); tables show accuracy, 100 - error, beside it,
as the paper and the community anchors quote accuracy."""

from __future__ import annotations

from collections import defaultdict

from matplotlib.figure import Figure

from repro.report.tables import (config_value, fmt, fmt_spread, hardware, mean, metric, save_log_x_plot,
                                 summarize, table)

SCALING_PNG = "vit_data_scaling.png"
ERROR = "test/error_pct"

TITLE = "Vision Transformer (Dosovitskiy et al. 2020)"


def errors_by_size(records) -> dict[int, list[float]]:
    """Training images per class -> the test errors (%) of the records (one per seed)."""
    out: dict[int, list[float]] = defaultdict(list)
    for record in records:
        size, error = config_value(record, "data.per_class"), metric(record, ERROR)
        if size is not None and error is not None:
            out[int(size)].append(error)
    return dict(out)


def gaps(vit, cnn) -> list[tuple[int, float, float, float]]:
    """(per_class, ViT mean error, CNN mean error, ViT - CNN) for every size both nets ran, smallest first."""
    a, b = errors_by_size(vit), errors_by_size(cnn)
    return [(size, mean(a[size]), mean(b[size]), mean(a[size]) - mean(b[size])) for size in sorted(a.keys() & b.keys())]


def gap_at_smallest_size(own, others):
    """The ViT-minus-CNN error gap at the smallest size both ran (> 0: the CNN wins)."""
    found = gaps(own, others)
    return (own + others, [found[0][3]]) if found else ([], [])


def gap_shrink(own, others):
    """Gap at the smallest size minus gap at the largest (> 0: the ViT caught up as data grew)."""
    found = gaps(own, others)
    return (own + others, [found[0][3] - found[-1][3]]) if len(found) >= 2 else ([], [])


METHODS = {"gap_at_smallest_size": gap_at_smallest_size, "gap_shrink": gap_shrink}


def _accuracy(errors: list[float]) -> str:
    return fmt_spread([100 - e for e in errors])


def plot_scaling(curves: dict[str, dict[int, list[float]]], path) -> bool:
    if not any(curves.values()):
        return False
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for (label, by_size), marker in zip(curves.items(), "os^v"):
        sizes = sorted(by_size)
        stats = [summarize([100 - e for e in by_size[s]]) for s in sizes]
        ax.errorbar([10 * s for s in sizes], [m for m, _, _ in stats], yerr=[d for _, d, _ in stats], marker=marker,
                    capsize=3, label=label)
    return save_log_x_plot(fig, ax, path, xlabel="CIFAR-10 training images (log scale; balanced over the 10 classes)",
                           ylabel="test accuracy (%)", title="ViT vs a CNN of the same size as the training set grows\n"
                           "(Dosovitskiy et al. 2020, Fig. 3-4, in direction)")


def section(ctx) -> list[str]:
    pairs = [(e.name, spec["with"]) for e in ctx.experiments.values() for spec in e.derived
             if spec["method"] == "gap_at_smallest_size"]
    in_pairs = {name for pair in pairs for name in pair}
    scratch = [r for r in ctx.records if r["experiment"] not in in_pairs]
    lines = ["", "## Vision Transformer on CIFAR-10 (Dosovitskiy et al. 2020)", "", "### Trained from scratch", ""]
    lines += table(["experiment", "seed", "params", "epochs", "test accuracy %", "wall time", "training images/s",
                    "GFLOP per image (train step)", "hardware"],
                   [[r["experiment"], r.get("seed", "?"), f"{r.get('params', 0):,}", fmt(metric(r, "epochs")),
                     _accuracy([metric(r, ERROR)]) if metric(r, ERROR) is not None else "n/a",
                     fmt((r.get("wall_time_s") or 0) / 60) + " min", fmt(r.get("samples_per_s")),
                     fmt((r.get("flops_per_sample_train") or 0) / 1e9), hardware([r])] for r in scratch]) \
        if scratch else ["No from-scratch runs of the committed recipes yet (`make reproduce-vit`)."]
    for vit_name, cnn_name in pairs:
        vit = [r for r in ctx.records if r["experiment"] == vit_name]
        cnn = [r for r in ctx.records if r["experiment"] == cnn_name]
        a, b = errors_by_size(vit), errors_by_size(cnn)
        lines += ["", f"### {vit_name} against {cnn_name}, by training-set size", ""]
        if not a and not b:
            lines.append("No runs yet (`make vit-scaling`).")
            continue
        lines += table(["images per class", "ViT test accuracy %", "CNN test accuracy %", "gap (ViT − CNN error)"],
                       [[f"{s:,}", _accuracy(a[s]) if s in a else "—", _accuracy(b[s]) if s in b else "—",
                         f"{mean(a[s]) - mean(b[s]):+.2f}" if s in a and s in b else "—"] for s in sorted(a.keys() | b.keys())])
        if plot_scaling({vit_name: a, cnn_name: b}, ctx.out_dir / SCALING_PNG):
            lines += ["", f"![ViT and CNN test accuracy against CIFAR-10 training-set size]({SCALING_PNG})"]
    return lines
