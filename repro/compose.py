"""Composing experiment configs outside a Hydra app (smoke runs, tests, benchmarks, the report), so they
run exactly the configs a user runs, shrunk by overrides."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def experiment_names() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


@contextmanager
def _hydra() -> Iterator[None]:
    """Inside a running Hydra app (scripts/train.py) its own initialisation serves; elsewhere make one."""
    if GlobalHydra.instance().is_initialized():
        yield
        return
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        yield


def compose_experiment(name: str, output_dir: str | Path, overrides: list[str] = (), *,
                       with_hydra: bool = False) -> DictConfig:
    """The resolved-ready config of `experiment=name`; `paths.output_dir` replaces Hydra's run dir.
    `with_hydra=True` keeps the `hydra` node (the experiment's declared sweep lives there)."""
    with _hydra():
        return compose("train", overrides=[f"experiment={name}", f"paths.output_dir={output_dir}", *overrides],
                       return_hydra_config=with_hydra)


def smoke_overrides(name: str) -> list[str]:
    """debug=smoke and what the experiment's own `smoke:` list adds (configs/experiment/NAME.yaml)."""
    from repro.experiments import load_experiment  # the registry composes through this module

    return ["debug=smoke", *load_experiment(name).smoke]
