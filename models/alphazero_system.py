"""AlphaZero as a Lightning system: one policy-value net, trained only on its own self-play.

Silver et al. 2017 (AlphaGo Zero, Nature 550, Methods) and 2018 (AlphaZero, Science 362): the loss is
l = (z - v)^2 - pi^T log p + c ||theta||^2 (the L2 term is the optimiser's weight decay), pi the search's
visit distribution and z the game's result; the latest network always generates the games (AlphaZero;
AlphaGo Zero's 55% evaluation gate is not used). An epoch is one iteration: the datamodule
(datamodules/selfplay.py) asks `self_play` for games, then trains on batches from its replay buffer.
`test_step` runs the evaluation of models/alphazero/evaluation.py and logs its metrics; the record gets
self-play throughput, per-iteration history, arena results with intervals and the Elo fit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from models.alphazero.evaluation import KINDS, Evaluation
from models.alphazero.games import make_game
from models.alphazero.mcts import MCTS, network_evaluator
from models.alphazero.selfplay import SelfPlayGames, play_games
from repro.errors import UserError


class AlphaZeroSystem(L.LightningModule):
    def __init__(self, net: torch.nn.Module, game: str, optimizer: Callable, scheduler: Callable | None = None,
                 simulations: int = 50, c_puct: float = 1.25, dirichlet_alpha: float = 10.0,
                 noise_fraction: float = 0.25, evaluation: dict | None = None, torch_threads: int | None = None) -> None:
        """`torch_threads` (None: torch's default) sets intra-op threads for the run: self-play's network
        calls are small, and on a shared 2-core CPU two threads waiting on each other cost 4-5x."""
        super().__init__()
        if isinstance(evaluation, DictConfig):  # plain containers: checkpoints load with weights_only=True
            evaluation = OmegaConf.to_container(evaluation, resolve=True)
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net = net
        try:
            self.game = make_game(game)
        except ValueError as error:
            raise UserError(f"model.{error}") from error
        self._check_net_fits_the_game()
        if simulations < 1:
            raise UserError(f"model.simulations={simulations}: a search needs at least 1 simulation")
        self._check_evaluation(evaluation or {})
        self.make_optimizer, self.make_scheduler = optimizer, scheduler
        self.totals = {"games": 0, "positions": 0, "seconds": 0.0, "evaluations": 0, "evaluator_seconds": 0.0}
        self.history: list[dict[str, float]] = []  # one entry per iteration
        self.snapshots: dict[int, dict[str, torch.Tensor]] = {}  # iteration -> weights, for the Elo curve
        self.evaluation: Evaluation | None = None

    def _check_net_fits_the_game(self) -> None:
        was_training = self.net.training
        try:
            with torch.no_grad():
                logits, _ = self.net.eval()(self.game.encode(self.game.initial(1)))
        except RuntimeError as error:
            raise UserError(f"model.net does not fit model.game={self.game.name}: set model.net.height/width/"
                            f"num_actions to {self.game.height}/{self.game.width}/{self.game.num_actions}") from error
        finally:
            self.net.train(was_training)
        if logits.shape[-1] != self.game.num_actions:
            raise UserError(f"model.net.num_actions={logits.shape[-1]} but {self.game.name} has "
                            f"{self.game.num_actions} moves: set model.net.num_actions={self.game.num_actions}")

    @staticmethod
    def _check_evaluation(evaluation: dict) -> None:
        """A misnamed player or a missing benchmark file fails now, not after the training."""
        players = evaluation.get("players") or {}
        for name, spec in players.items():
            if (spec or {}).get("kind") not in KINDS:
                raise UserError(f"model.evaluation.players.{name}.kind={(spec or {}).get('kind')!r}: use one of {KINDS}")
        pons, elo = evaluation.get("pons"), evaluation.get("elo")
        for where, names in (("matches", evaluation.get("matches")), ("pons.baselines", (pons or {}).get("baselines")),
                             ("elo.players", (elo or {}).get("players"))):
            for name in names or []:
                if name not in players:
                    raise UserError(f"model.evaluation.{where} names {name!r}, which model.evaluation.players does "
                                    f"not define (it has {sorted(players)})")
        for filename in (pons or {}).get("sets", {}).values():
            path = Path(pons["data_dir"]) / filename
            if not path.is_file():
                raise UserError(f"Pons benchmark file {path} not found: set DATA_DIR to the folder holding "
                                f"connect4-pons/, or drop the check with model.evaluation.pons=null")

    def setup(self, stage: str) -> None:
        # for the rest of the process, so the record's hardware.torch_threads is what the run used
        if self.hparams.torch_threads:
            torch.set_num_threads(self.hparams.torch_threads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(move logits | value) as one tensor: what the FLOP counter and exports see."""
        logits, value = self.net(x)
        return torch.cat([logits, value[:, None]], 1)

    # ---- self-play ----------------------------------------------------------------------------
    def _snapshot(self, iteration: int) -> None:
        self.snapshots[iteration] = {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}

    @torch.no_grad()
    def self_play(self, games: int, temperature_moves: int) -> SelfPlayGames:
        if not self.snapshots:
            self._snapshot(0)  # the random network: the Elo curve's first point
        was_training = self.net.training
        self.net.eval()
        h = self.hparams
        search = MCTS(self.game, network_evaluator(self.game, self.net), h.simulations, h.c_puct,
                      h.dirichlet_alpha, h.noise_fraction)
        result = play_games(self.game, search, games, temperature_moves, self.device)
        self.net.train(was_training)
        positions = len(result.value)
        for key, value in (("games", games), ("positions", positions), ("seconds", result.seconds),
                           ("evaluations", result.evaluations), ("evaluator_seconds", result.evaluator_seconds)):
            self.totals[key] += value
        self.history.append({"iteration": self.current_epoch + 1, "games": self.totals["games"],
                             "positions": positions, "selfplay_seconds": round(result.seconds, 2),
                             "first_player_score": round(result.first_player_score, 4),
                             "game_length": round(positions / games, 2)})
        return result

    # ---- training ------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        planes, policy, value = batch
        logits, predicted = self.net(planes)
        value_loss = F.mse_loss(predicted, value)
        policy_loss = -(policy * torch.log_softmax(logits.float(), -1)).sum(-1).mean()
        loss = value_loss + policy_loss
        self.log_dict({"train/loss": loss, "train/value_loss": value_loss, "train/policy_loss": policy_loss},
                      on_step=False, on_epoch=True)
        return loss

    def on_train_epoch_end(self) -> None:
        self._snapshot(self.current_epoch + 1)
        if self.history:
            last = self.history[-1]
            metrics = self.trainer.callback_metrics
            last.update({k.split("/")[1]: round(float(metrics[k]), 4) for k in ("train/value_loss", "train/policy_loss")
                         if k in metrics})
            self.log_dict({"selfplay/games": float(self.totals["games"]),
                           "selfplay/first_player_score": last["first_player_score"],
                           "selfplay/game_length": last["game_length"]})

    def configure_optimizers(self):
        optimizer = self.make_optimizer(params=self.parameters())
        if self.make_scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "scheduler": self.make_scheduler(optimizer=optimizer)}

    # ---- evaluation ----------------------------------------------------------------------------
    def test_step(self, batch, batch_idx: int) -> None:
        config = self.hparams.evaluation or {}
        config = OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else dict(config)
        config.setdefault("simulations", self.hparams.simulations)
        config.setdefault("c_puct", self.hparams.c_puct)
        self.net.eval()
        self.evaluation = Evaluation(self.game, config)
        self.evaluation.run(self.net, self.snapshots, lambda: copy.deepcopy(self.net), self.device)
        for name, value in self.evaluation.metrics.items():
            self.log(name, float(value))

    def record_fields(self) -> dict[str, Any]:
        t = self.totals
        return {"selfplay": {
            "games": t["games"], "positions": t["positions"], "seconds": round(t["seconds"], 1),
            "positions_per_s": round(t["positions"] / t["seconds"], 2) if t["seconds"] else None,
            "network_evaluations": t["evaluations"],
            "network_evaluations_per_s": round(t["evaluations"] / t["seconds"], 1) if t["seconds"] else None,
            "network_share_of_search": round(t["evaluator_seconds"] / t["seconds"], 3) if t["seconds"] else None,
            "iterations": self.history},
            "evaluation": self.evaluation.details if self.evaluation else None}

    # ---- checkpoints: self-play history and snapshots travel with the weights ---------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["alphazero"] = {"totals": dict(self.totals), "history": list(self.history),
                                   "snapshots": self.snapshots}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("alphazero") or {}
        self.totals.update(state.get("totals", {}))
        self.history = list(state.get("history", []))
        self.snapshots = dict(state.get("snapshots", {}))
