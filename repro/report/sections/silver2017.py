"""The AlphaZero section (Silver et al. 2017, 2018): self-play throughput, play against perfect players
and baselines with 95% intervals, mistake rates on Pons' Connect Four sets beside AlphaZero.jl's, and
Elo over training for the search and the raw network. Everything is read from the records' `selfplay`
and `evaluation` fields (models/alphazero_system.py); the claims themselves are judged by the core report."""

from __future__ import annotations

import io
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from repro.report.tables import fmt_duration, table

TITLE = "AlphaZero on small games (Silver et al. 2017, 2018)"

ELO_PNG = "silver2017_elo.png"
# AlphaZero.jl's Connect Four tutorial, read off pons-benchmark-results.png (../shared/data/connect4-pons/SOURCE.md):
# (its AlphaZero agent after 15 iterations, its depth-5 minimax); it gives no End-Easy numbers.
PONS_ANCHORS = {"beginning_easy": ("~0", "~1.7"), "middle_easy": ("~0", "~0.7"), "end_easy": ("—", "—")}
MATCH_ANCHORS = {("connect4", "minimax2"): "AlphaZero.jl docs: no Python AlphaZero known to beat it on one desktop",
                 ("connect4", "minimax5"): "AlphaZero.jl: ~100% of 200 games from iteration 5 (GPU)",
                 ("connect4", "rollouts"): "AlphaZero.jl: ~100% against 1,000 rollouts a move (GPU)",
                 ("connect4", "rollouts1000"): "AlphaZero.jl: ~100% against 1,000 rollouts a move (GPU)",
                 ("tictactoe", "perfect"): "a draw with perfect play: 0% losses expected"}
PAPER_ELO_GAP = 5185 - 3055  # AlphaGo Zero: full program vs raw network
METHODS: dict = {}  # every AlphaZero claim is one metric of one run


def _label(record: dict[str, Any]) -> str:
    return f"{record['experiment']} (seed {record.get('seed', '?')})"


def _newest_first(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (r.get("experiment", ""), str(r.get("finished_at", ""))), reverse=True)


