"""Every experiment config, composed as a user runs it and shrunk by debug=smoke, trains, tests
and writes exactly one record that answers its claims."""

import json
import os
import subprocess
import sys

import pytest

from repro.compose import experiment_names
from repro.pipeline import run
from repro.records import read_records
from tests.conftest import FIXTURES, REPO


@pytest.mark.parametrize("name", experiment_names())
def test_experiment_smoke_run_writes_one_record(name, smoke_cfg, tmp_path):
    cfg = smoke_cfg(name)
    record = run(cfg)
    records = read_records(tmp_path / "results" / "runs")
    assert len(records) == 1 and records[0]["experiment"] == record["experiment"] == cfg.experiment_name
    for key in ("seed", "params", "metrics", "claims", "wall_time_s", "samples_per_s", "flops_per_sample_train",
                "hardware", "torch", "git_commit", "config"):
        assert key in records[0], key
    assert records[0]["params"] > 0
    claim_ids = {c["id"] for c in records[0]["claims"]}
    assert claim_ids <= set(cfg.claims)
    # a smoke run is not the committed recipe: an exploration, measured but never judged
    assert records[0]["recipe"] == "exploration" and len(records[0]["recipe_fingerprint"]) == 12
    assert all(c["verdict"] is None for c in records[0]["claims"])


def test_lenet5_record_counts_flops_and_params(smoke_cfg):
    record = run(smoke_cfg("lenet5"))
    assert record["params"] == 60_000
    # C1..F6 multiply-adds, x2 for FLOPs: about 0.68 MFLOP forward per image with dense C3
    assert 0.5e6 < record["flops_per_sample_forward"] < 1.0e6
    assert record["flops_per_sample_train"] > 2 * record["flops_per_sample_forward"]


def _train_cli(*args, data_dir, tmp_path):
    env = dict(os.environ, DATA_DIR=str(data_dir), PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "scripts/train.py", *args, f"paths.results_dir={tmp_path / 'results'}",
                           f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_missing_data_exits_with_one_clear_line(tmp_path):
    result = _train_cli("experiment=lenet5", data_dir=tmp_path / "nowhere", tmp_path=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "MNIST not found" in errors[0] and "nowhere" in errors[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "results" / "runs").exists()


def test_ddp_two_processes_write_exactly_one_record(tmp_path):
    result = _train_cli("experiment=lenet5", "debug=smoke", "trainer=ddp", "trainer.devices=2",
                        data_dir=FIXTURES, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    records = read_records(tmp_path / "results" / "runs")
    assert len(records) == 1 and records[0]["hardware"]["devices"] == 2


def test_multirun_writes_a_record_per_job(tmp_path):
    result = _train_cli("--multirun", "experiment=lenet5_learning_curve", "debug=smoke", "data.per_class=5,10",
                        data_dir=FIXTURES, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    records = read_records(tmp_path / "results" / "runs")
    assert sorted(r["config"]["data"]["per_class"] for r in records) == [5, 10]
    assert all(json.dumps(r) for r in records)
    # the command of each record reruns that job alone
    commands = [r["command"].split() for r in records]
    assert sorted(w for c in commands for w in c if w.startswith("data.per_class=")) == ["data.per_class=10",
                                                                                        "data.per_class=5"]
    assert not any("--multirun" in c for c in commands)


def test_wandb_without_a_key_runs_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc login either
    result = _train_cli("experiment=lenet5", "debug=smoke", "logger=wandb", data_dir=FIXTURES, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(read_records(tmp_path / "results" / "runs")) == 1


def test_alexnet_ddp_two_processes_write_exactly_one_record(tmp_path):
    from repro.compose import smoke_overrides

    result = _train_cli("experiment=alexnet_imagenette", *smoke_overrides("alexnet_imagenette"), "trainer=ddp",
                        "trainer.devices=2", data_dir=FIXTURES, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    records = read_records(tmp_path / "results" / "runs")
    assert len(records) == 1 and records[0]["hardware"]["devices"] == 2
    assert "test/center_error_pct" in records[0]["metrics"] and "test/top5_error_pct" in records[0]["metrics"]


def test_alexnet_decoding_on_the_device_with_worker_processes(smoke_cfg, tmp_path):
    """data.decode_on_device through Lightning's hooks, with workers handing JPEG bytes across processes."""
    record = run(smoke_cfg("alexnet_imagenette", "data.decode_on_device=true", "data.num_workers=2"))
    assert record["config"]["data"]["decode_on_device"] is True
    assert "test/center_error_pct" in record["metrics"]
    assert len(read_records(tmp_path / "results" / "runs")) == 1
