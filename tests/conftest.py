"""Shared test helpers. Tests read the committed MNIST cut in tests/fixtures (never a download);
tests marked `data` read the real sets under DATA_DIR."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from repro.compose import compose_experiment, smoke_overrides

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _quiet():
    warnings.filterwarnings("ignore")


@pytest.fixture
def smoke_cfg(tmp_path):
    """compose(name, *overrides): the real experiment config, shrunk, writing only under tmp_path."""

    def make(name: str, *overrides: str):
        return compose_experiment(name, tmp_path / "out", [
            *smoke_overrides(name), f"paths.data_dir={FIXTURES}", f"paths.results_dir={tmp_path / 'results'}", f"paths.cache_dir={tmp_path / 'cache'}",
            f"paths.root_dir={REPO}", *overrides])

    return make


def real_data_dir() -> Path | None:
    path = os.environ.get("DATA_DIR")
    return Path(path) if path and Path(path).exists() else None


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch):
    """Tests never download: HTTP(S) goes to a closed local port, so a missing file fails at once (configs
    have data.download=true), in this process and in the scripts it starts."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "localhost,127.0.0.1")
