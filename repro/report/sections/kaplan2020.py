"""Scaling laws at small scale: Kaplan et al. 2020 ("Scaling Laws for Neural Language Models") and Hoffmann
et al. 2022 ("Training Compute-Optimal Large Language Models"), measured on character-level GPTs.

Two kinds of runs, told apart by their config, never by name:
- IsoFLOP runs (`model.compute_budget` set): per budget C, models of several sizes trained for exactly C
  FLOPs. Hoffmann et al.'s Approach 2: fit a parabola to final loss against log N per budget, take its
  minimum N_opt(C), fit log N_opt = a log C + k. Chinchilla: a = 0.49 (0.50 and 0.46 by its other two
  approaches); Kaplan: 0.73. The interval on a is a residual bootstrap over each profile's fit.
- Equal-token runs (no budget; every size trained on the same number of tokens, with the same schedule):
  L(N) = E + A N^-alpha fitted to their final losses (Kaplan eq. 1.1 has alpha_N ~ 0.076 without E, at
  1e3..1e9 parameters), and sample efficiency (Kaplan Fig. 2): the tokens each model needs to reach the
  smallest model's final loss, which should fall as N grows.

N is Kaplan's non-embedding parameter count; C the FLOPs torch's counter counts per training token times
the tokens trained. Fits use numpy only.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from repro.report.tables import config_value, fmt, fmt_duration, hardware, metric, save_png, table

TITLE = "Scaling laws (Kaplan et al. 2020; Hoffmann et al. 2022)"
LOSS = "val/loss_full"
CHINCHILLA_A, KAPLAN_A = 0.49, 0.73  # Hoffmann et al. 2022 Table 2 (Approach 2); Kaplan et al. 2020 eq. 1.7
MINCHILLA_FLOOR = 100_000  # BenAgro314/CSC2541: no clean law below about 100K parameters
BOOTSTRAP_RESAMPLES, INTERVAL = 2000, 0.90
ISOFLOP_PNG, LOSS_PNG = "{}_isoflop.png", "{}_loss_n.png"  # per experiment


# ---- what a record says --------------------------------------------------------------------------

def budget(record: dict[str, Any]) -> float | None:
    value = config_value(record, "model.compute_budget")
    return float(value) if value is not None else None


def size(record: dict[str, Any]) -> int | None:
    return record.get("non_embedding_params")


def loss(record: dict[str, Any]) -> float | None:
    return metric(record, LOSS)


def compute(record: dict[str, Any]) -> float | None:
    """Training FLOPs actually spent: counted FLOPs per token x tokens trained."""
    per_token, tokens = record.get("flops_per_token_train"), record.get("tokens_trained")
    return per_token * tokens if per_token and tokens else None


def _usable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if size(r) and loss(r) is not None and math.isfinite(loss(r))]


def isoflop_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in _usable(records) if budget(r) is not None]


def equal_token_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in _usable(records) if budget(r) is None]


# ---- IsoFLOP profiles (Approach 2) ---------------------------------------------------------------

def profiles(records: list[dict[str, Any]]) -> dict[float, list[dict[str, Any]]]:
    """Budget -> its runs, smallest model first (several seeds of one size stay separate points)."""
    out: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for record in isoflop_records(records):
        out[budget(record)].append(record)
    return {c: sorted(runs, key=size) for c, runs in sorted(out.items())}


def parabola_minimum(log_n: np.ndarray, losses: np.ndarray) -> float | None:
    """log10 N at the minimum of the least-squares parabola; None when it opens downwards (no minimum)."""
    if len(np.unique(log_n)) < 3:
        return None
    a, b, _ = np.polyfit(log_n, losses, 2)
    return float(-b / (2 * a)) if a > 0 else None


def profile_minima(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per budget: the spent compute (mean over its runs), N_opt from the parabola, whether the minimum lies
    inside the sizes run, and the points."""
    out = []
    for c, runs in profiles(records).items():
        log_n = np.log10([size(r) for r in runs])
        losses = np.array([loss(r) for r in runs])
        minimum = parabola_minimum(log_n, losses)
        spent = [compute(r) for r in runs if compute(r)]
        out.append({"budget": c, "compute": float(np.mean(spent)) if spent else c, "log_n": log_n, "loss": losses,
                    "log_n_opt": minimum, "inside": minimum is not None and log_n.min() <= minimum <= log_n.max(),
                    "runs": runs})
    return out


