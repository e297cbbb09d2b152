"""results/REPORT.md: every claim beside what the run records measured, plus two plots.

One row per (claim, experiment) that some record answers, one "not run" row per claim no record
answers. The verdict is recomputed here from the mean over seeds, never copied from a record:
a single seed's verdict says nothing about the mean. Smoke runs (tiny subsets) are left out.
"""

from __future__ import annotations

import io
import math
import os
import statistics
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Iterable

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

import repro.claims
from repro import transformer_report, vit_report
from repro.claims import Claim

GROUP_TITLES = {
    "fig9": "MNIST, LeCun et al. 1998 Fig. 9",
    "alexnet": "AlexNet, Krizhevsky et al. 2012",
    "perceptron": "The perceptron's classic properties",
    "learning_curve": "The 5,000-examples-per-class rule of thumb",
    "vit": "Vision Transformer, Dosovitskiy et al. 2020",
    "transformer": "The Transformer, Vaswani et al. 2017",
    "transformer_table3": "The Transformer, Table 3 in direction (Multi30k)",
}
LEARNING_CURVE = "lenet5_learning_curve"
FIG9_PNG, CURVE_PNG, FIG1_PNG = "fig9_error.png", "learning_curve.png", "alexnet_fig1_relu_tanh.png"
VERDICT_COLOURS = {"reproduced": "tab:green", "within tolerance": "tab:orange", "not reproduced": "tab:red"}


@dataclass
class Row:
    """One line of the main table: a claim and the records of one experiment, on one kind of hardware,
    that answer it (a GPU run is never averaged with CPU runs)."""
    claim: Claim
    experiment: str  # "—" when no record answers the claim
    records: list[dict[str, Any]]
    measured: list[float]

    @property
    def stats(self) -> tuple[float | None, float | None, int]:
        return summarize(self.measured)

    @property
    def verdict(self) -> str:
        return self.claim.verdict(self.stats[0])


# ---- numbers -----------------------------------------------------------------------------------

def summarize(values: Iterable[float | None]) -> tuple[float | None, float | None, int]:
    """(mean, sample std, n) of the values that are present; (None, None, 0) when none are."""
    present = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not present:
        return None, None, 0
    std = statistics.stdev(present) if len(present) > 1 else 0.0
    return statistics.fmean(present), std, len(present)


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


def _mean(values: Iterable[float | None]) -> float | None:
    return summarize(values)[0]


# ---- which records count -----------------------------------------------------------------------

def is_smoke(record: dict[str, Any]) -> bool:
    """A smoke run trains on a few batches; its numbers would drag any mean toward nonsense."""
    if "smoke" in str(record.get("experiment", "")):
        return True
    limit = ((record.get("config") or {}).get("trainer") or {}).get("limit_train_batches")
    if limit is None or isinstance(limit, bool):
        return False
    # Lightning reads an int as a number of batches and a float as a fraction of the epoch.
    return isinstance(limit, int) or float(limit) < 1.0


# ---- claims measured across runs ---------------------------------------------------------------

# Fig. 1's ReLU/tanh pairs: the paper's inputs and init (the claim), and today's habits (a variant).
FIG1_PAIRS = {"krizhevsky2012.relu_speedup": ("alexnet_fig1_relu", "alexnet_fig1_tanh"),
              "krizhevsky2012.relu_speedup_standardized": ("alexnet_cifar_relu", "alexnet_cifar_tanh")}
FIG1_EXPERIMENTS = tuple(name for pair in FIG1_PAIRS.values() for name in pair)


def _epochs_to_target(record: dict[str, Any]) -> float | None:
    target = record.get("time_to_target") or {}
    return target["epoch"] if target.get("reached") else None


