"""GPT's report section (repro/report/sections/radford2019.py) on synthetic records."""

from types import SimpleNamespace

from repro.report.sections import radford2019 as r


def record(experiment="gpt_shakespeare_cpu", loss=1.90, projected=None, paper=1.88):
    return {"experiment": experiment, "seed": 0, "params": 804_096, "precision": "32-true",
            "hardware": {"summary": "AMD EPYC (2 cores)"}, "wall_time_s": 250.0, "tokens_per_s": 10_000.0,
            "flops_per_token_train": 5.3e6, "flops_per_token_kaplan": 4.9e6, "achieved_tflops": 0.053,
            "metrics": {"val/loss": loss + 0.01, "val/loss_full": loss}, "projected": projected,
            "claims": [{"id": "nanogpt.x", "paper": paper, "measured": loss}],
            "val_curve": [[250, 192_000, 2.4], [2000, 1_536_000, loss]],
            "config": {"model": {"net": {"block_size": 64, "n_embd": 128}}, "trainer": {"max_steps": 2000}}}


def test_table_shows_nanogpts_parameter_count_both_losses_and_speed(tmp_path):
    lines = r.section(SimpleNamespace(records=[record()], explorations=[], out_dir=tmp_path))
    row = next(line for line in lines if line.startswith("| gpt_shakespeare_cpu"))
    assert "0.80M" in row and "| 1.9100 |" in row and "| 1.9000 |" in row and "1.88" in row and "10,000" in row
    assert (tmp_path / r.CURVES_PNG).stat().st_size > 0


def test_explorations_are_listed_apart_with_their_projected_time(tmp_path):
    exploration = record("gpt_shakespeare", 3.1, projected={"seconds": 7200, "days": 0.08}, paper=1.4697)
    lines = r.section(SimpleNamespace(records=[], explorations=[exploration], out_dir=tmp_path))
    text = "\n".join(lines)
    assert "Explorations" in text and "2 h" in text


def test_no_runs_says_how_to_make_one(tmp_path):
    lines = r.section(SimpleNamespace(records=[], explorations=[], out_dir=tmp_path))
    assert any("make reproduce-gpt_shakespeare_cpu" in line for line in lines)
