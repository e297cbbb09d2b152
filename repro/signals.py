"""SIGTERM and SIGINT stop a run cleanly: a checkpoint to resume from, no record, exit 128 + signal.

What schedulers (SLURM, Kubernetes) send before a kill is SIGTERM; Ctrl-C is SIGINT. While a trainer
stage runs, Lightning owns SIGTERM: it stops every rank at the same batch boundary by raising
SIGTERMException, and SIGINT is routed the same way (a KeyboardInterrupt in the middle of an
optimiser step would leave no consistent state to save). `CheckpointOnStop` then writes
checkpoints/last.ckpt, the file `resume=true` continues from. Outside a trainer stage (building the
run, between fit and test) the stop is immediate: there is nothing yet, or nothing new, to save.
scripts/train.py turns the stop into one line and exit status 143 (SIGTERM) or 130 (SIGINT).

Lightning's own SLURM requeue (SIGUSR1 from `#SBATCH --signal=SIGUSR1@90`) is left alone: it saves
an hpc checkpoint and requeues the job, and the requeued job finds it in its run folder
(repro/run_dirs.py names that folder after the job id).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import lightning as L
from lightning.pytorch.trainer.connectors.signal_connector import _HandlersCompose
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
received: list[int] = []  # the signals that stopped this run, first first


def _lightning_handler():
    """Lightning's SIGTERM handler while a trainer stage runs, else None."""
    handler = signal.getsignal(signal.SIGTERM)
    return handler if isinstance(handler, _HandlersCompose) else None


def _on_signal(signum: int, frame) -> None:
    received.append(signum)
    lightning = _lightning_handler()
    if lightning is None:
        raise SIGTERMException(128 + signum)  # nothing running to save: stop here
    if signum != signal.SIGTERM:
        lightning(signal.SIGTERM, frame)  # SIGINT takes SIGTERM's path: a stop at the next batch boundary
    # SIGTERM: Lightning's handler (which called this one) has already asked the loop to stop


@contextlib.contextmanager
def stop_on_signals():
    """Within: SIGTERM and SIGINT stop the run as the module docstring says."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    received.clear()
    CheckpointOnStop.saved = None
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_status(stop: BaseException) -> int:
    """128 + the signal that stopped the run (143 for SIGTERM, 130 for SIGINT)."""
    if received:
        return 128 + received[0]
    return 130 if isinstance(stop, KeyboardInterrupt) else 128 + signal.SIGTERM


def stop_line(stop: BaseException) -> str:
    name = signal.Signals(exit_status(stop) - 128).name
    saved = f"checkpoint {CheckpointOnStop.saved}" if CheckpointOnStop.saved else "no checkpoint saved"
    hint = "; continue it with resume=true" if CheckpointOnStop.saved else ""
    return f"stopped by {name}: no record written, {saved}{hint}"


class CheckpointOnStop(L.Callback):
    """On a signal's stop inside training, saves `dirpath/last.ckpt` (what resume=true reads)."""

    saved: str | None = None  # the last checkpoint a stop wrote, for the stop's message

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        stopped_in_loop = isinstance(exception, SIGTERMException) and trainer.received_sigterm
        if not stopped_in_loop or trainer.state.fn != TrainerFn.FITTING:
            return  # a failure, or a stop before training resumed: the last good checkpoint stays as it is
        path = self.dirpath / "last.ckpt"
        trainer.save_checkpoint(path)  # every rank calls it (a barrier); rank 0 writes
        CheckpointOnStop.saved = str(path)
