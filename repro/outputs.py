"""The places a run writes: checked before the run starts, and written whole or not at all.

A results folder that is a file, or one this process cannot write, stops the run before any data
loads, with one line. A checkpoint is written beside its final name and renamed over it, so a full
disk mid-write leaves the previous checkpoint as it was (the records file is kept whole by
repro/records.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from omegaconf import DictConfig, OmegaConf

from repro.errors import UserError, brief


def usable_folder(path: Path, key: str) -> None:
    """Make `path` a folder (if it is not yet) and prove this process can write a file in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except FileExistsError as error:
        raise UserError(f"{key}={path}: {error.filename or path} is a file, not a folder: point {key} at a folder") \
            from error
    except OSError as error:
        raise UserError(f"{key}={path} cannot be written ({error.strerror or brief(error)}): point {key} at a "
                        f"writable folder") from error


def writable_parent(path: Path, key: str) -> None:
    """Without creating anything: `path`'s nearest existing ancestor is a folder this process may write in."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{key}={path}: {existing} is a file, not a folder: point {key} at a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{key}={path}: {existing} is not writable: point {key} at a writable folder")


def check_output_places(cfg: DictConfig) -> None:
    """The run's results folder and output folder are usable, before anything is trained."""
    for key in ("results_dir", "output_dir"):
        value = OmegaConf.select(cfg, f"paths.{key}", throw_on_resolution_failure=False)
        if value:
            usable_folder(Path(str(value)), f"paths.{key}")


class AtomicCheckpointIO(TorchCheckpointIO):
    """torch.save into a temporary file beside the checkpoint, then one rename over it: a reader (or a
    resume) sees the old checkpoint or the new one, never half of one. A failed write (a full disk)
    removes the temporary file and stops the run with one line; the previous checkpoint stays."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if "://" in str(path):  # remote storage (s3://, gs://): fsspec's own semantics
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            super().save_checkpoint(checkpoint, partial, storage_options)
            os.replace(partial, path)
        except BaseException as error:
            partial.unlink(missing_ok=True)
            if isinstance(error, OSError) or isinstance(error.__cause__ or error.__context__, OSError):
                raise UserError(f"cannot write checkpoint {path} ({brief(error, 120)}): free space there or point "
                                f"paths.output_dir elsewhere; the previous checkpoint is intact") from error
            raise
