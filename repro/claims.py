"""The claims registry (results/claims.yaml) and the verdict rule.

A claim is a number a paper states, the metric that measures it here, which way is better and a
tolerance. Verdict on a measurement m (the mean over seeds of the paper-recipe runs):
  reproduced        m is within the tolerance of the paper's number, on either side
  beats the paper   m is better by more than the tolerance: the recipe run here is not quite the
                    paper's, and the report names the departure that explains it
  not reproduced    m is worse by more than the tolerance
  undecided         the runs do not decide it: the measurement is a bound that straddles the rule (below),
                    or the runs give no value (a fit with no optimum inside the sizes run, say)
  not run           no paper-recipe run measures it
A one-sided claim (a bound or a direction: "at most 75%", "the CNN wins") is reproduced by any m on
its better side. A measurement that is itself a bound ("at least 5x": the slower net never reached the
target) decides a verdict only when the whole bound lies on one side; otherwise it is "undecided".
A claim with `better: neither` (an exponent, where no direction is better) is reproduced within its
tolerance on either side and is never beaten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from repro.errors import UserError

VERDICTS = ("reproduced", "beats the paper", "not reproduced", "undecided", "not run")


class AtLeast(float):
    """A measurement known only from below (for example a ratio whose slower run never reached its target)."""


class AtMost(float):
    """A measurement known only from above."""


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    source: str
    what: str
    metric: str
    value: float
    unit: str
    better: str = "lower"
    tolerance: float = 0.0
    group: str = ""
    when: dict[str, Any] = field(default_factory=dict)
    paper_time: str = ""
    note: str = ""
    command: str = ""
    one_sided: bool = False  # the paper's number is a bound or a direction

    def _verdict(self, measured: float) -> str:
        gain = {"lower": self.value - measured, "higher": measured - self.value}.get(  # > 0: better
            self.better, -abs(measured - self.value))
        if gain < -self.tolerance - 1e-9:
            return "not reproduced"
        if gain > self.tolerance + 1e-9 and not self.one_sided:
            return "beats the paper"
        return "reproduced"

    def verdict(self, measured: float | None) -> str:
        if measured is None:
            return "not run"
        if isinstance(measured, (AtLeast, AtMost)):  # the true value lies anywhere on one side of it
            far_end = math.inf if isinstance(measured, AtLeast) else -math.inf
            ends = {self._verdict(float(measured)), self._verdict(far_end)}
            return ends.pop() if len(ends) == 1 else "undecided"
        return self._verdict(measured)

    def applies_to(self, config: dict[str, Any]) -> bool:
        """True when every `when` key (dotted path into the resolved config) has the given value."""
        for dotted, expected in self.when.items():
            node: Any = config
            for key in dotted.split("."):
                node = node.get(key) if isinstance(node, dict) else None
            if node != expected:
                return False
        return True


def load_claims(path: str | Path) -> dict[str, Claim]:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as error:
        raise UserError(f"claims file {path} not found: run from the repository root or set paths.claims_file") from error
    except yaml.YAMLError as error:
        raise UserError(f"claims file {path} is not valid YAML ({error.__class__.__name__}): fix the file") from error
    claims = {}
    for claim_id, fields in (raw or {}).items():
        try:
            claims[claim_id] = Claim(id=claim_id, **fields)
        except TypeError as error:
            raise UserError(f"claim {claim_id} in {path} is malformed ({error}): fix the entry") from error
        if claims[claim_id].better not in ("lower", "higher", "neither"):
            raise UserError(f"claim {claim_id} in {path}: better must be 'lower', 'higher' or 'neither'")
    return claims


def evaluate(claims: dict[str, Claim], ids: list[str], metrics: dict[str, float],
             config: dict[str, Any]) -> list[dict[str, Any]]:
    """The claim entries of one run record: one per claim this run answers."""
    results = []
    for claim_id in ids:
        if claim_id not in claims:
            raise UserError(f"experiment names claim {claim_id!r}, which results/claims.yaml does not define")
        claim = claims[claim_id]
        if not claim.applies_to(config):
            continue
        measured = metrics.get(claim.metric)
        results.append({"id": claim_id, "paper": claim.value, "measured": measured, "unit": claim.unit,
                        "verdict": claim.verdict(measured)})
    return results