def relu_speedup(records: list[dict[str, Any]], relu_name: str, tanh_name: str
                 ) -> tuple[list[dict[str, Any]], list[float]]:
    """Fig. 1: epochs the tanh net needs to reach 25% training error over the ReLU net's (per seed)."""
    relu = {r["seed"]: r for r in records if r["experiment"] == relu_name}
    tanh = {r["seed"]: r for r in records if r["experiment"] == tanh_name}
    used, ratios = [], []
    for seed in sorted(relu.keys() & tanh.keys()):
        used += [relu[seed], tanh[seed]]
        relu_epochs, tanh_epochs = _epochs_to_target(relu[seed]), _epochs_to_target(tanh[seed])
        if relu_epochs and tanh_epochs:
            ratios.append(tanh_epochs / relu_epochs)
        elif relu_epochs:  # tanh never got there within its epochs: the ratio is at least this
            ratios.append(tanh[seed]["metrics"]["epochs"] / relu_epochs)
    return used, ratios


# Claims whose measurement needs several runs: claim id -> (experiment label, function of all records).
DERIVED = {claim: (f"{relu} + {tanh}", partial(relu_speedup, relu_name=relu, tanh_name=tanh))
           for claim, (relu, tanh) in FIG1_PAIRS.items()}
DERIVED.update(vit_report.DERIVED)  # the ViT-vs-CNN data-scaling directions
DERIVED.update(transformer_report.DERIVED)  # the Transformer's Table 3 directions


def collect_rows(claims: dict[str, Claim], records: list[dict[str, Any]]) -> tuple[list[Row], set[str]]:
    """The main table's rows in claims.yaml order, and the claim ids records name that claims.yaml lacks."""
    answers: dict[tuple[str, str], Row] = {}
    unknown: set[str] = set()
    for record in records:
        for entry in record.get("claims") or []:
            claim = claims.get(entry.get("id"))
            if claim is None:
                unknown.add(str(entry.get("id")))
                continue
            key = (claim.id, record["experiment"], _hardware([record]))
            row = answers.setdefault(key, Row(claim, record["experiment"], [], []))
            row.records.append(record)
            row.measured.append(entry.get("measured"))
    for claim_id, (label, derive) in DERIVED.items():
        used, values = derive(records)
        if claim_id in claims and used:
            answers[(claim_id, label, _hardware(used))] = Row(claims[claim_id], label, used, values)
    rows = []
    for claim_id, claim in claims.items():
        mine = sorted((r for (cid, *_), r in answers.items() if cid == claim_id),  # most runs first
                      key=lambda r: (r.experiment, -len(r.records), _hardware(r.records)))
        rows.extend(mine or [Row(claim, "—", [], [])])
    return rows, unknown


# ---- markdown ----------------------------------------------------------------------------------

def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], lines: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in line) + " |" for line in lines]
    return out


def _hardware(records: list[dict[str, Any]]) -> str:
    summaries = dict.fromkeys((r.get("hardware") or {}).get("summary", "unknown") for r in records)
    return "; ".join(summaries) or "—"


def _measured_cell(row: Row) -> str:
    mean, std, n = row.stats
    if not row.records:
        return f"— (to run: `{row.claim.command}`)" if row.claim.command else "—"
    if n == 0:
        return "n/a (metric missing)"
    return f"{fmt(mean)} (n={n})" if n == 1 else f"{fmt(mean)} ± {fmt(std)} (n={n})"


def _main_line(row: Row) -> list[Any]:
    claim, (mean, _, _) = row.claim, row.stats
    return [f"`{claim.id}`", claim.what, f"{fmt(claim.value)} {claim.unit}; {claim.source}", row.experiment,
            _measured_cell(row), "—" if mean is None else f"{mean - claim.value:+.2f}", row.verdict,
            _hardware(row.records) if row.records else "—",
            fmt(_mean(r.get("wall_time_s") for r in row.records)) if row.records else "—",
            fmt(_mean(r.get("samples_per_s") for r in row.records)) if row.records else "—"]


