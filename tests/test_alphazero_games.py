"""Games, exact solvers, search, baseline players and the arena of the AlphaZero chapter."""

import random

import pytest
import torch

from models.alphazero.arena import MatchResult, elo_fit, play, wilson
from models.alphazero.games import ConnectFour, TicTacToe
from models.alphazero.mcts import MCTS, choose, dirichlet_noise, rollout_evaluator
from models.alphazero.players import MinimaxPlayer, PerfectPlayer, RandomPlayer, heuristic, minimax_qvalues
from models.alphazero.solvers import ConnectFourSolver, TicTacToeSolver, play_moves, read_pons
from tests.conftest import FIXTURES, real_data_dir

C4, TTT = ConnectFour(), TicTacToe()


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one thread, as the experiments run (model.torch_threads), restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ttt_solver():
    return TicTacToeSolver()


# ---- a plain reference board to check the bitboards against ----------------------------------------

def reference_c4(moves):
    board = [[0] * 7 for _ in range(6)]  # board[row][col], row 0 at the bottom; 1 first player, 2 second
    winner = 0
    for ply, col in enumerate(moves):
        row = next(r for r in range(6) if board[r][col] == 0)
        board[row][col] = 1 + ply % 2
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            count = 1
            for sign in (1, -1):
                r, c = row + sign * dr, col + sign * dc
                while 0 <= r < 6 and 0 <= c < 7 and board[r][c] == board[row][col]:
                    count, r, c = count + 1, r + sign * dr, c + sign * dc
            if count >= 4:
                winner = board[row][col]
    return board, winner


def random_games(n, seed, max_len=42):
    rng, games = random.Random(seed), []
    for _ in range(n):
        moves = []
        while len(moves) < max_len:
            legal = [c for c in range(7) if sum(m == c for m in moves) < 6]
            moves.append(rng.choice(legal))
            if reference_c4(moves)[1]:
                break
        games.append(moves[: rng.randint(1, len(moves))])
    return games


def test_connect_four_bitboards_match_a_plain_board():
    games = random_games(200, seed=0)
    states = C4.from_moves(games)
    done, value = C4.outcome(states)
    planes = C4.encode(states)
    for i, moves in enumerate(games):
        board, winner = reference_c4(moves)
        assert bool(done[i]) == (winner != 0 or len(moves) == 42)
        assert float(value[i]) == (-1.0 if winner else 0.0)
        to_move = 1 + len(moves) % 2
        for r in range(6):
            for c in range(7):
                cell = board[5 - r][c]  # planes have row 0 on top
                assert planes[i, 0, r, c] == (cell == to_move) and planes[i, 1, r, c] == (cell not in (0, to_move))
        assert C4.legal(states[i : i + 1])[0].tolist() == [board[5][c] == 0 for c in range(7)]


def test_connect_four_lines_and_solver_position_agree():
    assert len(C4.lines) == 69  # 24 horizontal, 21 vertical, 2 x 12 diagonal lines of four
    games = random_games(50, seed=1)
    states = C4.from_moves(games)
    for i, moves in enumerate(games):
        own, everyone, n = play_moves(moves)
        assert states[i].tolist() == [own, everyone] and n == len(moves)


def test_tic_tac_toe_rules():
    state = TTT.from_moves([[0, 3, 1, 4, 2], [0, 1, 2, 4, 3, 5, 7, 6, 8], [4]])
    done, value = TTT.outcome(state)
    assert done.tolist() == [True, True, False] and value.tolist()[:1] == [-1.0] and value[1] == 0
    assert TTT.legal(state[2:])[0].tolist() == [True] * 4 + [False] + [True] * 4


@pytest.mark.parametrize("game", [TTT, C4], ids=["tictactoe", "connect4"])
def test_symmetries_move_the_policy_with_the_board(game):
    perms = [tuple(p.tolist()) for _, p in game.symmetries]
    assert len(set(perms)) == len(perms) == (8 if game is TTT else 2)
    states = game.from_moves([[0, 1, 2], [4, 0], [2, 2, 3]] if game is TTT else random_games(20, seed=2, max_len=10))
    planes = game.encode(states)
    legal = game.legal(states)
    for transform, perm in game.symmetries:
        moved = transform(planes)
        if game is TTT:  # an empty cell stays empty, and a move there is the permuted move
            moved_legal = (moved.sum(1) == 0).flatten(1)
        else:  # a column with an empty top cell stays playable
            moved_legal = moved.sum(1)[:, 0] == 0
        assert torch.equal(moved_legal, legal[:, perm])
        # playing the moved action on the moved board gives the moved board of the original move
        action = legal.float().argmax(-1)
        inverse = torch.argsort(perm)
        after = transform(game.encode(game.play(states, action)))
        if game is TTT:
            grid = moved.contiguous().view(len(moved), 2, -1).clone()
            grid[torch.arange(len(grid)), 0, inverse[action]] = 1  # the stone, then the turn passes
            assert torch.equal(after, grid.view_as(moved).flip(1))


