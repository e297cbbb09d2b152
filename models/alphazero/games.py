"""Tic-tac-toe and Connect Four as batched bitboards: one int64 pair per game, every rule a few
tensor ops over all games at once, so thousands of games step together.

A state is a LongTensor (..., 2): [..., 0] the stones of the player to move, [..., 1] all stones.
After a move the player to move changes, so `play` swaps the perspective (Pons' encoding): the new
"own" stones are the old opponent's. Values are always for the player to move; in a finished game
that player either lost (the previous move won) or drew.

Connect Four uses Pascal Pons' layout (blog.gamesolver.org, "bitboard"): column c holds bits
c*7 .. c*7+5 from the bottom, bit c*7+6 is a sentinel that stays empty, so "add the column's bottom
bit" drops a stone onto the first free cell and four in a row is found by shifts of 1, 7, 6 and 8.
"""

from __future__ import annotations

import torch


def _bits_to_int(bits) -> int:
    return sum(1 << int(b) for b in bits)


def popcount(x: torch.Tensor) -> torch.Tensor:
    """Set bits of each non-negative int64 below 2^56 (SWAR: pairs, nibbles, bytes, then the byte sum)."""
    x = x - ((x >> 1) & 0x5555555555555555)
    x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0F
    return ((x * 0x0101010101010101) >> 56) & 0xFF


