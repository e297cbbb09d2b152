"""From any exception to the one line that says which override caused it, or to None for a bug.

Every experiment runs as shipped (tests/test_smoke.py runs each one), so when a run fails after the
command line changed its config, the change is the suspect. One mechanism serves every library
(Hydra, OmegaConf, torch, torchvision, Lightning, torchmetrics):
1. a UserError anywhere in the chain already says what to do;
2. an OSError writing a file names the file (a full disk, a folder that is a file, no permission);
3. the config node that raised is found: Hydra names the node it was building (`full_key`) when a
   constructor raised; later, the innermost frame whose `self` was built from a node (a datamodule, a
   net, an optimiser, a callback) or that runs a node's function names it;
4. the overrides under that node, or read by an interpolation in it, are named with their values, the
   library's message, and what the key takes; failing that, an override whose value the message quotes;
   failing that, when a library (not the suite's code) raised, every override, as the only change.
Lightning's MisconfigurationException is a config complaint by definition. Anything else, and any
programming error (AttributeError, TypeError ...) raised in the suite's own code, is a bug: None.
"""

from __future__ import annotations

import errno
import re
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import InstantiationException
from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from repro.compose import CONFIG_DIR
from repro.errors import UserError, brief
from repro.values import UNKNOWN, accepts, annotation_of, describe, plain, show

SUITE = CONFIG_DIR.parent  # the suite's own code lives here; libraries live in site-packages
PROGRAMMING_ERRORS = (NameError, AttributeError, ImportError, NotImplementedError, SyntaxError, RecursionError,
                      TypeError, KeyError, IndexError)
WRITE_ERRORS = {errno.ENOSPC: "no space left on the device: free some, or point {where} elsewhere",
                errno.EDQUOT: "disk quota exceeded: free some, or point {where} elsewhere",
                errno.EFBIG: "the file grew past the size limit: point {where} elsewhere",
                errno.EROFS: "read-only file system: point {where} at a writable folder",
                errno.EACCES: "no permission to write there: point {where} at a writable folder",
                errno.EPERM: "no permission to write there: point {where} at a writable folder",
                errno.EEXIST: "a file is in the way of a folder: point {where} at a folder",
                errno.ENOTDIR: "a file is in the way of a folder: point {where} at a folder",
                errno.EISDIR: "a folder is in the way of a file: point {where} elsewhere"}
REFERENCE = re.compile(r"\$\{([\w.]+)\}")


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _in_suite(error: BaseException) -> bool:
    """Whether `error` was raised by the suite's own code (its innermost frame is in this repository)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return False
    path = Path(frames[-1].filename)
    return SUITE in path.parents and ".venv" not in path.parts and "site-packages" not in path.parts


# ---- what the command line changed --------------------------------------------------------------

class Choice(str):
    """A config-group choice (trainer=gpu): written as is, not quoted like a string value."""

def suspects(cfg: DictConfig, overrides: list[str]) -> dict[str, Any]:
    """{key: value} of each override that changes a node: leaf overrides (key=value) and config-group
    choices whose group is a node of `cfg` (trainer=gpu), never experiment= or debug= (the recipe)."""
    found: dict[str, Any] = {}
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.is_hydra_override() or override.is_delete():
            continue
        key = override.key_or_group.replace("/", ".")
        is_group = (CONFIG_DIR / override.key_or_group).is_dir()
        if is_group and OmegaConf.select(cfg, key, throw_on_resolution_failure=False) is None:
            continue  # a group in the _global_ package: the recipe itself
        found[key] = Choice(override.value()) if is_group else \
            plain(OmegaConf.select(cfg, key, throw_on_resolution_failure=False, default=override.value()))
    return found


def _under(node_key: str, changed: dict[str, Any], cfg: DictConfig) -> dict[str, Any]:
    """The changed keys inside node `node_key` (or above it), and those its interpolations read."""
    named = {k: v for k, v in changed.items()
             if k == node_key or k.startswith(node_key + ".") or node_key.startswith(k + ".")}
    node = OmegaConf.select(cfg, node_key, throw_on_resolution_failure=False)
    if isinstance(node, DictConfig):
        raw = OmegaConf.to_container(node, resolve=False)
        for ref in REFERENCE.findall(str(raw)):
            named.update({k: v for k, v in changed.items() if ref == k or ref.startswith(k + ".")})
    return named


# ---- which node raised --------------------------------------------------------------------------

def _targets(cfg: DictConfig) -> dict[str, Any]:
    """{node key: the class or function its _target_ names} for every node of `cfg`."""
    found: dict[str, Any] = {}

    def walk(node: Any, key: str) -> None:
        if isinstance(node, DictConfig):
            if "_target_" in node:
                try:
                    found[key] = get_object(str(node._get_node("_target_")._value()))
                except Exception:
                    pass
            for child in node.keys():
                walk(node._get_node(child), f"{key}.{child}" if key else str(child))
        elif isinstance(node, ListConfig):
            for index in range(len(node)):
                walk(node._get_node(index), f"{key}[{index}]")

    walk(cfg, "")
    return found


def _node_of(frame: FrameType, targets: dict[str, Any]) -> list[str]:
    owner = frame.f_locals.get("self")
    hits = []
    for key, target in targets.items():
        if isinstance(target, type):
            if owner is not None and isinstance(owner, target):
                hits.append(key)
        elif getattr(target, "__code__", None) is frame.f_code:
            hits.append(key)
    return hits


def _raising_nodes(chain: list[BaseException], cfg: DictConfig) -> list[str]:
    """Node keys whose objects or functions are on the traceback, innermost first; Hydra's full_key first."""
    nodes: list[str] = []
    for error in chain:
        if isinstance(error, InstantiationException):
            match = re.search(r"full_key: ([\w.\[\]]+)", str(error))
            if match:
                nodes.append(match.group(1))
    targets = _targets(cfg)
    # The trainer and the system run every step: they explain nothing by being on the traceback.
    import lightning as L

    around = {k for k, t in targets.items() if isinstance(t, type) and issubclass(t, (L.Trainer, L.LightningModule))}
    for error in reversed(chain):  # the innermost exception's frames first
        frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
        for frame in reversed(frames):
            nodes.extend(k for k in _node_of(frame, targets) if k not in around and k not in nodes)
    return nodes


