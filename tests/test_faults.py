"""Faults a new user meets, through scripts/train.py's main(): each ends in one line, the documented exit status
(2 for bad input, 143 / 130 for SIGTERM / SIGINT) and no record; W&B trouble never stops a run."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from repro.errors import UserError, brief
from repro.outputs import AtomicCheckpointIO
from repro.records import append_record, read_records
from repro.run_dirs import run_id
from tests.conftest import FIXTURES, REPO
from tests.train_cli import train_cli

FIXTURE_DATA = {"DATA_DIR": str(FIXTURES)}
SMALL = ["debug=smoke", "trainer.enable_progress_bar=false"]


# ---- bad values: one line, exit 2, no record ---------------------------------------------------

@pytest.mark.parametrize("override, named", [("seed=abc", "seed='abc'"), ("model.optimizer.lr=-1", "model.optimizer.lr=-1"),
                                             ("seed=99999999999", "seed=99999999999")])
def test_bad_value_ends_in_one_line(tmp_path, override, named):
    result = train_cli(tmp_path, "experiment=lenet5", *SMALL, override, env=FIXTURE_DATA)
    assert result.status == 2
    assert named in result.one_error_line()
    assert not result.records


@pytest.mark.parametrize("experiment, override, words", [
    ("transformer", "model.net.heads=3", ["models.nets.transformer.Transformer", "not divisible"]),
    ("lenet5", "trainer.devices=abc", ["lightning.pytorch.Trainer"]),
    ("lenet5", "model.scheduler_interval=weekly", ['"step" or "epoch"']),
    ("perceptron_xor", "data.kind=zzz", ["datamodules.toy.ToyDataModule", "'xor' or 'separable'"]),
])
def test_a_value_a_library_refuses_names_the_key_and_the_library(tmp_path, experiment, override, words):
    """Values of the right type that a constructor or Lightning refuses, at any point of the run."""
    result = train_cli(tmp_path, f"experiment={experiment}", *SMALL, override, env=FIXTURE_DATA)
    assert result.status == 2
    line = result.one_error_line()
    assert override.replace("=", "='") in line or override in line
    assert all(word in line for word in words), line
    assert not result.records


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    from models.nets.lenet import LeNet5

    def broken(self, x):
        raise RuntimeError("a bug in the suite")

    monkeypatch.setattr(LeNet5, "forward", broken)
    for extra in ([], ["seed=3"]):  # with or without an override on the command line
        result = train_cli(tmp_path, "experiment=lenet5", *SMALL, *extra, env=FIXTURE_DATA)
        assert result.status == 1
        assert "Traceback" in result.stderr and "a bug in the suite" in result.stderr
        assert not result.records


# ---- damaged data ------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["magic", "random"])
def test_damaged_mnist_ends_in_one_line(tmp_path, damage):
    raw = tmp_path / "data" / "MNIST" / "raw"
    shutil.copytree(FIXTURES / "MNIST" / "raw", raw)
    images = raw / "train-images-idx3-ubyte"
    data = bytearray(images.read_bytes())
    if damage == "magic":
        data[:4] = b"\x00\x00\x09\x99"
    else:
        data = bytearray(os.urandom(len(data)))
    images.write_bytes(bytes(data))
    result = train_cli(tmp_path, "experiment=lenet5", *SMALL, env={"DATA_DIR": str(tmp_path / "data")})
    assert result.status == 2
    assert "damaged or truncated" in result.one_error_line()
    assert not result.records


def test_corrupt_jpeg_read_in_a_worker_is_one_line(tmp_path):
    tree = tmp_path / "imagenette"
    shutil.copytree(FIXTURES / "imagenette", tree)
    for jpeg in (tree / "train").rglob("*.JPEG"):
        jpeg.write_bytes(b"\xff\xd8 not a JPEG")
    result = train_cli(tmp_path, "experiment=alexnet_imagenette", *SMALL, f"data.data_dir={tree}", "data.num_workers=1",
                       "data.resize_cache=false", "data.batch_size=2", "data.eval_batch_size=2", env=FIXTURE_DATA)
    assert result.status == 2
    line = result.one_error_line()
    assert "cannot decode" in line and "DataLoader worker" not in line and "Original Traceback" not in line


def test_offline_without_data_names_the_folder_and_the_variable(tmp_path):
    empty = tmp_path / "nothing-here"
    result = train_cli(tmp_path, "experiment=lenet5", *SMALL, env={"DATA_DIR": str(empty)})  # offline: tests/conftest.py
    assert result.status == 2
    line = result.one_error_line()
    assert str(empty / "MNIST" / "raw") in line and "DATA_DIR" in line and "download failed" in line
    assert not result.records


def test_data_dir_defaults_to_a_folder_in_the_project(monkeypatch):
    from repro.compose import compose_experiment

    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.delenv("MILESTONES_ROOT", raising=False)
    cfg = compose_experiment("lenet5", "unused")
    assert cfg.paths.data_dir == "./data" and cfg.data.download is True
    assert "shared/data" not in (REPO / "Makefile").read_text()  # only CI points at ../shared/data, explicitly
    assert 'export DATA_DIR="$(cd .. && pwd)/shared/data"' in (REPO / ".ci" / "run").read_text()


# ---- places to write ---------------------------------------------------------------------------

def test_results_path_that_is_a_file(tmp_path):
    taken = tmp_path / "results"
    taken.write_text("not a folder\n")
    result = train_cli(tmp_path, "experiment=perceptron_xor", *SMALL, f"paths.results_dir={taken}")
    assert result.status == 2
    assert "paths.results_dir" in result.one_error_line() and "is a file" in result.one_error_line()
    assert taken.read_text() == "not a folder\n"


def test_results_path_not_writable(tmp_path):
    result = train_cli(tmp_path, "experiment=perceptron_xor", *SMALL, "paths.results_dir=/sys/milestones/results")
    assert result.status == 2
    assert "paths.results_dir" in result.one_error_line()


def test_full_disk_while_writing_the_record(tmp_path):
    records = tmp_path / "results" / "runs"
    records.mkdir(parents=True)
    (records / "perceptron_xor.jsonl").symlink_to("/dev/full")  # every write: ENOSPC
    result = train_cli(tmp_path, "experiment=perceptron_xor", *SMALL)
    assert result.status == 2
    assert "no space left" in result.one_error_line().lower()


class _FileSizeLimit:
    """Writes past `limit` bytes fail with EFBIG (RLIMIT_FSIZE), as writes to a full disk fail with ENOSPC."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __enter__(self):
        self.old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
        self.old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit, self.old_limit[1]))

    def __exit__(self, *exc):
        resource.setrlimit(resource.RLIMIT_FSIZE, self.old_limit)
        signal.signal(signal.SIGXFSZ, self.old_handler)


