"""Run one reproduction: `python scripts/train.py experiment=lenet5 trainer.max_epochs=3`."""

import sys
import warnings

import hydra
from omegaconf import DictConfig

from repro.allocator import keep_freed_memory
from repro.cli import check_overrides, one_line
from repro.errors import UserError
from repro.pipeline import run

# Library chatter that says nothing about the run
warnings.filterwarnings("ignore", message=".*LeafSpec.*")
warnings.filterwarnings("ignore", message=".*litlogger.*")


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def hydra_main(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except Exception as error:
        message = one_line(error)
        if message is None:
            raise  # a bug, not bad input: keep the traceback
        fail(message)


def main() -> None:
    keep_freed_memory()  # before the run allocates: small nets on a CPU page-fault less
    try:
        check_overrides(sys.argv[1:])
    except UserError as error:
        fail(str(error))
    hydra_main()


if __name__ == "__main__":
    main()
