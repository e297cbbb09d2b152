"""Run records: one JSON object per line, in one file per experiment under the results folder
(`results/runs/<experiment>.jsonl`), so that no file grows with every experiment's history.

Writers take an exclusive lock and append the whole line or nothing, so concurrent runs (a
multirun, two terminals) never interleave and a full disk never leaves half a line. Readers skip
a damaged line and say which one.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from repro.errors import UserError


RECORDS = "runs"  # the folder under paths.results_dir


def record_file(results_dir: str | Path, experiment: str) -> Path:
    """Where a run of `experiment` appends its record."""
    if not experiment or Path(experiment).name != experiment or experiment.startswith("."):
        raise UserError(f"experiment_name={experiment!r} cannot name a records file: use letters, digits and _")
    return Path(results_dir) / RECORDS / f"{experiment}.jsonl"


def append_record(path: str | Path, record: dict[str, Any]) -> None:
    """Append `record` as one line, whole or not at all: a write cut short (a full disk, a signal) is
    cut back off, so the file holds exactly the records it held before; a failed write stops the run
    with one line."""
    path = Path(path)
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as error:
        raise UserError(f"cannot write the record to {path} ({error.strerror or error}): point paths.results_dir "
                        f"at a writable folder") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
        except BaseException as error:
            if written and stat.S_ISREG(os.fstat(fd).st_mode):
                os.ftruncate(fd, size)  # the records before this one, as they were
            if isinstance(error, OSError):
                raise UserError(f"cannot write the record to {path} ({error.strerror or error}): free space there "
                                f"or point paths.results_dir elsewhere; {path} is as it was") from error
            raise
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_records(path: str | Path, warn=lambda msg: print(msg, file=sys.stderr)) -> list[dict[str, Any]]:
    """All well-formed records of one file, or of every *.jsonl in a folder (in the order they finished);
    each damaged line is reported through `warn` and skipped."""
    path = Path(path)
    if path.is_dir():
        records = [r for file in sorted(path.glob("*.jsonl")) for r in read_records(file, warn)]
        return sorted(records, key=lambda r: str(r.get("finished_at", "")))
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            warn(f"warning: {path}:{number} is not a JSON record; skipped it")
            continue
        if not isinstance(record, dict) or "experiment" not in record:
            warn(f"warning: {path}:{number} is not a run record; skipped it")
            continue
        records.append(record)
    return records
