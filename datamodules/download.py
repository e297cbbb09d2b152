"""Fetching a dataset through torchvision when its files are missing, with one line either way."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from repro.errors import UserError, brief

T = TypeVar("T")


def download(what: str, size: str, folder: Path, fetch: Callable[[], T], expected: str) -> T:
    """`fetch()` (a torchvision dataset with download=True), announced on stderr; its mirror-by-mirror
    chatter is kept off the terminal. Offline (or any failure): one UserError naming the folder, the
    files it expected there and DATA_DIR."""
    print(f"downloading {what} ({size}) into {folder}", file=sys.stderr)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return fetch()
    except Exception as error:  # URLError, RuntimeError("Error downloading ..."), a bad checksum ...
        raise UserError(f"{what} not found in {folder} and the download failed: put {expected} there, or set "
                        f"DATA_DIR to the folder that holds them ({brief(error, 100)})") from error
