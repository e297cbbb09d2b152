"""Folder names no other run started at the same time can take: `${run_id:}` in configs/hydra/.

A run under SLURM is named after its job (an array task's `<job>_<task>`, and the job step when
srun started it): every task of a multi-node job shares the folder, and a requeued job comes back to
it, where Lightning finds the checkpoint it saved before the requeue. Elsewhere, and for a sweep's
folder (`${run_id:sweep}`: its jobs get numbered subfolders), the name is the start time and this
process's id, unique on a machine. OmegaConf caches the value in the config, so one run resolves it
to one name.
"""

from __future__ import annotations

import datetime as dt
import os

from omegaconf import OmegaConf


def run_id(kind: str = "run") -> str:
    env = os.environ
    if kind == "run" and env.get("SLURM_JOB_ID"):
        job = f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}" if env.get("SLURM_ARRAY_TASK_ID") \
            else env["SLURM_JOB_ID"]
        step = env.get("SLURM_STEP_ID", "")
        return f"slurm-{job}" + (f".{step}" if step.isdigit() else "")
    return f"{dt.datetime.now():%Y-%m-%d_%H-%M-%S}_{os.getpid()}"


OmegaConf.register_new_resolver("run_id", run_id, use_cache=True, replace=True)
