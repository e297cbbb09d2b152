"""The Transformer's part of results/REPORT.md (Vaswani et al. 2017).

- Derived claims for Table 3's directions, from the records of the `make transformer-table3` multirun:
  each variant is paired with the base run of the same seed, and the claim's measurement is the mean
  over seeds of that per-seed difference (validation BLEU or perplexity, as the paper's Table 3 uses
  its dev set).
- A section with one verdict row per direction (held / did not hold / inconclusive within seed noise)
  and a table of the translation runs with BLEU, sacreBLEU's signature and tokens/s.

repro/report.py calls this module; it imports nothing from there (report.py imports it).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

BASE = "transformer_table3"
ONE_HEAD, NO_LS, LEARNED, NO_DROPOUT = (f"{BASE}_{v}" for v in ("one_head", "no_label_smoothing",
                                                                  "learned_positions", "no_dropout"))
TABLE3 = (BASE, ONE_HEAD, NO_LS, LEARNED, NO_DROPOUT)
EXPERIMENTS = (*TABLE3, "transformer", "transformer_base_wmt14", "transformer_big_wmt14")
BLEU, PPL = "val/bleu", "val/ppl"

# Table 3 (newstest2013 dev): perplexity per wordpiece and BLEU of each row this suite checks.
PAPER = {BASE: (4.92, 25.8), ONE_HEAD: (5.29, 24.9), NO_LS: (4.67, 25.3), LEARNED: (4.92, 25.7),
         NO_DROPOUT: (5.77, 24.6)}
LABELS = {BASE: "base (h=8, eps_ls 0.1, sinusoids, P_drop 0.1)", ONE_HEAD: "(A) h=1", NO_LS: "(D) eps_ls = 0",
          LEARNED: "(E) learned positional embedding", NO_DROPOUT: "(D) P_drop = 0"}


def _metric(record: dict[str, Any], key: str) -> float | None:
    value = (record.get("metrics") or {}).get(key)
    return None if value is None else float(value)


def paired(records: list[dict[str, Any]], variant: str, key: str,
           difference: Callable[[float, float], float]) -> tuple[list[dict[str, Any]], list[float]]:
    """Per seed that ran both: difference(base's metric, the variant's metric)."""
    base = {r.get("seed"): r for r in records if r.get("experiment") == BASE and _metric(r, key) is not None}
    other = {r.get("seed"): r for r in records if r.get("experiment") == variant and _metric(r, key) is not None}
    used, values = [], []
    for seed in sorted(base.keys() & other.keys(), key=str):
        used += [base[seed], other[seed]]
        values.append(difference(_metric(base[seed], key), _metric(other[seed], key)))
    return used, values


def _minus(a: float, b: float) -> float:
    return a - b


def one_head(records):  # 8 heads minus 1 head, BLEU: positive = the paper's direction
    return paired(records, ONE_HEAD, BLEU, _minus)


def no_ls_bleu(records):  # smoothing minus none, BLEU
    return paired(records, NO_LS, BLEU, _minus)


def no_ls_ppl(records):  # smoothing minus none, perplexity: positive = no smoothing has the lower perplexity
    return paired(records, NO_LS, PPL, _minus)


def learned_positions(records):  # how far apart, in BLEU (per seed, so never below the seed noise)
    return paired(records, LEARNED, BLEU, lambda a, b: abs(a - b))


def no_dropout(records):  # dropout minus none, BLEU
    return paired(records, NO_DROPOUT, BLEU, _minus)


DERIVED = {
    "vaswani2017.table3_one_head": (f"{BASE} vs {ONE_HEAD}", one_head),
    "vaswani2017.table3_no_ls_bleu": (f"{BASE} vs {NO_LS}", no_ls_bleu),
    "vaswani2017.table3_no_ls_ppl": (f"{BASE} vs {NO_LS}", no_ls_ppl),
    "vaswani2017.table3_learned_positions": (f"{BASE} vs {LEARNED}", learned_positions),
    "vaswani2017.table3_no_dropout": (f"{BASE} vs {NO_DROPOUT}", no_dropout),
}

# (variant, metric, sign): the paper's direction is sign * (base - variant) > 0; sign 0 means "about equal".
DIRECTIONS = [
    (ONE_HEAD, BLEU, 1, "1 head is worse than 8 (BLEU)"),
    (NO_LS, PPL, 1, "no label smoothing gives a better (lower) perplexity"),
    (NO_LS, BLEU, 1, "no label smoothing gives a worse BLEU"),
    (LEARNED, BLEU, 0, "learned positional embeddings are about equal to sinusoids (BLEU)"),
    (NO_DROPOUT, BLEU, 1, "dropout 0 is worse (BLEU)"),
]
EQUAL_WITHIN = 1.0  # BLEU points: what "about equal" allows here


def direction_verdict(differences: list[float], sign: int) -> str:
    """`differences` are base - variant per seed; the verdict weighs their mean against the seed noise."""
    if not differences:
        return "not run"
    mean = statistics.fmean(differences)
    noise = statistics.stdev(differences) if len(differences) > 1 else 0.0
    if sign == 0:
        return "held" if abs(mean) <= EQUAL_WITHIN else "did not hold"
    if abs(mean) <= noise:
        return "inconclusive (within seed noise)"
    return "held" if sign * mean > 0 else "did not hold (reversed)"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _mean_std(values: list[float]) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.2f} (n=1)"
    return f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f} (n={len(values)})"


def _table(header: list[str], lines: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(str(c).replace("|", "\\|") for c in line) + " |" for line in lines]


def _values(records: list[dict[str, Any]], experiment: str, key: str) -> list[float]:
    return [_metric(r, key) for r in records if r.get("experiment") == experiment and _metric(r, key) is not None]


def table3_rows(records: list[dict[str, Any]]) -> list[list[Any]]:
    """One row per direction: the paper's two numbers, ours (mean ± std over seeds), the verdict."""
    rows = []
    for variant, key, sign, what in DIRECTIONS:
        column = 0 if key == PPL else 1
        paper_base, paper_variant = PAPER[BASE][column], PAPER[variant][column]
        base_values, variant_values = _values(records, BASE, key), _values(records, variant, key)
        _, differences = paired(records, variant, key, _minus)
        rows.append([what, f"{paper_base:g} vs {paper_variant:g}", _mean_std(base_values), _mean_std(variant_values),
                     _mean_std(differences), direction_verdict(differences, sign)])
    return rows