# ---- solvers --------------------------------------------------------------------------------------------

def test_tic_tac_toe_is_a_draw_and_the_tables_are_complete(ttt_solver):
    assert ttt_solver.memo[(0, 0)] == 0
    assert len(ttt_solver.memo) == 5478 and len(ttt_solver.reachable()) == 4520  # known counts
    assert ttt_solver.optimal(TTT.initial(1))[0].all()  # every first move draws
    # X in a corner: O must take the centre (every other reply loses)
    assert ttt_solver.optimal(TTT.from_moves([[0]]))[0].tolist() == [False] * 4 + [True] + [False] * 4
    # X to move with two in a row: the win is the only optimal move
    state = TTT.from_moves([[0, 3, 1, 4]])
    assert ttt_solver.values(state).item() == 1 and ttt_solver.optimal(state)[0].nonzero().flatten().tolist() == [2]


@pytest.mark.parametrize("name,count", [("Test_L3_R1", 40), ("Test_L2_R1", 15), ("Test_L1_R1", 2)])
def test_connect_four_solver_scores_pons_positions(name, count):
    solver = ConnectFourSolver()
    for moves, score in read_pons(FIXTURES / "connect4-pons" / name, limit=count):
        assert solver.solve_moves(moves) == score, moves
        assert solver.solve_moves(moves, weak=True) == (score > 0) - (score < 0)


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize("name,count", [("Test_L3_R1", 1000), ("Test_L2_R1", 1000), ("Test_L1_R1", 1000)])
def test_connect_four_solver_on_the_full_sets(name, count):
    data = real_data_dir()
    if data is None or not (data / "connect4-pons" / name).exists():
        pytest.skip("needs DATA_DIR/connect4-pons")
    solver = ConnectFourSolver()
    for moves, score in read_pons(data / "connect4-pons" / name, limit=count):
        assert solver.solve_moves(moves) == score, moves


def test_connect_four_move_outcomes():
    solver = ConnectFourSolver()
    moves, score = read_pons(FIXTURES / "connect4-pons" / "Test_L3_R1", limit=1)[0]
    outcomes = solver.move_outcomes(*play_moves(moves))
    assert max(outcomes.values()) == (score > 0) - (score < 0)
    assert solver.optimal(C4.from_moves([moves])).sum() >= 1


# ---- search ----------------------------------------------------------------------------------------------

def uniform_evaluator(game):
    return lambda states: (torch.zeros(len(states), game.num_actions), torch.zeros(len(states)))


def test_mcts_finds_the_win_and_the_block():
    torch.manual_seed(0)
    # X: 0, 1 / O: 3, 4, X to move wins at 2; O to move (after X 8) must block... use two boards
    states = TTT.from_moves([[0, 3, 1, 4], [0, 3, 1, 4, 8]])
    visits, value = MCTS(TTT, uniform_evaluator(TTT), simulations=200).search(states)
    assert visits.sum(-1).tolist() == [200, 200]
    assert visits.argmax(-1).tolist() == [2, 5]  # win now; O wins with 5 too (its own three)
    assert value[0] > 0.9
    c4 = C4.from_moves([[3, 0, 3, 0, 3]])  # first player threatens column 3: the block is the only move
    visits, _ = MCTS(C4, rollout_evaluator(C4), simulations=200).search(c4)
    assert visits.argmax(-1).item() == 3


def test_mcts_never_visits_illegal_moves_and_noise_is_a_distribution():
    torch.manual_seed(0)
    states = C4.from_moves([[0] * 6, [0] * 6 + [6] * 6])
    visits, _ = MCTS(C4, rollout_evaluator(C4), simulations=30).search(states, noise=True)
    assert visits[0, 0] == 0 and visits[1, 0] == 0 and visits[1, 6] == 0
    noise = dirichlet_noise(C4.legal(states), 10.0)
    assert torch.allclose(noise.sum(-1), torch.ones(2)) and noise[1, 0] == 0 and noise[1, 6] == 0


