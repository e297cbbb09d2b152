"""Matches between players, all games of all pairings stepped together, and an Elo fit.

Every pairing plays its games with colours alternated: games 2m and 2m+1 start from the same opening
(`opening_plies` uniformly random moves, none by default) with the colours swapped. A player moves in
every game where it is to move, in one batch, so a round-robin of P players costs P batched calls a ply.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from models.alphazero.games import Game
from models.alphazero.players import Player


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion, in percent."""
    if n == 0:
        return 0.0, 100.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(100 * max(0.0, centre - half), 2), round(100 * min(1.0, centre + half), 2)


@dataclass
class MatchResult:
    player: str
    opponent: str
    wins: int
    draws: int
    losses: int

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / max(self.games, 1)

    def summary(self) -> dict:
        n = self.games
        return {**asdict(self), "games": n, "win_pct": round(100 * self.wins / max(n, 1), 2),
                "draw_pct": round(100 * self.draws / max(n, 1), 2), "loss_pct": round(100 * self.losses / max(n, 1), 2),
                "win_interval_pct": wilson(self.wins, n), "loss_interval_pct": wilson(self.losses, n),
                "score_pct": round(100 * self.score, 2)}


@torch.no_grad()
def play(game: Game, players: list[Player], pairs: list[tuple[int, int]], games_per_pair: int,
         opening_plies: int = 0, device: torch.device | str = "cpu") -> list[MatchResult]:
    """Results of players[i] against players[j] for each (i, j) in `pairs`."""
    if games_per_pair < 1:
        return [MatchResult(players[i].name, players[j].name, 0, 0, 0) for i, j in pairs]
    n = len(pairs) * games_per_pair
    pair_index = torch.arange(n, device=device) // games_per_pair
    k = torch.arange(n, device=device) % games_per_pair
    seat = torch.tensor(pairs, device=device)[pair_index]          # (n, 2): i, j
    first = torch.where(k % 2 == 0, seat[:, 0], seat[:, 1])        # who moves first in each game
    second = torch.where(k % 2 == 0, seat[:, 1], seat[:, 0])
    state = game.initial(n, device)
    opening = game.initial(n // 2 + 1, device)
    for _ in range(opening_plies):  # paired openings: game 2m and 2m+1 share opening m
        scores = torch.rand(len(opening), game.num_actions, device=device) + 1e-6
        opening = game.play(opening, (scores * game.legal(opening)).argmax(-1))
    if opening_plies:
        state = opening[torch.arange(n, device=device) // 2].clone()
    done, _ = game.outcome(state)
    winner = torch.full((n,), -1, dtype=torch.long, device=device)  # index of the winning player, -1 draw
    ply = opening_plies
    while not bool(done.all()):
        mover = first if (ply - opening_plies) % 2 == 0 else second
        actions = torch.zeros(n, dtype=torch.long, device=device)
        for p, player in enumerate(players):
            rows = (~done & (mover == p)).nonzero().squeeze(-1)
            if len(rows):
                actions[rows] = player.act(state[rows], ply)
        live = (~done).nonzero().squeeze(-1)
        state[live] = game.play(state[live], actions[live])
        finished, value = game.outcome(state[live])
        won = live[finished & (value < 0)]
        winner[won] = mover[won]
        done[live[finished]] = True
        ply += 1
    results = []
    for index, (i, j) in enumerate(pairs):
        rows = pair_index == index
        results.append(MatchResult(players[i].name, players[j].name, int((winner[rows] == i).sum()),
                                   int((winner[rows] == -1).sum()), int((winner[rows] == j).sum())))
    return results


def elo_fit(results: list[MatchResult], anchor: str | None = None, prior_draws: float = 1.0,
            iterations: int = 2000) -> dict[str, float]:
    """Bradley-Terry ratings on the Elo scale (400 log10 of the strength) from pairwise results, draws
    as half a win each, by Hunter's (2004) MM iterations. `prior_draws` virtual draws per pairing keep a
    player who never loses (or never wins) finite. `anchor` (a player name) is set to 0."""
    names = sorted({r.player for r in results} | {r.opponent for r in results})
    index = {name: i for i, name in enumerate(names)}
    P = len(names)
    wins = torch.zeros(P, P, dtype=torch.float64)
    for r in results:
        i, j = index[r.player], index[r.opponent]
        wins[i, j] += r.wins + 0.5 * r.draws + 0.5 * prior_draws
        wins[j, i] += r.losses + 0.5 * r.draws + 0.5 * prior_draws
    games = wins + wins.T
    strength = torch.ones(P, dtype=torch.float64)
    for _ in range(iterations):
        denominator = (games / (strength[:, None] + strength[None, :])).sum(1)
        updated = wins.sum(1) / denominator.clamp(min=1e-300)
        updated = updated / torch.exp(torch.log(updated.clamp(min=1e-300)).mean())
        if torch.allclose(updated, strength, rtol=1e-10, atol=0):
            strength = updated
            break
        strength = updated
    elo = 400 * torch.log10(strength.clamp(min=1e-300))
    offset = float(elo[index[anchor]]) if anchor in index else float(elo.mean())
    return {name: round(float(elo[index[name]]) - offset, 1) for name in names}
