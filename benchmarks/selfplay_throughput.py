"""Self-play throughput: network evaluations per second inside the batched PUCT search (the
alphazero_connect4 experiment's net, simulations and games in parallel) against the same network
evaluating the same sequence of batch sizes in a plain loop. The ratio is the share of search time the
network gets; 1 - ratio is what the tree (selection, expansion, backup) costs. Both run in this
process, alternating for `--rounds` rounds; medians are printed.

    make bench            (python -m benchmarks.selfplay_throughput)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from hydra.utils import instantiate

from benchmarks.common import report_ratio
from models.alphazero.games import make_game
from models.alphazero.mcts import MCTS, network_evaluator
from repro.compose import compose_experiment


def start_positions(game, n: int, plies: int) -> torch.Tensor:
    """n positions a few random moves into the game (none finished), as self-play meets them."""
    torch.manual_seed(0)
    state = game.initial(n)
    for _ in range(plies):
        scores = torch.rand(n, game.num_actions) + 1e-6
        state = game.play(state, (scores * game.legal(state)).argmax(-1))
    return state[~game.outcome(state)[0]]


def search_rate(game, net, states, simulations: int) -> tuple[float, list[int]]:
    sizes: list[int] = []
    evaluate = network_evaluator(game, net)

    def counted(batch):
        sizes.append(len(batch))
        return evaluate(batch)

    search = MCTS(game, counted, simulations)
    started = time.perf_counter()
    search.search(states, noise=True)
    return sum(sizes) / (time.perf_counter() - started), sizes


@torch.no_grad()
def plain_rate(game, net, states, sizes: list[int]) -> float:
    """The same batch sizes through the net alone, on encoded positions made beforehand."""
    inputs = [game.encode(states[:n]) for n in sizes]
    started = time.perf_counter()
    for x in inputs:
        net(x)
    return sum(sizes) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="alphazero_connect4")
    parser.add_argument("--games", type=int, default=None, help="positions searched at once (default: the experiment's games an iteration)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating plain/search measurements")
    args = parser.parse_args()
    cfg = compose_experiment(args.experiment, "outputs/bench")
    if cfg.model.get("torch_threads"):
        torch.set_num_threads(cfg.model.torch_threads)
    game = make_game(cfg.model.game)
    net = instantiate(cfg.model.net).eval()
    states = start_positions(game, args.games or cfg.data.games_per_iteration, plies=4)
    simulations = cfg.model.simulations
    with torch.no_grad():
        search_rate(game, net, states[:8], 4)  # warm-up: first calls pay for kernel selection
    inside, plain = [], []
    for _ in range(args.rounds):
        rate, sizes = search_rate(game, net, states, simulations)
        inside.append(rate)
        plain.append(plain_rate(game, net, states, sizes))
    report_ratio(f"{game.name} self-play search, {len(states)} games x {simulations} simulations: network evaluations "
                 f"inside the search vs the same batches alone", statistics.median(inside), statistics.median(plain),
                 unit="evaluations/s")


if __name__ == "__main__":
    main()
