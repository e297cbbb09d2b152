"""Run one reproduction: `python scripts/train.py experiment=lenet5 trainer.max_epochs=3`."""

import sys

import hydra
from omegaconf import DictConfig

from repro.errors import UserError
from repro.pipeline import run


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