def test_a_record_cut_short_leaves_the_records_file_as_it_was(tmp_path):
    path = tmp_path / "runs.jsonl"
    for seed in (0, 1):
        append_record(path, {"experiment": "x", "seed": seed})
    before = path.read_bytes()
    with _FileSizeLimit(len(before) + 100), pytest.raises(UserError, match="cannot write the record"):
        append_record(path, {"experiment": "x", "seed": 2, "padding": "y" * 10_000})  # 100 bytes fit, the rest not
    assert path.read_bytes() == before
    assert [r["seed"] for r in read_records(path)] == [0, 1]


def test_a_checkpoint_cut_short_leaves_the_last_one_whole(tmp_path):
    path = tmp_path / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.zeros(10)}}, path)
    before = path.read_bytes()
    with _FileSizeLimit(len(before) + 1000), pytest.raises(UserError, match="previous checkpoint is intact"):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(100_000)}}, path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no partial file left behind


def test_full_disk_while_writing_a_checkpoint_ends_in_one_line(tmp_path):
    with _FileSizeLimit(150_000):  # LeNet-5's checkpoint (weights + Adam state) is ~0.8 MB; logs stay smaller
        result = train_cli(tmp_path, "experiment=lenet5", *SMALL, "callbacks=default", env=FIXTURE_DATA)
    assert result.status == 2
    assert "cannot write checkpoint" in result.one_error_line()
    assert not result.records