def selfplay_table(records: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in records:
        s = r.get("selfplay") or {}
        cfg = (r.get("config") or {}).get("model") or {}
        net = cfg.get("net") or {}
        rows.append([_label(r), len(s.get("iterations") or []), s.get("games"), s.get("positions"),
                     f"{net.get('blocks', '?')} x {net.get('channels', '?')}", cfg.get("simulations", "?"),
                     s.get("positions_per_s"), s.get("network_evaluations_per_s"),
                     "n/a" if s.get("network_share_of_search") is None else f"{100 * s['network_share_of_search']:.0f}%",
                     fmt_duration(r.get("wall_time_s")), (r.get("hardware") or {}).get("summary", "?")])
    return table(["run", "iterations", "games", "positions", "net (blocks x filters)", "simulations",
                  "self-play positions/s", "network evaluations/s", "network's share of search time", "wall time",
                  "hardware"], rows)


def perfect_play_lines(records: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in records:
        e = r.get("evaluation") or {}
        lines, raw = e.get("perfect_play"), e.get("raw_optimal")
        if not lines and not raw:
            continue
        side = lambda s: "n/a" if not lines else "{wins} / {draws} / {losses}".format(**lines[s])
        rows.append([_label(r), lines["lines"] if lines else "n/a", side("first"), side("second"),
                     "n/a" if not lines else f"{lines['loss_rate_pct']:g}%",
                     "n/a" if not raw else f"{raw['optimal']:,} / {raw['positions']:,} ({raw['optimal_pct']:.2f}%)"])
    if not rows:
        return []
    return ["Against every optimal reply of the perfect player (every line of play, not a sample), and the raw "
            "network's move in every reachable position; anchors: 0% lost lines, >= 95% optimal moves.", "",
            *table(["run", "lines of play", "agent first: W / D / L", "agent second: W / D / L", "lines lost",
                    "raw network: optimal moves"], rows)]


def match_lines(records: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in records:
        game = ((r.get("config") or {}).get("model") or {}).get("game")
        for m in (r.get("evaluation") or {}).get("matches") or []:
            (low, high), (loss_low, loss_high) = m["win_interval_pct"], m["loss_interval_pct"]
            rows.append([_label(r), m["opponent"], m["games"], f"{m['win_pct']:g}% [{low:g}, {high:g}]",
                         f"{m['draw_pct']:g}%", f"{m['loss_pct']:g}% [{loss_low:g}, {loss_high:g}]",
                         MATCH_ANCHORS.get((game, m["opponent"]), "—")])
    if not rows:
        return []
    return ["The agent (search, most-visited move, no noise) against each baseline, colours alternated; "
            "win and loss rates with their 95% Wilson intervals.", "",
            *table(["run", "opponent", "games", "wins [95% interval]", "draws", "losses [95% interval]", "anchor"], rows)]


def mistake_lines(records: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in records:
        pons = (r.get("evaluation") or {}).get("pons") or {}
        for label, entry in pons.items():
            results = entry.get("results") or {}
            cells = []
            for name in ("alphazero", "raw network"):
                x = results.get(name)
                cells.append("n/a" if not x else f"{x['mistake_pct']:g}%" + (f" ({x['undecided']} undecided)" if x.get("undecided") else ""))
            others = [f"{name}: {x['mistake_pct']:g}%" for name, x in results.items() if name not in ("alphazero", "raw network")]
            ours = next(iter(results.values()), {})
            anchor_az, anchor_minimax = PONS_ANCHORS.get(label, ("—", "—"))
            rows.append([_label(r), f"{label.replace('_', ' ')} ({entry.get('file', '?')})", ours.get("positions", "?"),
                         *cells, "; ".join(others) or "—", f"{anchor_az}%" if anchor_az != "—" else "—",
                         f"{anchor_minimax}%" if anchor_minimax != "—" else "—"])
    if not rows:
        return []
    return ["A move is a mistake when it changes the position's outcome (win / draw / loss) under perfect play "
            "(AlphaZero.jl's rule); positions sampled from each of Pons' sets. A check the solver could not finish "
            "within its node budget is counted as a mistake (so these are upper bounds).", "",
            *table(["run", "set", "positions", "agent (search)", "raw network", "baselines",
                    "AlphaZero.jl agent", "AlphaZero.jl depth-5 minimax"], rows)]


def elo_lines(records: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in records:
        elo = (r.get("evaluation") or {}).get("elo")
        if not elo:
            continue
        ratings = elo["ratings"]
        gap = (ratings.get("alphazero") or 0) - (ratings.get("raw network") or 0)
        order = sorted(((k, v) for k, v in ratings.items() if not k.startswith("iteration")), key=lambda kv: -kv[1])
        rows.append([_label(r), f"{gap:+.0f}", ", ".join(f"{k} {v:+.0f}" for k, v in order),
                     elo.get("games_per_pair", "?")])
    if not rows:
        return []
    return [f"Elo from one Bradley-Terry fit over a round-robin (random play = 0; one virtual draw a pairing). "
            f"Search over the raw network: AlphaGo Zero's full program was {PAPER_ELO_GAP:,} Elo above its raw "
            f"network (5,185 vs 3,055); on a game whose perfect play is a draw the gap is capped.", "",
            *table(["run", "search − raw network", "ratings", "games a pairing"], rows)]


def plot_elo(records: list[dict[str, Any]], path: Path) -> bool:
    curves = [(r, (r.get("evaluation") or {}).get("elo", {}).get("curves") or {}) for r in records]
    curves = [(r, c) for r, c in curves if c]
    if not curves:
        return False
    games = defaultdict(list)
    for r, _ in curves:
        games[r["experiment"]].append(r)
    fig = Figure(figsize=(7, 4.5))
    axes = fig.subplots(1, len(games), squeeze=False)[0]
    for ax, (experiment, runs) in zip(axes, sorted(games.items())):
        for r in runs:
            c = r["evaluation"]["elo"]["curves"]
            for name, style in (("search", "-o"), ("raw network", "--s")):
                if name in c:
                    xs, ys = zip(*c[name])
                    ax.plot(xs, ys, style, markersize=3, label=f"{name}, seed {r.get('seed', '?')}")
            anchors = {k: v for k, v in r["evaluation"]["elo"]["ratings"].items()
                       if not k.startswith("iteration") and k not in ("alphazero", "raw network")}
            for name, value in anchors.items():
                ax.axhline(value, color="grey", linewidth=0.6, linestyle=":")
                ax.annotate(name, (0, value), fontsize=7, color="grey", va="bottom")
        ax.set_title(experiment, fontsize=9)
        ax.set_xlabel("training iteration")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("Elo (random play = 0)")
    fig.suptitle("AlphaZero from zero knowledge: Elo over training (Silver et al. 2017 Fig. 3a, in miniature)", fontsize=10)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(buffer.getvalue())
    os.replace(handle.name, path)
    return True


def section(ctx) -> list[str]:
    records = _newest_first(list(ctx.records))
    explorations = _newest_first(list(getattr(ctx, "explorations", []) or []))
    out = ["", "## AlphaZero on solved games (Silver et al. 2017, 2018)", "",
           "Self-play from random weights with PUCT search, measured against exact solvers (tic-tac-toe by "
           "exhaustive minimax, Connect Four by a Pons-style solver) and AlphaZero.jl's baselines."]
    if not records and not explorations:
        return out + ["", "No AlphaZero records yet (`make reproduce-alphazero_tictactoe`)."]
    for title, group in (("Paper recipe", records), ("Explorations (other settings; no verdicts)", explorations)):
        if not group:
            continue
        out += ["", f"### {title}", "", *selfplay_table(group)]
        for part in (perfect_play_lines(group), match_lines(group), mistake_lines(group), elo_lines(group)):
            if part:
                out += ["", *part]
    if plot_elo(records or explorations, Path(ctx.out_dir) / ELO_PNG):
        out += ["", f"![Elo over training iterations, with and without search]({ELO_PNG})"]
    return out
