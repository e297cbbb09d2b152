"""Turning bad input into one line: what is wrong and what to do.

`check_overrides` reads a command line with Hydra's own parser (so every Hydra flag passes), composes
the config it asks for before Hydra starts the run, and checks every value it sets against what that
key accepts (repro/values.py): a misspelt key, or a value of the wrong type or sign, fails in a
second, not after the data has loaded. `one_line` turns an exception raised later into that line
(repro/blame.py); a bug keeps its traceback.
"""

from __future__ import annotations

import argparse
import copy
import functools
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from repro import run_dirs  # noqa: F401  (registers the run-folder resolver Hydra's run dir uses)
from repro.blame import blame
from repro.compose import CONFIG_DIR
from repro.errors import UserError, brief
from repro.outputs import writable_parent
from repro.values import annotation_of, problem


def parse_command_line(argv: list[str]) -> argparse.Namespace:
    """`argv` as Hydra reads it (--cfg job, -m, --config-dir DIR ...), overrides before, between or after
    the flags; a malformed flag is a UserError."""
    parser = get_args_parser()

    def refuse(message: str) -> None:
        raise UserError(f"{message}: see python scripts/train.py --help")

    parser.error = refuse  # argparse would print its usage and exit
    return parser.parse_intermixed_args(argv)


def hydra_order(argv: list[str]) -> list[str]:
    """`argv` with the overrides before the flags: Hydra's own parser takes them in one run only
    (`seed=1 --cfg job trainer.max_epochs=2` would end in its usage message), and a flag with an
    optional value (`--info`) would swallow an override after it."""
    args = parse_command_line(argv)
    flags = list(argv)
    for override in args.overrides:
        flags.remove(override)
    if args.hydra_help:  # Hydra's own help composes only its own config, where `experiment=` has no place
        return flags
    return [*args.overrides, *flags]


def _parse(overrides: list[str]) -> list[Override]:
    try:
        return OverridesParser.create().parse_overrides(overrides)
    except Exception as error:  # the override grammar (a stray quote or bracket): OverrideParseException
        raise UserError(f"cannot parse the overrides ({brief(error)}): write them as key=value") from error


def _values(override: Override) -> list[Any]:
    """The values an override sets: one, or each of a sweep's (a=1,2 / range(0,3))."""
    if not override.is_sweep_override():
        return [override.value()]
    try:
        return [Override._convert_value(v) for v in override.sweep_iterator()]
    except Exception:  # an interval or glob sweep: no values to enumerate here
        return []


def _first(overrides: list[Override]) -> tuple[str, ...]:
    """The overrides with each sweep replaced by its first value, so one composition checks a multirun
    (an interval or glob sweep, which only a sweeper expands, is left out)."""
    firsts = []
    for override in overrides:
        if not override.is_sweep_override():
            firsts.append(override.input_line)
            continue
        try:
            firsts.append(f"{override.get_key_element()}={next(iter(override.sweep_string_iterator()))}")
        except Exception:
            pass
    return tuple(firsts)


class Checker:
    """Composes `config_name` (with `config_dir` on the search path) and checks the values overrides set."""

    def __init__(self, config_name: str = "train", config_dir: str | None = None) -> None:
        self.config_name = config_name
        self.dirs = [CONFIG_DIR] + ([Path(config_dir).resolve()] if config_dir else [])

    def experiments(self) -> list[str]:
        return sorted({p.stem for d in self.dirs for p in (d / "experiment").glob("*.yaml")})

    def is_group(self, override: Override) -> bool:
        key = override.key_or_group
        return override.package is not None or key.startswith("hydra/") or any((d / key).is_dir() for d in self.dirs)

    def compose(self, overrides: tuple[str, ...], hydra: bool = False) -> DictConfig:
        return _compose(self.config_name, tuple(self.dirs[1:]), overrides, hydra)

    def check(self, parsed: list[Override], multirun: bool = False) -> None:
        experiment = next((o for o in parsed if o.key_or_group == "experiment"), None)
        chosen = [str(v) for v in _values(experiment)] if experiment else []
        chosen = chosen or [None]  # None: the experiment configs/train.yaml chooses
        known = self.experiments()
        for name in chosen:
            if name is not None and name not in known:
                raise UserError(f"unknown experiment {name!r}: choose one of {', '.join(known)}")
        rest = [o for o in parsed if o is not experiment]
        groups = _first([o for o in rest if self.is_group(o)])
        values = _parse(list(_first([o for o in rest if not self.is_group(o)])))
        for name in chosen:
            pick = (f"experiment={name}",) if name else ()
            baseline = self.compose((*pick, *groups), hydra=True)  # the experiment as its groups make it
            actual = _with_values(baseline, values)
            for override in rest:
                if self.is_group(override) or override.is_hydra_override() or override.is_delete():
                    continue
                self.check_values(override, actual, baseline)
            key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
            run_dir = OmegaConf.select(actual, key, throw_on_resolution_failure=False)
            if run_dir:
                writable_parent(Path(str(run_dir)), key)

    @staticmethod
    def check_values(override: Override, actual: DictConfig, baseline: DictConfig) -> None:
        key = override.key_or_group
        default = OmegaConf.select(baseline, key, throw_on_resolution_failure=False)
        annotation, target = annotation_of(actual, key)
        values = _values(override)
        if not override.is_sweep_override():  # the composed value: interpolations resolved
            values = [OmegaConf.select(actual, key, throw_on_resolution_failure=False, default=values[0])]
        for value in values:
            message = problem(key, value, default, annotation, target)
            if message:
                raise UserError(message)