def main_table(rows: list[Row]) -> list[str]:
    header = ["claim", "what", "paper", "experiment", "measured", "difference", "verdict", "hardware",
              "wall time (s)", "samples/s"]
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row.claim.group].append(row)
    # The known sections first, in the order of the story; any other group after them.
    order = [g for g in GROUP_TITLES if g in groups] + [g for g in groups if g not in GROUP_TITLES]
    out: list[str] = []
    for group in order:
        out += ["", f"### {GROUP_TITLES.get(group, group or 'Other claims')}", ""]
        out += _table(header, [_main_line(row) for row in groups[group]])
    return out


def time_table(rows: list[Row]) -> list[str]:
    lines = [[f"`{r.claim.id}`", r.claim.paper_time, r.experiment,
              fmt_duration(_mean(x.get("wall_time_s") for x in r.records)) if r.records else "not run",
              len(r.records), _hardware(r.records) if r.records else "—"]
             for r in rows if r.claim.paper_time]
    if not lines:
        return ["", "No claim in the registry gives the paper's training time."]
    return ["", *_table(["claim", "paper: time and hardware", "experiment", "measured: mean wall time",
                         "runs", "measured: hardware"], lines)]


PAPER_ALEXNET = "5-6 days on two GTX 580 3GB (about 90 x 1.2M images / 5.5 days = 240 images/s)"


def projection_table(records: list[dict[str, Any]]) -> list[str]:
    """Runs whose records project the paper's full schedule onto their own throughput."""
    lines = [[r["experiment"], _hardware([r]), r.get("precision", "?"), fmt(r.get("samples_per_s")),
              fmt(r.get("flops_per_sample_train") and r["flops_per_sample_train"] / 1e9),
              fmt(r.get("achieved_tflops")), fmt(r["projected"]["days"]), PAPER_ALEXNET]
             for r in records if r.get("projected")]
    if not lines:
        return ["", "No record projects a paper's schedule yet (`make reproduce-alexnet_imagenette`)."]
    return ["", *_table(["experiment", "hardware", "precision", "images/s (training)", "GFLOP per image (train step)",
                         "achieved TFLOP/s", "projected days for 90 ImageNet epochs", "paper"], lines)]


# The papers' training compute, set against the FLOP rate a run here sustained. Transformer: Table 2's
# 3.3e18 FLOPs for base. ViT-B/16 on ImageNet-1k: 300 epochs x 1,281,167 images x 3 x 17.56 GFLOPs (a training
# step taken as 3 forwards; 17.56 GFLOPs is ViT-B/16's forward at 224, torchvision's model card).
PAPER_COMPUTE = {
    "transformer": ("Transformer base, WMT14 en-de, 100k steps", 3.3e18, "12 hours on 8 NVIDIA P100"),
    "vit": ("ViT-B/16, ImageNet-1k, 300 epochs", 300 * 1_281_167 * 3 * 17.56e9,
            "not stated for B/16 on ImageNet-1k; ViT-L/16 on ImageNet-21k: 0.23k TPUv3-core-days (Table 2)"),
}


def compute_table(records: list[dict[str, Any]]) -> list[str]:
    """The paper's training FLOPs at each run's achieved TFLOP/s (a small model's rate: a bound, not a plan)."""
    lines = []
    for r in records:
        if r["experiment"] in PAPER_COMPUTE and r.get("achieved_tflops"):
            what, flops, paper = PAPER_COMPUTE[r["experiment"]]
            lines.append([r["experiment"], _hardware([r]), fmt(r["achieved_tflops"]), what, f"{flops:.2g}",
                          fmt(flops / (r["achieved_tflops"] * 1e12) / 86400), paper])
    if not lines:
        return []
    return ["", "The papers' training compute at the FLOP rate these runs sustained here (small models on this "
            "hardware; a large model would run at a different rate, so read it as an order of magnitude):", "",
            *_table(["run", "hardware", "achieved TFLOP/s", "paper's training", "FLOPs", "days here", "paper"], lines)]

