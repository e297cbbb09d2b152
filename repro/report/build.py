"""results/REPORT.md: every claim beside what the paper-recipe runs measured, the explorations beside
them without a verdict, the timing tables, one section per paper (repro/report/sections/), the runs.
The README's scoreboard (between its markers) is written from the same rows."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import repro.claims
from repro.claims import Claim
from repro.experiments import Experiment, registry
from repro.recipe import differences, recipe_items
from repro.report.evidence import Evidence, Records, Row, section_module
from repro.report.tables import (fmt, fmt_duration, fmt_spread, hardware, mean, metric, table,
                                 write_atomically)

# The report's sections in the order of the story; a section key an experiment names beyond these follows them.
SECTION_ORDER = ["rosenblatt1958", "lecun1998", "krizhevsky2012", "vaswani2017", "dosovitskiy2020",
                 "radford2019", "kaplan2020", "silver2017"]
SCOREBOARD = re.compile(r"(<!-- scoreboard:start -->\n).*?(<!-- scoreboard:end -->)", re.S)


@dataclass
class SectionContext:
    """What a paper's section module sees: the judged runs (paper recipe and named variants) and the
    explorations of its experiments, its experiments, the claims, and where its plots go."""
    records: Records
    explorations: Records
    experiments: dict[str, Experiment]
    claims: dict[str, Claim]
    rows: list[Row]
    out_dir: Path


# ---- the claims ----------------------------------------------------------------------------------

def _measured(row: Row) -> str:
    if not row.records:
        return f"— (to run: `{row.claim.command}`)" if row.claim.command else "—"
    return fmt_spread(row.measured) if row.stats[2] else "no value"


def _difference(row: Row) -> str:
    centre = row.stats[0]
    if centre is None:
        return "—"
    side = "≥ " if isinstance(centre, repro.claims.AtLeast) else "≤ " if isinstance(centre, repro.claims.AtMost) else ""
    return f"{side}{float(centre) - row.claim.value:+.2f}"


def sections_of_claims(experiments: dict[str, Experiment]) -> dict[str, str]:
    """Claim id -> the report section of the experiments that answer it (the judged ones first)."""
    found: dict[str, str] = {}
    for experiment in sorted(experiments.values(), key=lambda e: bool(e.variant_of)):
        for claim_id in (*experiment.claims, *(d["claim"] for d in experiment.derived), *experiment.variant_of):
            found.setdefault(claim_id, experiment.section)
    return found


def ordered_sections(keys) -> list[str]:
    keys = set(keys)
    return [s for s in SECTION_ORDER if s in keys] + sorted(keys - set(SECTION_ORDER))


def title(section: str) -> str:
    """The section module's TITLE, or its key."""
    return getattr(section_module(section), "TITLE", section)


def claims_tables(rows: list[Row], experiments: dict[str, Experiment]) -> list[str]:
    header = ["claim", "what", "paper", "experiment", "measured", "difference", "verdict", "hardware",
              "wall time", "samples/s"]
    section_of = sections_of_claims(experiments)
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[section_of.get(row.claim.id, "other")].append(row)
    out: list[str] = []
    for group in ordered_sections(groups):
        lines = []
        for row in groups[group]:
            first = row.kind == "paper"
            verdict = row.verdict + (f" ({row.explanation})" if row.explanation else "")
            lines.append([f"`{row.claim.id}`" if first else "↳ variant", row.claim.what if first else row.departures,
                          f"{fmt(row.claim.value)} {row.claim.unit}; {row.claim.source}" if first else "",
                          row.label, _measured(row), _difference(row), verdict,
                          hardware(row.records) if row.records else "—",
                          fmt_duration(mean(r.get("wall_time_s") for r in row.records)) if row.records else "—",
                          fmt(mean(r.get("samples_per_s") for r in row.records)) if row.records else "—"])
        out += ["", f"### {title(group)}", "", *table(header, lines)]
    return out


