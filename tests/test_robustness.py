"""Runs that survive: resume after SIGKILL, determinism, divergence, secrets, and bad input."""

import os
import subprocess
import sys

import pytest
import torch

from repro.cli import check_overrides, one_line
from repro.errors import UserError
from repro.pipeline import run
from repro.records import read_records
from tests.conftest import FIXTURES, REPO

# LeNet-5 with distortions (so the RNG stream matters): 200 images, batches of 32 = 7 steps an
# epoch, 3 epochs, a checkpoint every 2 steps.
RESUMABLE = ["experiment=lenet5_distortions", "debug=smoke", "callbacks=default", "trainer.limit_train_batches=null",
             "trainer.limit_test_batches=null", "trainer.max_epochs=3", "data.batch_size=32",
             "callbacks.checkpoint_steps.every_n_train_steps=2", "trainer.enable_progress_bar=false"]


def train(*args, tmp_path, run_dir, env=None):
    env = dict(os.environ, DATA_DIR=str(FIXTURES), PYTHONWARNINGS="ignore", **(env or {}))
    return subprocess.run([sys.executable, "scripts/train.py", *args, f"paths.results_dir={tmp_path / 'results'}",
                           f"paths.runs_root={tmp_path / 'runs'}", f"hydra.run.dir={tmp_path / 'runs' / run_dir}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path):
    whole = train(*RESUMABLE, tmp_path=tmp_path / "a", run_dir="whole")
    assert whole.returncode == 0, whole.stderr[-2000:]

    crashed = train(*RESUMABLE, "+callbacks.crash._target_=repro.callbacks.CrashAtStep", "+callbacks.crash.step=10",
                    tmp_path=tmp_path / "b", run_dir="crashed")
    assert crashed.returncode == -9  # SIGKILL, mid epoch 2
    assert not (tmp_path / "b" / "results" / "runs").exists()
    assert (tmp_path / "b" / "runs" / "crashed" / "checkpoints" / "last.ckpt").exists()

    resumed = train(*RESUMABLE, "resume=true", tmp_path=tmp_path / "b", run_dir="resumed")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    [expected] = read_records(tmp_path / "a" / "results" / "runs")
    [got] = read_records(tmp_path / "b" / "results" / "runs")
    assert got["resumed_from"].endswith("crashed/checkpoints/last.ckpt")
    for key in ("test/error_pct", "test/loss"):
        assert got["metrics"][key] == pytest.approx(expected["metrics"][key], abs=1e-6), key


def test_checkpoints_load_with_weights_only(tmp_path):
    result = train(*RESUMABLE, "trainer.max_epochs=1", tmp_path=tmp_path, run_dir="one")
    assert result.returncode == 0, result.stderr[-2000:]
    checkpoint = torch.load(tmp_path / "runs" / "one" / "checkpoints" / "last.ckpt", weights_only=True)
    assert "state_dict" in checkpoint and "loops" in checkpoint


def test_same_seed_same_metrics(smoke_cfg):
    first = run(smoke_cfg("lenet5_distortions", "seed=7"))["metrics"]
    second = run(smoke_cfg("lenet5_distortions", "seed=7"))["metrics"]
    other = run(smoke_cfg("lenet5_distortions", "seed=8"))["metrics"]
    assert first == second
    assert first != other


def test_divergence_stops_with_one_line_and_no_record(smoke_cfg, tmp_path):
    cfg = smoke_cfg("lenet5_modern", "model.optimizer.lr=1e6", "trainer.limit_train_batches=20",
                    "callbacks.divergence.check_every_n_steps=1")
    with pytest.raises(UserError, match="diverged at step"):
        run(cfg)
    assert not (tmp_path / "results" / "runs").exists()


def test_no_api_key_in_any_output(tmp_path):
    marker = "MARKER0123456789abcdef0123456789abcdef01"
    result = train("experiment=lenet5", "debug=smoke", "logger=wandb", "callbacks=default", tmp_path=tmp_path,
                   run_dir="wb", env={"WANDB_API_KEY": marker, "WANDB_MODE": "offline"})
    assert result.returncode == 0, result.stderr[-2000:]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".ckpt" for p in written) and any(p.name == "lenet5.jsonl" for p in written)
    leaking = [p for p in written if marker.encode() in p.read_bytes()]
    assert not leaking, leaking


# ---- bad input: each case ends in one line that says what to do --------------------------------

@pytest.mark.parametrize("argv, expected", [
    (["experiment=lenet6"], "unknown experiment 'lenet6'"),
    (["experiment=lenet5", "trainer.max_epoch=3"], "no config key 'trainer.max_epoch'"),
    (["experiment=lenet5", "model.optimizr.lr=1"], "no config key"),
    (["experiment=lenet5", "trainer=tpu"], "Could not find 'trainer/tpu'. Available options in 'trainer': cpu ddp gpu"),
    (["experiment=lenet5", "logger=mlflow"], "Could not find 'logger/mlflow'"),
    (["experiment=lenet5", "data.batch_size=[1"], "cannot parse the overrides"),
    (["--multirun", "experiment=lenet5", "seed=0,1", "trainer.max_epochz=1,2"], "no config key"),
])
def test_bad_command_lines(argv, expected):
    with pytest.raises(UserError, match=expected.replace("[", r"\[")):
        check_overrides(argv)


def test_good_command_lines_pass():
    check_overrides(["experiment=lenet5", "trainer.max_epochs=3", "+trainer.fast_dev_run=true"])
    check_overrides(["--multirun", "experiment=lenet5_learning_curve", "data.per_class=10,100", "hydra.job.chdir=false"])


def _message(cfg, overrides=()) -> str:
    with pytest.raises(Exception) as caught:
        run(cfg)
    message = one_line(caught.value, cfg, list(overrides))
    assert message is not None, f"{caught.value!r} would print a traceback"
    assert "\n" not in message
    return message


@pytest.mark.parametrize("overrides, expected", [
    (["trainer.max_epochs=abc"], "trainer.max_epochs='abc' must be a whole number"),
    (["trainer.limit_train_batches=-1"], "trainer.limit_train_batches=-1"),
    (["data.batch_size=abc"], "data.batch_size='abc' must be a whole number"),
    (["data.batch_size=0"], "data.batch_size=0"),
    (["data.per_class=100"], "smallest class has"),
    (["data.normalize=zscore"], "data.normalize='zscore' is not known"),
    (["trainer.accelerator=gpu"], "trainer.accelerator"),
    (["trainer=ddp", "trainer.devices=0"], "devices"),
    (["ckpt_path=/nowhere/last.ckpt"], "ckpt_path=/nowhere/last.ckpt does not exist"),
    (["resume=true"], "no checkpoint of lenet5"),
    (["model.loss=hinge"], "model.loss='hinge'"),
])
def test_bad_values_end_in_one_line(smoke_cfg, tmp_path, overrides, expected):
    message = _message(smoke_cfg("lenet5", f"paths.runs_root={tmp_path / 'none'}", *overrides), overrides)
    assert expected in message
    assert not (tmp_path / "results" / "runs").exists()


def test_damaged_mnist_file_is_named(smoke_cfg, tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (FIXTURES / "MNIST" / "raw").iterdir():
        data = f.read_bytes()
        (raw / f.name).write_bytes(data[: len(data) // 2] if "train-images" in f.name else data)
    message = _message(smoke_cfg("lenet5", f"paths.data_dir={tmp_path / 'data'}"))
    assert "damaged or truncated" in message and "replace them" in message


def test_broken_claims_file_is_named(smoke_cfg, tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_text("lecun1998.lenet5: [unclosed\n")
    assert "not valid YAML" in _message(smoke_cfg("lenet5", f"paths.claims_file={claims}"))


def test_report_refuses_a_records_file_that_is_not_json_lines(tmp_path):
    records = tmp_path / "runs.jsonl"
    records.write_text("experiment,seed\nlenet5,0\n")
    result = subprocess.run([sys.executable, "scripts/report.py", "--records", str(records), "--out", str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "REPORT.md").exists()


def test_unknown_experiment_end_to_end_is_one_line(tmp_path):
    result = train("experiment=alexnett", tmp_path=tmp_path, run_dir="x")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip().splitlines()[0]]
    assert "unknown experiment 'alexnett'" in result.stderr and "Traceback" not in result.stderr


def test_resumed_run_continues_the_wandb_run_id_from_the_checkpoint(tmp_path, smoke_cfg):
    from repro.pipeline import _continue_wandb_run

    checkpoint = tmp_path / "last.ckpt"
    torch.save({"wandb_run_id": "abc123", "state_dict": {}}, checkpoint)
    loggers = _continue_wandb_run(smoke_cfg("lenet5", "logger=wandb"), str(checkpoint))
    assert loggers.wandb.id == "abc123" and loggers.wandb.resume == "allow"
    assert "id" not in _continue_wandb_run(smoke_cfg("lenet5", "logger=wandb"), None).wandb


def test_smoke_script_stops_once_on_a_bad_override():
    result = subprocess.run([sys.executable, "scripts/smoke.py", "trainer=nope"], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: In 'train': Could not find 'trainer/nope'. "
                                                  "Available options in 'trainer': cpu ddp gpu"]
    assert "smoke lenet5" not in result.stdout  # no experiment ran
