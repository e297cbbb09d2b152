"""Turning bad input into one line: what is wrong and what to do.

`check_overrides` composes the config a command line asks for before Hydra starts the run, so an
unknown experiment or a misspelt key fails in a second, not after the data has loaded.
`one_line` maps the exceptions a user can cause to that one line; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, InstantiationException, MissingConfigException
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf.errors import OmegaConfBaseException

from repro.compose import compose_experiment, experiment_names
from repro.errors import UserError


def _first_values(overrides: list[str]) -> list[str]:
    """A multirun's sweeps (a=1,2) replaced by their first value, so one composition checks them."""
    checked = []
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.key_or_group.startswith("hydra"):
            continue
        if override.is_sweep_override():
            first = next(iter(override.sweep_string_iterator()))
            checked.append(f"{override.get_key_element()}={first}")
        else:
            checked.append(override.input_line)
    return checked


def check_overrides(argv: list[str]) -> None:
    """Raise UserError when `scripts/train.py ARGV` cannot compose."""
    overrides = [arg for arg in argv if not arg.startswith("-")]
    chosen = next((o.split("=", 1)[1] for o in overrides if o.startswith("experiment=")), None)
    experiments = chosen.split(",") if chosen else ["lenet5"]  # a multirun may sweep experiments
    for experiment in experiments:
        if experiment not in experiment_names():
            raise UserError(f"unknown experiment {experiment!r}: choose one of {', '.join(experiment_names())}")
    try:
        compose_experiment(experiments[0], "unused", _first_values(
            [o for o in overrides if not o.startswith("experiment=")]))
    except (ConfigCompositionException, MissingConfigException, OmegaConfBaseException) as error:
        raise UserError(_compose_hint(error)) from error
    except Exception as error:  # the override grammar itself (a stray quote or bracket)
        if type(error).__name__ == "OverrideParseException":
            raise UserError(f"cannot parse the overrides ({_first_line(error)}): write them as key=value") from error
        raise


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _compose_hint(error: BaseException) -> str:
    text = " ".join(str(error).split())
    cause = error.__cause__ or error
    if "not in struct" in str(cause) or "Could not override" in text:
        key = text.split("'")[1] if "'" in text else "?"
        return (f"no config key {key!r}: check the spelling (python scripts/train.py --cfg job shows every key), "
                f"or add a new key with +{key}=VALUE")
    if "Could not find" in text or "Could not load" in text:
        return f"{_first_line(error)}: see configs/ for the options of that group"
    return f"{_first_line(error)}: fix that override"


def check_trainer_values(trainer: dict) -> None:
    """Types Lightning only trips over deep inside a run (trainer.max_epochs=abc)."""
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


def one_line(error: BaseException) -> str | None:
    """The one-line message for an error the user can fix; None for a bug."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, UserError):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    if isinstance(error, MisconfigurationException):
        return f"{_first_line(error)} (check trainer.accelerator / trainer.devices against this machine)"
    if isinstance(error, InstantiationException):
        cause = error.__cause__
        detail = _first_line(cause) if cause else _first_line(error)
        target = str(error).split("'")[1] if "'" in str(error) else "a config"
        if isinstance(cause, MisconfigurationException):
            return f"{detail} (check trainer.accelerator / trainer.devices against this machine)"
        return f"cannot build {target}: {detail}; check the override's value and type"
    if isinstance(error, OmegaConfBaseException):
        return f"{_first_line(error)}: fix the config or override"
    return None
