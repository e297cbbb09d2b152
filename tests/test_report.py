"""The report: only committed-recipe runs are judged, explorations and variants sit beside the claims
without a verdict, verdicts are two-sided and bounds stay bounds, sections plug in from their YAML hints."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from repro.claims import AtLeast, Claim, load_claims
from repro.experiments import Experiment
from repro.records import read_records
from repro.report.build import build_report, compute_table, mlperf_mean
from repro.report.tables import fmt, fmt_spread, summarize

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

LENET5 = Claim(id="lecun1998.lenet5", paper="LeCun 1998", source="Fig. 9", what="LeNet-5 error", metric="test/error_pct",
               value=0.95, unit="% test error", tolerance=0.2, group="fig9", paper_time="2-3 days on an R10000")
CURVE = Claim(id="goodfellow2016.5000_per_class", paper="Goodfellow 2016", source="ch. 1", what="5,000 per class",
              metric="test/error_pct", value=2.0, unit="% test error", group="learning_curve", one_sided=True,
              when={"data.per_class": 5000})
XOR = Claim(id="minsky1969.xor_perceptron", paper="Minsky 1969", source="ch. 2", what="XOR",
            metric="train/best_accuracy_pct", value=75.0, unit="%", group="perceptron", command="make reproduce-perceptron_xor")
CLAIMS = {c.id: c for c in (LENET5, CURVE, XOR)}
RECIPE = {"data": {"batch_size": 128}, "trainer": {"max_epochs": 15}, "model": {"lr": 0.003}}


def experiment(name: str, recipes=(RECIPE,), section: str = "lecun1998", **fields) -> Experiment:
    defaults = dict(claims=(), variant_of=(), departures="", smoke=())
    return Experiment(name=name, report={"section": section, "derived": fields.pop("derived", [])},
                      recipes=tuple(recipes), **(defaults | fields))


EXPERIMENTS = {
    "lenet5": experiment("lenet5", claims=("lecun1998.lenet5",)),
    "lenet5_modern": experiment("lenet5_modern", recipes=({**RECIPE, "model": {"lr": 0.01}},),
                                variant_of=("lecun1998.lenet5",), departures="ReLU, max-pooling and cross-entropy"),
    "curve": experiment("curve", claims=("goodfellow2016.5000_per_class",),
                        recipes=[{**RECIPE, "data": {"batch_size": 128, "per_class": n}} for n in (10, 100, 5000)]),
}


def record(experiment: str = "lenet5", seed: int = 0, error: float = 1.0, config: dict | None = None,
           hardware: str = "Test CPU (2 cores)") -> dict:
    """A run record shaped like repro/pipeline.py's; its stored verdicts are deliberately absent."""
    if config is None:
        config = EXPERIMENTS[experiment].recipes[0] if experiment in EXPERIMENTS else RECIPE
    return {"experiment": experiment, "seed": seed, "params": 60000, "metrics": {"test/error_pct": error},
            "claims": [], "wall_time_s": 100.0 + 10 * seed, "samples_per_s": 5000.0, "flops_per_sample_train": 3e6,
            "hardware": {"summary": hardware, "accelerator": "cpu", "devices": 1}, "precision": "32-true",
            "git_commit": "0123456789abcdef-dirty", "command": f"python scripts/train.py experiment={experiment} seed={seed}",
            "finished_at": f"2025-01-0{seed + 1}T00:00:00+00:00", "config": {**config, "seed": seed}}


def report(records, tmp_path, claims=CLAIMS, experiments=EXPERIMENTS, **kwargs) -> str:
    return build_report(claims, records, tmp_path, experiments=experiments, **kwargs).read_text()


def rows(text: str, claim_id: str) -> list[str]:
    """The claims table's line for the claim and the variant lines under it."""
    lines = text.split("## Claims")[1].split("## Explorations")[0].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| `{claim_id}` |"))
    out = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("| ↳ variant"):
            break
        out.append(line)
    return out


def explorations(text: str) -> str:
    return text.split("## Explorations")[1].split("## Time beside")[0]