def standin_table(records: list[dict[str, Any]]) -> list[str]:
    """Runs that answer no claim by design (stand-ins on small data): what they measured, no verdict."""
    keys = ("test/error_pct", "test/center_error_pct", "test/top5_error_pct")
    lines = [[r["experiment"], r.get("seed", "?"), fmt((r.get("metrics") or {}).get("epochs")),
              *[fmt((r.get("metrics") or {}).get(k)) for k in keys], fmt_duration(r.get("wall_time_s")), _hardware([r])]
             for r in records if not r.get("claims")
             and r["experiment"] not in (*FIG1_EXPERIMENTS, LEARNING_CURVE, *vit_report.EXPERIMENTS,
                                         *transformer_report.EXPERIMENTS)]
    if not lines:
        return ["", "No stand-in runs."]
    return ["", "Runs on small stand-in data that answer no paper claim (for example the paper's AlexNet on "
            "Imagenette): numbers only, no verdict.", "",
            *_table(["experiment", "seed", "epochs", "top-1 error % (10 crops or plain)", "top-1 error % (centre crop)",
                     "top-5 error %", "wall time", "hardware"], lines)]


def mlperf_mean(seconds: list[float]) -> float | None:
    """MLPerf's habit for time-to-target: with 5 or more runs drop the fastest and the slowest."""
    ordered = sorted(seconds)
    if len(ordered) >= 5:
        ordered = ordered[1:-1]
    return _mean(ordered)


def target_table(records: list[dict[str, Any]]) -> list[str]:
    """Per experiment with a target: how many runs met it, at which epoch and after how long."""
    by_experiment: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("time_to_target"):
            by_experiment[(record["experiment"], _hardware([record]))].append(record)
    lines = []
    for (experiment, _), runs in sorted(by_experiment.items()):
        targets = [r["time_to_target"] for r in runs]
        met = [t for t in targets if t.get("reached")]
        lines.append([experiment, f"{targets[0]['metric']} reaches {fmt(targets[0]['target'])}",
                      f"{len(met)} of {len(targets)}",
                      fmt(_mean(t["epoch"] for t in met)) if met else "never",
                      fmt_duration(mlperf_mean([t["seconds"] for t in met])) if met else "—",
                      _hardware(runs)])
    if not lines:
        return ["", "No record carries a time-to-target measurement yet."]
    return ["", "The clock starts before the data is touched and stops at the end of the first evaluation that "
            "meets the target (evaluation time counts); seconds are the mean over the runs that met it, with "
            "the fastest and slowest dropped when there are five or more (MLPerf). For LeNet-5, `val/error_pct` is the "
            "test error, evaluated after every epoch for this clock only (`data.val_on_test=true`).", "",
            *_table(["experiment", "target", "runs that met it", "epoch (mean)", "time (mean)", "hardware"], lines)]


def _short_commit(commit: str) -> str:
    dirty = commit.endswith("-dirty")
    return commit.removesuffix("-dirty")[:10] + ("-dirty" if dirty else "")


def runs_section(records: list[dict[str, Any]]) -> list[str]:
    if not records:
        return ["", "No run records."]
    ordered = sorted(records, key=lambda r: str(r.get("finished_at", "")))
    lines = [[r["experiment"], r.get("seed", "?"), r.get("finished_at", "?"), _hardware([r]),
              f"`{_short_commit(str(r.get('git_commit', 'unknown')))}`", f"`{r.get('command', '?')}`"]
             for r in ordered]
    commits = sorted({_short_commit(str(r.get("git_commit", "unknown"))) for r in records})
    return ["", f"Commits: {', '.join(f'`{c}`' for c in commits)}.", "",
            *_table(["experiment", "seed", "finished at", "hardware", "commit", "command"], lines)]


def verdict_rule() -> str:
    """The rule as repro/claims.py states it, so the report can never drift from the code."""
    doc = repro.claims.__doc__ or ""
    _, blank, rest = doc.partition("\n\n")  # drop the docstring's title line
    return (rest if blank else doc).strip()


# ---- plots -------------------------------------------------------------------------------------