# ---- the line -----------------------------------------------------------------------------------

def _written(value: Any) -> str:
    return str(value) if isinstance(value, Choice) else show(value)


def _named(changed: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_written(v)}" for k, v in changed.items())


def _write_error(chain: list[BaseException]) -> str | None:
    for error in chain:
        if isinstance(error, OSError) and error.errno in WRITE_ERRORS and error.filename:
            where = "paths.results_dir" if str(error.filename).endswith(".jsonl") else "paths.output_dir / hydra.run.dir"
            return f"cannot write {error.filename}: {WRITE_ERRORS[error.errno].format(where=where)}"
    return None


def blame(error: BaseException, cfg: DictConfig | None, overrides: list[str]) -> str | None:
    """The one line for `error`, or None when it is a bug (see the module docstring)."""
    chain = _chain(error)
    for seen in chain:
        if isinstance(seen, UserError):
            return brief(seen, 1000)  # the suite's own words: whole
    written = _write_error(chain)
    if written:
        return written
    real = next((e for e in chain if not isinstance(e, InstantiationException)), error)
    if isinstance(real, PROGRAMMING_ERRORS) and _in_suite(real):
        return None
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    misconfigured = any(isinstance(e, MisconfigurationException) for e in chain)
    changed = suspects(cfg, overrides) if cfg is not None and overrides else {}
    if cfg is not None and changed:
        for node in _raising_nodes(chain, cfg):
            named = _under(node, changed, cfg)
            if named:
                return _line(named, real, cfg, node)
        quoted = {k: v for k, v in changed.items() if len(_written(v).strip("'")) > 1
                  and _written(v).strip("'") in str(real)}
        if quoted:
            return _line(quoted, real, cfg, None)
        if not _in_suite(real) and not misconfigured:  # a library refused something only the overrides changed
            return f"the run failed with {_named(changed)} ({type(real).__name__}: {brief(real, 200)}): the " \
                   f"experiment runs without these overrides, so check their values (HYDRA_FULL_ERROR=1 shows the " \
                   f"traceback)"
    if misconfigured:
        return f"{brief(real)} (check trainer.accelerator / trainer.devices against this machine)"
    return None


def _line(named: dict[str, Any], real: BaseException, cfg: DictConfig, node: str | None) -> str:
    target = node and OmegaConf.select(cfg, f"{node}._target_", throw_on_resolution_failure=False)
    who = f"{target} ({node})" if target else node or "the run"
    line = f"{_named(named)}: {who} refused it ({type(real).__name__}: {brief(real, 200)})"
    if len(named) == 1:  # what the key takes, when its annotation lists the choices or the value does not fit it
        key, value = next(iter(named.items()))
        annotation, takes = annotation_of(cfg, key)
        if annotation is not UNKNOWN and ("one of" in describe(annotation) or not accepts(annotation, value)):
            line += f"; {takes} takes {key.rpartition('.')[2]} as {describe(annotation)}"
    return line + "; fix that override"