def test_numbers_and_bounds_format():
    assert summarize([1.0, None, 3.0]) == (2.0, pytest.approx(1.4142, abs=1e-4), 2)
    assert summarize([]) == (None, None, 0)
    assert fmt(12345.6) == "12,346" and fmt(0.9312) == "0.931"
    bound = summarize([AtLeast(4.0), 6.0])[0]
    assert isinstance(bound, AtLeast) and fmt(bound) == "≥ 5"
    assert fmt_spread([AtLeast(5.0), AtLeast(5.0)]) == "≥ 5 (n=2)"  # a bound is never "5 ± 0"


@pytest.mark.parametrize("measured, verdict", [
    (0.95, "reproduced"), (1.1, "reproduced"), (0.8, "reproduced"), (0.6, "beats the paper"),
    (1.3, "not reproduced"), (None, "not run"), (AtLeast(0.5), "undecided"), (AtLeast(1.3), "not reproduced")])
def test_verdicts_are_two_sided_and_bounds_decide_only_when_wholly_on_one_side(measured, verdict):
    assert LENET5.verdict(measured) == verdict


def test_runs_that_give_no_value_are_undecided_not_unrun():
    """A derived claim whose runs exist but yield no number (a fit with no optimum inside the sizes run)."""
    from repro.report.evidence import Row
    assert Row(LENET5, "sweep", "paper", records=[{"experiment": "sweep"}], measured=[]).verdict == "undecided"
    assert Row(LENET5, "—", "paper").verdict == "not run"


def test_one_sided_claims_count_any_better_value():
    assert CURVE.verdict(0.5) == "reproduced" and CURVE.verdict(2.5) == "not reproduced"


def test_verdict_is_recomputed_from_the_mean_over_seeds(tmp_path):
    text = report([record(seed=0, error=0.9), record(seed=1, error=1.1), record(seed=2, error=1.6)], tmp_path)
    line = rows(text, "lecun1998.lenet5")[0]
    assert "1.2 ± 0.361 (n=3)" in line and "| not reproduced |" in line


def test_an_exploration_never_changes_a_verdict_and_is_listed_with_what_it_changed(tmp_path):
    paper = [record(seed=0, error=0.9), record(seed=1, error=1.0)]
    before = rows(report(paper, tmp_path), "lecun1998.lenet5")
    wild = record(seed=0, error=92.6, config={**RECIPE, "trainer": {"max_epochs": 1}, "model": {"lr": 1e6}})
    after = report([*paper, wild], tmp_path)
    assert rows(after, "lecun1998.lenet5") == before
    listed = explorations(after)
    assert "model.lr=1000000.0 trainer.max_epochs=1" in listed and "92.6 (n=1)" in listed
    assert "1 are explorations" in after


def test_explorations_of_a_sweep_name_their_point_and_are_never_pooled_across_points(tmp_path):
    """Runs of a changed recipe at different points of a sweep (here data.per_class) depart from their nearest
    points by the same key: each row also names where on the sweep's axes it sits, so none are averaged together."""
    def changed_run(per_class: int, error: float) -> dict:
        return record("curve", error=error, config={**RECIPE, "data": {"batch_size": 64, "per_class": per_class}})

    listed = explorations(report([changed_run(10, 30.0), changed_run(5000, 1.5)], tmp_path))
    assert EXPERIMENTS["curve"].sweep_axes == ("data.per_class",) and EXPERIMENTS["lenet5"].sweep_axes == ()
    assert "data.batch_size=64 at data.per_class=10 | 1 |" in listed and "30 (n=1)" in listed
    assert "data.batch_size=64 at data.per_class=5000 | 1 |" in listed and "1.5 (n=1)" in listed


def test_an_unknown_experiment_is_an_exploration(tmp_path):
    listed = explorations(report([record(experiment="gone")], tmp_path))
    assert "| gone | experiment no longer defined |" in listed


def test_a_variant_sits_beside_its_claim_without_a_verdict(tmp_path):
    text = report([record(error=1.0), record("lenet5_modern", error=0.7)], tmp_path)
    claim, variant = rows(text, "lecun1998.lenet5")
    assert "| lenet5 |" in claim and "| reproduced |" in claim
    assert "| lenet5_modern |" in variant and "variant: no verdict" in variant and "ReLU" in variant


