"""A recipe's identity: the resolved config without the keys that cannot change the experiment's maths.

Two runs share a fingerprint exactly when they train the same net on the same data with the same
optimiser, schedule, loss and length; the seed is left out because a claim is judged over seeds.
Left out, on principle (each is bookkeeping, placement or metadata, never arithmetic):
  - the seed (`seed`, and every `seed` key below it, which interpolates it);
  - where files live and what is logged or saved: `paths`, `logger`, the bookkeeping callbacks
    (progress bars, checkpoints (also on a stop signal), RNG state, the W&B run id, the divergence stop, learning-rate
    monitors; a callback that changes the weights, such as checkpoint averaging, is recipe), model
    summaries, logging cadence, sanity checks, data-loader workers and memory pinning, caches and
    downloads, `resume` and `ckpt_path`;
  - device placement and number format: accelerator, devices, num_nodes, strategy, precision,
    determinism flags, memory layout (channels_last) and fused/foreach optimiser kernels (the same
    algorithm). With several processes each takes its own batch, so the global batch
    (data.batch_size x processes) enters the fingerprint: a run on 4 GPUs with a quarter of the batch
    each is the committed recipe;
  - what the report and the smoke runs read about an experiment: its name, `claims`, `variant_of`,
    `departures`, `report`, `smoke`, and `project_time` (a projection of the paper's schedule);
  - a sweep's lookup tables (`scaling`: budgets and widths by name): what a run takes from them is in the
    keys they fill (`model.compute_budget`, `model.net.n_embd`), so a run is named by what it trained.
Everything else (net, data and its augmentation, batch size, optimiser, schedule, epochs or steps,
`time_to_target` with its `stop`, limits on batches) is the recipe. A key set to null, false or an
empty list counts as absent: a switch added to the configs later, off by default, leaves the records
written before it existed with their recipe.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterator

# Dotted paths left out wherever they sit ("*" matches one key at any depth below).
TOP_LEVEL = {"seed", "paths", "logger", "hydra", "resume", "ckpt_path", "experiment_name",
             "claims", "variant_of", "departures", "report", "smoke", "project_time", "scaling"}
TRAINER = {"accelerator", "devices", "num_nodes", "strategy", "precision", "deterministic", "benchmark",
           "enable_progress_bar", "enable_model_summary", "enable_checkpointing", "default_root_dir",
           "log_every_n_steps", "num_sanity_val_steps", "plugins", "sync_batchnorm", "use_distributed_sampler"}
BOOKKEEPING_CALLBACKS = {"lightning.pytorch.callbacks.TQDMProgressBar", "lightning.pytorch.callbacks.RichProgressBar",
                         "lightning.pytorch.callbacks.ModelCheckpoint", "lightning.pytorch.callbacks.LearningRateMonitor",
                         "repro.callbacks.RngState", "repro.callbacks.WandbRunId", "repro.callbacks.DivergenceGuard",
                         "repro.signals.CheckpointOnStop"}
ANYWHERE = {"seed", "data_dir", "cache_dir", "num_workers", "pin_memory", "persistent_workers",
            "prefetch_factor", "download", "resize_cache", "channels_last", "fused", "foreach", "decode_on_device"}


def is_recipe_key(dotted: str) -> bool:
    """False for a key that cannot change the maths (see the module docstring)."""
    parts = dotted.split(".")
    if parts[0] in TOP_LEVEL or parts[-1] in ANYWHERE:
        return False
    return not (parts[0] == "trainer" and len(parts) > 1 and parts[1] in TRAINER)


def flatten(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, leaf value) pairs of a nested dict; lists are leaves."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif prefix:
        yield prefix, node


def _is_off(value: Any) -> bool:
    return value is None or value is False or value == [] or value == {}


def recipe_items(config: dict[str, Any]) -> dict[str, Any]:
    bookkeeping = {f"callbacks.{name}." for name, node in (config.get("callbacks") or {}).items()
                   if not isinstance(node, dict) or node.get("_target_") in BOOKKEEPING_CALLBACKS}
    return {key: value for key, value in flatten(config) if is_recipe_key(key) and not _is_off(value)
            and not any(key.startswith(prefix) for prefix in bookkeeping)}


def fingerprint(config: dict[str, Any], world_size: int = 1) -> str:
    """12 hex digits naming the recipe of a resolved config run by `world_size` processes."""
    items = recipe_items(config)
    if world_size != 1 and isinstance(items.get("data.batch_size"), int):
        items["data.batch_size"] *= world_size  # the global batch
    elif world_size != 1:
        items["<processes>"] = world_size
    payload = json.dumps(items, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def world_size(record: dict[str, Any]) -> int:
    """Processes a recorded run used (devices x nodes), 1 when the record does not say."""
    hardware = record.get("hardware") or {}
    devices, nodes = hardware.get("devices", 1), hardware.get("num_nodes", 1)
    return (devices if isinstance(devices, int) else 1) * (nodes if isinstance(nodes, int) else 1)


def differences(config: dict[str, Any], recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe keys where `config` departs from the committed `recipe` ({key: value in config});
    a key the recipe lacks or the run lacks counts too."""
    mine, theirs = recipe_items(config), recipe_items(recipe)
    return {key: mine.get(key, "<absent>") for key in sorted(mine.keys() | theirs.keys())
            if mine.get(key, "<absent>") != theirs.get(key, "<absent>")}
