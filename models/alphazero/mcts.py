"""PUCT Monte Carlo tree search over many games at once, with the tree held in tensors.

Silver et al. 2017 (AlphaGo Zero, Methods "Search algorithm") and 2018 (AlphaZero): each simulation
descends from the root choosing a = argmax Q(s,a) + U(s,a), U = c_puct P(s,a) sqrt(sum_b N(s,b)) / (1 + N(s,a)),
expands the leaf with the network's (p, v), and backs v up the path, its sign flipping with the player.
Unvisited edges have Q = 0 (AlphaGo Zero initialises N = W = Q = 0). Dirichlet noise
P = (1 - eps) p + eps Dir(alpha) at the root during self-play, eps = 0.25, alpha "scaled in inverse
proportion to the approximate number of legal moves" (0.3 / 0.15 / 0.03 for chess / shogi / Go, about
10 / legal moves): here alpha = `dirichlet_alpha` / (legal moves of the position).

The B trees live in (B, nodes, actions) tensors, as in DeepMind's mctx: a simulation is a few tensor ops
per tree level for all B games, then one network call on the B new leaves, so with a large B the
network, not Python, bounds the speed. Each search builds a fresh tree (no subtree reuse across moves;
guess: a simplification, the papers keep the subtree).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from models.alphazero.games import Game

# (states (M, 2)) -> (policy logits (M, A), values (M,) for the player to move)
Evaluator = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def masked_softmax(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits.float().masked_fill(~legal, float("-inf")), -1)


def dirichlet_noise(legal: torch.Tensor, alpha_total: float) -> torch.Tensor:
    """Dir(alpha) over each row's legal moves, alpha = alpha_total / (number of legal moves)."""
    alpha = (alpha_total / legal.sum(-1, keepdim=True).clamp(min=1)).expand_as(legal).float()
    draws = torch.distributions.Gamma(alpha, torch.ones_like(alpha)).sample() * legal
    return draws / draws.sum(-1, keepdim=True).clamp(min=1e-12)