@functools.lru_cache(maxsize=64)  # the same baseline serves every check of one experiment
def _compose(config_name: str, extra_dirs: tuple[Path, ...], overrides: tuple[str, ...], hydra: bool) -> DictConfig:
    # As Hydra's app does with --config-dir, every folder is on the search path; the primary config comes
    # from the first that holds it (a --config-dir may bring its own, or only more experiments).
    dirs = [*extra_dirs, CONFIG_DIR]
    primary = next((d for d in dirs if (Path(d) / f"{config_name}.yaml").is_file()), CONFIG_DIR)
    behind = [d for d in dirs if d != primary]
    search = [f"hydra.searchpath=[{','.join(f'file://{d}' for d in behind)}]"] if behind else []
    try:
        with initialize_config_dir(config_dir=str(primary), version_base="1.3"):
            return compose(config_name, overrides=[*search, *overrides], return_hydra_config=hydra)
    except (ConfigCompositionException, MissingConfigException, OmegaConfBaseException) as error:
        raise UserError(_compose_hint(error)) from error


def _with_values(baseline: DictConfig, values: list[Override]) -> DictConfig:
    """`baseline` with the key=value overrides applied as Hydra applies them after composing the groups
    (the same function), so one composition serves the experiment and the command line."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    actual = copy.deepcopy(baseline)
    try:
        ConfigLoaderImpl._apply_overrides_to_config(values, actual)
    except (ConfigCompositionException, OmegaConfBaseException) as error:
        raise UserError(_compose_hint(error)) from error
    return actual


def check_overrides(argv: list[str]) -> None:
    """Raise UserError when `scripts/train.py ARGV` cannot run: unknown flag, experiment, group or key,
    or a value its key does not accept."""
    args = parse_command_line(argv)
    if args.help or args.hydra_help or args.info or args.shell_completion or args.experimental_rerun:
        return  # Hydra answers these itself
    checker = Checker(args.config_name or "train", args.config_dir)
    checker.check(_parse(args.overrides), multirun=args.multirun)


def _compose_hint(error: BaseException) -> str:
    text = " ".join(str(error).split()).split(" Config search path:")[0]
    cause = error.__cause__ or error
    if "not in struct" in str(cause) or "Could not override" in text:
        key = text.split("'")[1] if "'" in text else "?"
        return (f"no config key {key!r}: check the spelling (python scripts/train.py --cfg job shows every key), "
                f"or add a new key with +{key}=VALUE")
    if "Could not find" in text or "Could not load" in text:
        if "Available options" in text:  # Hydra lists them
            return brief(Exception(text.replace(" Available options", ". Available options")), 1000)
        return f"{brief(Exception(text))}: see configs/ for the options of that group"
    return f"{brief(Exception(text))}: fix that override"


def check_trainer_values(trainer: dict) -> None:
    """Types Lightning only trips over deep inside a run (trainer.max_epochs=abc), for runs that did not
    come through check_overrides (tests, scripts/smoke.py)."""
    whole = {"max_epochs": True, "max_steps": False, "num_nodes": False, "log_every_n_steps": False}
    for key, may_be_none in whole.items():
        value = trainer.get(key)
        if (value is None and may_be_none) or key not in trainer:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"trainer.{key}={value!r} must be a whole number")
    for key in ("limit_train_batches", "limit_val_batches", "limit_test_batches"):
        value = trainer.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise UserError(f"trainer.{key}={value!r} must be a number of batches or a fraction in [0, 1]")


def one_line(error: BaseException, cfg: DictConfig | None = None, overrides: list[str] = ()) -> str | None:
    """The one-line message for an error the user can fix; None for a bug. `cfg` and `overrides` (the
    command line's) let an exception a library raised be traced to the override that caused it."""
    try:
        return blame(error, cfg, list(overrides))
    except Exception:  # the error path itself must never crash: show the original traceback instead
        return None