def edge_minima(minima: list[dict[str, Any]]) -> str:
    """Where the lowest measured loss of each profile lies, when it is at an end of the sizes run: the optimum is
    then outside the sweep, and the sizes must move that way."""
    ends = {"smallest": 0, "largest": 0}
    for m in minima:
        best = int(np.argmin(m["loss"]))
        if m["log_n"][best] == m["log_n"].min():
            ends["smallest"] += 1
        elif m["log_n"][best] == m["log_n"].max():
            ends["largest"] += 1
    said = [f"in {count} of {len(minima)} budgets the {end} size run had the lowest loss (the compute-optimal size "
            f"lies at or {'below' if end == 'smallest' else 'above'} it)" for end, count in ends.items() if count]
    return ("Measured: " + "; ".join(said) + ".") if said else ""


def slope(log_c: np.ndarray, log_n: np.ndarray) -> tuple[float, float]:
    """Least-squares line log N = a log C + k: (a, k)."""
    a, k = np.polyfit(log_c, log_n, 1)
    return float(a), float(k)


def bracketed(minima: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The profiles whose parabola has its minimum among the sizes run: an extrapolated minimum is no measurement."""
    return [m for m in minima if m["inside"]]


def exponent(minima: list[dict[str, Any]]) -> tuple[float, float] | None:
    """(a, k) of N_opt = 10^k C^a over the bracketed profiles; None with fewer than 2."""
    found = bracketed(minima)
    if len(found) < 2:
        return None
    return slope(np.log10([m["compute"] for m in found]), np.array([m["log_n_opt"] for m in found]))


def bootstrap_exponent(minima: list[dict[str, Any]], resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = 0) -> tuple[float, float, int] | None:
    """A residual bootstrap of a over the bracketed profiles: each profile's parabola residuals redrawn with
    replacement, the parabolas and the line refitted. Returns (low, high, resamples used) of the central INTERVAL; resamples where some
    parabola has no minimum are dropped (and counted out)."""
    fits = []
    for m in bracketed(minima):
        coeffs = np.polyfit(m["log_n"], m["loss"], 2)
        fitted = np.polyval(coeffs, m["log_n"])
        fits.append((m["log_n"], fitted, m["loss"] - fitted, math.log10(m["compute"])))
    if len(fits) < 2:
        return None
    rng = np.random.default_rng(seed)
    slopes = []
    for _ in range(resamples):
        optima = [parabola_minimum(x, fitted + rng.choice(residuals, len(residuals))) for x, fitted, residuals, _ in fits]
        if all(o is not None for o in optima):
            slopes.append(slope(np.array([f[3] for f in fits]), np.array(optima))[0])
    if len(slopes) < resamples // 2:
        return None
    tail = (1 - INTERVAL) / 2 * 100
    low, high = np.percentile(slopes, [tail, 100 - tail])
    return float(low), float(high), len(slopes)


def isoflop_exponent(records: list[dict[str, Any]], with_records: list[dict[str, Any]] | None = None
                     ) -> tuple[list[dict[str, Any]], list[float]]:
    """METHOD: a in N_opt proportional to C^a, from the IsoFLOP records."""
    minima = profile_minima(records)
    fit = exponent(minima)
    return isoflop_records(records), [fit[0]] if fit else []  # runs without a bracketed minimum: undecided


# ---- L(N) at equal tokens ------------------------------------------------------------------------

def fit_loss_law(n: np.ndarray, losses: np.ndarray) -> dict[str, float] | None:
    """Least squares L = E + A N^-alpha with E >= 0 (an irreducible loss, the text's entropy, cannot be negative):
    for each alpha on a grid, E and A are linear (E held at 0 where the free fit puts it below); the best alpha is
    then refined on a finer grid around it. Without the bound, losses that fall linearly in log N drive alpha to
    0 and E far below 0. Returns E, A, alpha and R^2 (None with fewer than 4 sizes)."""
    if len(np.unique(n)) < 4:
        return None

    def best(alphas: np.ndarray) -> tuple[float, float, float, float]:
        results = []
        for alpha in alphas:
            design = np.stack([np.ones_like(n, dtype=float), n.astype(float) ** -alpha], axis=1)
            (e, a), *_ = np.linalg.lstsq(design, losses, rcond=None)
            if e < 0:  # the bound is active: the best fit with E = 0
                e, a = 0.0, float(design[:, 1] @ losses / (design[:, 1] @ design[:, 1]))
            results.append((float(np.sum((design @ [e, a] - losses) ** 2)), float(alpha), float(e), float(a)))
        return min(results)

    _, alpha, _, _ = best(np.linspace(0.005, 3.0, 600))
    sse, alpha, e, a = best(np.linspace(max(0.001, alpha - 0.01), alpha + 0.01, 201))
    total = float(np.sum((losses - losses.mean()) ** 2))
    return {"E": e, "A": a, "alpha": alpha, "r2": 1 - sse / total if total > 0 else float("nan")}


def loss_law(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, float] | None]:
    runs = sorted(equal_token_records(records), key=size)
    return runs, fit_loss_law(np.array([size(r) for r in runs]), np.array([loss(r) for r in runs]))


def loss_power_law(records: list[dict[str, Any]], with_records: list[dict[str, Any]] | None = None
                   ) -> tuple[list[dict[str, Any]], list[float]]:
    """METHOD: alpha of L(N) = E + A N^-alpha over the equal-token runs (alpha > 0: loss falls with size)."""
    runs, fit = loss_law(records)
    return (runs, [fit["alpha"] if fit["A"] > 0 else -fit["alpha"]]) if fit else ([], [])


# ---- sample efficiency (Kaplan Fig. 2) -----------------------------------------------------------

def tokens_to_reach(curve: list[list[float]], target: float) -> float | None:
    """Training tokens at which the learning curve [(step, tokens, loss), ...] first reaches `target`
    (linear in log tokens between evaluations); None if it never does."""
    previous = None
    for _, tokens, value in curve:
        if tokens <= 0:
            continue
        if value <= target:
            if previous is None:
                return float(tokens)
            (t0, l0), t1 = previous, tokens
            share = (l0 - target) / (l0 - value)
            return float(10 ** (math.log10(t0) + share * (math.log10(t1) - math.log10(t0))))
        previous = (tokens, value)
    return None


def mean_curves(records: list[dict[str, Any]]) -> list[tuple[int, list[dict[str, Any]], list[list[float]]]]:
    """Per size of the equal-token runs, smallest first: (N, its runs, the learning curve averaged over its seeds,
    point by point; the runs share their schedule, so their evaluations fall at the same steps)."""
    by_size: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in equal_token_records(records):
        if record.get("val_curve"):
            by_size[size(record)].append(record)
    out = []
    for n, runs in sorted(by_size.items()):
        points = zip(*(r["val_curve"] for r in runs))
        out.append((n, runs, [[p[0][0], p[0][1], float(np.mean([q[2] for q in p]))] for p in points]))
    return out


def tokens_to_smallest_final(records: list[dict[str, Any]]) -> list[tuple[int, float | None]]:
    """(N, tokens its mean curve needed to reach the smallest model's final evaluated loss), smallest first."""
    curves = mean_curves(records)
    if len(curves) < 2:
        return []
    target = curves[0][2][-1][2]
    return [(n, tokens_to_reach(curve, target)) for n, _, curve in curves]


EARLY = 0.1  # evaluations in the first tenth of training are left out of the comparison (warmup, all near the start)


def equal_token_comparisons(records: list[dict[str, Any]]) -> list[tuple[int, int, float, float, float]]:
    """(smaller N, larger N, tokens, smaller's loss, larger's loss) for every pair of neighbouring sizes at every
    evaluation after the first tenth of training, on the seed-mean learning curves."""
    curves = mean_curves(records)
    out = []
    for (n_small, _, small), (n_large, _, large) in zip(curves, curves[1:]):
        last = small[-1][0]
        for a, b in zip(small, large):
            if a[0] == b[0] and a[0] > EARLY * last:
                out.append((n_small, n_large, a[1], a[2], b[2]))
    return out


def sample_efficiency(records: list[dict[str, Any]], with_records: list[dict[str, Any]] | None = None
                      ) -> tuple[list[dict[str, Any]], list[float]]:
    """METHOD: at equal tokens, the share of comparisons (neighbouring sizes, each evaluation after the first
    tenth of training) in which the larger model has the lower held-out loss (Kaplan Fig. 2)."""
    comparisons = equal_token_comparisons(records)
    if not comparisons:
        return [], []
    lower = sum(1 for *_, small, large in comparisons if large < small)
    return [r for _, runs, _ in mean_curves(records) for r in runs], [lower / len(comparisons)]


METHODS = {"isoflop_exponent": isoflop_exponent, "loss_power_law": loss_power_law,
           "sample_efficiency": sample_efficiency}


# ---- plots ---------------------------------------------------------------------------------------

def _dress(ax, xlabel: str, ylabel: str, title: str, log_y: bool = False) -> None:
    """Log axes labelled on the decades only (minor labels overlap on short ranges), then labels and legend."""
    for on, axis, scale in ((True, ax.xaxis, ax.set_xscale), (log_y, ax.yaxis, ax.set_yscale)):
        if on:
            scale("log")
            axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")


def plot_isoflop(minima: list[dict[str, Any]], fit: tuple[float, float] | None, path: Path) -> None:
    """Left: loss against N per budget with its parabola and minimum. Right: N_opt against C, the fitted line
    and the two papers' slopes through the same centre."""
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    colours = [f"C{i}" for i in range(len(minima))]
    for m, colour in zip(minima, colours):
        left.plot(10 ** m["log_n"], m["loss"], "o", color=colour, label=f"C = {m['compute']:.2g} FLOPs")
        if m["log_n_opt"] is not None:
            grid = np.linspace(m["log_n"].min(), m["log_n"].max(), 100)
            coeffs = np.polyfit(m["log_n"], m["loss"], 2)
            left.plot(10 ** grid, np.polyval(coeffs, grid), "-", color=colour, alpha=0.6)
            if m["inside"]:  # an extrapolated minimum is no measurement (and would stretch the axis)
                left.plot(10 ** m["log_n_opt"], np.polyval(coeffs, m["log_n_opt"]), "*", color=colour,
                          markersize=14, markeredgecolor="black")
    _dress(left, "non-embedding parameters N", "held-out loss (nats/char)",
           "IsoFLOP profiles (parabola in log N, minimum starred)")
    found = bracketed(minima)
    if not found:  # say so rather than leave the panel blank
        right.text(0.5, 0.5, "no budget's minimum lies\ninside the sizes run", transform=right.transAxes, ha="center")
    else:
        log_c = np.log10([m["compute"] for m in found])
        right.plot(10 ** log_c, [10 ** m["log_n_opt"] for m in found], "*", markersize=14, color="black",
                   label="N_opt per budget")
    if fit:
        a, k = fit
        span = np.linspace(log_c.min() - 0.1, log_c.max() + 0.1, 20)
        centre_c, centre_n = log_c.mean(), a * log_c.mean() + k
        right.plot(10 ** span, 10 ** (a * span + k), "-", color="tab:blue", label=f"measured a = {a:.2f}")
        for value, name, style in ((CHINCHILLA_A, "Hoffmann et al. 2022", "--"), (KAPLAN_A, "Kaplan et al. 2020", ":")):
            right.plot(10 ** span, 10 ** (centre_n + value * (span - centre_c)), style, color="grey",
                       label=f"{name}: a = {value}")
    _dress(right, "training compute C (FLOPs)", "compute-optimal N",
           "N_opt proportional to C^a", log_y=True)
    save_png(fig, path)


def plot_loss_law(runs: list[dict[str, Any]], fit: dict[str, float] | None, path: Path) -> None:
    """Left: final loss against N with the fitted E + A N^-alpha. Right: the learning curves (Kaplan Fig. 2)."""
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    n = np.array([size(r) for r in runs], dtype=float)
    left.plot(n, [loss(r) for r in runs], "o", color="black", label="measured")
    if fit:
        grid = np.geomspace(n.min(), n.max(), 100)
        left.plot(grid, fit["E"] + fit["A"] * grid ** -fit["alpha"], "-", color="tab:blue",
                  label=f"{fit['E']:.3g} + {fit['A']:.3g} N^-{fit['alpha']:.3g} (R² {fit['r2']:.3f})")
    _dress(left, "non-embedding parameters N", "held-out loss (nats/char)",
           "L(N) at equal training tokens")
    curves = mean_curves(runs)
    for i, (n, seeds, curve) in enumerate(curves):
        shown = [p for p in curve if p[1] > 0]
        right.plot([p[1] for p in shown], [p[2] for p in shown], "-", color=f"C{i}",
                   label=f"N = {fmt(n)}" + (f" (mean of {len(seeds)} seeds)" if len(seeds) > 1 else ""))
    if curves:
        right.axhline(curves[0][2][-1][2], color="grey", linestyle=":", label="smallest model's final loss")
    _dress(right, "training tokens", "held-out loss (nats/char)",
           "Learning curves at equal tokens (Kaplan et al. Fig. 2)")
    save_png(fig, path)


# ---- the section ---------------------------------------------------------------------------------

def _by_experiment(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        out[record["experiment"]].append(record)
    return dict(sorted(out.items()))


def _run_rows(runs: list[dict[str, Any]]) -> list[list[Any]]:
    return [[f"{budget(r):.2g}" if budget(r) else "—", config_value(r, "model.net.n_embd"),
             fmt(size(r)), fmt(r.get("tokens_trained")), fmt((r.get("tokens_trained") or 0) / size(r)),
             fmt(r.get("data_epochs")), f"{compute(r):.3g}" if compute(r) else "n/a", f"{loss(r):.4f}",
             fmt_duration(r.get("wall_time_s"))] for r in runs]


RUN_HEADER = ["budget C", "n_embd", "N", "tokens", "tokens per parameter", "passes over the text", "C spent",
              "held-out loss", "wall time"]


def isoflop_lines(name: str, records: list[dict[str, Any]], out_dir: Path) -> list[str]:
    minima = profile_minima(records)
    runs = isoflop_records(records)
    fit = exponent(minima)
    interval = bootstrap_exponent(minima) if fit else None
    lines = ["", f"### IsoFLOP profiles: `{name}` ({len(runs)} runs, {hardware(runs)})", "",
             *table(RUN_HEADER, _run_rows(runs)), "",
             *table(["budget C", "C spent (mean)", "sizes", "N_opt (parabola minimum)", "inside the sizes run"],
                    [[f"{m['budget']:.2g}", f"{m['compute']:.3g}", len(m["runs"]),
                      fmt(10 ** m["log_n_opt"]) if m["log_n_opt"] is not None else "no minimum (opens downwards)",
                      "yes" if m["inside"] else "no: left out of the fit"] for m in minima])]
    if fit:
        a = fit[0]
        span = (f"{INTERVAL:.0%} bootstrap interval [{interval[0]:.2f}, {interval[1]:.2f}] ({interval[2]} resamples)"
                if interval else "no bootstrap interval (too few profiles with a minimum)")
        nearer = "Hoffmann et al.'s" if abs(a - CHINCHILLA_A) < abs(a - KAPLAN_A) else "Kaplan et al.'s"
        inside = [label for label, value in (("0.49", CHINCHILLA_A), ("0.73", KAPLAN_A))
                  if interval and interval[0] <= value <= interval[1]]
        lines += ["", f"Fitted N_opt ∝ C^a: **a = {a:.2f}**, {span}. Hoffmann et al. 2022: 0.49 (Approach 2; 0.50 and "
                  f"0.46 by the other two); Kaplan et al. 2020: 0.73. The measurement is nearer {nearer}; the interval "
                  f"holds {' and '.join(inside) if inside else 'neither'}."]
    else:
        lines += ["", "Fewer than two budgets have their parabola's minimum among the sizes run: no exponent. "
                  + edge_minima(minima)]
    plot_isoflop(minima, fit, out_dir / ISOFLOP_PNG.format(name))
    lines += ["", f"![IsoFLOP profiles and N_opt against C]({ISOFLOP_PNG.format(name)})"]
    largest = max(size(r) for r in runs)
    lines += ["", f"Model sizes run: {fmt(min(size(r) for r in runs))} to {fmt(largest)} non-embedding parameters; "
              f"{sum(size(r) < MINCHILLA_FLOOR for r in runs)} of {len(runs)} runs lie below the ~100K parameters under "
              "which BenAgro314/CSC2541 (character-level TinyStories) found no clean law."]
    return lines


def equal_token_lines(name: str, records: list[dict[str, Any]], out_dir: Path) -> list[str]:
    runs, fit = loss_law(records)
    lines = ["", f"### Equal training tokens: `{name}` ({len(runs)} runs, {hardware(runs)})", "",
             *table(RUN_HEADER, _run_rows(runs))]
    if fit:
        sizes = len({size(r) for r in runs})
        lines += ["", f"L(N) = E + A N^-alpha: E = {fit['E']:.3f}, A = {fit['A']:.3g}, **alpha = {fit['alpha']:.3f}**, "
                  f"R² = {fit['r2']:.4f} over {len(runs)} runs of {sizes} sizes (Kaplan et al. 2020 eq. 1.1: "
                  "alpha_N ≈ 0.076 without E, "
                  "for converged models of 1e3..1e9 parameters; here every size has the same tokens, so the larger are "
                  "further from convergence)."]
    comparisons = equal_token_comparisons(records)
    if comparisons:
        lower = sum(1 for *_, small, large in comparisons if large < small)
        crossings = [c for c in comparisons if c[4] >= c[3]]
        lines += ["", f"Sample efficiency (Kaplan Fig. 2): at equal tokens the larger of two neighbouring sizes had the "
                  f"lower held-out loss in {lower} of {len(comparisons)} comparisons (every evaluation after the first "
                  "tenth of training; the same held-out batches at every evaluation; curves averaged over seeds)"
                  + (": " + "; ".join(f"N {fmt(a)} vs {fmt(b)} at {fmt(t)} tokens ({x:.4f} vs {y:.4f})"
                                      for a, b, t, x, y in crossings[:5]) + " did not." if crossings else ".")]
    reached = tokens_to_smallest_final(records)
    if reached:
        curves = mean_curves(records)
        target, first = curves[0][2][-1][2], {n: next((p[1] for p in c if p[1] > 0), None) for n, _, c in curves}
        lines += ["", f"Tokens each size needed to reach {target:.4f}, the smallest model's last evaluated loss "
                  "(≤: already at the first evaluation):", "",
                  *table(["N", "tokens to reach it", "share of the smallest model's tokens"],
                         [[fmt(n), ("≤ " if t == first[n] else "") + fmt(t) if t else "never",
                           fmt(t / reached[0][1]) if t and reached[0][1] else "—"] for n, t in reached])]
    if runs:
        plot_loss_law(runs, fit, out_dir / LOSS_PNG.format(name))
        lines += ["", f"![L(N) with its fit, and the learning curves]({LOSS_PNG.format(name)})"]
    return lines


def flop_lines(records: list[dict[str, Any]]) -> list[str]:
    """Counted training FLOPs per token against Kaplan's 6N + 6 n_layer n_ctx d_model, one row per size."""
    seen, rows = set(), []
    for r in sorted(records, key=lambda r: size(r) or 0):
        key = (size(r), r.get("flops_per_token_train"))
        if key in seen or not r.get("flops_per_token_kaplan") or not r.get("flops_per_token_train"):
            continue
        seen.add(key)
        rows.append([fmt(size(r)), fmt(6 * size(r)), fmt(r["flops_per_token_kaplan"]), fmt(r["flops_per_token_train"]),
                     f"{r['flops_per_token_train'] / r['flops_per_token_kaplan']:.2f}"])
    if not rows:
        return []
    return ["", "Training FLOPs per token: torch's count (used for C) against Kaplan et al.'s Table 1 estimate. The "
            "count adds the output layer and counts attention at full width, forward and backward (the fused "
            "kernel recomputes the scores), where Kaplan counts 6 n_layer n_ctx d_model:", "",
            *table(["N", "6N", "6N + 6 n_layer n_ctx d_model", "counted", "counted / Kaplan"], rows)]


def section(ctx) -> list[str]:
    records = list(ctx.records)
    out_dir = Path(ctx.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["", f"## {TITLE}: in direction, on character-level GPTs"]
    if not records:
        return lines + ["", "No scaling runs yet (`make scaling-laws`)."]
    for name, runs in _by_experiment(records).items():
        if isoflop_records(runs):
            lines += isoflop_lines(name, runs, out_dir)
        if equal_token_records(runs):
            lines += equal_token_lines(name, runs, out_dir)
    lines += flop_lines(records)
    explorations = list(getattr(ctx, "explorations", []) or [])
    if explorations:
        lines += ["", f"{len(explorations)} exploration runs (other overrides) are left out of these fits."]
    return lines
