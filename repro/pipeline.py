"""One reproduction run: compose -> fit -> test -> one run record -> the claim lines.

The clock starts before the data is touched (MLPerf's rule) and stops after the test pass; a run
resumed from a checkpoint adds the seconds of its earlier parts. Only global rank 0 writes the record,
and a run that raises writes none. Each record names its command-line overrides and its recipe
fingerprint (repro/recipe.py): only a run of the committed recipe is judged against the paper.
A finished run leaves a marker beside its checkpoints, so resuming it again writes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from omegaconf import DictConfig, OmegaConf, open_dict

from repro.callbacks import TimeToTarget, WallClock
from repro.claims import evaluate, load_claims
from repro.cli import check_trainer_values
from repro.environment import git_commit, hardware, software
from repro.errors import UserError
from repro.experiments import recipe_status
from repro.meter import RunMeter
from repro.outputs import check_output_places
from repro.recipe import fingerprint
from repro.records import append_record, record_file

RECORDED = "RECORDED"  # the marker a finished run leaves in its output folder, beside checkpoints/


def _instantiate_all(group: DictConfig | None) -> list[Any]:
    return [instantiate(node) for node in (group or {}).values() if node is not None and "_target_" in node]


def _wandb_offline_without_key(cfg: DictConfig) -> None:
    """W&B with no API key and no login would prompt or fail; run offline instead (`wandb sync` later)."""
    uses_wandb = any("Wandb" in str(node.get("_target_", "")) for node in (cfg.get("logger") or {}).values() if node)
    if uses_wandb and not os.environ.get("WANDB_API_KEY") and not Path("~/.netrc").expanduser().exists():
        os.environ.setdefault("WANDB_MODE", "offline")


def resume_checkpoint(cfg: DictConfig) -> str | None:
    """`ckpt_path=PATH`, or with `resume=true` the newest last.ckpt of this experiment's runs."""
    if cfg.get("ckpt_path"):
        path = Path(cfg.ckpt_path)
        if not path.is_file():
            raise UserError(f"ckpt_path={path} does not exist: give an existing .ckpt file or use resume=true")
        return str(path)
    if not cfg.get("resume"):
        return None
    runs_root = Path(cfg.paths.runs_root)
    candidates = sorted(runs_root.glob("*/checkpoints/last*.ckpt"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise UserError(f"resume=true but no checkpoint of {cfg.experiment_name} under {runs_root}: "
                        f"start it without resume, or pass ckpt_path=PATH")
    return str(candidates[-1])


def recorded_marker(ckpt_path: str, recipe_fingerprint: str) -> Path | None:
    """The marker of the finished run that wrote this checkpoint (in RUN/checkpoints/), if it finished with
    this recipe; continuing it with another (more epochs, say) is a new run."""
    marker = Path(ckpt_path).resolve().parent.parent / RECORDED
    return marker if marker.is_file() and marker.read_text().split()[-1:] == [recipe_fingerprint] else None


def command_overrides() -> list[str]:
    """The overrides of the command line that started this run (none outside a Hydra app)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def rerun_command() -> str:
    """The command that reruns this record's job: the process's own command line, except in a Hydra multirun,
    where that line starts the whole sweep (or, under submitit, is the launcher's own script): there it is
    the train script with this job's overrides."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return " ".join(["python", "scripts/train.py", *command_overrides()])
    return " ".join(["python", *sys.argv])


def _continue_wandb_run(cfg: DictConfig, ckpt_path: str | None) -> DictConfig | None:
    """The logger configs, with W&B told to continue the run id stored in the checkpoint."""
    loggers = cfg.get("logger")
    if not ckpt_path or not loggers or "wandb" not in loggers:
        return loggers
    run_id = torch.load(ckpt_path, map_location="cpu", weights_only=True).get("wandb_run_id")
    if run_id:
        loggers = loggers.copy()
        with open_dict(loggers):
            loggers.wandb.id, loggers.wandb.resume = run_id, "allow"
    return loggers


def achieved_tflops(meter: RunMeter) -> float | None:
    """Training FLOPs per second actually sustained (counted FLOPs x measured samples/s, or tokens/s)."""
    if not meter.items_per_s or not meter.flops_train:
        return None
    return meter.flops_train * meter.items_per_s / 1e12


def project_time(spec: DictConfig | None, samples_per_s: float | None) -> dict[str, Any] | None:
    """How long the paper's full schedule would take at this run's training throughput."""
    if not spec or not samples_per_s:
        return None
    seconds = spec.epochs * spec.samples_per_epoch / samples_per_s
    return {"epochs": spec.epochs, "samples_per_epoch": spec.samples_per_epoch, "seconds": round(seconds),
            "days": round(seconds / 86400, 2), "paper": spec.get("paper")}


def _trainable_params(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad) or \
        sum(p.numel() for p in module.parameters())  # the perceptron learns without autograd


def run(cfg: DictConfig, overrides: list[str] | None = None) -> dict[str, Any] | None:
    """Train and test one experiment; return its record on rank 0 (None elsewhere, and None when asked to
    resume a run that already finished). `overrides`: the command line's, when not run by Hydra's app."""
    clock = WallClock()
    claims = load_claims(cfg.paths.claims_file)  # fail on a broken registry before hours of training
    check_output_places(cfg)  # a results folder that is a file, or not writable: now, not after training
    check_trainer_values(cfg.trainer)
    config = OmegaConf.to_container(cfg, resolve=True)
    ckpt_path = resume_checkpoint(cfg)
    if ckpt_path and (marker := recorded_marker(ckpt_path, fingerprint(config))):
        print(f"{cfg.experiment_name}: the run of {ckpt_path} finished and wrote its record already "
              f"({marker}); nothing to resume. Start a new run without resume=true.")
        return None
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    _wandb_offline_without_key(cfg)

    datamodule = instantiate(cfg.data)
    system = instantiate(cfg.model)
    meter = RunMeter()
    loggers = _instantiate_all(_continue_wandb_run(cfg, ckpt_path))
    callbacks = [*_instantiate_all(cfg.get("callbacks")), clock]
    target = TimeToTarget(**cfg.time_to_target, clock=clock) if cfg.get("time_to_target") else None
    if target:
        callbacks.append(target)
    if cfg.trainer.get("enable_progress_bar") is False:  # trainer.enable_progress_bar=false also drops the configured bar
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks + [meter], logger=loggers or False)
    recipe = {"recipe": recipe_status(cfg.experiment_name, config, trainer.world_size),
              "recipe_fingerprint": fingerprint(config, trainer.world_size),
              "overrides": command_overrides() if overrides is None else list(overrides)}
    _tag_wandb_runs(loggers, recipe, trainer)
    trainer.fit(system, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    fit_metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    trainer.test(system, datamodule=datamodule, verbose=False)
    metrics = fit_metrics | {k: float(v) for k, v in trainer.callback_metrics.items()}
    metrics["epochs"] = float(trainer.current_epoch)
    wall_time_s = clock.elapsed()
    if not trainer.is_global_zero:
        return None

    versions = software()
    entries = evaluate(claims, list(cfg.get("claims") or []), metrics, config)
    if recipe["recipe"] != "paper":  # an exploration is measured beside the paper, never judged
        entries = [entry | {"verdict": None} for entry in entries]
    record = {
        "experiment": cfg.experiment_name,
        "seed": cfg.seed,
        **recipe,
        "params": _trainable_params(system.net),
        "metrics": metrics,
        "claims": entries,
        "wall_time_s": round(wall_time_s, 2),
        "wall_time_before_resume_s": round(clock.before, 2) if ckpt_path else None,
        "time_to_target": target.summary() if target else None,
        "resumed_from": ckpt_path,
        "samples_per_s": meter.samples_per_s,
        "flops_per_sample_forward": meter.flops_forward if meter.unit == "sample" else None,
        "flops_per_sample_train": meter.flops_train if meter.unit == "sample" else None,
        **meter.record_fields(),
        "achieved_tflops": achieved_tflops(meter),
        "projected": project_time(cfg.get("project_time"), meter.samples_per_s),
        # the device the run used, not the config's word for it ("auto" on a GPU is a GPU run)
        "hardware": hardware(trainer.strategy.root_device.type, trainer.num_devices, trainer.num_nodes),
        "precision": str(trainer.precision),
        "software": versions,
        "torch": versions["torch"],
        "git_commit": git_commit(cfg.paths.root_dir),
        "command": rerun_command(),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        **(system.record_fields() if hasattr(system, "record_fields") else {}),  # e.g. BLEU's signature
    }
    records_file = record_file(cfg.paths.results_dir, record["experiment"])
    append_record(records_file, record)
    _mark_recorded(Path(cfg.paths.output_dir), records_file, record)
    _log_claims_to_loggers(loggers, record)
    print_claims(record)
    return record


def _mark_recorded(output_dir: Path, records_file: Path, record: dict[str, Any]) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    # the fingerprint last, as the process count of this run left it out: a resume compares it before it has a trainer
    (output_dir / RECORDED).write_text(f"{record['finished_at']} {records_file.resolve()} "
                                       f"{fingerprint(record['config'])}\n")


def _tag_wandb_runs(loggers: list[Any], recipe: dict[str, Any], trainer: L.Trainer) -> None:
    """Put the recipe's status, its fingerprint and the hardware on the W&B run, as tags and config, so a
    dashboard can filter the paper-recipe runs."""
    if not trainer.is_global_zero:
        return
    where = hardware(trainer.strategy.root_device.type, trainer.num_devices, trainer.num_nodes)["summary"]
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger":
            run = logger.experiment
            run.config.update({**recipe, "hardware": where}, allow_val_change=True)
            run.tags = tuple(dict.fromkeys([*(run.tags or ()), recipe["recipe"],
                                            f"recipe-{recipe['recipe_fingerprint']}", where]))


def _log_claims_to_loggers(loggers: list[Any], record: dict[str, Any]) -> None:
    for logger in loggers:
        if type(logger).__name__ != "WandbLogger":
            continue
        rows = [[c["id"], c["paper"], c["measured"], c["unit"], c["verdict"]] for c in record["claims"]]
        logger.log_table(key="claims", columns=["claim", "paper", "measured", "unit", "verdict"], data=rows)
        logger.experiment.summary.update({f"verdict/{c['id']}": c["verdict"] for c in record["claims"]})
        logger.experiment.summary.update({"wall_time_s": record["wall_time_s"], "samples_per_s": record["samples_per_s"]})
        import wandb

        wandb.finish()  # one W&B run per job, also inside a multirun


def print_claims(record: dict[str, Any]) -> None:
    """The run's summary; an exploration's measurements stand beside the paper's numbers without a verdict."""
    speed = f"{record['samples_per_s']:.0f} samples/s" if record["samples_per_s"] else "n/a"
    if record.get("tokens_per_s"):
        speed += f" ({record['tokens_per_s']:.0f} tokens/s)"
    if record.get("time_to_target"):
        t = record["time_to_target"]
        speed += (f"; {t['metric']} <= {t['target']:g} at epoch {t['epoch']}, {t['seconds']:.1f} s" if t["reached"]
                  else f"; target {t['metric']} {t['target']:g} not reached")
    print(f"\n{record['experiment']} (seed {record['seed']}): {record['wall_time_s']:.1f} s wall, "
          f"{speed}, {record['hardware']['summary']}")
    if record.get("recipe") == "exploration":
        print(f"  an exploration (overrides: {' '.join(record['overrides']) or 'none'}): not the committed "
              f"recipe, so no verdict; `make report` lists it under Explorations")
    for claim in record["claims"]:
        measured = "n/a" if claim["measured"] is None else f"{claim['measured']:.3g}"
        print(f"  {claim['id']}: paper {claim['paper']:g} | measured {measured} {claim['unit']} | "
              f"{claim['verdict'] or 'no verdict'}")
