"""A sequence-to-sequence translation system: takes one encoder-decoder net (the Transformer),
trains it with label-smoothed cross-entropy over target tokens, and evaluates it as Vaswani et al.
2017 do: perplexity per BPE token on held-out text and BLEU of the decoded sentences (beam search,
section 6.1), computed with sacreBLEU on detokenised text, signature kept for the record.

The final test pass decodes the validation split (to compare settings, like the paper's Table 3 on
its dev set) and the test split (the number set beside the claims).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from sacrebleu.metrics import BLEU
from torchmetrics import MeanMetric
from torchmetrics.text import Perplexity

from models.decoding import beam_search, greedy_decode, strip
from models.nets.transformer import PAD

EVAL_SPLITS = ("val", "test")


class Translator(L.LightningModule):
    def __init__(self, net: torch.nn.Module, optimizer: Callable, scheduler: Callable | None = None,
                 scheduler_interval: str = "step", label_smoothing: float = 0.1, decoding: str = "beam",
                 beam_size: int = 4, length_penalty: float = 0.6, max_len_a: float = 1.0, max_len_b: int = 50,
                 examples: int = 3, val_bleu_every_n_epochs: int = 0) -> None:
        """`val_bleu_every_n_epochs`: also greedy-decode the validation split every N epochs during training
        and log val/greedy_bleu (0: never; the final test pass decodes it anyway)."""
        super().__init__()
        if decoding not in ("beam", "greedy"):
            raise ValueError(f"model.decoding={decoding!r}: use 'beam' (section 6.1) or 'greedy'")
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net = net
        self.make_optimizer, self.make_scheduler = optimizer, scheduler
        self.train_sums: torch.Tensor | None = None
        self.val_loss, self.val_ppl = MeanMetric(), Perplexity(ignore_index=PAD)
        self.test_ppl = torch.nn.ModuleDict({split: Perplexity(ignore_index=PAD) for split in EVAL_SPLITS})
        self.hypotheses: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {s: [] for s in EVAL_SPLITS}
        self.bleu_details: dict[str, dict] = {}
        self.averaged_over = 0  # set by repro.averaging.AverageLastCheckpoints

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.net(src, tgt_in)

    def loss(self, logits: torch.Tensor, tgt_out: torch.Tensor, smoothing: float | None = None) -> torch.Tensor:
        """Mean over the target tokens (padding ignored), label smoothing epsilon_ls (section 5.4)."""
        smoothing = self.hparams.label_smoothing if smoothing is None else smoothing
        return F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD, label_smoothing=smoothing)

    # ---- what repro.meter.RunMeter measures: tokens, not sentences ----
    def count_tokens(self, batch) -> torch.Tensor:
        """Target tokens the batch trains on (every non-padding position of tgt[:, 1:], EOS included)."""
        return (batch[1][:, 1:] != PAD).sum()

    def flops_inputs(self, batch, sentences: int = 16) -> tuple[tuple[torch.Tensor, torch.Tensor], int]:
        src, tgt = batch[0][:sentences], batch[1][:sentences]
        return (src, tgt[:, :-1]), int((tgt[:, 1:] != PAD).sum())

    # ---- training ----
    def on_train_epoch_start(self) -> None:
        self.train_sums = None

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        src, tgt = batch
        tgt_out = tgt[:, 1:]
        loss = self.loss(self(src, tgt[:, :-1]), tgt_out)
        with torch.no_grad():  # summed on the device, logged once an epoch (no per-step sync)
            tokens = (tgt_out != PAD).sum()
            step = torch.stack([loss.detach().float() * tokens, tokens.float()])
            self.train_sums = step if self.train_sums is None else self.train_sums + step
        return loss

    def on_train_epoch_end(self) -> None:
        if self.train_sums is None:
            return
        loss_sum, tokens = self.trainer.strategy.reduce(self.train_sums, reduce_op="sum")
        self.log("train/loss", loss_sum / tokens)

    # ---- teacher-forced evaluation ----
    def validation_step(self, batch, batch_idx: int) -> None:
        src, tgt, _ = batch
        logits = self(src, tgt[:, :-1])
        tokens = (tgt[:, 1:] != PAD).sum()
        self.val_loss.update(self.loss(logits, tgt[:, 1:]), weight=tokens)
        self.val_ppl.update(logits.float(), tgt[:, 1:])
        if self._decode_during_validation():
            self.hypotheses["val"].append((batch[2].cpu(), greedy_decode(self.net, src).cpu()))

    def _decode_during_validation(self) -> bool:
        every = self.hparams.val_bleu_every_n_epochs
        return bool(every) and not self.trainer.sanity_checking and (self.current_epoch + 1) % every == 0

    def on_validation_epoch_start(self) -> None:
        self.hypotheses["val"] = []

    def on_validation_epoch_end(self) -> None:
        self.log("val/loss", self.val_loss.compute(), sync_dist=True)
        self.log("val/ppl", self.val_ppl.compute(), sync_dist=True)
        self.val_loss.reset()
        self.val_ppl.reset()
        if self._decode_during_validation():
            self.log("val/greedy_bleu", self._bleu("val")[0], sync_dist=True)  # the same on every rank (gathered)

    def _bleu(self, split: str) -> tuple[float, dict]:
        """sacreBLEU of the decoded sentences of `split` against their references, and the details for the record."""
        datamodule = self.trainer.datamodule
        pairs = self._gathered(split)
        hypotheses = datamodule.detokenize([ids for _, ids in pairs])
        references = [datamodule.references[split][i] for i, _ in pairs]
        bleu = BLEU()
        score = bleu.corpus_score(hypotheses, [references])
        return score.score, {
            "score": str(score), "signature": str(bleu.get_signature()), "sentences": len(pairs),
            "examples": [{"source": datamodule.sources[split][i], "reference": ref, "hypothesis": hyp}
                         for (i, _), ref, hyp in list(zip(pairs, references, hypotheses))[: self.hparams.examples]]}

    # ---- decoding and BLEU ----
    def translate(self, src: torch.Tensor) -> torch.Tensor:
        h = self.hparams
        if h.decoding == "greedy":
            return greedy_decode(self.net, src, h.max_len_a, h.max_len_b)
        return beam_search(self.net, src, h.beam_size, h.length_penalty, h.max_len_a, h.max_len_b)

    def on_test_epoch_start(self) -> None:
        self.hypotheses = {s: [] for s in EVAL_SPLITS}

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        split = EVAL_SPLITS[dataloader_idx]
        src, tgt, index = batch
        self.test_ppl[split].update(self(src, tgt[:, :-1]).float(), tgt[:, 1:])
        self.hypotheses[split].append((index.cpu(), self.translate(src).cpu()))

    def _gathered(self, split: str) -> list[tuple[int, list[int]]]:
        """(sentence index, token ids) of every decoded sentence, from every rank."""
        pairs = [(i, ids) for index, tokens in self.hypotheses[split] for i, ids in zip(index.tolist(), strip(tokens))]
        if self.trainer.world_size > 1 and torch.distributed.is_initialized():
            everyone = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(everyone, pairs)
            pairs = [p for part in everyone for p in part]
        return sorted(pairs)

    def on_test_epoch_end(self) -> None:
        for split in EVAL_SPLITS:
            if not self.hypotheses[split]:  # that split was not evaluated (trainer.limit_test_batches)
                continue
            self.log(f"{split}/ppl", self.test_ppl[split].compute(), sync_dist=True)
            self.test_ppl[split].reset()
            score, self.bleu_details[split] = self._bleu(split)
            self.log(f"{split}/bleu", score, sync_dist=True)  # the same on every rank (gathered)

    def record_fields(self) -> dict:
        """Added to the run record: BLEU with sacreBLEU's signature, how it was decoded, examples."""
        h = self.hparams
        decoding = {"method": h.decoding, "max_len": f"{h.max_len_a:g} * source length + {h.max_len_b}"}
        if h.decoding == "beam":
            decoding |= {"beam_size": h.beam_size, "length_penalty": h.length_penalty}
        return {"bleu": self.bleu_details, "decoding": decoding, "checkpoints_averaged": self.averaged_over}

    # ---- the trained translator, for scripts/translate.py ----
    def on_fit_end(self) -> None:
        """Write checkpoints/translator.pt: the (averaged) net, its constructor arguments and the vocabulary."""
        if not self.trainer.is_global_zero or not getattr(self.trainer.datamodule, "tokenizer", None):
            return
        path = Path(self.trainer.default_root_dir) / "checkpoints" / "translator.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        datamodule = self.trainer.datamodule
        torch.save({"net_class": f"{type(self.net).__module__}.{type(self.net).__qualname__}",
                    "net_config": self.net.config, "state_dict": self.net.state_dict(),
                    "tokenizer": datamodule.tokenizer.to_str(), "source_lang": datamodule.source_lang,
                    "target_lang": datamodule.target_lang, "decoding": dict(self.hparams),
                    "checkpoints_averaged": self.averaged_over}, path)

    # ---- optimisation ----
    def configure_optimizers(self):
        optimizer = self.make_optimizer(params=[p for p in self.parameters() if p.requires_grad])
        if self.make_scheduler is None:
            return optimizer
        make = self.make_scheduler
        extra = {}
        if "total_steps" in inspect.signature(getattr(make, "func", make)).parameters:
            extra["total_steps"] = int(self.trainer.estimated_stepping_batches)
        schedule = {"scheduler": make(optimizer=optimizer, **extra), "interval": self.hparams.scheduler_interval}
        return {"optimizer": optimizer, "lr_scheduler": schedule}
