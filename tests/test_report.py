"""The report: verdicts from the mean over seeds, "not run" rows, smoke runs left out, plots, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from repro.claims import Claim, load_claims
from repro.records import read_records
from repro.report import build_report, is_smoke, summarize

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

CLAIMS = {
    "lecun1998.lenet5": Claim(id="lecun1998.lenet5", paper="LeCun 1998", source="Fig. 9", what="LeNet-5 error",
                              metric="test/error_pct", value=0.95, unit="% test error", tolerance=0.2,
                              group="fig9", paper_time="2-3 days on an R10000"),
    "goodfellow2016.5000_per_class": Claim(id="goodfellow2016.5000_per_class", paper="Goodfellow 2016",
                                           source="ch. 1", what="5,000 per class", metric="test/error_pct",
                                           value=2.0, unit="% test error", group="learning_curve",
                                           when={"data.per_class": 5000}),
    "minsky1969.xor_perceptron": Claim(id="minsky1969.xor_perceptron", paper="Minsky 1969", source="ch. 2",
                                       what="XOR", metric="train/best_accuracy_pct", value=75.0, unit="%",
                                       group="perceptron", command="make reproduce-perceptron_xor"),
}


def record(experiment: str = "lenet5", seed: int = 0, error: float = 1.0, claim_id: str | None = "lecun1998.lenet5",
           verdict: str = "reproduced", per_class: int | None = None, limit_train_batches=None) -> dict:
    """A run record shaped like repro/pipeline.py's; the stored verdict is deliberately arbitrary."""
    claims = [] if claim_id is None else [{"id": claim_id, "paper": 0.95, "measured": error,
                                           "unit": "% test error", "verdict": verdict}]
    return {"experiment": experiment, "seed": seed, "params": 60000, "metrics": {"test/error_pct": error},
            "claims": claims, "wall_time_s": 100.0 + 10 * seed, "samples_per_s": 5000.0,
            "flops_per_sample_forward": 1e6, "flops_per_sample_train": 3e6,
            "hardware": {"summary": "Test CPU (2 cores)", "cpu": "Test CPU", "accelerator": "cpu", "devices": 1},
            "precision": "32-true", "torch": "2.x", "git_commit": "0123456789abcdef-dirty",
            "command": f"python scripts/train.py experiment={experiment} seed={seed}",
            "finished_at": f"2025-01-0{seed + 1}T00:00:00+00:00",
            "config": {"data": {"per_class": per_class}, "trainer": {"max_epochs": 12,
                                                                     "limit_train_batches": limit_train_batches}}}


def main_rows(report: str) -> list[str]:
    """The main table's rows: the only table with ten columns."""
    return [line for line in report.splitlines() if line.startswith("| `") and line.count(" | ") == 9]


def table_row(report: str, claim_id: str, experiment: str) -> str:
    rows = [line for line in main_rows(report) if line.startswith(f"| `{claim_id}` |") and f"| {experiment} |" in line]
    assert len(rows) == 1, f"expected one row for {claim_id}/{experiment}, got {rows}"
    return rows[0]


def test_summarize():
    assert summarize([1.0, 3.0]) == (2.0, pytest.approx(2 ** 0.5), 2)
    assert summarize([4.0]) == (4.0, 0.0, 1)
    assert summarize([None]) == (None, None, 0)


def test_verdict_is_recomputed_from_the_mean_over_seeds(tmp_path):
    # Seed 0 alone reproduces, seed 1 alone does not; the mean, 1.05, is 0.1 worse: within tolerance.
    records = [record(seed=0, error=0.9, verdict="reproduced"), record(seed=1, error=1.2, verdict="reproduced")]
    report = build_report(CLAIMS, records, tmp_path).read_text()
    row = table_row(report, "lecun1998.lenet5", "lenet5")
    assert "| within tolerance |" in row
    assert "1.05 ± 0.212 (n=2)" in row
    assert "| +0.10 |" in row
    assert "| 105 |" in row  # mean wall time of 100 s and 110 s


