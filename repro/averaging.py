"""Checkpoint averaging (Vaswani et al. 2017, section 6.1: "For the base models, we used a single
model obtained by averaging the last 5 checkpoints, which were written at 10-minute intervals").

The callback keeps copies of the weights at the last `last_n` epoch ends (or every N training steps)
and, when training ends, loads their average into the model, so the test evaluates the averaged
model. The snapshots travel in the run's checkpoints, so a resumed run averages the same ones.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    def __init__(self, last_n: int = 5, every_n_train_steps: int | None = None) -> None:
        """Snapshots at every epoch end, or every `every_n_train_steps` steps when given."""
        if last_n < 1:
            raise ValueError(f"last_n={last_n} must be >= 1")
        self.last_n, self.every = last_n, every_n_train_steps
        self.snapshots: list[dict[str, torch.Tensor]] = []
        self.averaged_over = 0

    def _take(self, pl_module) -> None:
        snapshot = {k: v.detach().to("cpu", copy=True) for k, v in pl_module.net.state_dict().items()}
        self.snapshots = [*self.snapshots, snapshot][-self.last_n :]

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not self.every:
            self._take(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if self.every and trainer.global_step % self.every == 0:
            self._take(pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if not self.snapshots:
            return
        averaged = average_state_dicts(self.snapshots)
        device = next(pl_module.net.parameters()).device
        pl_module.net.load_state_dict({k: v.to(device) for k, v in averaged.items()})
        self.averaged_over = len(self.snapshots)
        pl_module.averaged_over = self.averaged_over

    def state_dict(self) -> dict:
        return {"snapshots": self.snapshots}

    def load_state_dict(self, state: dict) -> None:
        self.snapshots = list(state.get("snapshots", []))