def scoreboard(rows: list[Row], experiments: dict[str, Experiment]) -> list[str]:
    """Verdicts counted per paper: the README's summary of the claims table."""
    section_of = sections_of_claims(experiments)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row.kind == "paper":
            counts[section_of.get(row.claim.id, "other")][row.verdict] += 1
    verdicts = repro.claims.VERDICTS
    named = {s: f"[{title(s)}](docs/{s}.md)" if section_module(s) else "claims no experiment answers yet"
             for s in counts}
    return table(["paper", *verdicts], [[named[s], *(counts[s].get(v, 0) for v in verdicts)]
                                        for s in ordered_sections(counts)])


# ---- explorations ------------------------------------------------------------------------------

def exploration_tables(explorations: Records, experiments: dict[str, Experiment],
                       claims: dict[str, Claim]) -> list[str]:
    """Runs of another recipe, grouped by what they changed, measured beside the paper without a verdict."""
    groups: dict[tuple, Records] = defaultdict(list)
    for record in explorations:
        name = str(record.get("experiment"))
        experiment = experiments.get(name)
        config = record.get("config") or {}
        if experiment is None:
            changed = ("experiment no longer defined",)
        else:  # what departs from the nearest sweep point, then where on the sweep's axes the run sits
            departed = differences(config, experiment.closest_recipe(config))
            at = recipe_items(config)
            changed = (*(f"{k}={'(unset)' if v == '<absent>' else v}" for k, v in departed.items()),
                       *(f"at {k}={at[k]}" for k in experiment.sweep_axes if k not in departed and k in at))
        groups[(name, changed, hardware([record]))].append(record)
    if not groups:
        return ["", "No explorations."]
    lines = []
    for (name, changed, where), runs in sorted(groups.items()):
        experiment = experiments.get(name)
        ids = [i for i in (*experiment.claims, *experiment.variant_of) if i in claims] if experiment else []
        beside = [f"{fmt_spread([metric(r, claims[i].metric) for r in mine])} {claims[i].unit} "
                  f"(paper {fmt(claims[i].value)}, `{i}`)" for i in ids if claims[i].metric != "derived"
                  and (mine := [r for r in runs if claims[i].applies_to(r.get("config") or {})])]
        errors = [k for k in ("test/error_pct", "val/loss_full", "val/loss", "val/bleu")
                  if metric(runs[0], k) is not None]
        beside = beside or [f"{k} {fmt_spread([metric(r, k) for r in runs])}" for k in errors[:1]] or ["—"]
        lines.append([name, " ".join(changed) or "(same recipe keys; another world size)",
                      len(runs), "; ".join(beside), where])
    return ["", "Runs whose recipe is not the committed one (another override, or a recipe since changed): what "
            "they changed against the committed recipe, and their measurement beside the paper's number. They "
            "never change a verdict.", "",
            *table(["experiment", "changed against the committed recipe", "runs", "measured (beside the paper)",
                    "hardware"], lines)]


# ---- time ----------------------------------------------------------------------------------------

def time_table(rows: list[Row]) -> list[str]:
    lines = [[f"`{r.claim.id}`", r.claim.paper_time, r.label,
              fmt_duration(mean(x.get("wall_time_s") for x in r.records)) if r.records else "not run",
              len(r.records), hardware(r.records) if r.records else "—"]
             for r in rows if r.claim.paper_time and r.kind == "paper"]
    if not lines:
        return ["", "No claim in the registry gives the paper's training time."]
    return ["", *table(["claim", "paper: time and hardware", "experiment", "measured: mean wall time", "runs",
                        "measured: hardware"], lines)]


def mlperf_mean(seconds: list[float]) -> float | None:
    """MLPerf's habit for time-to-target: with 5 or more runs drop the fastest and the slowest."""
    ordered = sorted(seconds)
    return mean(ordered[1:-1] if len(ordered) >= 5 else ordered)