# ---- signals -----------------------------------------------------------------------------------

# LeNet-5 on 200 images in batches of 32: 7 steps an epoch, 2 epochs, stopped at step 10 (in epoch 2)
STOPPABLE = ["experiment=lenet5", *SMALL, "callbacks=default", "trainer.limit_train_batches=null",
             "trainer.max_epochs=2", "data.batch_size=32", "callbacks.progress.refresh_rate=0"]


def _stop_at(step: int, name: str) -> list[str]:
    return ["+callbacks.stop._target_=repro.callbacks.CrashAtStep", f"+callbacks.stop.step={step}",
            f"+callbacks.stop.signal={name}"]


def test_sigterm_saves_a_checkpoint_writes_no_record_and_resume_finishes(tmp_path):
    whole = train_cli(tmp_path / "a", *STOPPABLE, env=FIXTURE_DATA)
    assert whole.status == 0, whole.stderr[-2000:]

    runs = tmp_path / "b" / "outputs"
    stopped = train_cli(tmp_path / "b", *STOPPABLE, *_stop_at(10, "SIGTERM"), f"hydra.run.dir={runs / 'first'}",
                        env=FIXTURE_DATA)
    assert stopped.status == 143
    assert stopped.stderr.strip().splitlines()[-1].startswith("stopped by SIGTERM: no record written")
    assert not stopped.records
    checkpoint = runs / "first" / "checkpoints" / "last.ckpt"
    assert torch.load(checkpoint, weights_only=True)["global_step"] == 10

    resumed = train_cli(tmp_path / "b", *STOPPABLE, "resume=true", f"hydra.run.dir={runs / 'second'}", env=FIXTURE_DATA)
    assert resumed.status == 0, resumed.stderr[-2000:]
    [record] = resumed.records
    [expected] = whole.records
    assert record["resumed_from"] == str(checkpoint)
    for key in ("test/error_pct", "test/loss"):
        assert record["metrics"][key] == pytest.approx(expected["metrics"][key], abs=1e-6), key


def test_sigint_stops_the_same_way_with_status_130(tmp_path):
    stopped = train_cli(tmp_path, *STOPPABLE, *_stop_at(3, "SIGINT"), env=FIXTURE_DATA)
    assert stopped.status == 130
    assert "stopped by SIGINT" in stopped.stderr and "Traceback" not in stopped.stderr
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    assert not stopped.records


def test_sigterm_before_training_stops_at_once(tmp_path, monkeypatch):
    from datamodules.mnist import MNISTDataModule

    def prepare_and_get_stopped(self):
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(MNISTDataModule, "prepare_data", prepare_and_get_stopped)
    stopped = train_cli(tmp_path, *STOPPABLE, env=FIXTURE_DATA)
    assert stopped.status == 143
    assert "stopped by SIGTERM: no record written, no checkpoint saved" in stopped.stderr
    assert not list(tmp_path.rglob("*.ckpt")) and not stopped.records


# ---- W&B ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["0123456789abcdef0123456789abcdef01234567", "rejected"])
def test_wandb_unreachable_or_key_rejected_goes_offline(tmp_path, key):
    env = {"WANDB_API_KEY": key, "WANDB_BASE_URL": "http://127.0.0.1:9", "WANDB_MODE": "", "HOME": str(tmp_path),
           "WANDB_SILENT": "true", **FIXTURE_DATA}
    started = time.perf_counter()
    result = train_cli(tmp_path, "experiment=perceptron_xor", *SMALL, "logger=wandb", "logger.wandb.init_timeout=1",
                       env=env)
    assert time.perf_counter() - started < 60
    assert result.status == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "wandb sync" in warnings[0]
    assert list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(result.records) == 1


# ---- run folders -------------------------------------------------------------------------------

