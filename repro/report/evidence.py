"""Which records may judge which claim.

A record judges a claim only when it ran its experiment's committed recipe (repro/recipe.py) and the
experiment answers that claim; a named variant's records sit beside the claim without a verdict; every
other record is an exploration. The verdict is recomputed from the mean over seeds on one kind of
hardware, never copied from a record (a GPU run is never averaged with CPU runs).
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from repro.claims import Claim
from repro.experiments import Experiment, status
from repro.recipe import world_size
from repro.report.tables import hardware, metric, summarize

Records = list[dict[str, Any]]


def section_module(name: str):
    """repro/report/sections/<name>.py, or None for a section with nothing beyond the claims table."""
    try:
        return importlib.import_module(f"repro.report.sections.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"repro.report.sections.{name}":
            raise
        return None


@dataclass
class Row:
    """A claim and the runs of one experiment (or pair) on one kind of hardware that measure it."""
    claim: Claim
    label: str            # the experiment, "a vs b" for a derived claim, "—" when nothing measures it
    kind: str             # "paper" (judged) or "variant" (beside the claim, no verdict)
    records: Records = field(default_factory=list)
    measured: list[float | None] = field(default_factory=list)
    departures: str = ""

    @property
    def stats(self) -> tuple[float | None, float | None, int]:
        return summarize(self.measured)

    @property
    def no_value(self) -> bool:
        """Runs were made, and they give no value (a fit with no optimum inside the sizes run, say)."""
        return bool(self.records) and self.stats[0] is None

    @property
    def verdict(self) -> str:
        if self.kind == "variant":
            return "variant: no verdict"
        if self.no_value:
            return "undecided"
        return self.claim.verdict(self.stats[0])

    @property
    def explanation(self) -> str:
        """Why a result beats the paper: the departure its experiment declares."""
        if self.kind == "paper" and self.no_value:
            return "the section says why"
        if self.verdict != "beats the paper":
            return ""
        return self.departures or "no departure declared: check the recipe against the paper's"


class Evidence:
    """The records sorted by what they may say, and the claims' rows built from them."""

    def __init__(self, claims: dict[str, Claim], records: Records, experiments: dict[str, Experiment]):
        self.claims, self.experiments = claims, experiments
        self.by_status: dict[str, Records] = defaultdict(list)
        for record in records:  # from the stored config: records older than fingerprints follow the same rule
            experiment = experiments.get(str(record.get("experiment")))
            self.by_status[status(experiment, record.get("config") or {}, world_size(record))].append(record)

    @property
    def judged(self) -> Records:
        """Runs of committed recipes: the paper's and the named variants'."""
        return self.by_status["paper"] + self.by_status["variant"]

    @property
    def explorations(self) -> Records:
        return self.by_status["exploration"]

    def of(self, experiment: str) -> Records:
        return [r for r in self.judged if r.get("experiment") == experiment]

    def rows(self) -> list[Row]:
        """The claims table's rows, in claims.yaml order; each claim's judged row before its variants."""
        found: dict[str, list[Row]] = defaultdict(list)
        for experiment in self.experiments.values():
            kind = "variant" if experiment.variant_of else "paper"
            for claim_id in experiment.claims + experiment.variant_of:
                found[claim_id] += self._plain_rows(experiment, claim_id, kind)
            for spec in experiment.derived:
                found[spec["claim"]] += self._derived_rows(experiment, spec, kind)
        rows = []
        for claim_id, claim in self.claims.items():
            mine = sorted(found.get(claim_id, []), key=lambda r: (r.kind != "paper", r.label, -len(r.records)))
            if not any(r.kind == "paper" for r in mine):
                mine.insert(0, Row(claim, "—", "paper"))
            rows += mine
        return rows

    def _plain_rows(self, experiment: Experiment, claim_id: str, kind: str) -> list[Row]:
        claim = self.claims.get(claim_id)
        if claim is None:
            return []
        runs = [r for r in self.of(experiment.name) if claim.applies_to(r.get("config") or {})]
        return [Row(claim, experiment.name, kind, group, [metric(r, claim.metric) for r in group],
                    experiment.departures) for group in by_hardware(runs)]

    def _derived_rows(self, experiment: Experiment, spec: dict[str, Any], kind: str) -> list[Row]:
        claim = self.claims.get(spec["claim"])
        method = derivation(experiment.section, spec["method"])
        if claim is None:
            return []
        partner = spec.get("with")
        options = {k: v for k, v in spec.items() if k not in ("claim", "method", "with")}
        label = f"{experiment.name} vs {partner}" if partner else experiment.name
        rows = []
        for own in by_hardware(self.of(experiment.name)):
            others = [r for r in self.of(partner) if hardware([r]) == hardware(own)] if partner else []
            used, values = method(own, others, **options)
            if used:
                rows.append(Row(claim, label, kind, used, values, experiment.departures))
        return rows


def by_hardware(records: Records) -> list[Records]:
    groups: dict[str, Records] = defaultdict(list)
    for record in records:
        groups[hardware([record])].append(record)
    return list(groups.values())


def derivation(section: str, method: str) -> Callable[..., tuple[Records, list[float]]]:
    """The section module's function that measures a derived claim (its METHODS[method])."""
    module = section_module(section)
    methods = getattr(module, "METHODS", {}) if module else {}
    if method not in methods:
        raise KeyError(f"report section {section!r} has no method {method!r} (repro/report/sections/{section}.py)")
    return methods[method]