def target_table(records: Records) -> list[str]:
    by_experiment: dict[tuple[str, str], Records] = defaultdict(list)
    for record in records:
        if record.get("time_to_target"):
            by_experiment[(record["experiment"], hardware([record]))].append(record)
    lines = []
    for (experiment, where), runs in sorted(by_experiment.items()):
        targets = [r["time_to_target"] for r in runs]
        met = [t for t in targets if t.get("reached")]
        lines.append([experiment, f"{targets[0]['metric']} reaches {fmt(targets[0]['target'])}",
                      f"{len(met)} of {len(targets)}", fmt(mean(t["epoch"] for t in met)) if met else "never",
                      fmt_duration(mlperf_mean([t["seconds"] for t in met])) if met else "—", where])
    if not lines:
        return ["", "No record carries a time-to-target measurement yet."]
    return ["", "The clock starts before the data is touched and stops at the end of the first evaluation that "
            "meets the target (evaluation time counts; a resumed run adds its earlier parts); seconds are the mean "
            "over the runs that met it, with the fastest and slowest dropped when there are five or more (MLPerf). "
            "Where the metric is a test error (`data.val_on_test=true`), it is evaluated after every epoch for this "
            "clock only.", "",
            *table(["experiment", "target", "runs that met it", "epoch (mean)", "time (mean)", "hardware"], lines)]


def projection_table(records: Records) -> list[str]:
    """Runs whose records project the paper's full schedule onto their own throughput."""
    lines = [[r["experiment"], hardware([r]), r.get("precision", "?"), fmt(r.get("samples_per_s")),
              fmt(r.get("flops_per_sample_train") and r["flops_per_sample_train"] / 1e9), fmt(r.get("achieved_tflops")),
              fmt(r["projected"]["days"]), r["projected"].get("paper", "—")]
             for r in records if r.get("projected")]
    if not lines:
        return ["", "No record projects a paper's schedule yet."]
    return ["", *table(["experiment", "hardware", "precision", "samples/s (training)", "GFLOP per sample (train step)",
                        "achieved TFLOP/s", "projected days for the paper's schedule", "paper"], lines)]


def compute_table(records: Records, experiments: dict[str, Experiment]) -> list[str]:
    """The paper's training FLOPs (the experiment's `report.paper_compute`) at each run's achieved TFLOP/s."""
    lines = []
    for r in records:
        spec = (experiments[r["experiment"]].report.get("paper_compute") if r["experiment"] in experiments else None)
        if spec and r.get("achieved_tflops"):
            lines.append([r["experiment"], hardware([r]), fmt(r["achieved_tflops"]), spec["what"], f"{spec['flops']:.2g}",
                          fmt(spec["flops"] / (r["achieved_tflops"] * 1e12) / 86400), spec["paper"]])
    if not lines:
        return []
    return ["", "The papers' training compute at the FLOP rate these runs sustained here (small models on this "
            "hardware; a large model would run at a different rate, so read it as an order of magnitude):", "",
            *table(["run", "hardware", "achieved TFLOP/s", "paper's training", "FLOPs", "days here", "paper"], lines)]


def standin_table(records: Records, experiments: dict[str, Experiment]) -> list[str]:
    """Runs of experiments that answer no claim (stand-ins on small data): numbers only, no verdict."""
    partners = {d.get("with") for e in experiments.values() for d in e.derived}
    keys = ("test/error_pct", "test/center_error_pct", "test/top5_error_pct")
    lines = [[r["experiment"], r.get("seed", "?"), fmt(metric(r, "epochs")), *[fmt(metric(r, k)) for k in keys],
              fmt_duration(r.get("wall_time_s")), hardware([r])]
             for r in records if r["experiment"] in experiments and not experiments[r["experiment"]].answers_a_claim
             and r["experiment"] not in partners]
    if not lines:
        return ["", "No stand-in runs."]
    return ["", "Runs on small stand-in data that answer no paper claim (for example the paper's AlexNet on "
            "Imagenette): numbers only, no verdict.", "",
            *table(["experiment", "seed", "epochs", "top-1 error % (10 crops or plain)", "top-1 error % (centre crop)",
                    "top-5 error %", "wall time", "hardware"], lines)]


# ---- runs ------------------------------------------------------------------------------------------

def _short_commit(commit: str) -> str:
    dirty = commit.endswith("-dirty")
    return commit.removesuffix("-dirty")[:10] + ("-dirty" if dirty else "")


