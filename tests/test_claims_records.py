"""The verdict rule, the claims registry and run records."""

import json
import multiprocessing as mp

import pytest
import torch
from torchmetrics.classification import MulticlassAccuracy

from models.classifier import error_pct
from repro.claims import Claim, evaluate, load_claims
from repro.errors import UserError
from repro.records import append_record, read_records, record_file

ERROR = Claim(id="e", paper="p", source="s", what="w", metric="test/error_pct", value=1.0, unit="%", tolerance=0.2)
BLEU = Claim(id="b", paper="p", source="s", what="w", metric="bleu", value=30.0, unit="BLEU", better="higher", tolerance=1.0)
EXPONENT = Claim(id="x", paper="p", source="s", what="w", metric="derived", value=0.49, unit="", better="neither",
                 tolerance=0.12)


@pytest.mark.parametrize("claim, measured, verdict", [
    (ERROR, 0.9, "reproduced"), (ERROR, 1.0, "reproduced"), (ERROR, 1.15, "reproduced"), (ERROR, 0.7, "beats the paper"),
    (ERROR, 1.5, "not reproduced"), (ERROR, None, "not run"),
    (BLEU, 31.0, "reproduced"), (BLEU, 29.5, "reproduced"), (BLEU, 25.0, "not reproduced"), (BLEU, 32.0, "beats the paper"),
    (EXPONENT, 0.40, "reproduced"), (EXPONENT, 0.58, "reproduced"), (EXPONENT, 0.73, "not reproduced"),
    (EXPONENT, 0.30, "not reproduced"),
])
def test_verdict_rule(claim, measured, verdict):
    assert claim.verdict(measured) == verdict


def test_when_condition_limits_a_claim_to_matching_configs():
    claim = Claim(id="c", paper="p", source="s", what="w", metric="m", value=2.0, unit="%", when={"data.per_class": 5000})
    assert claim.applies_to({"data": {"per_class": 5000}})
    assert not claim.applies_to({"data": {"per_class": 10}})
    assert evaluate({"c": claim}, ["c"], {"m": 1.0}, {"data": {"per_class": 10}}) == []


def test_evaluate_rejects_an_unknown_claim_id():
    with pytest.raises(UserError, match="nope"):
        evaluate({}, ["nope"], {}, {})


def test_committed_claims_file_loads_and_cites_every_claim():
    claims = load_claims("results/claims.yaml")
    assert claims["lecun1998.lenet5"].value == 0.95
    assert all(c.paper and c.source for c in claims.values())


def test_append_and_read_back(tmp_path):
    path = tmp_path / "runs.jsonl"
    append_record(path, {"experiment": "a", "metrics": {"x": 1.0}})
    append_record(path, {"experiment": "b"})
    assert [r["experiment"] for r in read_records(path)] == ["a", "b"]


def test_each_experiment_has_its_file_and_the_folder_reads_back_in_finishing_order(tmp_path):
    for name, finished in (("b", "2025-01-02"), ("a", "2025-01-03"), ("b", "2025-01-01")):
        append_record(record_file(tmp_path, name), {"experiment": name, "finished_at": finished})
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["a.jsonl", "b.jsonl"]
    assert [r["finished_at"] for r in read_records(tmp_path / "runs")] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    for bad in ("../a", "", ".hidden", "a/b"):
        with pytest.raises(UserError, match="experiment_name"):
            record_file(tmp_path, bad)


def test_reader_skips_and_reports_a_damaged_line(tmp_path):
    path = tmp_path / "runs.jsonl"
    append_record(path, {"experiment": "a"})
    with path.open("a") as f:
        f.write('{"experiment": "half-writ\n[1, 2]\n')
    append_record(path, {"experiment": "b"})
    warnings = []
    assert [r["experiment"] for r in read_records(path, warn=warnings.append)] == ["a", "b"]
    assert len(warnings) == 2 and ":2 " in warnings[0]


def _writer(path, worker):
    for i in range(100):
        append_record(path, {"experiment": f"w{worker}", "i": i, "padding": "x" * 5000})


def test_parallel_writers_never_interleave(tmp_path):
    path = tmp_path / "runs.jsonl"
    workers = [mp.get_context("fork").Process(target=_writer, args=(path, w)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 400
    assert all(json.loads(line)["padding"] == "x" * 5000 for line in lines)


def test_commit_is_dirty_for_code_changes_but_not_for_appended_records(tmp_path, monkeypatch):
    import subprocess

    from repro.environment import git_commit

    monkeypatch.delenv("REPRO_GIT_COMMIT", raising=False)
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "runs").mkdir()
    (tmp_path / "results" / "runs" / "a.jsonl").write_text("")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "init")
    append_record(tmp_path / "results" / "runs" / "a.jsonl", {"experiment": "a"})
    assert not git_commit(tmp_path).endswith("-dirty")
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_commit(tmp_path).endswith("-dirty")


def test_commit_is_what_the_sender_said_when_set(tmp_path, monkeypatch):
    from repro.environment import git_commit

    monkeypatch.delenv("REPRO_GIT_COMMIT", raising=False)
    assert git_commit(tmp_path) == "unknown"
    monkeypatch.setenv("REPRO_GIT_COMMIT", "abc123-dirty")
    assert git_commit(tmp_path) == "abc123-dirty"


def test_an_error_exactly_at_the_papers_number_is_reproduced():
    # 95 mistakes in 10,000 is 0.95% exactly; torchmetrics' float32 accuracy alone makes it 0.9500027%
    labels = torch.zeros(10_000, dtype=torch.long)
    predictions = labels.clone()
    predictions[:95] = 1
    accuracy = MulticlassAccuracy(10, average="micro")
    accuracy.update(torch.nn.functional.one_hot(predictions, 10).float(), labels)
    assert 100 * (1 - accuracy.compute().item()) > 0.95  # the float32 artefact this guards against
    measured = error_pct(accuracy.compute()).item()
    assert measured == pytest.approx(0.95, abs=1e-12)
    assert load_claims("results/claims.yaml")["lecun1998.lenet5"].verdict(measured) == "reproduced"