def test_runs_on_other_hardware_get_their_own_row(tmp_path):
    gpu = record(seed=0, error=2.0)
    gpu["hardware"] = {"summary": "1x Test GPU", "accelerator": "cuda", "devices": 1}
    records = [record(seed=0, error=0.8), record(seed=1, error=1.0), gpu]
    report = build_report(CLAIMS, records, tmp_path).read_text()
    rows = [line for line in main_rows(report) if line.startswith("| `lecun1998.lenet5` |")]
    assert len(rows) == 2
    cpu_row, = [r for r in rows if "Test CPU (2 cores)" in r]
    gpu_row, = [r for r in rows if "1x Test GPU" in r]
    assert "0.9 ± 0.141 (n=2)" in cpu_row and "| reproduced |" in cpu_row  # the GPU's 2.0 is not in the mean
    assert "2 (n=1)" in gpu_row and "| not reproduced |" in gpu_row


def test_claims_no_record_answers_are_not_run(tmp_path):
    report = build_report(CLAIMS, [record()], tmp_path).read_text()
    row = table_row(report, "minsky1969.xor_perceptron", "—")
    assert "| not run |" in row
    assert "make reproduce-perceptron_xor" in row
    assert "| not run |" in table_row(report, "goodfellow2016.5000_per_class", "—")
    assert "### The perceptron's classic properties" in report


def test_smoke_records_are_left_out(tmp_path):
    smoke = [record(experiment="lenet5_smoke", error=50.0), record(error=60.0, limit_train_batches=2),
             record(error=70.0, limit_train_batches=0.25)]
    full = [record(error=1.0, limit_train_batches=1.0)]
    assert [is_smoke(r) for r in smoke + full] == [True, True, True, False]
    report = build_report(CLAIMS, smoke + full, tmp_path).read_text()
    assert "1 run records used; 3 smoke records left out" in report
    assert "1 (n=1)" in table_row(report, "lecun1998.lenet5", "lenet5")
    assert "lenet5_smoke" not in report


def test_learning_curve_plot_written_when_records_exist(tmp_path):
    curve = [record(experiment="lenet5_learning_curve", seed=s, error=e, per_class=n, claim_id=None)
             for n, e in [(10, 30.0), (100, 8.0), (5000, 1.5)] for s in (0, 1)]
    curve[-1]["claims"] = [{"id": "goodfellow2016.5000_per_class", "measured": 1.5, "verdict": "x"}]
    report = build_report(CLAIMS, curve + [record()], tmp_path).read_text()
    assert (tmp_path / "learning_curve.png").read_bytes().startswith(PNG_MAGIC)
    assert "](learning_curve.png)" in report
    assert "| reproduced |" in table_row(report, "goodfellow2016.5000_per_class", "lenet5_learning_curve")
    assert (tmp_path / "fig9_error.png").read_bytes().startswith(PNG_MAGIC)
    assert not list(tmp_path.glob(".*.tmp")), "a temp file was left behind"


def test_no_records_means_no_plots_and_says_so(tmp_path):
    report = build_report(CLAIMS, [], tmp_path).read_text()
    assert not (tmp_path / "learning_curve.png").exists() and not (tmp_path / "fig9_error.png").exists()
    assert "no learning-curve plot" in report
    assert [row.count("| not run |") for row in main_rows(report)] == [1] * len(CLAIMS)


