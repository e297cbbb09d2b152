"""LeCun, Bottou, Bengio & Haffner 1998: the Fig. 9 plot (measured vs paper, variants beside their
claims) and the learning curve (test error against examples per class, the runs of a `data.per_class` sweep)."""

from __future__ import annotations

from collections import defaultdict

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from repro.report.tables import config_value, hardware, metric, save_log_x_plot, save_png, summarize

FIG9_PNG, CURVE_PNG = "fig9_error.png", "learning_curve.png"
COLOURS = {"reproduced": "tab:green", "beats the paper": "tab:blue", "not reproduced": "tab:red",
           "variant: no verdict": "tab:purple"}

TITLE = "LeNet and MNIST (LeCun et al. 1998)"


def plot_fig9(rows, path) -> bool:
    """Measured vs paper test error per Fig. 9 row; False (nothing written) when no record answers one."""
    answered = [r for r in rows if r.claim.group == "fig9" and r.stats[2] > 0]
    if not answered:
        return False
    labels = [f"{r.label}" + (f" ({hardware(r.records)})" if len({hardware(x.records) for x in answered
                                                                    if x.label == r.label}) > 1 else "")
              for r in answered]
    fig = Figure(figsize=(7.5, 0.55 * len(answered) + 2), layout="constrained")
    ax = fig.add_subplot()
    ys, height = range(len(answered)), 0.38
    ax.barh([y + height / 2 for y in ys], [r.claim.value for r in answered], height, color="lightgrey")
    ax.barh([y - height / 2 for y in ys], [float(r.stats[0]) for r in answered], height,
            xerr=[r.stats[1] for r in answered], color=[COLOURS.get(r.verdict, "grey") for r in answered])
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("MNIST test error (%), log scale")
    ax.set_title("LeCun et al. 1998, Fig. 9: measured vs paper")
    fig.legend(handles=[Patch(color="lightgrey", label="paper")] +
               [Patch(color=c, label=f"measured: {v}") for v, c in COLOURS.items()],
               fontsize="small", ncol=2, loc="outside lower center")
    save_png(fig, path)
    return True


def plot_learning_curve(records, reference, path) -> bool:
    """Test error against examples per class over the records that set data.per_class."""
    by_size: dict[int, list[float]] = defaultdict(list)
    for record in records:
        per_class, error = config_value(record, "data.per_class"), metric(record, "test/error_pct")
        if per_class is not None and error is not None:
            by_size[int(per_class)].append(error)
    if not by_size:
        return False
    sizes = sorted(by_size)
    stats = [summarize(by_size[s]) for s in sizes]
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.errorbar(sizes, [m for m, _, _ in stats], yerr=[s for _, s, _ in stats], marker="o", capsize=3,
                label="LeNet-5, measured (mean ± std over seeds)")
    if reference is not None:
        ax.axhline(reference.value, linestyle="--", color="grey", label="LeNet-5 paper, all 60,000 examples")
    ax.axvline(5000, color="tab:red", linestyle=":", label="5,000 per class (Goodfellow et al. 2016)")
    return save_log_x_plot(fig, ax, path, xlabel="training examples per class (log scale)",
                           ylabel="MNIST test error (%)", title="LeNet-5 test error against training set size")


def section(ctx) -> list[str]:
    lines = ["", "## LeCun et al. 1998 (LeNet and Fig. 9)", ""]
    lines += [f"![MNIST test error per model, measured vs LeCun et al. 1998 Fig. 9]({FIG9_PNG})"
              if plot_fig9(ctx.rows, ctx.out_dir / FIG9_PNG) else "No record answers a Fig. 9 claim yet."]
    curve = [r for r in ctx.records if any(c.group == "learning_curve" for c in
                                           (ctx.claims.get(i) for i in ctx.experiments[r["experiment"]].claims) if c)]
    lines += ["", f"![LeNet-5 test error against training examples per class]({CURVE_PNG})"
              if plot_learning_curve(curve, ctx.claims.get("lecun1998.lenet5"), ctx.out_dir / CURVE_PNG)
              else "No learning-curve records yet (`make learning-curve`)."]
    return lines
