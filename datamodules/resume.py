"""Resuming mid-epoch: where a batch iterator stands, and the datamodule state that carries it.

The datamodule carries the position in checkpoints (its state_dict): Lightning restores a datamodule
before it first draws from the loader, which it does not guarantee for a stateful loader when the
scheduler asked for the step count early.
"""

from __future__ import annotations


class EpochPosition:
    """For iterators with `epoch` (the next epoch __iter__ serves), `served` (batches served in the
    epoch under way) and `_skip` (batches to skip at the next __iter__)."""

    epoch: int
    served: int
    _skip: int

    def position(self) -> dict[str, int]:
        if self.served == 0:
            return {"epoch": self.epoch, "served": 0}
        return {"epoch": self.epoch - 1, "served": self.served}

    def seek(self, position: dict[str, int]) -> None:
        self.epoch, self._skip = position["epoch"], position["served"]


class ResumableTrainBatches:
    """Datamodule side: checkpoint the training iterator's position and seek it on the next loader."""

    train_batches: EpochPosition | None = None
    resume_position: dict[str, int] | None = None

    def resumed(self, batches: EpochPosition) -> EpochPosition:
        """Keep `batches` as the training iterator, moved to the restored position if there is one."""
        self.train_batches = batches
        if self.resume_position:
            batches.seek(self.resume_position)
            self.resume_position = None
        return batches

    def state_dict(self) -> dict[str, int]:
        return self.train_batches.position() if self.train_batches else {}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.resume_position = state or None
