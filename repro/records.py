"""Run records: one JSON object per line in `runs.jsonl`.

Writers take an exclusive lock and append the whole line in one write, so concurrent runs (a
multirun, two terminals) never interleave. Readers skip a damaged line and say which one.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path
from typing import Any


def append_record(path: str | Path, record: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_records(path: str | Path, warn=lambda msg: print(msg, file=sys.stderr)) -> list[dict[str, Any]]:
    """All well-formed records; each damaged line is reported through `warn` and skipped."""
    path = Path(path)
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