def test_beating_the_paper_names_the_departure(tmp_path):
    experiments = {**EXPERIMENTS, "lenet5": experiment("lenet5", claims=("lecun1998.lenet5",), departures="AdamW, not SDLM")}
    line = rows(report([record(error=0.5)], tmp_path, experiments=experiments), "lecun1998.lenet5")[0]
    assert "beats the paper (AdamW, not SDLM)" in line


def test_runs_on_other_hardware_get_their_own_row(tmp_path):
    text = report([record(error=0.9), record(seed=1, error=1.0), record(error=3.0, hardware="1x GPU")], tmp_path)
    claims = text.split("## Claims")[1].split("## Explorations")[0]
    lines = [line for line in claims.splitlines() if line.startswith("| `lecun1998.lenet5` |") and "| lenet5 |" in line]
    assert len(lines) == 2 and any("1x GPU" in line and "not reproduced" in line for line in lines)


def test_a_declared_sweep_is_the_recipe_and_when_picks_its_point(tmp_path):
    curve = [record("curve", seed=s, error=e, config=EXPERIMENTS["curve"].recipes[i])
             for i, e in enumerate((30.0, 8.0, 1.5)) for s in (0, 1)]
    text = report(curve, tmp_path)
    assert "1.5 ± 0 (n=2)" in rows(text, "goodfellow2016.5000_per_class")[0]
    assert "No explorations." in explorations(text)
    assert (tmp_path / "learning_curve.png").read_bytes().startswith(PNG_MAGIC)
    assert not list(tmp_path.glob(".*.tmp")), "a temp file was left behind"


def test_claims_no_record_answers_are_not_run_with_their_command(tmp_path):
    text = report([], tmp_path)
    assert all("| not run |" in rows(text, c)[0] for c in CLAIMS)
    assert "to run: `make reproduce-perceptron_xor`" in rows(text, "minsky1969.xor_perceptron")[0]
    assert not (tmp_path / "learning_curve.png").exists() and not (tmp_path / "fig9_error.png").exists()


def test_relu_tanh_ratio_is_measured_per_seed_and_a_capped_run_is_a_bound(tmp_path):
    claim = Claim(id="krizhevsky2012.relu_speedup", paper="p", source="Fig. 1", what="ratio", metric="derived",
                  value=6.0, unit="x", better="higher", tolerance=3.0, group="alexnet")
    experiments = {"relu": experiment("relu", section="krizhevsky2012"),
                   "tanh": experiment("tanh", section="krizhevsky2012", derived=[
                       {"claim": claim.id, "method": "epochs_to_target_ratio", "with": "relu"}])}
    runs = []
    for name, epoch in (("relu", 3), ("tanh", 12)):
        r = record(name)
        r["metrics"]["epochs"] = float(epoch)
        r["time_to_target"] = {"metric": "train/error_pct", "target": 25.0, "reached": True, "epoch": epoch,
                               "seconds": 10.0 * epoch, "history": [[e, 80 - 5 * e, 10.0 * e] for e in range(1, epoch + 1)]}
        runs.append(r)
    text = report(runs, tmp_path, claims={claim.id: claim}, experiments=experiments)
    assert "| 4 (n=1) |" in rows(text, claim.id)[0] and "| reproduced |" in rows(text, claim.id)[0]
    assert (tmp_path / "alexnet_fig1_relu_tanh.png").read_bytes().startswith(PNG_MAGIC)
    runs[1]["time_to_target"]["reached"] = False  # tanh never got there in its 12 epochs: at least 12 / 3
    line = rows(report(runs, tmp_path, claims={claim.id: claim}, experiments=experiments), claim.id)[0]
    assert "| ≥ 4 (n=1) |" in line and "undecided" in line


def test_time_to_target_uses_mlperf_mean(tmp_path):
    assert mlperf_mean([1.0, 2.0, 3.0, 4.0, 100.0]) == 3.0  # fastest and slowest dropped
    runs = []
    for seed, seconds in enumerate([50.0, 60.0, None]):
        r = record(seed=seed)
        r["time_to_target"] = {"metric": "val/error_pct", "target": 0.95, "reached": seconds is not None,
                               "epoch": None if seconds is None else 9, "seconds": seconds}
        runs.append(r)
    section = report(runs, tmp_path).split("## Time to target")[1].split("##")[0]
    assert "2 of 3" in section and "55 s" in section


