"""Parallel text for translation: Multi30k task 1 (raw text files, or the hub copy) and WMT14 (hub).

Setup reads the three splits, learns (or loads from the cache) one joint BPE vocabulary on the
training text of both languages (datamodules/bpe.py), encodes every sentence once, and keeps the
tokens in memory as ragged tensors; batches are cut on the device (datamodules/token_batches.py).
Source sentences end with EOS; target sentences are BOS ... EOS. The raw target sentences of the
validation and test splits stay as they are: they are the references BLEU is computed against.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch

from datamodules.bpe import decode, encode, joint_bpe
from datamodules.in_memory import check_count
from datamodules.resume import ResumableTrainBatches
from datamodules.token_batches import RaggedTokens, TokenBatches
from models.nets.transformer import BOS, EOS
from repro.errors import UserError, brief

SPLITS = ("train", "val", "test")


def load_hub_translation(name: str, config: str | None, split: str, source_lang: str, target_lang: str):
    """(source lines, target lines) of one split of a hub dataset, or one line saying why not.

    Handles both layouts on the hub: a `translation` column of {lang: text} (wmt/wmt14) and one
    column per language (bentrevett/multi30k)."""
    import datasets

    try:
        data = datasets.load_dataset(name, config, split=split)
    except Exception as error:  # offline, no such dataset or split: all fixable by the user
        raise UserError(f"cannot load {name}{f' ({config})' if config else ''} split {split!r} from the Hugging Face "
                        f"hub ({type(error).__name__}: {brief(error, 100)}): go "
                        f"online or put the dataset in the Hugging Face cache (HF_HOME) first") from error
    if "translation" in data.column_names:
        pairs = data["translation"]
        return [p[source_lang] for p in pairs], [p[target_lang] for p in pairs]
    missing = [lang for lang in (source_lang, target_lang) if lang not in data.column_names]
    if missing:
        raise UserError(f"{name} split {split!r} has no column {missing[0]!r} (columns: {data.column_names}): "
                        f"check data.source_lang and data.target_lang")
    return list(data[source_lang]), list(data[target_lang])


class TranslationDataModule(ResumableTrainBatches, L.LightningDataModule):
    def __init__(self, data_dir: str, source_lang: str = "de", target_lang: str = "en",
                 files: dict | None = None, source: str = "files", hub_name: str = "bentrevett/multi30k",
                 hub_config: str | None = None, hub_splits: dict | None = None, vocab_size: int = 8000,
                 cache_dir: str = ".cache", max_tokens: int = 2048, eval_max_tokens: int = 8192,
                 bucket_width: int = 2, max_len: int = 256, subset: int | None = None,
                 test_subset: int | None = None, seed: int = 0, what: str = "Multi30k") -> None:
        """`max_tokens`: padded tokens per training batch on each side (the paper: about 25000).
        `max_len`: training pairs with a longer side (in tokens) are left out. `subset` and
        `test_subset`: the first that many pairs of the training and of the val/test splits."""
        super().__init__()
        for name, value in (("max_tokens", max_tokens), ("eval_max_tokens", eval_max_tokens),
                            ("bucket_width", bucket_width), ("max_len", max_len), ("vocab_size", vocab_size)):
            check_count(name, value, allow_none=False)
        for name, value in (("subset", subset), ("test_subset", test_subset)):
            check_count(name, value)
        if source not in ("files", "hub"):
            raise UserError(f"data.source={source!r}: use 'files' (raw text in data_dir) or 'hub' (Hugging Face)")
        if source_lang == target_lang:
            raise UserError(f"data.source_lang and data.target_lang are both {source_lang!r}: give two languages")
        self.root, self.source_lang, self.target_lang = Path(data_dir), source_lang, target_lang
        self.files = dict(files or {"train": "train", "val": "val", "test": "test_2016_flickr"})
        self.source, self.hub_name, self.hub_config = source, hub_name, hub_config
        self.hub_splits = dict(hub_splits or {"train": "train", "val": "validation", "test": "test"})
        self.vocab_size, self.cache_dir = vocab_size, cache_dir
        self.max_tokens, self.eval_max_tokens, self.bucket_width = max_tokens, eval_max_tokens, bucket_width
        self.max_len, self.subset, self.test_subset, self.seed, self.what = max_len, subset, test_subset, seed, what
        self.tokenizer = None
        self.tokens: dict[str, tuple[RaggedTokens, RaggedTokens]] = {}
        self.references: dict[str, list[str]] = {}
        self.sources: dict[str, list[str]] = {}
        self.train_batches: TokenBatches | None = None
        self.resume_position: dict[str, int] | None = None

    # ---- reading ----
    def _read_files(self, split: str) -> tuple[list[str], list[str]]:
        sides = []
        for lang in (self.source_lang, self.target_lang):
            path = self.root / f"{self.files[split]}.{lang}"
            if not path.is_file():
                raise UserError(f"{self.what} not found: no {path.name} in {self.root}. Expected raw text files "
                                f"{{{','.join(self.files.values())}}}.{{{self.source_lang},{self.target_lang}}}, one "
                                f"sentence a line (Multi30k task 1 from github.com/multi30k/dataset, gunzipped), "
                                f"or data.source=hub to read the Hugging Face copy")
            sides.append(path.read_text(encoding="utf-8").splitlines())
        if len(sides[0]) != len(sides[1]):
            raise UserError(f"{self.root}/{self.files[split]}.*: {len(sides[0])} {self.source_lang} lines but "
                            f"{len(sides[1])} {self.target_lang} lines: the files must be line-aligned")
        return sides[0], sides[1]

    def read(self, split: str) -> tuple[list[str], list[str]]:
        if self.source == "hub":
            return load_hub_translation(self.hub_name, self.hub_config, self.hub_splits[split],
                                        self.source_lang, self.target_lang)
        return self._read_files(split)

    # ---- setup ----
    def prepare_data(self) -> None:
        if self.source == "files":
            self._read_files("train")  # fail early with the one-line message

    def setup(self, stage: str | None = None) -> None:
        if self.tokens:
            return
        text = {split: self.read(split) for split in SPLITS}
        limits = {"train": self.subset, "val": self.test_subset, "test": self.test_subset}
        text = {split: (src[: limits[split]], tgt[: limits[split]]) for split, (src, tgt) in text.items()}
        by_language = dict(zip((self.source_lang, self.target_lang), text["train"]))
        # in language order, so de->en and en->de share one vocabulary (and one cache entry)
        self.tokenizer = joint_bpe([by_language[lang] for lang in sorted(by_language)], self.vocab_size, self.cache_dir)
        for split, (src_lines, tgt_lines) in text.items():
            src = [ids + [EOS] for ids in encode(self.tokenizer, src_lines)]
            tgt = [[BOS] + ids + [EOS] for ids in encode(self.tokenizer, tgt_lines)]
            src_tokens, tgt_tokens = RaggedTokens(src), RaggedTokens(tgt)
            if split == "train":  # too-long pairs stay out of training only; every test sentence counts
                short = (src_tokens.lengths <= self.max_len) & (tgt_tokens.lengths <= self.max_len + 1)
                keep = torch.nonzero(short)[:, 0]
                if len(keep) < len(src):
                    src_tokens, tgt_tokens = src_tokens.select(keep), tgt_tokens.select(keep)
            self.tokens[split] = (src_tokens, tgt_tokens)
            self.sources[split], self.references[split] = src_lines, tgt_lines

    @property
    def actual_vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size() if self.tokenizer else self.vocab_size

    def detokenize(self, ids: list[list[int]]) -> list[str]:
        return decode(self.tokenizer, ids)

    # ---- batches ----
    def _batches(self, split: str, train: bool) -> TokenBatches:
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        src, tgt = self.tokens[split]
        return TokenBatches(src.to(device), tgt.to(device), self.max_tokens if train else self.eval_max_tokens,
                            self.bucket_width, shuffle=train, seed=self.seed, rank=rank, world_size=world,
                            with_index=not train)

    def train_dataloader(self):
        return self.resumed(self._batches("train", train=True))

    def val_dataloader(self):
        return self._batches("val", train=False)

    def test_dataloader(self):
        # The final evaluation decodes both: val (to compare settings, as the paper's Table 3 uses its
        # dev set) and test (the number set beside the claims).
        return [self._batches("val", train=False), self._batches("test", train=False)]

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        return batch  # cut on the device already
