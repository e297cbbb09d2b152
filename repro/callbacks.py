"""Callbacks that make runs survivable and their numbers defensible."""

from __future__ import annotations

import math
import random
import time

import lightning as L
import numpy as np
import torch

from repro.errors import UserError


class RngState(L.Callback):
    """Puts the Python, NumPy and torch RNG states in every checkpoint and restores them on resume,
    so dropout and on-device distortions continue the stream the interrupted run was drawing.
    Plain lists and tensors only, so the checkpoint loads with `weights_only=True`."""

    def state_dict(self) -> dict:
        numpy_state = np.random.get_state()
        return {"python": list(random.getstate()[1]), "python_version": random.getstate()[0],
                "python_gauss": random.getstate()[2],
                "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}

    def load_state_dict(self, state: dict) -> None:
        random.setstate((state["python_version"], tuple(state["python"]), state["python_gauss"]))
        name, keys, *rest = state["numpy"]
        np.random.set_state((name, np.array(keys, dtype=np.uint32), *rest))
        torch.set_rng_state(state["torch"])
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


class DivergenceGuard(L.Callback):
    """Stops a run whose loss is NaN/inf or has grown `factor` times past its first value. Raising
    means no record is written and no checkpoint is saved over the last good one."""

    def __init__(self, factor: float = 1e4, check_every_n_steps: int = 1) -> None:
        self.factor, self.every = factor, check_every_n_steps
        self.first_loss: float | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None or trainer.global_step % self.every:  # the perceptron has no loss
            return
        loss = float(loss)  # one sync per check on GPU
        if self.first_loss is None and math.isfinite(loss):
            self.first_loss = abs(loss) or 1.0
        if not math.isfinite(loss) or (self.first_loss and abs(loss) > self.factor * self.first_loss):
            raise UserError(f"training diverged at step {trainer.global_step} (loss {loss:.4g}); no record written, "
                            f"checkpoints before it are intact: lower model.optimizer.lr or check the data")


class WallClock(L.Callback):
    """A run's wall time across its parts: the seconds before the checkpoint it resumed from, carried in
    every checkpoint, plus this process's. It starts when the pipeline makes it, before any data is
    touched (MLPerf's rule)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.before = 0.0  # seconds of the earlier parts, up to the checkpoint this run resumed from

    def elapsed(self) -> float:
        return self.before + time.perf_counter() - self.started

    def state_dict(self) -> dict:
        return {"elapsed_s": self.elapsed()}

    def load_state_dict(self, state: dict) -> None:
        self.before = float(state["elapsed_s"])


class TimeToTarget(L.Callback):
    """First epoch, and seconds on the run's wall clock, at which `metric` reaches `target`.
    Evaluation time counts, as in MLPerf."""

    def __init__(self, metric: str, target: float, better: str = "lower", stop: bool = False,
                 clock: WallClock | None = None) -> None:
        """`stop=True` ends training at the target (for claims about the time to reach it)."""
        self.metric, self.target, self.better, self.stop = metric, target, better, stop
        self.clock = clock or WallClock()
        self.epoch: int | None = None
        self.seconds: float | None = None
        self.history: list[list[float]] = []  # [epoch, value, seconds] after every epoch: the curve to plot
        self._seen_epoch = -1

    # Read at the start of the next epoch (and at the end of training): by then Lightning has put the
    # finished epoch's training and validation metrics in callback_metrics, which it has not yet at
    # this callback's own epoch-end hooks (they run before the module's).
    def _check(self, trainer) -> None:
        completed = trainer.current_epoch
        value = trainer.callback_metrics.get(self.metric)
        stopped_here = self.stop and self.epoch is not None  # epochs after the stop are not the curve
        if value is None or trainer.sanity_checking or completed in (self._seen_epoch, 0) or stopped_here:
            return
        self._seen_epoch = completed
        value, seconds = float(value), self.clock.elapsed()
        self.history.append([completed, round(value, 4), round(seconds, 2)])
        if self.epoch is not None:
            return
        if (value <= self.target) if self.better == "lower" else (value >= self.target):
            self.epoch, self.seconds = completed, seconds
            if self.stop:
                trainer.should_stop = True

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._check(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        self._check(trainer)

    def summary(self) -> dict:
        return {"metric": self.metric, "target": self.target, "reached": self.epoch is not None,
                "epoch": self.epoch, "seconds": None if self.seconds is None else round(self.seconds, 2),
                "history": self.history}

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "seconds": self.seconds, "history": self.history}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.seconds, self.history = state["epoch"], state["seconds"], state.get("history", [])
        self._seen_epoch = self.history[-1][0] if self.history else -1


class WandbRunId(L.Callback):
    """Carries the W&B run id in checkpoints, so a resumed run continues the same W&B run."""

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        for logger in trainer.loggers:
            if type(logger).__name__ == "WandbLogger":
                checkpoint["wandb_run_id"] = logger.version


class CrashAtStep(L.Callback):
    """Sends its own process `signal` (SIGKILL: a crash) after `step` optimiser steps: for testing
    resume, and the clean stop on SIGTERM / SIGINT."""

    def __init__(self, step: int, signal: str = "SIGKILL") -> None:
        import signal as signals

        self.step, self.signal = step, signals.Signals[signal]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if trainer.global_step == self.step:
            import os

            os.kill(os.getpid(), self.signal)