def test_runs_started_together_get_their_own_folders(monkeypatch):
    names = set()
    for pid in (101, 102, 103, 104):  # four processes in the same second
        monkeypatch.setattr(os, "getpid", lambda pid=pid: pid)
        names.add(run_id())
    assert len(names) == 4
    monkeypatch.setenv("SLURM_JOB_ID", "777")
    monkeypatch.setenv("SLURM_STEP_ID", "0")
    assert run_id() == "slurm-777.0"  # every task of the job, and the job again after a requeue
    assert run_id("sweep") != "slurm-777.0"


# ---- the error path itself ---------------------------------------------------------------------

def test_brief_handles_any_message():
    assert brief(AssertionError()) == "AssertionError"
    assert brief(ValueError("  \n ")) == "ValueError"
    assert brief(RuntimeError("first\n  second\n")) == "first second"
    assert brief(KeyError("missing")) == "missing"
    assert len(brief(ValueError("x" * 1000))) == 300
    wrapped = UserError("Caught UserError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
                        '  File "a.py", line 1, in f\n    g()\nrepro.errors.UserError: cannot decode x.JPEG (bad): remove it\n')
    assert brief(wrapped) == "cannot decode x.JPEG (bad): remove it"


def test_one_line_never_raises():
    from repro.cli import one_line

    assert one_line(UserError("")) == "UserError"
    assert one_line(OSError(errno.ENOSPC, "No space left on device", "/r/runs.jsonl")).startswith("cannot write /r/runs")
    assert one_line(ValueError("x"), cfg=object(), overrides=["not an override ("]) is None  # broken input: no crash


@pytest.mark.slow
def test_sigterm_from_outside_ends_a_real_process_with_143_and_resume_completes(tmp_path):
    """The done-when check as a scheduler sees it: a separate process, SIGTERM from outside, then resume=true."""
    env = dict(os.environ, DATA_DIR=str(FIXTURES), PYTHONWARNINGS="ignore")
    runs = tmp_path / "outputs"
    common = [*STOPPABLE, "trainer.max_epochs=60", f"paths.results_dir={tmp_path / 'results'}", f"paths.runs_root={runs}"]
    process = subprocess.Popen([sys.executable, "scripts/train.py", *common, f"hydra.run.dir={runs / 'first'}"],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = runs / "first" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 240
    while not checkpoint.exists() and process.poll() is None and time.time() < deadline:  # epoch 1 done
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 143, stderr[-2000:]
    assert "stopped by SIGTERM" in stderr and checkpoint.is_file()
    assert 7 <= torch.load(checkpoint, weights_only=True)["global_step"] < 60 * 7  # stopped in training
    assert not (tmp_path / "results" / "runs").exists()
    resumed = subprocess.run([sys.executable, "scripts/train.py", *common, "resume=true", f"hydra.run.dir={runs / 'second'}"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    [record] = read_records(tmp_path / "results" / "runs")
    assert record["resumed_from"] == str(checkpoint) and record["metrics"]["epochs"] == 60


@pytest.mark.slow
def test_four_runs_started_together_write_four_folders_and_four_records(tmp_path):
    """The measured case: `experiment=perceptron_xor seed=1..4` started at once, as four processes."""
    env = dict(os.environ, DATA_DIR=str(FIXTURES), PYTHONWARNINGS="ignore")
    runs = [subprocess.Popen([sys.executable, str(REPO / "scripts" / "train.py"), "experiment=perceptron_xor",
                              f"seed={seed}", f"paths.results_dir={tmp_path / 'results'}",
                              f"paths.claims_file={REPO / 'results' / 'claims.yaml'}"], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for seed in (1, 2, 3, 4)]
    for process in runs:
        assert process.wait(timeout=600) == 0, process.stderr.read()[-2000:]
    folders = list((tmp_path / "outputs" / "perceptron_xor").iterdir())
    assert len(folders) == 4
    assert sorted(r["seed"] for r in read_records(tmp_path / "results" / "runs")) == [1, 2, 3, 4]