def _save_png(fig: Figure, path: Path) -> None:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)  # Agg without pyplot: no global backend state, no figure left open
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    write_atomically(path, buffer.getvalue())


def _fig9_label(row: Row, rows: list[Row]) -> str:
    """The experiment's name, with what tells its bars apart when it has several (claims or hardware)."""
    same = [r for r in rows if r.experiment == row.experiment]
    parts = [row.claim.id] if len({r.claim.id for r in same}) > 1 else []
    parts += [_hardware(row.records)] if len({_hardware(r.records) for r in same}) > 1 else []
    return f"{row.experiment} ({', '.join(parts)})" if parts else row.experiment


def plot_fig9(rows: list[Row], path: Path) -> bool:
    """Measured vs paper test error per model; False (nothing written) when no record answers fig9."""
    answered = [r for r in rows if r.claim.group == "fig9" and r.stats[2] > 0]
    if not answered:
        return False
    labels = [_fig9_label(r, answered) for r in answered]
    fig = Figure(figsize=(7, 0.55 * len(answered) + 2), layout="constrained")
    ax = fig.add_subplot()
    ys, height = range(len(answered)), 0.38
    ax.barh([y + height / 2 for y in ys], [r.claim.value for r in answered], height, color="lightgrey")
    ax.barh([y - height / 2 for y in ys], [r.stats[0] for r in answered], height,
            xerr=[r.stats[1] for r in answered], color=[VERDICT_COLOURS[r.verdict] for r in answered])
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("MNIST test error (%), log scale")
    ax.set_title("LeCun et al. 1998, Fig. 9: measured vs paper")
    fig.legend(handles=[Patch(color="lightgrey", label="paper")] +  # outside the axes: never on a bar
               [Patch(color=c, label=f"measured: {v}") for v, c in VERDICT_COLOURS.items()],
               fontsize="small", ncol=2, loc="outside lower center")
    _save_png(fig, path)
    return True


def plot_learning_curve(records: list[dict[str, Any]], claims: dict[str, Claim], path: Path) -> bool:
    """LeNet-5 test error against examples per class; False (nothing written) when no such records."""
    by_size: dict[int, list[float]] = defaultdict(list)
    for record in records:
        per_class = ((record.get("config") or {}).get("data") or {}).get("per_class")
        error = (record.get("metrics") or {}).get("test/error_pct")
        if record["experiment"] == LEARNING_CURVE and per_class is not None and error is not None:
            by_size[int(per_class)].append(error)
    if not by_size:
        return False
    sizes = sorted(by_size)
    stats = [summarize(by_size[s]) for s in sizes]
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.errorbar(sizes, [m for m, _, _ in stats], yerr=[s for _, s, _ in stats], marker="o", capsize=3,
                label="LeNet-5, measured (mean ± std over seeds)")
    if "lecun1998.lenet5" in claims:
        ax.axhline(claims["lecun1998.lenet5"].value, linestyle="--", color="grey",
                   label="LeNet-5 paper, all 60,000 examples")
    ax.axvline(5000, color="tab:red", linestyle=":", label="5,000 per class (Goodfellow et al. 2016)")
    ax.set_xscale("log")
    ax.set_xlabel("training examples per class (log scale)")
    ax.set_ylabel("MNIST test error (%)")
    ax.set_title("LeNet-5 test error against training set size")
    ax.legend(fontsize="small")
    _save_png(fig, path)
    return True


FIG1_TITLES = {"krizhevsky2012.relu_speedup": "the paper's inputs and init",
               "krizhevsky2012.relu_speedup_standardized": "standardised inputs, PyTorch init"}