def runs_rows(records: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for r in records:
        if r.get("experiment") not in EXPERIMENTS:
            continue
        data = (r.get("config") or {}).get("data") or {}
        bleu = r.get("bleu") or {}
        signature = (bleu.get("test") or bleu.get("val") or {}).get("signature", "—")
        direction = f"{data.get('source_lang', '?')}->{data.get('target_lang', '?')}"
        rows.append([r["experiment"], r.get("seed", "?"), direction,
                     _fmt(_metric(r, "epochs"), 0), _fmt(_metric(r, BLEU)), _fmt(_metric(r, "test/bleu")),
                     _fmt(_metric(r, PPL)), (r.get("decoding") or {}).get("method", "?"),
                     _fmt(r.get("tokens_per_s"), 0), _fmt(r.get("wall_time_s", 0) / 60, 1),
                     (r.get("hardware") or {}).get("summary", "?"), f"`{signature}`"])
    return rows


def section(records: list[dict[str, Any]]) -> list[str]:
    """The Transformer's REPORT.md section (no plots)."""
    lines = ["", "## The Transformer (Vaswani et al. 2017)", "",
             "Table 3's directions on a small, short Multi30k de->en setting (`make transformer-table3`): validation "
             "BLEU of greedy decoding and validation perplexity per BPE token, after averaging the weights of the "
             "last training steps; differences are base minus variant, paired by seed. A direction is inconclusive "
             "when the mean difference is within one standard deviation of the per-seed differences; learned "
             "positions count as "
             f"equal within {EQUAL_WITHIN:g} BLEU.", ""]
    lines += _table(["direction (Table 3)", "paper: base vs variant (dev)", "measured: base", "measured: variant",
                     "base − variant (per seed)", "verdict"], table3_rows(records))
    runs = runs_rows(records)
    lines += ["", "Translation runs (BLEU: sacreBLEU on detokenised text; its signature in the last column):", ""]
    lines += _table(["experiment", "seed", "direction", "epochs", "val BLEU", "test BLEU", "val ppl", "decoding",
                     "tokens/s (training)", "wall time (min)", "hardware", "sacreBLEU signature"], runs) if runs \
        else ["No Transformer runs yet (`make reproduce-transformer`, `make transformer-table3`)."]
    return lines
