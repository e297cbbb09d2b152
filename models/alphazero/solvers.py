"""Perfect play: exhaustive minimax for tic-tac-toe, and Pascal Pons' Connect Four solver design in
Python, plus a reader for Pons' benchmark files.

Values are for the player to move. Tic-tac-toe's are win/draw/loss (+1/0/-1). Connect Four's follow
Pons ("Solving Connect 4", blog.gamesolver.org): 0 a draw, (43 - n) // 2 for a win with the winning
stone as the n-th move of the game (faster wins score higher), negative for a loss by the same count.
"""

from __future__ import annotations

from pathlib import Path

import torch

from models.alphazero.games import TicTacToe


# ---- tic-tac-toe: every reachable position, solved once (5,478 of them) --------------------------

class TicTacToeSolver:
    """Memoised negamax over every position reachable from the empty board; tables indexed by
    own | all << 9 give the value and the set of optimal moves of any batch of states at once."""

    def __init__(self) -> None:
        self.game = TicTacToe()
        lines = [int(m) for m in self.game.line_masks]
        self._won = lambda stones: any(stones & m == m for m in lines)
        self.memo: dict[tuple[int, int], int] = {}
        self._solve(0, 0)
        self.value_table = torch.zeros(1 << 18, dtype=torch.long)
        self.optimal_table = torch.zeros(1 << 18, 9, dtype=torch.bool)
        self.known = torch.zeros(1 << 18, dtype=torch.bool)
        for (own, everyone), value in self.memo.items():
            key = own | everyone << 9
            self.value_table[key], self.known[key] = value, True
            for action in self.optimal_moves(own, everyone):
                self.optimal_table[key, action] = True

    def _children(self, own: int, everyone: int):
        for action in range(9):
            if not everyone >> action & 1:
                yield action, everyone ^ own, everyone | 1 << action

    def _solve(self, own: int, everyone: int) -> int:
        key = (own, everyone)
        if key not in self.memo:
            if self._won(everyone ^ own):
                value = -1
            elif everyone == self.game.full:
                value = 0
            else:
                value = max(-self._solve(o, e) for _, o, e in self._children(own, everyone))
            self.memo[key] = value
        return self.memo[key]

    def optimal_moves(self, own: int, everyone: int) -> list[int]:
        """Every move that keeps the position's value (all of a perfect player's choices)."""
        if self._terminal(own, everyone):
            return []
        value = self.memo[(own, everyone)]
        return [a for a, o, e in self._children(own, everyone) if -self.memo[(o, e)] == value]

    def _terminal(self, own: int, everyone: int) -> bool:
        return self._won(everyone ^ own) or everyone == self.game.full

    def reachable(self, terminal: bool = False) -> torch.Tensor:
        """(N, 2) states reachable from the empty board, non-terminal ones unless `terminal`."""
        keys = [k for k in self.memo if terminal or not self._terminal(*k)]
        return torch.tensor(sorted(keys), dtype=torch.long)

    def _keys(self, state: torch.Tensor) -> torch.Tensor:
        keys = state[..., 0].cpu() | state[..., 1].cpu() << 9
        if not bool(self.known[keys].all()):
            raise ValueError("a state is not reachable in tic-tac-toe")
        return keys

    def values(self, state: torch.Tensor) -> torch.Tensor:
        return self.value_table[self._keys(state)].to(state.device)

    def optimal(self, state: torch.Tensor) -> torch.Tensor:
        """(N, 9) bool: which moves are optimal in each state."""
        return self.optimal_table[self._keys(state)].to(state.device)


# ---- Connect Four: Pons' negamax with alpha-beta, a transposition table and move ordering --------