def choose(visits: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
    """Moves from visit counts: sampled in proportion to N^(1/T) where T > 0, the most visited (first
    on ties) where T = 0. `temperature` is one number or one per row."""
    temperature = torch.as_tensor(temperature, dtype=torch.float, device=visits.device).expand(len(visits))
    greedy = visits.argmax(-1)
    hot = temperature > 0
    if not hot.any():
        return greedy
    counts = visits[hot].double()
    weights = (counts / counts.amax(-1, keepdim=True)) ** (1.0 / temperature[hot, None].double())
    return greedy.masked_scatter(hot, torch.multinomial(weights.float(), 1).squeeze(-1))


class MCTS:
    def __init__(self, game: Game, evaluate: Evaluator, simulations: int, c_puct: float = 1.25,
                 dirichlet_alpha: float = 10.0, noise_fraction: float = 0.25) -> None:
        if simulations < 1:
            raise ValueError(f"simulations={simulations}: need at least 1")
        self.game, self.evaluate = game, evaluate
        self.simulations, self.c_puct = simulations, c_puct
        self.dirichlet_alpha, self.noise_fraction = dirichlet_alpha, noise_fraction
        self.evaluations = 0           # positions the evaluator saw
        self.evaluator_seconds = 0.0   # time inside the evaluator
        self.search_seconds = 0.0      # time inside search(), evaluator included

    def _evaluate(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        started = time.perf_counter()
        logits, values = self.evaluate(states)
        self.evaluator_seconds += time.perf_counter() - started
        self.evaluations += len(states)
        return logits, values

    @torch.no_grad()
    def search(self, states: torch.Tensor, noise: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Root visit counts (B, A) and root values (B,) for the player to move, from `simulations`
        simulations in each of the B (non-terminal) states."""
        started = time.perf_counter()
        game, B, A, N = self.game, len(states), self.game.num_actions, self.simulations + 1
        device = states.device
        tree_state = states.new_zeros(B * N, 2)
        children = torch.full((B * N, A), -1, dtype=torch.long, device=device)
        prior = torch.zeros(B * N, A, device=device)
        visits = torch.zeros(B * N, A, device=device)
        value_sum = torch.zeros(B * N, A, device=device)
        legal = torch.zeros(B * N, A, dtype=torch.bool, device=device)
        terminal = torch.zeros(B * N, dtype=torch.bool, device=device)
        terminal_value = torch.zeros(B * N, device=device)
        base = torch.arange(B, device=device) * N  # row of each game's root

        tree_state[base] = states
        legal[base] = game.legal(states)
        logits, _ = self._evaluate(states)
        root_prior = masked_softmax(logits, legal[base])
        if noise and self.noise_fraction > 0:
            root_prior = (1 - self.noise_fraction) * root_prior + \
                self.noise_fraction * dirichlet_noise(legal[base], self.dirichlet_alpha)
        prior[base] = root_prior

        for simulation in range(self.simulations):
            node = base.clone()  # rows
            active = torch.ones(B, dtype=torch.bool, device=device)
            path_rows, path_actions, path_active = [], [], []
            while True:  # descend: a stopped game keeps its row, so it re-picks the same edge
                n = visits[node]
                q = value_sum[node] / n.clamp(min=1)
                u = self.c_puct * prior[node] * n.sum(-1, keepdim=True).clamp(min=1).sqrt() / (1 + n)
                action = (q + u).masked_fill(~legal[node], float("-inf")).argmax(-1)
                path_rows.append(node)
                path_actions.append(action)
                path_active.append(active)
                child = children[node, action]
                active = active & (child >= 0) & ~terminal[child.clamp(min=0)]
                if not bool(active.any()):
                    break
                node = torch.where(active, child, node)

            # the leaf edge is (node, action): a new node, or an existing terminal one
            child = children[node, action]
            new = child < 0
            leaf_value = torch.zeros(B, device=device)
            old = ~new
            if old.any():
                leaf_value[old] = terminal_value[child[old]]
            if new.any():
                rows = base[new] + simulation + 1
                parents, moves = node[new], action[new]
                children[parents, moves] = rows
                next_state = game.play(tree_state[parents], moves)
                done, value = game.outcome(next_state)
                tree_state[rows], terminal[rows], terminal_value[rows] = next_state, done, value
                next_legal = game.legal(next_state)
                legal[rows] = next_legal
                values = value
                if not bool(done.all()):
                    open_ = ~done
                    logits, net_values = self._evaluate(next_state[open_])
                    prior[rows[open_]] = masked_softmax(logits, next_legal[open_])
                    values = value.masked_scatter(open_, net_values.float())
                leaf_value[new] = values

            # backup: the edge at depth d belongs to the player at its node, whose value is the
            # leaf's with sign (-1)^(leaf depth - d)
            rows_t, actions_t, mask_t = torch.stack(path_rows), torch.stack(path_actions), torch.stack(path_active)
            depth = mask_t.sum(0)  # edges on each game's path
            levels = torch.arange(len(mask_t), device=device)[:, None]
            sign = 1.0 - 2.0 * ((depth[None] - levels) % 2).float()
            flat = (rows_t * A + actions_t)[mask_t]
            visits.view(-1).index_add_(0, flat, torch.ones_like(flat, dtype=visits.dtype))
            value_sum.view(-1).index_add_(0, flat, (sign * leaf_value[None])[mask_t])

        root_visits = visits[base]
        root_value = value_sum[base].sum(-1) / root_visits.sum(-1).clamp(min=1)
        self.search_seconds += time.perf_counter() - started
        return root_visits, root_value


def network_evaluator(game: Game, net: torch.nn.Module) -> Evaluator:
    """The net's (policy logits, value) on encoded states; the net stays in whatever mode it is in."""

    def evaluate(states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, values = net(game.encode(states))
        return logits, values.reshape(-1)

    return evaluate


def rollout_evaluator(game: Game) -> Evaluator:
    """Vanilla MCTS's evaluation: uniform priors and the result of one uniformly random playout
    (all playouts advance together, one move per step)."""

    def evaluate(states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        done, value = game.outcome(states)
        result = value.clone()
        alive = (~done).nonzero().squeeze(-1)
        state, sign = states[alive], -1.0
        while len(alive):
            scores = torch.rand(len(state), game.num_actions, device=states.device) + 1e-6
            state = game.play(state, (scores * game.legal(state)).argmax(-1))
            done, value = game.outcome(state)
            result[alive[done]] = sign * value[done]  # value is for the player to move after k moves
            alive, state, sign = alive[~done], state[~done], -sign
        return torch.zeros(len(states), game.num_actions, device=states.device), result

    return evaluate