def runs_table(evidence: Evidence) -> list[str]:
    records = [(s, r) for s in ("paper", "variant", "exploration") for r in evidence.by_status[s]]
    if not records:
        return ["", "No run records."]
    lines = [[r["experiment"], r.get("seed", "?"), status, r.get("finished_at", "?"), hardware([r]),
              f"`{_short_commit(str(r.get('git_commit', 'unknown')))}`", f"`{r.get('command', '?')}`"]
             for status, r in sorted(records, key=lambda sr: str(sr[1].get("finished_at", "")))]
    return ["", *table(["experiment", "seed", "recipe", "finished at", "hardware", "commit", "command"], lines)]


def verdict_rule() -> str:
    """The rule as repro/claims.py states it, so the report can never drift from the code."""
    doc = repro.claims.__doc__ or ""
    _, blank, rest = doc.partition("\n\n")
    return (rest if blank else doc).strip()


# ---- the report ------------------------------------------------------------------------------------

def build_report(claims: dict[str, Claim], records: Records, out_dir: Path, *, claims_path: str = "results/claims.yaml",
                 records_path: str = "results/runs", readme: Path | None = None,
                 experiments: dict[str, Experiment] | None = None) -> Path:
    """Write REPORT.md and its plots into out_dir (and the scoreboard into `readme`); return REPORT.md's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    experiments = registry() if experiments is None else experiments
    evidence = Evidence(claims, records, experiments)
    rows = evidence.rows()
    board = scoreboard(rows, experiments)
    counts = {s: len(evidence.by_status[s]) for s in ("paper", "variant", "exploration")}
    lines = ["# Milestones: the papers' claims beside our measurements", "",
             f"Generated by `make report` from `{claims_path}` and `{records_path}`. Do not edit by hand: rerun "
             "`make report`.", "",
             f"{len(records)} run records: {counts['paper']} ran a paper's recipe, {counts['variant']} a named variant, "
             f"{counts['exploration']} are explorations (listed below, never judged).", "",
             "Verdict rule (repro/claims.py):", "", "```text", verdict_rule(), "```", "", "## Scoreboard", "", *board,
             "", "## Claims", "", "Measured: mean ± sample std over the seeds of the committed recipe (n runs), one "
             "row per kind of hardware; ↳ rows are named variants, shown beside the claim without a verdict.",
             *claims_tables(rows, experiments), "", "## Explorations", *exploration_tables(evidence.explorations, experiments, claims),
             "", "## Time beside the paper", *time_table(rows), "", "## Time to target", *target_table(evidence.judged),
             "", "## The paper's schedule on this hardware", *projection_table(evidence.judged),
             *compute_table(evidence.judged, experiments), "", "## Stand-ins", *standin_table(evidence.judged, experiments)]
    lines += paper_sections(evidence, experiments, claims, rows, out_dir)
    lines += ["", "## Runs", *runs_table(evidence), ""]
    report = out_dir / "REPORT.md"
    write_atomically(report, "\n".join(lines))
    if readme is not None and readme.is_file():
        update_scoreboard(readme, board)
    return report


def paper_sections(evidence: Evidence, experiments: dict[str, Experiment], claims: dict[str, Claim],
                   rows: list[Row], out_dir: Path) -> list[str]:
    lines: list[str] = []
    for key in ordered_sections(e.section for e in experiments.values()):
        module = section_module(key)
        if module is None or not hasattr(module, "section"):
            continue
        mine = {n: e for n, e in experiments.items() if e.section == key}
        context = SectionContext(records=[r for r in evidence.judged if r.get("experiment") in mine],
                                 explorations=[r for r in evidence.explorations if r.get("experiment") in mine],
                                 experiments=mine, claims=claims, rows=rows, out_dir=out_dir)
        lines += module.section(context)
    return lines


def update_scoreboard(readme: Path, board: list[str]) -> None:
    """Replace what stands between the README's scoreboard markers; a README without them is left alone."""
    text = readme.read_text()
    if SCOREBOARD.search(text):
        body = "\n".join(["Verdicts of the committed recipes, counted per paper (written by `make report`; "
                          "every number is in [results/REPORT.md](results/REPORT.md)):", "", *board, ""])
        write_atomically(readme, SCOREBOARD.sub(lambda m: f"{m.group(1)}{body}\n{m.group(2)}", text))
