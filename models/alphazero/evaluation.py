"""The test-time measurements of a trained agent, driven by the experiment's `model.evaluation` config:

- perfect_play (tic-tac-toe): the agent (search, greedy) against every optimal reply of the perfect
  player, as either side: every line of play, not a sample. -> test/loss_rate_vs_perfect_pct
- raw_optimal (tic-tac-toe): the policy head alone picks a value-preserving move in every reachable
  non-terminal position. -> test/raw_optimal_move_pct
- matches: the agent against each named baseline. -> test/win_rate_vs_<name>_pct (and draw, loss)
- pons (Connect Four): mistake rates on Pons' benchmark sets: a move is a mistake when it changes the
  position's outcome (win/draw/loss), AlphaZero.jl's rule; a check past its node budget counts as a
  mistake (Python's solver is slow in the opening). -> test/mistakes_<set>_pct for the agent
- elo: a round-robin of the baselines, the raw network, the agent and its snapshots during training;
  one Bradley-Terry fit over every game played. -> test/elo_search_minus_raw
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from models.alphazero.arena import MatchResult, elo_fit, play
from models.alphazero.games import Game
from models.alphazero.players import (MinimaxPlayer, PerfectPlayer, Player, RandomPlayer, RawNetworkPlayer,
                                      network_player, rollout_player)
from models.alphazero.solvers import ConnectFourSolver, TicTacToeSolver, read_pons

AGENT, RAW = "alphazero", "raw network"
KINDS = ("random", "rollouts", "minimax", "perfect")


def make_solver(game: Game):
    return TicTacToeSolver() if game.name == "tictactoe" else ConnectFourSolver()


def make_player(name: str, spec: dict, game: Game, solver=None) -> Player:
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind == "random":
        player = RandomPlayer(game)
    elif kind == "rollouts":
        player = rollout_player(game, name=name, **spec)
    elif kind == "minimax":
        player = MinimaxPlayer(game, name=name, **spec)
    elif kind == "perfect":
        player = PerfectPlayer(game, solver or make_solver(game))
    else:
        raise ValueError(f"player {name}: kind={kind!r}; use random, rollouts, minimax or perfect")
    player.name = name
    return player


def perfect_play_lines(game: Game, solver, agent: Player) -> dict[str, Any]:
    """Every game the agent can play against a perfect player who tries each of its optimal moves in
    turn, the agent moving first and then second. Outcomes are counted per line of play."""
    out: dict[str, Any] = {}
    for side, agent_first in (("first", True), ("second", False)):
        counts = {"wins": 0, "draws": 0, "losses": 0}
        frontier, ply = game.initial(1), 0
        while len(frontier):
            agent_moves = (ply % 2 == 0) == agent_first
            if agent_moves:
                nxt = game.play(frontier, agent.act(frontier, ply))
            else:
                rows, actions = solver.optimal(frontier).nonzero(as_tuple=True)
                nxt = game.play(frontier[rows], actions)
            done, value = game.outcome(nxt)
            won = int((done & (value < 0)).sum())
            counts["wins" if agent_moves else "losses"] += won
            counts["draws"] += int((done & (value == 0)).sum())
            frontier, ply = nxt[~done], ply + 1
        out[side] = counts
    total = {key: out["first"][key] + out["second"][key] for key in ("wins", "draws", "losses")}
    lines = sum(total.values())
    out.update(total, lines=lines, loss_rate_pct=round(100 * total["losses"] / max(lines, 1), 4))
    return out


@torch.no_grad()
def raw_optimal_rate(game: Game, solver, net: torch.nn.Module, device) -> dict[str, Any]:
    states = solver.reachable().to(device)
    logits, _ = net(game.encode(states))
    choice = logits.masked_fill(~game.legal(states), float("-inf")).argmax(-1)
    optimal = solver.optimal(states)[torch.arange(len(states)), choice]
    return {"positions": len(states), "optimal": int(optimal.sum()),
            "optimal_pct": round(100 * float(optimal.float().mean()), 4)}


def pons_mistakes(game: Game, solver: ConnectFourSolver, players: list[Player], entries: list[tuple[list[int], int]],
                  cache: dict, device, node_budget: int | None = None) -> dict[str, dict[str, Any]]:
    """Each player's share of moves that change the position's outcome (AlphaZero.jl's rule), judged by
    the solver from the file's exact score (memoised across players in `cache`). A check that needs more
    than `node_budget` nodes stays undecided: `mistake_pct` counts it as a mistake (an upper bound),
    `mistake_pct_decided` leaves it out."""
    states = game.from_moves([moves for moves, _ in entries]).to(device)
    plies = torch.tensor([len(moves) for moves, _ in entries], device=device)
    out = {}
    for player in players:
        actions = player.act(states, plies).tolist()
        started, verdicts = time.perf_counter(), []
        for (own, everyone), column, (moves, score) in zip(states.tolist(), actions, entries):
            key = (own + everyone, column)
            if key not in cache:
                cache[key] = solver.keeps_outcome(own, everyone, len(moves), column, score, node_budget)
            verdicts.append(cache[key])
        mistakes, undecided, n = verdicts.count(False), verdicts.count(None), len(verdicts)
        out[player.name] = {"positions": n, "mistakes": mistakes, "undecided": undecided,
                            "mistake_pct": round(100 * (mistakes + undecided) / max(n, 1), 2),
                            "mistake_pct_decided": round(100 * mistakes / max(n - undecided, 1), 2),
                            "solver_seconds": round(time.perf_counter() - started, 1)}
    return out


def sample_entries(path: Path, positions: int | None, seed: int = 0) -> list[tuple[list[int], int]]:
    entries = read_pons(path)
    if positions and positions < len(entries):
        order = torch.randperm(len(entries), generator=torch.Generator().manual_seed(seed))[:positions]
        entries = [entries[i] for i in sorted(order.tolist())]
    return entries


class Evaluation:
    """Runs the configured measurements for a trained system; `metrics` for self.log, `details` for the record."""

    def __init__(self, game: Game, config: dict[str, Any]) -> None:
        self.game, self.config = game, config
        self.metrics: dict[str, float] = {}
        self.details: dict[str, Any] = {}

    def run(self, net: torch.nn.Module, snapshots: dict[int, dict], make_net, device) -> None:
        cfg, game = self.config, self.game
        simulations, c_puct = cfg["simulations"], cfg["c_puct"]
        needs_solver = cfg.get("perfect_play") or cfg.get("raw_optimal") or cfg.get("pons") or any(
            spec.get("kind") == "perfect" for spec in (cfg.get("players") or {}).values())
        solver = make_solver(game) if needs_solver else None
        baselines = {name: make_player(name, spec, game, solver) for name, spec in (cfg.get("players") or {}).items()}
        agent = network_player(game, net, simulations, c_puct, name=AGENT)
        raw = RawNetworkPlayer(game, net, name=RAW)
        started = time.perf_counter()
        seconds = self.details.setdefault("seconds_by_part", {})

        def lap(part: str) -> None:
            seconds[part] = round(time.perf_counter() - started - sum(seconds.values()), 1)

        if cfg.get("perfect_play"):
            lines = perfect_play_lines(game, solver, agent)
            self.details["perfect_play"] = lines
            self.metrics["test/loss_rate_vs_perfect_pct"] = lines["loss_rate_pct"]
            lap("perfect_play")
        if cfg.get("raw_optimal"):
            rate = raw_optimal_rate(game, solver, net, device)
            self.details["raw_optimal"] = rate
            self.metrics["test/raw_optimal_move_pct"] = rate["optimal_pct"]
            lap("raw_optimal")

        results: list[MatchResult] = []
        opponents = [baselines[name] for name in cfg.get("matches") or []]
        if opponents:
            players = [agent, *opponents]
            matches = play(game, players, [(0, i) for i in range(1, len(players))], cfg["games"], device=device)
            results += matches
            self.details["matches"] = [m.summary() for m in matches]
            for m in matches:
                self.metrics[f"test/win_rate_vs_{m.opponent}_pct"] = 100 * m.wins / m.games
                self.metrics[f"test/draw_rate_vs_{m.opponent}_pct"] = 100 * m.draws / m.games
                self.metrics[f"test/loss_rate_vs_{m.opponent}_pct"] = 100 * m.losses / m.games
            lap("matches")

        pons = cfg.get("pons")
        if pons:
            self._pons(pons, solver, [agent, raw, *(baselines[n] for n in pons.get("baselines") or [])], device)
            lap("pons")

        elo = cfg.get("elo")
        if elo:
            self._elo(elo, agent, raw, baselines, snapshots, make_net, results, device)
            lap("elo")
        self.details["seconds"] = round(time.perf_counter() - started, 1)

    def _pons(self, pons: dict, solver, players: list[Player], device) -> None:
        cache: dict = {}
        table = {}
        for label, filename in pons["sets"].items():
            entries = sample_entries(Path(pons["data_dir"]) / filename, pons.get("positions"))
            results = pons_mistakes(self.game, solver, players, entries, cache, device, pons.get("node_budget"))
            table[label] = {"file": filename, "results": results}
            self.metrics[f"test/mistakes_{label}_pct"] = table[label]["results"][AGENT]["mistake_pct"]
        self.details["pons"] = table

    def _elo(self, elo: dict, agent: Player, raw: Player, baselines: dict[str, Player], snapshots: dict[int, dict],
             make_net, earlier: list[MatchResult], device) -> None:
        players: list[Player] = [agent, raw, *(baselines[name] for name in elo.get("players") or [])]
        every = elo.get("snapshot_every", 1)
        iterations = sorted(snapshots)
        last = iterations[-1] if iterations else 0
        chosen = [i for i in iterations if i % every == 0 and i != last]  # the last one is the agent itself
        raw_too = elo.get("raw_snapshots", False)
        for iteration in chosen:
            snapshot = make_net().to(device).eval()
            snapshot.load_state_dict(snapshots[iteration])
            players.append(network_player(self.game, snapshot, self.config["simulations"], self.config["c_puct"],
                                          name=f"iteration {iteration}"))
            if raw_too:
                players.append(RawNetworkPlayer(self.game, snapshot, name=f"iteration {iteration} (raw)"))
        pairs = [(i, j) for i in range(len(players)) for j in range(i + 1, len(players))]
        results = play(self.game, players, pairs, elo["games"], opening_plies=elo.get("opening_plies", 0), device=device)
        ratings = elo_fit(results + earlier, anchor=elo.get("anchor", "random"))
        curves = {"search": [[i, ratings[f"iteration {i}"]] for i in chosen] + [[last, ratings[AGENT]]]}
        if raw_too:
            curves["raw network"] = [[i, ratings[f"iteration {i} (raw)"]] for i in chosen] + [[last, ratings[RAW]]]
        self.details["elo"] = {"ratings": ratings, "games_per_pair": elo["games"], "anchor": elo.get("anchor", "random"),
                               "opening_plies": elo.get("opening_plies", 0), "curves": curves,
                               "results": [r.summary() for r in results]}
        self.metrics["test/elo_search_minus_raw"] = ratings[AGENT] - ratings[RAW]
