"""Lightning's WandbLogger that never blocks or crashes a run.

With a key but no network, or a key the server rejects, `wandb.init` waits out its timeout and
raises. This logger bounds that wait (`init_timeout`, seconds; with W&B's own start-up the fallback
comes within about 30 s), then logs offline into the run folder and says so in one warning line that
names the `wandb sync` command uploading it later. The class keeps Lightning's name, so code that asks
for a WandbLogger (the claim table, the run id carried in checkpoints) finds it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment

from repro.errors import brief


class WandbLogger(LightningWandbLogger):
    def __init__(self, *args, init_timeout: float = 15.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        import wandb

        settings = self._wandb_init.get("settings") or wandb.Settings()
        if isinstance(settings, dict):
            settings = wandb.Settings(**settings)
        settings.init_timeout = init_timeout
        self._wandb_init["settings"] = settings

    @property
    @rank_zero_experiment
    def experiment(self):
        if self._experiment is not None or self._wandb_init.get("mode") == "offline" or \
                os.environ.get("WANDB_MODE") in ("offline", "dryrun", "disabled"):
            return LightningWandbLogger.experiment.fget(self)
        try:
            return LightningWandbLogger.experiment.fget(self)
        except Exception as error:  # CommError (no network), AuthenticationError (a rejected key) ...
            import wandb

            self._experiment = None
            wandb.finish(exit_code=1)  # drop whatever the failed start left behind
            self._wandb_init["mode"] = "offline"
            run = LightningWandbLogger.experiment.fget(self)
            folder = Path(getattr(run, "dir", "") or self.save_dir or ".").parent
            print(f"warning: W&B is unreachable or refused the key ({brief(error, 120)}); logging offline instead: "
                  f"upload later with `wandb sync {folder}`", file=sys.stderr)
            return run
