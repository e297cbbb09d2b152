"""Run one reproduction: `python scripts/train.py experiment=lenet5 trainer.max_epochs=3`.

Bad input ends in one `error:` line and exit status 2 (repro/cli.py); SIGTERM and SIGINT end in one
`stopped` line, a checkpoint to resume from, and 143 or 130 (repro/signals.py); a bug keeps its
traceback. No record is written in any of these cases.
"""

import logging
import os
import sys
import warnings

import hydra
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from repro.allocator import keep_freed_memory
from repro.cli import check_overrides, hydra_order, one_line
from repro.compose import CONFIG_DIR
from repro.errors import UserError, brief
from repro.pipeline import run
from repro.signals import exit_status, stop_line, stop_on_signals

# Library chatter that says nothing about the run
warnings.filterwarnings("ignore", message=".*LeafSpec.*")
warnings.filterwarnings("ignore", message=".*litlogger.*")
logging.getLogger("lightning.pytorch.trainer.connectors.signal_connector").setLevel(logging.WARNING)


def fail(message: str, status: int = 2) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(status)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def hydra_main(cfg: DictConfig) -> None:
    try:
        with stop_on_signals():
            run(cfg)
    except (SIGTERMException, KeyboardInterrupt) as stop:
        print(stop_line(stop), file=sys.stderr)
        sys.exit(exit_status(stop))
    except Exception as error:
        message = one_line(error, cfg, list(HydraConfig.get().overrides.task))
        if message is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise  # a bug, not bad input (or the traceback asked for): keep the traceback
        fail(message)


def main() -> None:
    keep_freed_memory()  # before the run allocates: small nets on a CPU page-fault less
    try:
        check_overrides(sys.argv[1:])
        sys.argv[1:] = hydra_order(sys.argv[1:])
        hydra_main()
    except UserError as error:
        fail(brief(error, 1000))
    except KeyboardInterrupt as stop:  # Ctrl-C before the run started
        print(stop_line(stop), file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