class Game:
    """What the search, the players and the network need to know about a two-player board game."""

    name: str
    height: int
    width: int
    num_actions: int
    cell_bits: torch.Tensor      # (H, W): the bit of each board cell, row 0 on top
    action_grid: torch.Tensor    # (H, W): the action that places a stone on each cell (or its column)
    lines: torch.Tensor          # (L, k): the bits of each winning line
    full: int                    # every playable cell's bit

    def __init__(self) -> None:
        self.line_masks = torch.tensor([_bits_to_int(line) for line in self.lines.tolist()])
        self.symmetries = [(transform, self._action_permutation(transform)) for transform in self._transforms()]

    # ---- rules -------------------------------------------------------------------------------
    def initial(self, n: int, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.zeros(n, 2, dtype=torch.long, device=device)

    def legal(self, state: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def play(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def won(self, stones: torch.Tensor) -> torch.Tensor:
        """True where `stones` contain a full line."""
        masks = self.line_masks.to(stones.device)
        return ((stones[..., None] & masks) == masks).any(-1)

    def outcome(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(finished, value for the player to move): -1 where the previous move won, 0 otherwise."""
        lost = self.won(state[..., 1] ^ state[..., 0])  # the previous mover's stones
        done = lost | (state[..., 1] == self.full)
        return done, -lost.float()

    def moves_played(self, state: torch.Tensor) -> torch.Tensor:
        return self.encode_bits(state[..., 1]).flatten(-2).sum(-1)

    # ---- what the network sees -----------------------------------------------------------------
    def encode_bits(self, stones: torch.Tensor) -> torch.Tensor:
        """(..., H, W) 0/1 long tensor of one bitboard."""
        return (stones[..., None, None] >> self.cell_bits.to(stones.device)) & 1

    def encode(self, state: torch.Tensor) -> torch.Tensor:
        """(N, 2, H, W) float planes: the stones of the player to move, then the opponent's."""
        own, everyone = state[..., 0], state[..., 1]
        return torch.stack([self.encode_bits(own), self.encode_bits(everyone ^ own)], -3).float()

    # ---- symmetries ------------------------------------------------------------------------------
    def _transforms(self) -> list:
        raise NotImplementedError

    def _action_permutation(self, transform) -> torch.Tensor:
        """perm with policy'[a] = policy[perm[a]] when the board is transformed by `transform`."""
        moved = transform(self.action_grid)  # moved[y] = the old action whose cell lands on y
        perm = torch.empty(self.num_actions, dtype=torch.long)
        perm[self.action_grid.flatten()] = moved.flatten()
        return perm

    def from_moves(self, games: list[list[int]]) -> torch.Tensor:
        """States after each sequence of (0-based) actions from the empty board."""
        state = self.initial(len(games))
        for ply in range(max((len(g) for g in games), default=0)):
            playing = torch.tensor([ply < len(g) for g in games])
            actions = torch.tensor([g[ply] if ply < len(g) else 0 for g in games])
            if playing.any():
                state[playing] = self.play(state[playing], actions[playing])
        return state

    def render(self, state: torch.Tensor, first_to_move: bool | None = None) -> str:
        """One board as text: x for the player to move, o for the opponent."""
        own, other = self.encode(state[None])[0].long()
        return "\n".join("".join("x" if own[r, c] else "o" if other[r, c] else "." for c in range(self.width))
                         for r in range(self.height))


class TicTacToe(Game):
    """3 x 3, three in a row; a draw with perfect play. Bit r*3+c is row r, column c; action = cell."""

    name = "tictactoe"
    height = width = 3
    num_actions = 9
    full = (1 << 9) - 1

    def __init__(self) -> None:
        self.cell_bits = torch.arange(9).view(3, 3)
        self.action_grid = self.cell_bits.clone()
        self.lines = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8],
                                   [0, 4, 8], [2, 4, 6]])
        super().__init__()

    def legal(self, state: torch.Tensor) -> torch.Tensor:
        return ((state[..., 1, None] >> torch.arange(9, device=state.device)) & 1) == 0

    def play(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        own, everyone = state[..., 0], state[..., 1]
        return torch.stack([everyone ^ own, everyone | (1 << action)], -1)

    def _transforms(self) -> list:
        """The square's 8 symmetries: 4 rotations, with and without a mirror."""
        rotations = [lambda x, k=k: torch.rot90(x, k, (-2, -1)) for k in range(4)]
        return rotations + [lambda x, k=k: torch.rot90(x.flip(-1), k, (-2, -1)) for k in range(4)]


class ConnectFour(Game):
    """7 columns x 6 rows, four in a row; a first-player win with perfect play (Allis 1988).
    Action c drops a stone into column c (0-based; Pons' files count columns from 1)."""

    name = "connect4"
    height, width = 6, 7
    num_actions = 7
    stride = 7  # bits per column: 6 cells and Pons' sentinel
    bottom = torch.tensor([1 << (c * 7) for c in range(7)])
    top = torch.tensor([c * 7 + 5 for c in range(7)])
    full = _bits_to_int(c * 7 + r for c in range(7) for r in range(6))

    def __init__(self) -> None:
        rows = torch.arange(self.height - 1, -1, -1)[:, None]  # row 0 on top: bit row 5
        self.cell_bits = torch.arange(self.width)[None, :] * self.stride + rows
        self.action_grid = torch.arange(self.width).expand(self.height, -1).clone()
        lines = []
        for c in range(7):
            for r in range(6):
                for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
                    cells = [(c + i * dc, r + i * dr) for i in range(4)]
                    if all(0 <= cc < 7 and 0 <= rr < 6 for cc, rr in cells):
                        lines.append([cc * 7 + rr for cc, rr in cells])
        self.lines = torch.tensor(lines)  # 69 lines of four
        self.line_starts = {}  # direction shift -> bitboard of the lines' first cells
        for line in lines:
            shift = line[1] - line[0]
            self.line_starts[shift] = self.line_starts.get(shift, 0) | 1 << line[0]
        super().__init__()

    def legal(self, state: torch.Tensor) -> torch.Tensor:
        return ((state[..., 1, None] >> self.top.to(state.device)) & 1) == 0

    def play(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        own, everyone = state[..., 0], state[..., 1]
        return torch.stack([everyone ^ own, everyone | (everyone + self.bottom.to(state.device)[action])], -1)

    def line_counts(self, stones: torch.Tensor, blockers: torch.Tensor) -> torch.Tensor:
        """(N, 5): how many lines of four hold no `blockers` stone and exactly 0..4 of `stones`, all lines
        of one direction at once: bit c of (stones >> i*shift) is cell c + i*shift, so bit-sliced adders over
        the four shifted boards give every line's count at its start cell."""
        counts = torch.zeros(len(stones), 5, dtype=torch.long, device=stones.device)
        for shift, starts in self.line_starts.items():
            b = [stones >> (i * shift) for i in range(4)]
            blocked = blockers | (blockers >> shift) | (blockers >> 2 * shift) | (blockers >> 3 * shift)
            open_ = starts & ~blocked
            low1, carry1, low2, carry2 = b[0] ^ b[1], b[0] & b[1], b[2] ^ b[3], b[2] & b[3]
            bit0, carry = low1 ^ low2, low1 & low2
            bit1, bit2 = carry1 ^ carry2 ^ carry, (carry1 & carry2) | (carry & (carry1 ^ carry2))
            for n in range(5):
                mask = open_
                for bit, on in ((bit0, n & 1), (bit1, n & 2), (bit2, n & 4)):
                    mask = mask & (bit if on else ~bit)
                counts[:, n] += popcount(mask)
        return counts

    def won(self, stones: torch.Tensor) -> torch.Tensor:
        """Four in a row by shifts (Pons' alignment test): vertical 1, horizontal 7, diagonals 6 and 8."""
        found = torch.zeros_like(stones, dtype=torch.bool)
        for shift in (1, 7, 6, 8):
            pairs = stones & (stones >> shift)
            found |= (pairs & (pairs >> (2 * shift))) != 0
        return found

    def _transforms(self) -> list:
        """The board's one symmetry: the left-right mirror."""
        return [lambda x: x, lambda x: x.flip(-1)]


GAMES = {"tictactoe": TicTacToe, "connect4": ConnectFour}


def make_game(name: str) -> Game:
    if name not in GAMES:
        raise ValueError(f"game={name!r}: use one of {sorted(GAMES)}")
    return GAMES[name]()