def test_compute_table_reads_the_papers_flops_from_the_experiment():
    spec = {"what": "Transformer base", "flops": 3.3e18, "paper": "12 hours on 8 NVIDIA P100"}
    experiments = {"t": Experiment("t", (), (), "", {"section": "vaswani2017", "paper_compute": spec}, (), (RECIPE,))}
    text = "\n".join(compute_table([{"experiment": "t", "achieved_tflops": 0.1, "hardware": {"summary": "cpu"}}], experiments))
    assert "382" in text and "12 hours on 8 NVIDIA P100" in text  # 3.3e18 / 0.1e12 / 86400 = 381.9 days
    assert compute_table([{"experiment": "lenet5", "achieved_tflops": 0.1}], EXPERIMENTS) == []


def test_the_readme_scoreboard_is_written_between_its_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n<!-- scoreboard:start -->\nold\n<!-- scoreboard:end -->\nafter\n")
    report([record(error=0.9)], tmp_path / "out", readme=readme)
    text = readme.read_text()
    assert "old" not in text and text.startswith("# Title\n") and text.endswith("<!-- scoreboard:end -->\nafter\n")
    assert "| [LeNet and MNIST (LeCun et al. 1998)](docs/lecun1998.md) | 1 | 0 | 0 | 0 | 1 |" in text
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers\n")
    report([], tmp_path / "out", readme=plain)
    assert plain.read_text() == "no markers\n"


def test_damaged_json_line_is_skipped(tmp_path):
    runs = tmp_path / "runs.jsonl"
    runs.write_text(json.dumps(record(error=0.9)) + "\n" + json.dumps(record(seed=1))[:40] + "\n")
    warnings: list[str] = []
    records = read_records(runs, warn=warnings.append)
    assert len(records) == 1 and "runs.jsonl:2" in warnings[0]
    assert "0.9 (n=1)" in rows(report(records, tmp_path / "out"), "lecun1998.lenet5")[0]


def test_committed_records_are_judged_by_their_stored_config():
    """Records written before records carried a fingerprint follow the same rule (the real registry)."""
    from repro.experiments import recipe_status
    from repro.recipe import world_size

    lenet5 = [r for r in read_records(ROOT / "results" / "runs") if r["experiment"] == "lenet5"]
    statuses = {recipe_status("lenet5", r["config"], world_size(r)) for r in lenet5}
    assert statuses <= {"paper", "exploration"} and lenet5


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "report.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_script_without_records_reports_every_claim_not_run(tmp_path):
    done = run_script("--records", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path), "--readme", "")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "REPORT.md").read_text()
    claims = load_claims(ROOT / "results" / "claims.yaml")
    assert all("| not run |" in rows(text, c)[0] for c in claims)


def test_script_bad_claims_file_is_one_line_error(tmp_path):
    bad = tmp_path / "claims.yaml"
    bad.write_text("lecun1998.lenet5: {value: [unclosed\n")
    done = run_script("--claims", str(bad), "--out", str(tmp_path), "--readme", "")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "REPORT.md").exists()


def _imports(path: Path, package: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith(package)}


def test_the_report_package_has_no_import_cycle():
    package = ROOT / "repro" / "report"
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in package.rglob("*.py")}
    graph = {name: _imports(path, "repro.report") & modules.keys() for name, path in modules.items()}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, f"import cycle: {' -> '.join((*trail, name))}"
        for target in graph[name]:
            visit(target, (*trail, name))

    for name in graph:
        visit(name, ())


def test_no_python_under_repro_or_scripts_names_an_experiment():
    from repro.compose import experiment_names

    sources = {p: p.read_text() for folder in ("repro", "scripts") for p in (ROOT / folder).rglob("*.py")}
    named = [(str(p.relative_to(ROOT)), name) for p, text in sources.items() for name in experiment_names()
             if f'"{name}"' in text or f"'{name}'" in text]
    assert named == []