def test_choose_is_greedy_at_zero_temperature_and_samples_otherwise():
    torch.manual_seed(0)
    visits = torch.tensor([[1.0, 5.0, 2.0]]).repeat(2000, 1)
    assert choose(visits, 0.0).eq(1).all()
    picks = choose(visits, 1.0)
    assert 0.55 < picks.eq(1).float().mean() < 0.70  # 5/8
    assert choose(visits, torch.tensor([0.0, 1.0]).repeat(1000))[::2].eq(1).all()


# ---- baselines and arena -----------------------------------------------------------------------------------

def brute_minimax(game, state, depth):
    """AlphaZero.jl's MinMax recursion on one state (the reference for the batched version)."""
    legal = game.legal(state[None])[0]
    qs = []
    for a in range(game.num_actions):
        if not legal[a]:
            qs.append(float("-inf"))
            continue
        child = game.play(state[None], torch.tensor([a]))[0]
        done, value = game.outcome(child[None])
        if done:
            qs.append(float("inf") if value < 0 else 0.0)
        elif depth == 1:
            qs.append(-float(heuristic(game, child[None])[0]))
        else:
            qs.append(-max(brute_minimax(game, child, depth - 1)))
    return qs


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_batched_minimax_matches_the_recursion(depth):
    games = random_games({1: 12, 2: 3, 3: 1}[depth], seed=depth, max_len=12)
    states = C4.from_moves(games)
    states = states[~C4.outcome(states)[0]]
    q = minimax_qvalues(C4, states, depth)
    for i in range(len(states)):
        assert torch.allclose(q[i], torch.tensor(brute_minimax(C4, states[i], depth)), atol=1e-5)


def test_heuristic_follows_alphazero_jl():
    assert heuristic(C4, C4.initial(1)).item() == 0  # symmetric: own lines cancel the opponent's
    # one stone in the bottom-left corner lies on 3 lines (horizontal, vertical, diagonal): its owner's
    # score there rises from 0.1^3 to 0.1^2 each, the opponent's three fall to 0; the other 66 lines cancel.
    # The player to move is the opponent, so: -(3 x 0.01)
    state = C4.from_moves([[0]])
    assert heuristic(C4, state).item() == pytest.approx(-0.03, abs=1e-6)


def test_minimax_takes_wins_and_blocks():
    states = C4.from_moves([[3, 0, 3, 0, 3, 0], [3, 0, 3, 0, 3]])
    assert MinimaxPlayer(C4, depth=2).act(states, 0).tolist() == [3, 3]


def test_arena_alternates_colours_and_counts_every_game(ttt_solver):
    torch.manual_seed(0)
    players = [PerfectPlayer(TTT, ttt_solver), RandomPlayer(TTT)]
    (result,) = play(TTT, players, [(0, 1)], games_per_pair=40)
    assert result.games == 40 and result.losses == 0 and result.wins > 25  # perfect never loses
    (both,) = play(TTT, [players[0], PerfectPlayer(TTT, ttt_solver)], [(0, 1)], games_per_pair=10, opening_plies=0)
    assert both.draws == 10


def test_wilson_interval():
    assert wilson(0, 100)[0] == 0 and 0 < wilson(0, 100)[1] < 4
    low, high = wilson(90, 100)
    assert low < 90 < high and high - low < 15


def test_elo_fit_recovers_the_order_and_anchors():
    results = [MatchResult("a", "b", 75, 0, 25), MatchResult("b", "c", 75, 0, 25), MatchResult("a", "c", 90, 0, 10)]
    elo = elo_fit(results, anchor="c", prior_draws=0)
    assert elo["c"] == 0 and elo["a"] > elo["b"] > 0
    assert elo["b"] == pytest.approx(191, abs=25)  # a 75% score is about 191 Elo


def test_connect_four_bit_parallel_line_counts_match_the_cell_gather():
    class Gathered:  # the same game without line_counts: heuristic() falls back to gathering cells
        def __init__(self, game):
            self.game = game

        def __getattr__(self, name):
            if name == "line_counts":
                raise AttributeError(name)
            return getattr(self.game, name)

    states = C4.from_moves(random_games(100, seed=5))
    assert torch.allclose(heuristic(C4, states), heuristic(Gathered(C4), states), atol=1e-5)
