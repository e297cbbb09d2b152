"""What a record says about where it ran: hardware, software, commit."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(accelerator: str, devices: int, num_nodes: int = 1) -> dict[str, object]:
    """Where a run ran; `accelerator` is the device type it used ("cpu", "cuda", ...)."""
    info: dict[str, object] = {"cpu": cpu_name(), "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                               "accelerator": accelerator, "devices": devices, "num_nodes": num_nodes}
    if accelerator == "cuda" and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    info["summary"] = f"{devices}x {info['gpu']}" if "gpu" in info else f"{info['cpu']} ({info['cpu_cores']} cores)"
    return info


def git_commit(root: str | Path = ".") -> str:
    """HEAD's sha, suffixed '-dirty' when tracked files differ from it. The records file itself does not
    count: the runs before this one in a multirun have appended to it. $REPRO_GIT_COMMIT, when set, wins:
    a copy of the tree sent to another machine may carry no .git, or a stale one. 'unknown' outside git."""
    if os.environ.get("REPRO_GIT_COMMIT"):
        return os.environ["REPRO_GIT_COMMIT"]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)results/runs"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def software() -> dict[str, str]:
    import lightning

    return {"python": platform.python_version(), "torch": torch.__version__, "lightning": lightning.__version__}
