"""The claims registry (results/claims.yaml) and the verdict rule.

A claim is a number a paper states, the metric that measures it here, which way is better and a
tolerance. Verdict on a measurement m (the mean over seeds where several ran):
  reproduced        m is as good as the paper's number or better
  within tolerance  m is worse, by no more than the tolerance
  not reproduced    m is worse by more than the tolerance
  not run           no record measures it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from repro.errors import UserError

VERDICTS = ("reproduced", "within tolerance", "not reproduced", "not run")


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

    def verdict(self, measured: float | None) -> str:
        if measured is None:
            return "not run"
        shortfall = measured - self.value if self.better == "lower" else self.value - measured
        if shortfall <= 1e-9:
            return "reproduced"
        return "within tolerance" if shortfall <= self.tolerance + 1e-9 else "not reproduced"

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
        if claims[claim_id].better not in ("lower", "higher"):
            raise UserError(f"claim {claim_id} in {path}: better must be 'lower' or 'higher'")
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