WIDTH, HEIGHT, CELLS = 7, 6, 42
BOTTOM = sum(1 << (c * 7) for c in range(WIDTH))
BOARD = BOTTOM * ((1 << HEIGHT) - 1)
MIN_SCORE = -(CELLS // 2) + 3
ORDER = (3, 2, 4, 1, 5, 0, 6)  # centre columns first: they take part in the most lines
COLUMNS = tuple(((1 << HEIGHT) - 1) << (c * 7) for c in ORDER)


def winning_cells(position: int, mask: int) -> int:
    """Empty cells that would complete four for the stones in `position` (Pons' compute_winning_position)."""
    r = (position << 1) & (position << 2) & (position << 3)  # vertical
    for s in (7, 6, 8):  # horizontal, and the two diagonals
        p = (position << s) & (position << 2 * s)
        r |= p & (position << 3 * s)
        r |= p & (position >> s)
        p = (position >> s) & (position >> 2 * s)
        r |= p & (position << s)
        r |= p & (position >> 3 * s)
    return r & (BOARD ^ mask)


def play_moves(moves: list[int]) -> tuple[int, int, int]:
    """(own, all, moves played) after 0-based column moves from the empty board."""
    own = everyone = 0
    for column in moves:
        own ^= everyone
        everyone |= everyone + (1 << (column * 7))
    return own, everyone, len(moves)


class OutOfBudget(Exception):
    """A search stopped at its node budget (the transposition table holds only finished results)."""


class ConnectFourSolver:
    """Pons' solver (parts 1-9 of his tutorial, without the opening book): negamax with alpha-beta,
    centre-first move ordering refined by the number of threats a move makes, a transposition table of
    upper bounds, only moves that do not lose at once, and null-window searches that narrow the score.
    Fast on positions a dozen moves from the end; Python makes the opening positions slow."""

    def __init__(self, table_size: int = 2_000_000) -> None:
        self.table: dict[int, int] = {}
        self.table_size = table_size
        self.nodes = 0
        self.node_limit = float("inf")  # probe() lowers it for one search

    def _negamax(self, own: int, everyone: int, moves: int, alpha: int, beta: int) -> int:
        self.nodes += 1
        if self.nodes > self.node_limit:
            raise OutOfBudget
        possible = (everyone + BOTTOM) & BOARD
        opponent_wins = winning_cells(own ^ everyone, everyone)
        forced = possible & opponent_wins
        if forced:
            if forced & (forced - 1):  # two threats: no move stops both
                return -((CELLS - moves) // 2)
            possible = forced
        candidates = possible & ~(opponent_wins >> 1)  # never play under the opponent's winning cell
        if not candidates:
            return -((CELLS - moves) // 2)
        if moves >= CELLS - 2:
            return 0
        low = -((CELLS - 2 - moves) // 2)  # C++'s division truncates toward 0
        if alpha < low:
            alpha = low
            if alpha >= beta:
                return alpha
        high = (CELLS - 1 - moves) // 2
        stored = self.table.get(own + everyone)
        if stored is not None:
            high = stored + MIN_SCORE - 1
        if beta > high:
            beta = high
            if alpha >= beta:
                return beta
        ordered = []
        for rank, column in enumerate(COLUMNS):
            move = candidates & column
            if move:
                threats = bin(winning_cells(own | move, everyone)).count("1")
                ordered.append((-threats, rank, move))
        ordered.sort()
        opponent = own ^ everyone
        for _, _, move in ordered:
            score = -self._negamax(opponent, everyone | move, moves + 1, -beta, -alpha)
            if score >= beta:
                return score
            if score > alpha:
                alpha = score
        if len(self.table) >= self.table_size:
            self.table.clear()
        self.table[own + everyone] = alpha - MIN_SCORE + 1
        return alpha

    def solve(self, own: int, everyone: int, moves: int, weak: bool = False) -> int:
        """The exact score (or with `weak` only its sign: -1, 0, +1) for the player to move."""
        if winning_cells(own, everyone) & (everyone + BOTTOM) & BOARD:
            return 1 if weak else (CELLS + 1 - moves) // 2
        low, high = (-1, 1) if weak else (-((CELLS - moves) // 2), (CELLS + 1 - moves) // 2)
        while low < high:  # null-window probes, biased toward 0 where the search is cheapest
            middle = low + (high - low) // 2
            if middle <= 0 and int(low / 2) < middle:
                middle = int(low / 2)
            elif middle >= 0 and high // 2 > middle:
                middle = high // 2
            result = self._negamax(own, everyone, moves, middle, middle + 1)
            if result <= middle:
                high = result
            else:
                low = result
        return max(-1, min(1, low)) if weak else low

    def probe(self, own: int, everyone: int, moves: int, alpha: int, budget: int | None = None) -> bool | None:
        """Is the score of the player to move <= alpha? One null-window search; None if it needs more
        than `budget` nodes."""
        if winning_cells(own, everyone) & (everyone + BOTTOM) & BOARD:
            return (CELLS + 1 - moves) // 2 <= alpha
        self.node_limit = self.nodes + budget if budget else float("inf")
        try:
            return self._negamax(own, everyone, moves, alpha, alpha + 1) <= alpha
        except OutOfBudget:
            return None
        finally:
            self.node_limit = float("inf")

    def keeps_outcome(self, own: int, everyone: int, moves: int, column: int, score: int,
                      budget: int | None = None) -> bool | None:
        """Does playing `column` keep the outcome (win/draw/loss) of a position whose exact score is
        `score`? None when the search needs more than `budget` nodes. In a lost position every move
        keeps the outcome; a move that still wins as fast as possible is confirmed by a search bounded
        by that win's horizon (cheap); only the other moves need the unbounded search."""
        if score < 0:
            return True
        move = (everyone + (1 << column * 7)) & (((1 << HEIGHT) - 1) << column * 7)
        if winning_cells(own, everyone) & move:
            return True  # wins at once
        child = (own ^ everyone, everyone | move, moves + 1)
        if everyone | move == BOARD:
            return score == 0  # the board is full: a draw
        if score > 0 and self.probe(*child, alpha=-score, budget=budget):
            return True  # the opponent's score is still -score: the fastest win is kept
        return self.probe(*child, alpha=-1 if score > 0 else 0, budget=budget)

    def solve_moves(self, moves: list[int], weak: bool = False) -> int:
        return self.solve(*play_moves(moves), weak=weak)

    def move_outcomes(self, own: int, everyone: int, moves: int) -> dict[int, int]:
        """Sign of each legal move's result for the mover: +1 wins, 0 draws, -1 loses. Exact scores,
        not weak ones: on Pons' sets the exact search, whose windows sit near the true score, is faster."""
        outcomes = {}
        for column in range(WIDTH):
            if everyone >> (column * 7 + HEIGHT - 1) & 1:
                continue
            move = (everyone + (1 << column * 7)) & (((1 << HEIGHT) - 1) << column * 7)
            if winning_cells(own, everyone) & move:
                outcomes[column] = 1
            else:
                score = -self.solve(own ^ everyone, everyone | move, moves + 1)
                outcomes[column] = (score > 0) - (score < 0)
        return outcomes

    def optimal(self, states: torch.Tensor) -> torch.Tensor:
        """(N, 7) bool: the moves that keep each position's outcome (slow in the opening: Python)."""
        rows = []
        for own, everyone in states.tolist():
            outcomes = self.move_outcomes(own, everyone, bin(everyone).count("1"))
            best = max(outcomes.values())
            rows.append([outcomes.get(c, -2) == best for c in range(WIDTH)])
        return torch.tensor(rows, dtype=torch.bool, device=states.device)

def read_pons(path: str | Path, limit: int | None = None) -> list[tuple[list[int], int]]:
    """Pons' benchmark lines `MOVES SCORE` (columns 1..7) as (0-based moves, score)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Pons benchmark file {path} not found")
    entries = []
    for line in path.read_text().split("\n"):
        if line.strip():
            moves, score = line.split()
            entries.append(([int(c) - 1 for c in moves], int(score)))
            if limit is not None and len(entries) >= limit:
                break
    return entries

