"""Players: each chooses moves for a batch of positions at once, `act(states, ply) -> actions`.

Baselines follow AlphaZero.jl's Connect Four benchmark (jonathan-laurent/AlphaZero.jl, src/minmax.jl,
games/connect-four/game.jl and params.jl): uniform random; vanilla MCTS with random rollouts (uniform
priors, one playout a simulation, c_puct 1); depth-d minimax on a heuristic where every line that
holds no opponent stone scores 0.1^(k - 1 - own stones in it), own lines minus the opponent's; and
perfect play from the exact solvers. Small temperatures make games differ.
"""

from __future__ import annotations

import torch

from models.alphazero.games import Game
from models.alphazero.mcts import MCTS, choose, masked_softmax, network_evaluator, rollout_evaluator


class Player:
    name = "player"

    def act(self, states: torch.Tensor, ply: int | torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _schedule(ply: int | torch.Tensor, n: int, temperature: float, moves: int | None, late: float,
              device) -> torch.Tensor:
    """Per-row temperature: `temperature` for the first `moves` plies of the game (None: always), then `late`."""
    ply = torch.as_tensor(ply, device=device).expand(n)
    if moves is None:
        return torch.full((n,), float(temperature), device=device)
    return torch.where(ply < moves, float(temperature), float(late))


class RandomPlayer(Player):
    name = "random"

    def __init__(self, game: Game) -> None:
        self.game = game

    def act(self, states, ply):
        scores = torch.rand(len(states), self.game.num_actions, device=states.device) + 1e-6
        return (scores * self.game.legal(states)).argmax(-1)


class MCTSPlayer(Player):
    """PUCT search; moves by visit count with a temperature schedule (0: the most visited)."""

    def __init__(self, game: Game, search: MCTS, temperature: float = 0.0, temperature_moves: int | None = None,
                 late_temperature: float = 0.0, noise: bool = False, name: str = "mcts") -> None:
        self.game, self.search, self.noise, self.name = game, search, noise, name
        self.temperature, self.temperature_moves, self.late = temperature, temperature_moves, late_temperature

    def act(self, states, ply):
        visits, _ = self.search.search(states, noise=self.noise)
        return choose(visits, _schedule(ply, len(states), self.temperature, self.temperature_moves, self.late,
                                        states.device))


def network_player(game: Game, net: torch.nn.Module, simulations: int, c_puct: float, name: str = "alphazero",
                   **schedule) -> MCTSPlayer:
    return MCTSPlayer(game, MCTS(game, network_evaluator(game, net), simulations, c_puct), name=name, **schedule)


def rollout_player(game: Game, simulations: int, c_puct: float = 1.0, name: str = "rollouts",
                   **schedule) -> MCTSPlayer:
    return MCTSPlayer(game, MCTS(game, rollout_evaluator(game), simulations, c_puct), name=name, **schedule)


class RawNetworkPlayer(Player):
    """The policy head alone, no search: its most probable legal move (or a sample at a temperature)."""

    def __init__(self, game: Game, net: torch.nn.Module, temperature: float = 0.0, name: str = "raw network") -> None:
        self.game, self.net, self.temperature, self.name = game, net, temperature, name

    @torch.no_grad()
    def act(self, states, ply):
        logits, _ = self.net(self.game.encode(states))
        probs = masked_softmax(logits, self.game.legal(states))
        return choose(probs, self.temperature)


class PerfectPlayer(Player):
    """A uniformly random move among those that keep the position's game-theoretic value."""

    name = "perfect"

    def __init__(self, game: Game, solver) -> None:
        self.game, self.solver = game, solver

    def act(self, states, ply):
        optimal = self.solver.optimal(states)
        scores = torch.rand(optimal.shape, device=states.device) + 1e-6
        return (scores * optimal).argmax(-1)


# ---- minimax ------------------------------------------------------------------------------------

def heuristic(game: Game, states: torch.Tensor, gamma: float = 0.1, chunk: int = 1 << 15) -> torch.Tensor:
    """AlphaZero.jl's Connect Four heuristic for the player to move: every line holding none of the other
    side's stones scores gamma^(k - 1 - stones in it), k the line's length; own lines minus the opponent's.
    Games with `line_counts` (Connect Four's bitboards) count lines bit-parallel; others gather cells."""
    k = game.lines.shape[1]
    weights = gamma ** torch.arange(k - 1, -2, -1, device=states.device, dtype=torch.float)  # N = 0..k stones
    own, other = states[:, 0], states[:, 1] ^ states[:, 0]
    if hasattr(game, "line_counts"):  # in chunks that stay in cache
        return torch.cat([(game.line_counts(m, y) - game.line_counts(y, m)).float() @ weights
                          for m, y in zip(own.split(chunk), other.split(chunk))]) if len(own) else own.float()
    cells = game.cell_bits.flatten().to(states.device)
    position = torch.empty(int(cells.max()) + 1, dtype=torch.long, device=states.device)
    position[cells] = torch.arange(len(cells), device=states.device)
    lines = position[game.lines.to(states.device)]  # (L, k) cell positions
    out = []
    for mine, yours in zip(own.split(chunk), other.split(chunk)):
        m = ((mine[:, None] >> cells) & 1)[:, lines].sum(-1)  # (M, L) stones in each line
        y = ((yours[:, None] >> cells) & 1)[:, lines].sum(-1)
        out.append(torch.where(y == 0, weights[m], 0.0).sum(-1) - torch.where(m == 0, weights[y], 0.0).sum(-1))
    return torch.cat(out) if out else torch.zeros(0, device=states.device)


def minimax_qvalues(game: Game, states: torch.Tensor, depth: int) -> torch.Tensor:
    """(B, A) action values for the player to move, full-width to `depth` plies (AlphaZero.jl's MinMax
    with amplified rewards): a winning move is +inf, a position after `depth` plies scores its heuristic,
    a finished game 0, an illegal move -inf."""
    A = game.num_actions
    levels = [states]
    for _ in range(depth):  # every action from every node, illegal and post-terminal ones included
        parents = levels[-1]
        levels.append(game.play(parents.repeat_interleave(A, 0), torch.arange(A, device=states.device).repeat(len(parents))))
    value = heuristic(game, levels[-1])
    q = None
    for level in range(depth, 0, -1):
        children, parents = levels[level], levels[level - 1]
        done, result = game.outcome(children)
        edge = torch.where(done, torch.where(result < 0, float("inf"), 0.0), -value)
        q = edge.view(len(parents), A).masked_fill(~game.legal(parents), float("-inf"))
        if level > 1:
            parent_done, _ = game.outcome(parents)
            value = torch.where(parent_done, 0.0, q.max(-1).values)
    return q


class MinimaxPlayer(Player):
    """AlphaZero.jl's MinMax player: a winning move if there is one; uniform among all moves if every
    move loses; otherwise the best value (ties uniformly), or at temperature t a move with probability
    proportional to exp((q - q_max) / C)^(1/t), C the largest |q| among non-losing moves."""

    def __init__(self, game: Game, depth: int, temperature: float = 0.0, name: str | None = None) -> None:
        self.game, self.depth, self.temperature = game, depth, temperature
        self.name = name or f"minimax{depth}"

    @torch.no_grad()
    def act(self, states, ply):
        q = minimax_qvalues(self.game, states, self.depth)
        legal = self.game.legal(states)
        winning = q == float("inf")
        losing_all = ~(legal & (q > float("-inf"))).any(-1, keepdim=True)
        best = q.max(-1, keepdim=True).values
        if self.temperature > 0:
            finite = torch.where(legal & (q > float("-inf")) & (q < float("inf")), q.abs(), 0.0)
            scale = finite.amax(-1, keepdim=True) + 1e-12
            weights = torch.exp((q - best) / scale) ** (1 / self.temperature)
            weights = torch.nan_to_num(weights.masked_fill(q == float("-inf"), 0.0), nan=0.0)
        else:
            weights = (q == best).float()
        weights = torch.where(winning.any(-1, keepdim=True), winning.float(), weights)
        weights = torch.where(losing_all, legal.float(), weights)
        return torch.multinomial(weights * legal, 1).squeeze(-1)
