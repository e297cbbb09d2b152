"""Krizhevsky, Sutskever & Hinton 2012: Fig. 1's ReLU-over-tanh ratio (a derived claim, measured across
the two halves of each seed) and its training-error curves."""

from __future__ import annotations

from matplotlib.figure import Figure

from repro.claims import AtLeast
from repro.report.tables import save_png

FIG1_PNG = "alexnet_fig1_relu_tanh.png"

TITLE = "AlexNet (Krizhevsky et al. 2012)"


def _epochs_to_target(record) -> float | None:
    target = record.get("time_to_target") or {}
    return target["epoch"] if target.get("reached") else None


def epochs_to_target_ratio(own, others):
    """Per seed: epochs this (slower) net needs to reach its target over the paired net's epochs. When this
    net never got there within its cap, its epoch count over the other's is a lower bound (AtLeast)."""
    slow, fast = {r["seed"]: r for r in own}, {r["seed"]: r for r in others}
    used, ratios = [], []
    for seed in sorted(slow.keys() & fast.keys()):
        fast_epochs = _epochs_to_target(fast[seed])
        if not fast_epochs:
            continue
        used += [fast[seed], slow[seed]]
        slow_epochs = _epochs_to_target(slow[seed])
        ratios.append(slow_epochs / fast_epochs if slow_epochs else AtLeast(slow[seed]["metrics"]["epochs"] / fast_epochs))
    return used, ratios


METHODS = {"epochs_to_target_ratio": epochs_to_target_ratio}


def plot_pairs(pairs, path) -> bool:
    """Training error against epochs for each pair (a panel each), like the paper's Fig. 1."""
    panels = [(title, fast, curves) for title, fast, curves in pairs if curves]
    if not panels:
        return False
    fig = Figure(figsize=(6.5 * len(panels), 4.5))
    for i, (title, fast, curves) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for record in curves:
            target = record["time_to_target"]
            history = [h for h in target["history"] if h[0] <= (target["epoch"] or h[0])]
            is_fast = record["experiment"] == fast
            ax.plot([h[0] for h in history], [h[1] for h in history], linestyle="-" if is_fast else "--",
                    color="tab:blue" if is_fast else "tab:orange", label=f"{record['experiment']} (seed {record['seed']})")
        ax.axhline(panels[0][2][0]["time_to_target"]["target"], color="grey", linestyle=":", label="target")
        ax.set_xlabel("epochs")
        ax.set_ylabel("CIFAR-10 training error (%)")
        ax.set_title(title, fontsize="medium")
        ax.legend(fontsize="small")
    fig.suptitle("Krizhevsky et al. 2012, Fig. 1: four-layer CNN, ReLU vs tanh")
    save_png(fig, path)
    return True


def section(ctx) -> list[str]:
    pairs = []
    for experiment in ctx.experiments.values():
        for spec in experiment.derived:
            if spec["method"] == "epochs_to_target_ratio":
                names = (experiment.name, spec["with"])
                title = "a named variant: " + experiment.departures if experiment.variant_of else "the paper's setup"
                pairs.append((title, spec["with"], [r for r in ctx.records if r["experiment"] in names
                                                    and (r.get("time_to_target") or {}).get("history")]))
    if not plot_pairs(pairs, ctx.out_dir / FIG1_PNG):
        return []
    return ["", "## Krizhevsky et al. 2012 (AlexNet), Fig. 1", "",
            f"![CIFAR-10 training error per epoch, ReLU vs tanh]({FIG1_PNG})"]