def plot_relu_tanh(records: list[dict[str, Any]], path: Path) -> bool:
    """Training error against epochs for the ReLU and tanh nets, like the paper's Fig. 1: one panel per pair."""
    panels = []
    for claim, (relu_name, tanh_name) in FIG1_PAIRS.items():
        curves = [(r, [h for h in r["time_to_target"]["history"] if h[0] <= (r["time_to_target"]["epoch"] or h[0])])
                  for r in records if r["experiment"] in (relu_name, tanh_name)
                  and (r.get("time_to_target") or {}).get("history")]
        if curves:
            panels.append((FIG1_TITLES[claim], relu_name, curves))
    if not panels:
        return False
    fig = Figure(figsize=(6.5 * len(panels), 4.5))
    for i, (title, relu_name, curves) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for record, history in curves:
            relu = record["experiment"] == relu_name
            ax.plot([h[0] for h in history], [h[1] for h in history], linestyle="-" if relu else "--",
                    color="tab:blue" if relu else "tab:orange",
                    label=f"{'ReLU' if relu else 'tanh'} (seed {record['seed']})")
        ax.axhline(25, color="grey", linestyle=":", label="25% training error")
        ax.set_xlabel("epochs")
        ax.set_ylabel("CIFAR-10 training error (%)")
        ax.set_title(title, fontsize="medium")
        ax.legend(fontsize="small")
    fig.suptitle("Krizhevsky et al. 2012, Fig. 1: four-layer CNN, ReLU vs tanh")
    _save_png(fig, path)
    return True


# ---- the report --------------------------------------------------------------------------------

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


def build_report(claims: dict[str, Claim], records: list[dict[str, Any]], out_dir: Path, *,
                 claims_path: str = "results/claims.yaml", records_path: str = "results/runs.jsonl") -> Path:
    """Write REPORT.md and its plots into out_dir; return REPORT.md's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = [r for r in records if not is_smoke(r)]
    rows, unknown = collect_rows(claims, kept)
    has_fig9 = plot_fig9(rows, out_dir / FIG9_PNG)
    has_curve = plot_learning_curve(kept, claims, out_dir / CURVE_PNG)
    has_fig1 = plot_relu_tanh(kept, out_dir / FIG1_PNG)

    lines = ["# Milestones: the papers' claims beside our measurements", "",
             f"Generated by `make report` from `{claims_path}` and `{records_path}`. Do not edit by hand: "
             "rerun `make report`.", "",
             f"{len(kept)} run records used; {len(records) - len(kept)} smoke records left out (experiment "
             "name containing 'smoke', or trainer.limit_train_batches set below a full epoch).", "",
             "Verdict rule (repro/claims.py):", "", "```text", verdict_rule(), "```"]
    if unknown:
        lines += ["", f"Records name claims that {claims_path} does not define (left out): "
                  + ", ".join(f"`{c}`" for c in sorted(unknown)) + "."]
    lines += ["", "## Claims", "", "Measured: mean ± sample std over seeds (n runs); difference: measured mean − "
              "paper; wall time and samples/s: means over the same runs.", *main_table(rows)]
    lines += ["", "## Time beside the paper", *time_table(rows)]
    lines += ["", "## Time to target", *target_table(kept)]
    lines += ["", "## The paper's schedule on this hardware", *projection_table(kept), *compute_table(kept)]
    lines += ["", "## Stand-ins", *standin_table(kept)]
    lines += ["", "## Plots", ""]
    lines += [f"![MNIST test error per model, measured vs LeCun et al. 1998 Fig. 9]({FIG9_PNG})" if has_fig9
              else "No record answers a Fig. 9 claim yet, so there is no Fig. 9 plot.", ""]
    lines += [f"![LeNet-5 test error against training examples per class]({CURVE_PNG})" if has_curve
              else f"No `{LEARNING_CURVE}` records yet (`make learning-curve`), so there is no learning-curve plot."]
    if has_fig1:
        lines += ["", f"![CIFAR-10 training error per epoch, ReLU vs tanh]({FIG1_PNG})"]
    lines += vit_report.section(kept, out_dir)
    lines += transformer_report.section(kept)
    lines += ["", "## Runs", *runs_section(kept), ""]
    report = out_dir / "REPORT.md"
    write_atomically(report, "\n".join(lines))
    return report