def test_damaged_json_line_is_skipped(tmp_path):
    runs = tmp_path / "runs.jsonl"
    runs.write_text(json.dumps(record(error=0.9)) + "\n" + json.dumps(record(seed=1))[:40] + "\n")
    warnings: list[str] = []
    records = read_records(runs, warn=warnings.append)
    assert len(records) == 1 and "runs.jsonl:2" in warnings[0]
    report = build_report(CLAIMS, records, tmp_path / "out").read_text()
    assert "0.9 (n=1)" in table_row(report, "lecun1998.lenet5", "lenet5")


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "report.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_script_without_records_reports_every_claim_not_run(tmp_path):
    done = run_script("--records", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "REPORT.md")
    report = (tmp_path / "REPORT.md").read_text()
    verdicts = [row.count("| not run |") for row in main_rows(report)]
    assert verdicts == [1] * len(load_claims(ROOT / "results" / "claims.yaml"))


def test_script_bad_claims_file_is_one_line_error(tmp_path):
    bad = tmp_path / "claims.yaml"
    bad.write_text("lecun1998.lenet5: {value: [unclosed\n")
    done = run_script("--claims", str(bad), "--out", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "REPORT.md").exists()


def test_time_to_target_section_uses_mlperf_mean(tmp_path):
    from repro.report import mlperf_mean

    assert mlperf_mean([1.0, 2.0, 3.0, 4.0, 100.0]) == 3.0  # fastest and slowest dropped
    assert mlperf_mean([1.0, 3.0]) == 2.0
    runs = []
    for seed, seconds in enumerate([50.0, 60.0, None]):
        r = record(seed=seed)
        r["time_to_target"] = {"metric": "val/error_pct", "target": 0.95, "reached": seconds is not None,
                               "epoch": None if seconds is None else 9, "seconds": seconds}
        runs.append(r)
    text = build_report(CLAIMS, runs, tmp_path).read_text()
    section = text.split("## Time to target")[1].split("##")[0]
    assert "2 of 3" in section and "55 s" in section


def test_relu_tanh_ratio_is_measured_across_each_pair(tmp_path):
    """The paper's setup (alexnet_fig1_*) answers the claim; the standardised pair its own variant row."""
    claims = load_claims(ROOT / "results" / "claims.yaml")
    runs = []
    for experiment, epoch in (("alexnet_fig1_relu", 3), ("alexnet_fig1_tanh", 12),
                              ("alexnet_cifar_relu", 5), ("alexnet_cifar_tanh", 10)):
        r = record(experiment=experiment, claim_id=None)
        r["metrics"]["epochs"] = float(epoch)
        r["time_to_target"] = {"metric": "train/error_pct", "target": 25.0, "reached": True, "epoch": epoch,
                               "seconds": 10.0 * epoch, "history": [[e, 80 - 5 * e, 10.0 * e] for e in range(1, epoch + 1)]}
        runs.append(r)
    lines = build_report(claims, runs, tmp_path).read_text().splitlines()
    row = next(line for line in lines if line.startswith("| `krizhevsky2012.relu_speedup` "))
    assert "| 4 (n=1) |" in row and "within tolerance" in row
    variant = next(line for line in lines if line.startswith("| `krizhevsky2012.relu_speedup_standardized` "))
    assert "| 2 (n=1) |" in variant and "not reproduced" in variant
    assert (tmp_path / "alexnet_fig1_relu_tanh.png").read_bytes().startswith(PNG_MAGIC)
    runs[1]["time_to_target"]["reached"] = False  # tanh never got there in its 12 epochs: at least 12 / 3
    lines = build_report(claims, runs, tmp_path).read_text().splitlines()
    assert "| 4 (n=1) |" in next(line for line in lines if line.startswith("| `krizhevsky2012.relu_speedup` "))


def test_compute_table_sets_the_papers_flops_against_the_achieved_rate():
    from repro.report import compute_table

    record = {"experiment": "transformer", "achieved_tflops": 0.1, "hardware": {"summary": "cpu"}}
    table = "\n".join(compute_table([record]))
    days = 3.3e18 / 0.1e12 / 86400  # 381.9
    assert "382" in table and "12 hours on 8 NVIDIA P100" in table
    assert compute_table([{"experiment": "lenet5", "achieved_tflops": 0.1}]) == []
