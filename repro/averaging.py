"""Checkpoint averaging (Vaswani et al. 2017, section 6.1: "For the base models, we used a single
model obtained by averaging the last 5 checkpoints, which were written at 10-minute intervals").

The callback takes a copy of the net's weights at every epoch end (or every N training steps), keeps
the last `last_n`, and when training ends loads their average into the model, so the test evaluates
the averaged model. Small nets keep the copies in memory, and they travel in the run's checkpoints, so
a resumed run averages the same ones; with `dirpath` (WMT-sized nets: 20 copies of the big model are
17 GB) rank 0 writes each copy to a file there instead and checkpoints carry only the file names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch


def average_state_dicts(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors; other tensors (counters) from the last state."""
    if not states:
        raise ValueError("no state dicts to average")
    averaged = {}
    for key, last in states[-1].items():
        if torch.is_floating_point(last):
            averaged[key] = torch.stack([s[key].double() for s in states]).mean(0).to(last.dtype)
        else:
            averaged[key] = last.clone()
    return averaged


class AverageLastCheckpoints(L.Callback):
    def __init__(self, last_n: int = 5, every_n_train_steps: int | None = None, dirpath: str | None = None) -> None:
        """Copies at every epoch end, or every `every_n_train_steps` steps when given; in files under
        `dirpath` when given, else in memory."""
        if last_n < 1:
            raise ValueError(f"last_n={last_n} must be >= 1")
        self.last_n, self.every = last_n, every_n_train_steps
        self.dirpath = Path(dirpath) if dirpath else None
        self.snapshots: list[dict[str, torch.Tensor] | str] = []  # weights, or the files holding them
        self.taken_at = -1  # the global step of the newest copy
        self.averaged_over = 0

    def _take(self, trainer, pl_module) -> None:
        self.taken_at = trainer.global_step if trainer is not None else self.taken_at + 1
        weights = {k: v.detach().to("cpu", copy=True) for k, v in pl_module.net.state_dict().items()}
        if self.dirpath is None:
            self.snapshots = [*self.snapshots, weights][-self.last_n :]
            return
        path = self.dirpath / f"weights-step{trainer.global_step}.pt"
        if trainer.is_global_zero:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(weights, path)
        self.snapshots = [*self.snapshots, str(path)]
        for old in self.snapshots[: -self.last_n]:
            if trainer.is_global_zero:
                Path(old).unlink(missing_ok=True)
        self.snapshots = self.snapshots[-self.last_n :]

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not self.every:
            self._take(trainer, pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if self.every and trainer.global_step % self.every == 0:
            self._take(trainer, pl_module)

    def _average(self, trainer) -> dict[str, torch.Tensor] | None:
        if self.dirpath is None:
            return average_state_dicts(self.snapshots)
        averaged = None
        if trainer is None or trainer.is_global_zero:
            averaged = average_state_dicts([torch.load(p, map_location="cpu", weights_only=True) for p in self.snapshots])
        return trainer.strategy.broadcast(averaged) if trainer is not None else averaged

    def on_train_end(self, trainer, pl_module) -> None:
        if self.every and self.snapshots and trainer is not None and trainer.global_step != self.taken_at:
            self._take(trainer, pl_module)  # the final weights count, wherever the interval ended
        if not self.snapshots:
            return
        averaged = self._average(trainer)
        device = next(pl_module.net.parameters()).device
        pl_module.net.load_state_dict({k: v.to(device) for k, v in averaged.items()})
        self.averaged_over = len(self.snapshots)
        pl_module.averaged_over = self.averaged_over

    def state_dict(self) -> dict:
        return {"snapshots": self.snapshots, "taken_at": self.taken_at}

    def load_state_dict(self, state: dict) -> None:
        self.snapshots = list(state.get("snapshots", []))
        self.taken_at = state.get("taken_at", -1)
