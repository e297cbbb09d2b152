"""Self-play as a datamodule: each training epoch is one AlphaZero iteration. It first plays
`games_per_iteration` games with the current network (the LightningModule's `self_play`), adds their
positions to a replay buffer of the most recent `buffer_positions`, then serves `steps_per_iteration`
batches drawn uniformly from the buffer, each position under a random symmetry of the board (the
AlphaGo Zero paper augments with the 8 symmetries of Go; AlphaZero dropped it because chess and shogi
have none; tic-tac-toe has 8, Connect Four its mirror).

The buffer and the position inside an iteration are part of the datamodule's checkpoint state, so a
resumed run continues with the same buffer: after a crash mid-iteration it serves the iteration's
remaining batches without playing its games again.
"""

from __future__ import annotations

import lightning as L
import torch

from models.alphazero.games import Game
from models.alphazero.selfplay import SelfPlayGames


class ReplayBuffer:
    """The newest `capacity` positions in a ring of tensors (planes as int8)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.planes = self.policy = self.value = None
        self.size = self.cursor = 0

    def add(self, planes: torch.Tensor, policy: torch.Tensor, value: torch.Tensor) -> None:
        if self.planes is None:
            self.planes = torch.zeros(self.capacity, *planes.shape[1:], dtype=torch.int8)
            self.policy = torch.zeros(self.capacity, policy.shape[1])
            self.value = torch.zeros(self.capacity)
        planes, policy, value = planes[-self.capacity:], policy[-self.capacity:], value[-self.capacity:]
        rows = (self.cursor + torch.arange(len(planes))) % self.capacity
        self.planes[rows], self.policy[rows], self.value[rows] = planes, policy, value
        self.cursor = int((self.cursor + len(planes)) % self.capacity)
        self.size = min(self.capacity, self.size + len(planes))

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = torch.randint(self.size, (n,))
        return self.planes[rows].float(), self.policy[rows], self.value[rows]

    def ordered(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Contents oldest first."""
        rows = (self.cursor - self.size + torch.arange(self.size)) % self.capacity
        return self.planes[rows], self.policy[rows], self.value[rows]

    def state_dict(self) -> dict:
        if not self.size:
            return {}
        planes, policy, value = self.ordered()
        return {"planes": planes.clone(), "policy": policy.clone(), "value": value.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.planes = self.policy = self.value = None
        self.size = self.cursor = 0
        if state:
            self.add(state["planes"], state["policy"], state["value"])


def augment(game: Game, planes: torch.Tensor, policy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each position (and its policy target) under one of the board's symmetries, drawn uniformly."""
    which = torch.randint(len(game.symmetries), (len(planes),))
    planes, policy = planes.clone(), policy.clone()
    for k, (transform, perm) in enumerate(game.symmetries):
        rows = (which == k).nonzero().squeeze(-1)
        if k and len(rows):
            planes[rows] = transform(planes[rows])
            policy[rows] = policy[rows][:, perm]
    return planes, policy


class IterationBatches:
    """The training loader: one self-play iteration, then its training batches."""

    def __init__(self, datamodule: SelfPlayDataModule) -> None:
        self.dm = datamodule

    def __len__(self) -> int:
        return self.dm.steps_per_iteration

    def __iter__(self):
        dm = self.dm
        if dm.served >= dm.steps_per_iteration:  # the last iteration ended without a further next()
            dm.served = 0
        if dm.served == 0:
            dm.add_games(dm.trainer.lightning_module.self_play(dm.games_per_iteration, dm.temperature_moves))
        game = dm.trainer.lightning_module.game
        while dm.served < dm.steps_per_iteration:
            planes, policy, value = dm.buffer.sample(dm.batch_size)
            if dm.augment:
                planes, policy = augment(game, planes, policy)
            dm.served += 1
            yield planes, policy, value
        dm.served = 0


class OneBatch:
    """The test loader: a single placeholder batch; the system's test_step runs the whole evaluation."""

    def __len__(self) -> int:
        return 1

    def __iter__(self):
        yield torch.zeros(1)


class SelfPlayDataModule(L.LightningDataModule):
    def __init__(self, games_per_iteration: int = 256, temperature_moves: int = 30, batch_size: int = 256,
                 steps_per_iteration: int = 100, buffer_positions: int = 100_000, augment: bool = True,
                 subset: int | None = None, test_subset: int | None = None) -> None:
        """`subset` (smoke runs) caps the games an iteration plays; `test_subset` is accepted for the
        same reason and unused (the evaluation's sizes live in the model config)."""
        super().__init__()
        if subset:
            games_per_iteration = min(games_per_iteration, subset)
        self.games_per_iteration, self.temperature_moves = games_per_iteration, temperature_moves
        self.batch_size, self.steps_per_iteration, self.augment = batch_size, steps_per_iteration, augment
        self.buffer = ReplayBuffer(buffer_positions)
        self.served = 0  # batches served in the iteration under way
        self.loader = IterationBatches(self)

    def add_games(self, games: SelfPlayGames) -> None:
        self.buffer.add(games.planes, games.policy, games.value)

    def train_dataloader(self):
        return self.loader

    def test_dataloader(self):
        return OneBatch()

    def state_dict(self) -> dict:
        return {"served": self.served, "buffer": self.buffer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.served = state.get("served", 0)
        self.buffer.load_state_dict(state.get("buffer", {}))
