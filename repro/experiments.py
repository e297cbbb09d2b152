"""What the suite knows about each experiment, read from its YAML (configs/experiment/NAME.yaml):
the claims it answers, the claim it is a variant of, its departures, its report hints, its smoke
overrides, and its committed recipe (one resolved config per point of the sweep it declares in
`hydra.sweeper.params`, seeds aside). No Python module names an experiment: this is the only place
the report and the smoke runs learn about one.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import OverrideType
from omegaconf import OmegaConf

from repro.compose import compose_experiment, experiment_names
from repro.errors import UserError
from repro.recipe import differences, fingerprint, recipe_items


@dataclass
class Experiment:
    name: str
    claims: tuple[str, ...]        # the claims its recipe answers, with a verdict
    variant_of: tuple[str, ...]    # the claims it sits beside without a verdict (a named departure)
    departures: str                # what its recipe changes against the paper, in a line
    report: dict                   # its `report:` hints: section, derived, and what its section reads
    smoke: tuple[str, ...]         # overrides that shrink it further than debug=smoke
    recipes: tuple[dict, ...]      # resolved configs of its committed recipe, one per declared sweep point

    @property
    def section(self) -> str:
        """The report section (repro/report/sections/<section>.py)."""
        return str(self.report.get("section") or "other")

    @property
    def derived(self) -> list[dict]:
        """Claims measured across several runs: {claim, method, with?, ...}."""
        return list(self.report.get("derived") or [])

    @cached_property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(fingerprint(recipe) for recipe in self.recipes)

    @cached_property
    def sweep_axes(self) -> tuple[str, ...]:
        """The recipe keys whose values differ between the sweep's points (none without a sweep)."""
        items = [recipe_items(recipe) for recipe in self.recipes]
        keys = set().union(*items) if items else set()
        return tuple(sorted(k for k in keys if len({repr(i.get(k)) for i in items}) > 1))

    def closest_recipe(self, config: dict[str, Any]) -> dict[str, Any]:
        """The sweep point a run's config departs from least (the only one for an experiment without a sweep)."""
        return min(self.recipes, key=lambda recipe: len(differences(config, recipe)))

    @property
    def answers_a_claim(self) -> bool:
        return bool(self.claims or self.variant_of or self.derived)


def _as_tuple(value: Any) -> tuple:
    """A claim id or a list of them, as a tuple."""
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value)
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _sweep_points(sweep: dict[str, str]) -> list[list[str]]:
    """Every combination of the declared sweep's values, as override lists; seeds are not part of a recipe."""
    axes = []
    for override in OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in sweep.items() if k != "seed"]):
        key = override.get_key_element()
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.value()]
        axes.append([f"{key}={value}" for value in values])
    return [list(point) for point in itertools.product(*axes)]


def _plain(cfg, key: str) -> Any:
    value = cfg[key]  # resolved against the whole config
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def _resolved(cfg) -> dict[str, Any]:
    """The config as plain data, without `hydra` (its run dir reads the clock; nothing in it is the recipe)."""
    return {key: _plain(cfg, key) for key in cfg if key != "hydra"}


def _point(cfg, name: str, point: list[str]) -> dict[str, Any]:
    """The resolved config of one sweep point. Overrides of plain values (dotted keys that exist) are set on a
    copy of the experiment's composed config, which then resolves as Hydra's composition would, in a millisecond
    rather than a composition (a 30-point sweep took most of the registry's time); any other override (a config
    group, +key, ~key) goes through Hydra."""
    overrides = OverridesParser.create().parse_overrides(point)
    if all("." in o.key_or_group and o.type == OverrideType.CHANGE and o.package is None
           and OmegaConf.select(cfg, o.key_or_group, throw_on_missing=False, default=KeyError) is not KeyError
           for o in overrides):
        changed = copy.deepcopy(cfg)
        for override in overrides:
            OmegaConf.update(changed, override.key_or_group, override.value(), merge=False)
        return _resolved(changed)
    return _resolved(compose_experiment(name, "unused", point))


@lru_cache(maxsize=None)
def load_experiment(name: str) -> Experiment:
    if name not in experiment_names():
        raise UserError(f"unknown experiment {name!r}: choose one of {', '.join(experiment_names())}")
    cfg = compose_experiment(name, "unused", with_hydra=True)
    sweep = OmegaConf.to_container(cfg.hydra.sweeper.params) if cfg.hydra.sweeper.get("params") else {}
    points = _sweep_points(sweep or {})
    recipes = [_resolved(cfg)] if points == [[]] else [_point(cfg, name, point) for point in points]
    return Experiment(
        name=name, claims=_as_tuple(cfg.get("claims")), variant_of=_as_tuple(cfg.get("variant_of")),
        departures=str(cfg.get("departures") or ""), report=_plain(cfg, "report") or {},
        smoke=tuple(OmegaConf.to_container(cfg.smoke, resolve=False)) if cfg.get("smoke") else (),
        recipes=tuple(recipes))


def registry() -> dict[str, Experiment]:
    """Every experiment under configs/experiment, by name."""
    return {name: load_experiment(name) for name in experiment_names()}


def status(experiment: Experiment | None, config: dict[str, Any], world_size: int = 1) -> str:
    """'paper' when a run used its experiment's committed recipe, 'variant' when that experiment is a named
    variant, 'exploration' for any other run (another override, a recipe since changed, an unknown experiment)."""
    if experiment is None or fingerprint(config, world_size) not in experiment.fingerprints:
        return "exploration"
    return "variant" if experiment.variant_of else "paper"


def recipe_status(name: str, config: dict[str, Any], world_size: int = 1) -> str:
    """status() of a run of the experiment called `name` (any name: an unknown one is an exploration)."""
    return status(load_experiment(name) if name in experiment_names() else None, config, world_size)
