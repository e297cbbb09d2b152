"""The scaling-law section (repro/report/sections/kaplan2020.py) on synthetic records whose law is known."""

from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest

from repro.report.sections import kaplan2020 as k
from tests.conftest import real_data_dir

# Hoffmann et al.'s form with alpha = beta: the compute-optimal N grows exactly as C^0.5.
E, A, B, ALPHA, BETA = 1.2, 40.0, 40.0, 0.35, 0.35


def chinchilla_loss(n: float, d: float) -> float:
    return E + A / n ** ALPHA + B / d ** BETA


def isoflop_record(c: float, n: float, noise: float = 0.0, shift: float = 1.0) -> dict:
    """A run of the synthetic law, whose optimum sqrt(C/6) moves to sqrt(C/6) / shift (the exponent stays 0.5)."""
    tokens = c / (6 * n)
    return {"experiment": "sweep", "seed": 0, "non_embedding_params": int(n), "flops_per_token_train": 6 * n,
            "tokens_trained": tokens, "metrics": {"val/loss_full": chinchilla_loss(n * shift, tokens / shift) + noise},
            "config": {"model": {"compute_budget": c, "net": {"n_embd": 0}}}, "wall_time_s": 10.0,
            "hardware": {"summary": "test CPU"}}


def sweep(noise_scale: float = 0.0, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    records = []
    for c in (1e12, 3.16e12, 1e13):
        n_opt = (c / 6) ** 0.5  # the exact optimum of this law: N = D = sqrt(C/6)
        for factor in (1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8):
            records.append(isoflop_record(c, n_opt * factor, noise_scale * rng.standard_normal()))
    return records


def test_isoflop_exponent_recovers_the_law():
    used, (a,) = k.isoflop_exponent(sweep())
    assert len(used) == 21
    assert a == pytest.approx(0.5, abs=0.01)


def test_bootstrap_interval_holds_the_estimate_and_widens_with_noise():
    quiet = k.bootstrap_exponent(k.profile_minima(sweep(0.002)), resamples=300)
    noisy = k.bootstrap_exponent(k.profile_minima(sweep(0.02)), resamples=300)
    a = k.isoflop_exponent(sweep(0.002))[1][0]
    assert quiet[0] <= a <= quiet[1]
    assert noisy[1] - noisy[0] > quiet[1] - quiet[0]


def test_a_minimum_outside_the_sizes_or_none_at_all_is_flagged():
    runs = [isoflop_record(2e12, n) for n in (1e3, 1e4, 1e5)]
    for run, value in zip(runs, (2.0, 1.5, 1.2)):  # still falling at the largest size: the minimum lies beyond it
        run["metrics"]["val/loss_full"] = value
    (minimum,) = k.profile_minima(runs)
    assert minimum["log_n_opt"] == pytest.approx(6.0) and not minimum["inside"]
    assert k.parabola_minimum(np.log10([1e3, 1e4, 1e5]), np.array([2.0, 2.5, 2.0])) is None  # opens downwards
    # such a profile stays out of the exponent's fit
    assert k.isoflop_exponent(sweep() + runs)[1] == pytest.approx(k.isoflop_exponent(sweep())[1])


def test_loss_law_fit_recovers_e_a_alpha():
    n = np.geomspace(1e4, 1e6, 7)
    fit = k.fit_loss_law(n, 1.1 + 30.0 * n ** -0.4)
    assert fit["alpha"] == pytest.approx(0.4, abs=0.01) and fit["E"] == pytest.approx(1.1, abs=0.01)
    assert fit["r2"] > 0.9999


def test_loss_law_fit_keeps_the_irreducible_loss_at_or_above_zero():
    """Losses linear in log N: a free E runs far below 0 with alpha near 0; bounded, it is a pure power law."""
    n = np.geomspace(1e4, 4e5, 6)
    fit = k.fit_loss_law(n, 2.4 - 0.2 * np.log10(n / 1e4))
    assert 0 <= fit["E"] < 0.05 and 0.02 < fit["alpha"] < 0.1 and fit["A"] > 0
    assert k.fit_loss_law(n, 3.0 * n ** -0.1)["alpha"] == pytest.approx(0.1, abs=0.002)


def curve_record(n: float, rate: float, final: float) -> dict:
    """Equal-token run whose loss falls as final + 1/(tokens*rate)^0.5 (larger rate: more sample-efficient)."""
    tokens = np.geomspace(1e4, 1e6, 12)
    curve = [[i, float(t), float(final + 1 / (t * rate) ** 0.5)] for i, t in enumerate(tokens)]
    return {"experiment": "equal", "seed": 0, "non_embedding_params": int(n), "flops_per_token_train": 6 * n,
            "flops_per_token_kaplan": 6 * n + 100, "tokens_trained": 1e6, "val_curve": curve,
            "metrics": {"val/loss_full": curve[-1][2]}, "config": {"model": {"compute_budget": None}},
            "hardware": {"summary": "test CPU"}}


def test_sample_efficiency_compares_neighbouring_sizes_at_equal_tokens():
    efficient = [curve_record(n, rate, 1.0) for n, rate in ((1e4, 1e-3), (3e4, 3e-3), (1e5, 1e-2), (3e5, 3e-2))]
    used, (share,) = k.sample_efficiency(efficient)
    assert len(used) == 4 and share == 1.0
    assert len(k.equal_token_comparisons(efficient)) == 3 * 10  # 12 evaluations, the first tenth left out
    reached = dict(k.tokens_to_smallest_final(efficient))
    assert reached[10000] == pytest.approx(1e6) and reached[30000] == pytest.approx(1e6 / 3, rel=0.05)
    second_seed = [curve_record(n, rate * 1.01, 1.0) for n, rate in ((1e4, 1e-3), (3e4, 3e-3), (1e5, 1e-2), (3e5, 3e-2))]
    used, (share,) = k.sample_efficiency(efficient + second_seed)  # seeds of one size are averaged, not compared
    assert len(used) == 8 and share == 1.0
    inverted = [curve_record(1e4, 1e-3, 1.0), curve_record(3e4, 1e-4, 1.0)]  # the larger learns slower
    assert k.sample_efficiency(inverted)[1] == [0.0]


def test_tokens_to_reach_interpolates_in_log_tokens():
    curve = [[0, 0, 4.0], [1, 100, 3.0], [2, 10000, 1.0]]
    assert k.tokens_to_reach(curve, 2.0) == pytest.approx(1000)
    assert k.tokens_to_reach(curve, 0.5) is None


def test_section_writes_tables_verdict_text_and_plots(tmp_path):
    records = sweep(0.002) + [curve_record(n, 1e-3 * n / 1e4, 1.0 + 10 * n ** -0.3) for n in (1e4, 3e4, 1e5, 3e5)]
    for r in records[21:]:
        r["experiment"] = "equal"
    lines = k.section(SimpleNamespace(records=records, explorations=[], out_dir=tmp_path))
    text = "\n".join(lines)
    assert "a = 0.50" in text and "nearer Hoffmann et al.'s" in text
    assert "alpha =" in text and "R²" in text and "Sample efficiency" in text
    assert (tmp_path / "sweep_isoflop.png").stat().st_size > 0 and (tmp_path / "equal_loss_n.png").stat().st_size > 0
    assert "below the ~100K parameters" in text
    assert set(k.METHODS) == {"isoflop_exponent", "loss_power_law", "sample_efficiency"}


def test_section_without_records_says_how_to_make_them(tmp_path):
    lines = k.section(SimpleNamespace(records=[], explorations=[], out_dir=tmp_path))
    assert any("make scaling-laws" in line for line in lines)


@pytest.mark.slow  # composes the 30 recipes of both sweeps
def test_the_committed_sweeps_records_answer_the_scaling_claims_in_the_report(tmp_path):
    """Records carrying the committed recipes of both scaling experiments (synthetic losses from a law whose
    exponent is 0.5) reach the claims table through report.derived and the section's METHODS."""
    from repro.claims import load_claims
    from repro.experiments import load_experiment
    from repro.report.build import build_report
    from tests.conftest import REPO

    experiments = {name: load_experiment(name) for name in ("gpt_scaling_kjv", "gpt_scaling_kjv_tokens")}
    records = []
    for recipe in experiments["gpt_scaling_kjv"].recipes:
        c, d = recipe["model"]["compute_budget"], recipe["model"]["net"]["n_embd"]
        n = 24 * d * d
        # the optimum placed inside every budget's sizes (about 7.6K parameters at the smallest budget)
        records.append(isoflop_record(c, n, shift=12.0) | {"experiment": "gpt_scaling_kjv", "config": recipe})
    for recipe in experiments["gpt_scaling_kjv_tokens"].recipes:
        d = recipe["model"]["net"]["n_embd"]
        records.append(curve_record(24 * d * d, 1e-3 * d / 24, 1.0 + 10 * (24 * d * d) ** -0.3)
                       | {"experiment": "gpt_scaling_kjv_tokens", "config": recipe})
    claims = load_claims(REPO / "results" / "claims.yaml")
    text = build_report(claims, records, tmp_path, experiments=experiments, readme=None).read_text()

    def verdict(claim_id):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{claim_id}`"))
        return row.split(" | ")[6]

    assert verdict("hoffmann2022.isoflop_exponent") == "reproduced"
    assert verdict("kaplan2020.compute_optimal_exponent") == "not reproduced"
    assert verdict("kaplan2020.loss_power_law") == "reproduced"
    assert verdict("kaplan2020.sample_efficiency") == "reproduced"
    assert "gpt_scaling_kjv_isoflop.png" in text and (tmp_path / "gpt_scaling_kjv_tokens_loss_n.png").exists()


@pytest.mark.parametrize("name", ["lenet5_learning_curve", pytest.param("gpt_scaling_kjv_tokens", marks=pytest.mark.slow)])
def test_sweep_points_set_on_the_composed_config_equal_hydras_composition(name):
    from omegaconf import OmegaConf

    from repro.compose import compose_experiment
    from repro.experiments import _resolved, _sweep_points, load_experiment
    from repro.recipe import fingerprint

    cfg = compose_experiment(name, "unused", with_hydra=True)
    points = _sweep_points(OmegaConf.to_container(cfg.hydra.sweeper.params))
    composed = [fingerprint(_resolved(compose_experiment(name, "unused", point))) for point in points]
    assert len(points) > 1 and [fingerprint(r) for r in load_experiment(name).recipes] == composed


@pytest.mark.data
@pytest.mark.skipif(real_data_dir() is None, reason="DATA_DIR with the KJV text not set")
def test_the_cpu_isoflop_plan_spans_10x_with_5_sizes_and_reads_the_text_at_most_about_twice():
    """The issue's plan for the CPU sweep: at least 3 budgets spanning 10x, at least 5 sizes per budget, and no run
    reading the KJV training text more than about twice (tokens = budget / counted training FLOPs per token)."""
    import torch
    from hydra.utils import instantiate

    from repro.experiments import load_experiment
    from repro.meter import count_flops

    recipes = load_experiment("gpt_scaling_kjv").recipes
    data = recipes[0]["data"]
    text = (real_data_dir() / "kjv" / data["file"]).read_text(encoding="utf-8")
    train_characters = len(text) * (1 - data["val_fraction"])
    passes, sizes = {}, defaultdict(set)
    for recipe in recipes:
        budget, width = float(recipe["model"]["compute_budget"]), recipe["model"]["net"]["n_embd"]
        block = torch.zeros(2, data["block_size"], dtype=torch.long)
        per_token = count_flops(instantiate(recipe["model"]["net"]), block)[1] / block.numel()
        passes[(budget, width)] = budget / per_token / train_characters
        sizes[budget].add(width)
    assert len(sizes) >= 3 and max(sizes) / min(sizes) >= 10
    assert all(len(widths) >= 5 for widths in sizes.values())
    assert max(passes.values()) <= 2.0, max(passes.items(), key=lambda item: item[1])
