"""The AlphaZero report section on synthetic records."""

from types import SimpleNamespace

from repro.report.sections import silver2017


def record(experiment="alphazero_connect4", seed=0, with_pons=True):
    match = {"opponent": "minimax2", "games": 100, "wins": 93, "draws": 2, "losses": 5, "win_pct": 93.0,
             "draw_pct": 2.0, "loss_pct": 5.0, "win_interval_pct": [86.3, 96.6], "loss_interval_pct": [2.2, 11.2],
             "score_pct": 94.0}
    pons = {"beginning_easy": {"file": "Test_L1_R1", "results": {
        "alphazero": {"positions": 200, "mistakes": 3, "undecided": 1, "mistake_pct": 2.0},
        "raw network": {"positions": 200, "mistakes": 9, "undecided": 0, "mistake_pct": 4.5},
        "minimax5_greedy": {"positions": 200, "mistakes": 4, "undecided": 0, "mistake_pct": 2.0}}}}
    return {"experiment": experiment, "seed": seed, "wall_time_s": 3000.0, "finished_at": "2025-01-01T00:00:00",
            "hardware": {"summary": "AMD EPYC (2 cores)"},
            "config": {"model": {"game": experiment.split("_")[1], "simulations": 64, "net": {"blocks": 3, "channels": 32}}},
            "selfplay": {"games": 2560, "positions": 50000, "positions_per_s": 21.5, "network_evaluations_per_s": 1400.0,
                         "network_share_of_search": 0.81, "iterations": [{"iteration": 1}, {"iteration": 2}]},
            "evaluation": {"matches": [match], "pons": pons if with_pons else {},
                           "elo": {"ratings": {"random": 0.0, "minimax2": 350.0, "alphazero": 800.0, "raw network": 500.0,
                                               "iteration 0": 10.0},
                                   "games_per_pair": 20,
                                   "curves": {"search": [[0, 10.0], [2, 800.0]], "raw network": [[0, 5.0], [2, 500.0]]}}}}


def tictactoe_record():
    r = record("alphazero_tictactoe", with_pons=False)
    r["evaluation"]["perfect_play"] = {"lines": 111, "first": {"wins": 0, "draws": 4, "losses": 0},
                                       "second": {"wins": 0, "draws": 107, "losses": 0}, "loss_rate_pct": 0.0}
    r["evaluation"]["raw_optimal"] = {"positions": 4520, "optimal": 4443, "optimal_pct": 98.2965}
    return r


def test_section_has_the_tables_and_writes_the_elo_plot(tmp_path):
    ctx = SimpleNamespace(records=[record(), tictactoe_record()], explorations=[], out_dir=tmp_path)
    text = "\n".join(silver2017.section(ctx))
    assert "93% [86.3, 96.6]" in text and "5% [2.2, 11.2]" in text  # win and loss rates with intervals
    assert "no Python AlphaZero known to beat it" in text
    assert "beginning easy (Test_L1_R1)" in text and "2% (1 undecided)" in text and "~1.7%" in text
    assert "4,443 / 4,520 (98.30%)" in text and "0 / 107 / 0" in text
    assert "+300" in text and "2,130" in text  # search minus raw network, and AlphaGo Zero's gap
    assert (tmp_path / silver2017.ELO_PNG).stat().st_size > 1000
    assert f"]({silver2017.ELO_PNG})" in text


def test_section_without_records_says_how_to_make_them(tmp_path):
    lines = silver2017.section(SimpleNamespace(records=[], explorations=[], out_dir=tmp_path))
    assert any("make reproduce-alphazero_tictactoe" in line for line in lines)
    assert not (tmp_path / silver2017.ELO_PNG).exists()


def test_explorations_are_shown_apart_and_partial_records_do_not_break_it(tmp_path):
    partial = {"experiment": "alphazero_connect4", "seed": 1, "selfplay": {}, "evaluation": None}
    text = "\n".join(silver2017.section(SimpleNamespace(records=[partial], explorations=[record(seed=3)],
                                                        out_dir=tmp_path)))
    assert "### Explorations" in text and "alphazero_connect4 (seed 3)" in text
