"""A record's recipe identity: the fingerprint leaves out only what cannot change the maths, an
override makes an exploration that never moves a verdict, and one run writes one record."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from repro.claims import load_claims
from repro.recipe import differences, fingerprint, is_recipe_key
from repro.records import read_records
from repro.report.build import build_report
from tests.conftest import FIXTURES, REPO

CONFIG = {"seed": 0, "paths": {"data_dir": "/a"}, "data": {"batch_size": 128, "num_workers": 4, "seed": 0},
          "model": {"optimizer": {"lr": 0.003, "fused": True}, "channels_last": True},
          "trainer": {"max_epochs": 15, "accelerator": "cpu", "devices": 1, "precision": "32-true",
                      "enable_progress_bar": True},
          "callbacks": {"progress": {"_target_": "lightning.pytorch.callbacks.TQDMProgressBar"},
                        "averaging": {"_target_": "repro.averaging.AverageLastCheckpoints", "every": 50}},
          "claims": ["x"], "report": {"section": "s"}, "time_to_target": None}


def changed(**edits) -> dict:
    """CONFIG with dotted keys replaced."""
    import copy

    out = copy.deepcopy(CONFIG)
    for dotted, value in edits.items():
        node = out
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return out


def test_bookkeeping_placement_and_metadata_leave_the_fingerprint_alone():
    same = [changed(seed=3), changed(paths__data_dir="/b"), changed(data__num_workers=0),
            changed(trainer__accelerator="gpu", trainer__precision="bf16-mixed"), changed(model__channels_last=False),
            changed(trainer__enable_progress_bar=False), changed(callbacks__progress__refresh_rate=5),
            changed(claims=[]), changed(report={"section": "t"}), changed(model__optimizer__fused=False)]
    assert {fingerprint(c) for c in same} == {fingerprint(CONFIG)}


def test_the_recipe_changes_the_fingerprint():
    other = [changed(trainer__max_epochs=1), changed(model__optimizer__lr=1e6), changed(data__subset=512),
             changed(callbacks__averaging__every=10), changed(time_to_target={"metric": "m", "target": 1, "stop": True})]
    assert len({fingerprint(c) for c in [CONFIG, *other]}) == 1 + len(other)
    assert differences(other[0], CONFIG) == {"trainer.max_epochs": 1}


def test_more_processes_keep_the_recipe_only_with_the_same_global_batch():
    assert fingerprint(changed(data__batch_size=32), world_size=4) == fingerprint(CONFIG)
    assert fingerprint(CONFIG, world_size=4) != fingerprint(CONFIG)


def test_an_unset_switch_matches_a_record_written_before_it_existed():
    assert fingerprint(CONFIG) == fingerprint({k: v for k, v in CONFIG.items() if k != "time_to_target"})
    assert not is_recipe_key("trainer.devices") and is_recipe_key("trainer.max_epochs")


def _train(*args, results):
    env = dict(os.environ, DATA_DIR=str(FIXTURES), PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "scripts/train.py", *args, f"paths.results_dir={results}",
                           "trainer.enable_progress_bar=false"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


def _judged_rows(text: str, claim_id: str) -> list[str]:
    claims = text.split("## Claims")[1].split("## Explorations")[0]
    return [line for line in claims.splitlines() if line.startswith(f"| `{claim_id}` |")]


def test_an_override_is_an_exploration_and_leaves_every_lenet5_verdict_unchanged(tmp_path):
    """make reproduce-lenet5 ARGS="trainer.max_epochs=1", then make report, on a copy of the committed records."""
    results = tmp_path / "results"
    results.mkdir()
    shutil.copytree(REPO / "results" / "runs", results / "runs")
    claims = load_claims(REPO / "results" / "claims.yaml")
    before = build_report(claims, read_records(results / "runs"), tmp_path / "before").read_text()
    done = _train("experiment=lenet5", "trainer.max_epochs=1", f"hydra.run.dir={tmp_path / 'run'}", results=results)
    assert done.returncode == 0, done.stderr[-2000:]
    [summary] = [line for line in done.stdout.splitlines() if "an exploration (overrides:" in line]
    assert "trainer.max_epochs=1" in summary and "no verdict" in done.stdout
    records = read_records(results / "runs")
    new = records[-1]
    assert new["recipe"] == "exploration" and "trainer.max_epochs=1" in new["overrides"]
    after = build_report(claims, records, tmp_path / "after").read_text()
    assert _judged_rows(after, "lecun1998.lenet5") == _judged_rows(before, "lecun1998.lenet5")
    explored = after.split("## Explorations")[1].split("## Time beside")[0]
    assert any(line.startswith("| lenet5 | trainer.max_epochs=1 |") for line in explored.splitlines()), explored


def test_a_run_resumed_after_a_crash_writes_one_record_and_a_finished_run_none(tmp_path):
    shrunk = ["experiment=lenet5", "debug=smoke", "callbacks=default", "trainer.limit_train_batches=null",
              "trainer.max_epochs=2", "data.batch_size=32", "callbacks.checkpoint_steps.every_n_train_steps=2",
              f"paths.runs_root={tmp_path / 'runs'}"]
    results = tmp_path / "results"
    crashed = _train(*shrunk, "+callbacks.crash._target_=repro.callbacks.CrashAtStep", "+callbacks.crash.step=9",
                     f"hydra.run.dir={tmp_path / 'runs' / 'crashed'}", results=results)
    assert crashed.returncode == -9 and not (results / "runs").exists()
    resumed = _train(*shrunk, "resume=true", f"hydra.run.dir={tmp_path / 'runs' / 'resumed'}", results=results)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    [record] = read_records(results / "runs")
    assert record["resumed_from"].endswith("crashed/checkpoints/last.ckpt")
    assert 0 < record["wall_time_before_resume_s"] < record["wall_time_s"]  # the clock covers both parts
    again = _train(*shrunk, "resume=true", f"hydra.run.dir={tmp_path / 'runs' / 'again'}", results=results)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "finished and wrote its record already" in again.stdout
    assert len(read_records(results / "runs")) == 1


def test_wandb_runs_carry_the_recipe_status_fingerprint_and_hardware():
    from types import SimpleNamespace

    from repro.pipeline import _tag_wandb_runs

    class WandbLogger:  # stands in for Lightning's, by name as the pipeline checks
        def __init__(self):
            self.experiment = SimpleNamespace(tags=("mine",), config=SimpleNamespace(update=self.update))
            self.config = {}

        def update(self, values, allow_val_change=False):
            self.config.update(values)

    logger = WandbLogger()
    trainer = SimpleNamespace(is_global_zero=True, strategy=SimpleNamespace(root_device=SimpleNamespace(type="cpu")),
                              num_devices=1, num_nodes=1)
    recipe = {"recipe": "paper", "recipe_fingerprint": "0123456789ab", "overrides": []}
    _tag_wandb_runs([logger], recipe, trainer)
    assert logger.config["recipe"] == "paper" and logger.config["recipe_fingerprint"] == "0123456789ab"
    assert logger.experiment.tags[:3] == ("mine", "paper", "recipe-0123456789ab") and "cores" in logger.config["hardware"]
