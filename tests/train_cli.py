"""`python scripts/train.py ARGS` inside the test process: the same main(), with its exit status, stdout and
stderr, and no second interpreter to start (torch and Lightning are imported once for all tests)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from repro.records import read_records
from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("train_script", REPO / "scripts" / "train.py")
TRAIN = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(TRAIN)


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str
    results: Path

    @property
    def records(self) -> list[dict]:
        return read_records(self.results / "runs")

    def one_error_line(self) -> str:
        """The single `error:` line a failed run must end in (and nothing that looks like a traceback)."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 1 and errors[0] == lines[-1], self.stderr[-3000:]
        assert "Traceback" not in self.stderr, self.stderr[-3000:]
        return errors[0]


def train_cli(tmp_path: Path, *argv: str, env: dict[str, str] | None = None, places: bool = True) -> Result:
    """Run scripts/train.py's main() with `argv`; records go to tmp_path/results and run folders under
    tmp_path, unless `argv` names those keys itself (or `places` is false: `argv` exactly)."""
    ours = {"paths.results_dir": tmp_path / "results", "paths.runs_root": tmp_path / "outputs",
            "hydra.run.dir": tmp_path / "run", "hydra.sweep.dir": tmp_path / "sweep"}
    given = {arg.split("=", 1)[0] for arg in argv}
    extra = [f"{key}={value}" for key, value in ours.items() if key not in given] if places else []
    results = Path(next((a.split("=", 1)[1] for a in argv if a.startswith("paths.results_dir=")),
                        ours["paths.results_dir"]))
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with mock.patch.object(sys, "argv", ["scripts/train.py", *extra, *argv]), \
            mock.patch.dict(os.environ, env or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            TRAIN.main()
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    return Result(status, out.getvalue(), err.getvalue(), results)
