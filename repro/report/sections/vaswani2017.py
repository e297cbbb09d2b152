"""Vaswani et al. 2017: Table 3's directions (derived claims: a variant's run against the base run of the
same seed, on validation BLEU or perplexity, as Table 3 uses its dev set) and the translation runs."""

from __future__ import annotations

import statistics

from repro.report.tables import fmt, fmt_spread, hardware, metric, table

TITLE = "The Transformer (Vaswani et al. 2017)"


def _paired(own, base, metric_key, difference):
    """Per seed that ran both: difference(base's metric, this run's metric)."""
    mine = {r.get("seed"): r for r in own if metric(r, metric_key) is not None}
    theirs = {r.get("seed"): r for r in base if metric(r, metric_key) is not None}
    used, values = [], []
    for seed in sorted(mine.keys() & theirs.keys(), key=str):
        used += [theirs[seed], mine[seed]]
        values.append(difference(metric(theirs[seed], metric_key), metric(mine[seed], metric_key)))
    return used, values


def base_minus_variant(own, base, metric):  # `metric`: the claim's key, from the experiment's YAML
    return _paired(own, base, metric, lambda b, v: b - v)


def distance_from_base(own, base, metric):
    return _paired(own, base, metric, lambda b, v: abs(b - v))


METHODS = {"base_minus_variant": base_minus_variant, "distance_from_base": distance_from_base}


def noise_verdict(differences: list[float]) -> str:
    """Whether the per-seed differences stand out of their own spread (one seed cannot say)."""
    if len(differences) < 2:
        return "one seed: noise unknown"
    mean, noise = statistics.fmean(differences), statistics.stdev(differences)
    return "within seed noise" if abs(mean) <= noise else "beyond seed noise"


def section(ctx) -> list[str]:
    lines = ["", "## The Transformer (Vaswani et al. 2017)"]
    derived = [row for row in ctx.rows if row.label != "—" and any(
        spec["claim"] == row.claim.id for e in ctx.experiments.values() for spec in e.derived)]
    if derived:
        lines += ["", "Table 3's directions on a small, short Multi30k de->en setting (`make transformer-table3`): "
                  "validation BLEU of greedy decoding and validation perplexity per BPE token, after averaging the "
                  "weights of the last training steps; differences are base minus variant, paired by seed.", "",
                  *table(["claim", "runs", "base − variant (per seed)", "against the seed noise", "verdict"],
                         [[f"`{r.claim.id}`", r.label, fmt_spread(r.measured), noise_verdict(r.measured), r.verdict]
                          for r in derived])]
    runs = [r for r in ctx.records if metric(r, "val/bleu") is not None or metric(r, "test/bleu") is not None]
    if not runs:
        return lines + ["", "No translation runs yet (`make reproduce-transformer`, `make transformer-table3`)."]
    rows = []
    for r in runs:
        data = (r.get("config") or {}).get("data") or {}
        bleu = r.get("bleu") or {}
        signature = (bleu.get("test") or bleu.get("val") or {}).get("signature", "—")
        rows.append([r["experiment"], r.get("seed", "?"), f"{data.get('source_lang', '?')}->{data.get('target_lang', '?')}",
                     fmt(metric(r, "epochs")), fmt(metric(r, "val/bleu")), fmt(metric(r, "test/bleu")),
                     fmt(metric(r, "val/ppl")), (r.get("decoding") or {}).get("method", "?"), fmt(r.get("tokens_per_s")),
                     fmt((r.get("wall_time_s") or 0) / 60), hardware([r]), f"`{signature}`"])
    return lines + ["", "Translation runs (BLEU: sacreBLEU on detokenised text; its signature in the last column):", "",
                    *table(["experiment", "seed", "direction", "epochs", "val BLEU", "test BLEU", "val ppl", "decoding",
                            "tokens/s (training)", "wall time (min)", "hardware", "sacreBLEU signature"], rows)]
