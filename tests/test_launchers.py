"""Sweeps through Hydra's submitit launcher: each job in its own process, each writes its record."""

from __future__ import annotations

import os
import subprocess

import pytest

from repro.compose import CONFIG_DIR
from repro.records import read_records
from tests.conftest import FIXTURES, REPO


def test_launcher_configs_compose():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        slurm = compose("train", ["hydra/launcher=slurm"], return_hydra_config=True).hydra.launcher
        local = compose("train", ["hydra/launcher=local"], return_hydra_config=True).hydra.launcher
    assert slurm._target_.endswith("SlurmLauncher") and local._target_.endswith("LocalLauncher")
    assert slurm.additional_parameters.signal == f"USR1@{slurm.signal_delay_s}"  # Lightning's requeue signal
    assert {"partition", "timeout_min", "gpus_per_node", "signal_delay_s"} <= set(slurm)


@pytest.mark.slow
def test_make_reproduce_with_the_local_launcher_writes_a_record_per_seed(tmp_path):
    """`make reproduce-perceptron SEEDS=2 ARGS="hydra/launcher=local"`: both seeds through submitit."""
    args = (f"hydra/launcher=local debug=smoke paths.results_dir={tmp_path / 'results'} "
            f"hydra.sweep.dir={tmp_path / 'sweep'}")
    result = subprocess.run(["make", "reproduce-perceptron", "SEEDS=2", f"ARGS={args}"], cwd=REPO, capture_output=True,
                            text=True, timeout=900, env=dict(os.environ, DATA_DIR=str(FIXTURES), PYTHONWARNINGS="ignore"))
    assert result.returncode == 0, result.stderr[-3000:]
    records = read_records(tmp_path / "results" / "runs")
    assert sorted(r["seed"] for r in records) == [0, 1]
    assert len(list((tmp_path / "sweep" / ".submitit").iterdir())) >= 2  # the jobs went through submitit
    # each record's command reruns its own job, not submitit's script
    assert all(r["command"].startswith("python scripts/train.py ") and f"seed={r['seed']}" in r["command"].split()
               and "_submit.py" not in r["command"] for r in records)
