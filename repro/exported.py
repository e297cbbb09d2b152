"""The nets a run exports for use after training (checkpoints/gpt.pt, checkpoints/translator.pt): the newest one
under the project's run folders, and loading one back. A file that is not such an export, or one from an
incompatible version of the net, is one clear error, never a traceback."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

import torch

from repro.errors import UserError


def newest_export(root: Path, filename: str, experiment: str, what: str, how: str) -> Path:
    """The newest `checkpoints/<filename>` of `experiment` (a glob; "*" for any run) under outputs/ and multirun/."""
    found = [*root.glob(f"outputs/{experiment}/*/checkpoints/{filename}"),
             *root.glob(f"multirun/{experiment}/*/*/checkpoints/{filename}")]
    if not found:
        raise UserError(f"no trained {what} checkpoint (checkpoints/{filename}) under {root}/outputs/ or "
                        f"{root}/multirun/: train one with {how}, or pass --checkpoint PATH")
    return max(found, key=lambda p: p.stat().st_mtime)


def load_export(path: Path, allowed: set[str], what: str, read_extra: Callable[[dict], Any] = lambda saved: None
                ) -> tuple[torch.nn.Module, dict, Any]:
    """The net saved in `path` (its class must be one of `allowed`), the saved dict, and `read_extra(saved)`
    (a tokenizer, say), all checked before use."""
    if not path.is_file():
        raise UserError(f"--checkpoint {path} does not exist: give a checkpoints/{path.name} a run wrote")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["net_class"] not in allowed:
            raise KeyError(saved["net_class"])
        module, name = saved["net_class"].rsplit(".", 1)
        net = getattr(importlib.import_module(module), name)(**saved["net_config"])
        net.load_state_dict(saved["state_dict"])
        extra = read_extra(saved)
    except Exception as error:  # not an export of this kind, or from an incompatible version of the net
        raise UserError(f"{path} is not a {what} checkpoint ({type(error).__name__}: {str(error)[:80]}): "
                        f"use the checkpoints/{path.name} a {what} run wrote") from error
    return net.eval(), saved, extra
