"""Self-play: many games at once, every move chosen by PUCT search with root noise, every position
kept with its search's visit distribution (the policy target) and, once the game ends, its result
from the point of view of the player to move there (the value target). Silver et al. 2017 Methods
"Self-play": moves are sampled in proportion to visit counts (temperature 1) for the first moves of a
game (30 of Go's ~200), then the most visited move is played (temperature -> 0)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from models.alphazero.games import Game
from models.alphazero.mcts import MCTS, choose


@dataclass
class SelfPlayGames:
    planes: torch.Tensor   # (P, 2, H, W) int8: what the network sees in each position
    policy: torch.Tensor   # (P, A) float: root visit counts, normalised
    value: torch.Tensor    # (P,) float: the game's result for the player to move there
    games: int
    first_player_score: float  # mean result for the first player (+1 win, 0 draw, -1 loss)
    seconds: float
    evaluations: int       # positions the network evaluated
    evaluator_seconds: float


@torch.no_grad()
def play_games(game: Game, search: MCTS, games: int, temperature_moves: int, device: torch.device | str = "cpu") -> SelfPlayGames:
    started = time.perf_counter()
    evaluations, evaluator_seconds = search.evaluations, search.evaluator_seconds
    state = game.initial(games, device)
    done = torch.zeros(games, dtype=torch.bool, device=device)
    first_result = torch.zeros(games, device=device)
    recorded: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (games, states, policies) per ply
    ply = 0
    while not bool(done.all()):
        live = (~done).nonzero().squeeze(-1)
        visits, _ = search.search(state[live], noise=True)
        recorded.append((live, state[live], visits / visits.sum(-1, keepdim=True)))
        actions = choose(visits, 1.0 if ply < temperature_moves else 0.0)
        state[live] = game.play(state[live], actions)
        finished, value = game.outcome(state[live])
        # value is for the player now to move (-1: the mover won); the mover is the first player on even plies
        first_result[live[finished]] = -value[finished] * (1.0 if ply % 2 == 0 else -1.0)
        done[live[finished]] = True
        ply += 1
    planes, policies, values = [], [], []
    for ply, (live, states, policy) in enumerate(recorded):
        planes.append(game.encode(states).to(torch.int8))
        policies.append(policy)
        values.append(first_result[live] * (1.0 if ply % 2 == 0 else -1.0))
    return SelfPlayGames(torch.cat(planes).cpu(), torch.cat(policies).float().cpu(), torch.cat(values).float().cpu(),
                         games, float(first_result.mean()), time.perf_counter() - started,
                         search.evaluations - evaluations, search.evaluator_seconds - evaluator_seconds)
