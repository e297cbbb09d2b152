"""Hydra's own flags, in their documented forms, pass the suite's pre-check and do what Hydra documents."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES
from tests.train_cli import train_cli

FIXTURE_DATA = {"DATA_DIR": str(FIXTURES)}


def _ok(result):
    assert result.status == 0, result.stderr[-2000:]
    assert "error:" not in result.stderr
    return result.stdout


@pytest.mark.parametrize("argv", [["--cfg", "job"], ["-c", "job"], ["--cfg", "all"], ["-c", "hydra"]])
def test_cfg_prints_the_config(tmp_path, argv):
    out = _ok(train_cli(tmp_path, "experiment=lenet5", *argv))
    assert ("experiment_name: lenet5" in out) == (argv[1] != "hydra")
    assert ("launcher:" in out) == (argv[1] != "job")


def test_resolve_prints_resolved_values(tmp_path):
    out = _ok(train_cli(tmp_path, "--resolve", "--cfg", "job", "experiment=lenet5"))
    assert "max_lr: 0.003" in out  # ${model.optimizer.lr}, resolved


@pytest.mark.parametrize("flag", ["--package", "-p"])
def test_package_prints_one_node(tmp_path, flag):
    out = _ok(train_cli(tmp_path, "experiment=lenet5", flag, "model.optimizer", "-c", "job"))
    assert "lr: 0.003" in out and "experiment_name" not in out


@pytest.mark.parametrize("argv, expected", [(["experiment=lenet5", "--info"], "Config search path"),
                                            (["experiment=lenet5", "--info", "defaults"], "Defaults List"),
                                            (["experiment=lenet5", "--help"], "Powered by Hydra"),
                                            (["--hydra-help"], "Hydra (")])  # Hydra's own help takes no overrides
def test_info_and_help(tmp_path, argv, expected):
    assert expected in _ok(train_cli(tmp_path, *argv, places=False))


@pytest.mark.parametrize("flag", ["--multirun", "-m"])
def test_multirun_runs_every_job(tmp_path, flag):
    result = train_cli(tmp_path, flag, "experiment=perceptron_xor", "debug=smoke", "seed=0,1", env=FIXTURE_DATA)
    _ok(result)
    assert sorted(r["seed"] for r in result.records) == [0, 1]


def test_config_dir_adds_experiments(tmp_path):
    mine = tmp_path / "mine" / "experiment"
    mine.mkdir(parents=True)
    (mine / "xor_mine.yaml").write_text("# @package _global_\ndefaults:\n  - perceptron_xor\nexperiment_name: xor_mine\n")
    out = _ok(train_cli(tmp_path, "--config-dir", str(tmp_path / "mine"), "experiment=xor_mine", "--cfg", "job"))
    assert "experiment_name: xor_mine" in out and "kind: xor" in out


def test_config_name_picks_another_primary_config(tmp_path):
    configs = tmp_path / "mine"
    configs.mkdir()
    (configs / "mytrain.yaml").write_text("defaults:\n  - train\n  - _self_\nseed: 5\n")
    out = _ok(train_cli(tmp_path, "--config-dir", str(configs), "--config-name", "mytrain", "experiment=lenet5",
                        "--cfg", "job"))
    assert "seed: 5" in out and "experiment_name: lenet5" in out


def test_a_misspelt_flag_is_one_line(tmp_path):
    result = train_cli(tmp_path, "experiment=lenet5", "--cfgg", "job")
    assert result.status == 2
    assert "unrecognized arguments: --cfgg" in result.one_error_line()


def test_overrides_may_follow_the_flags(tmp_path):
    out = _ok(train_cli(tmp_path, "experiment=lenet5", "--cfg", "job", "seed=7", "--resolve", "trainer.max_epochs=2"))
    assert "seed: 7" in out and "max_epochs: 2" in out
