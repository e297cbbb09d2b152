"""Character-level text for language models: one UTF-8 file (or a Hugging Face text dataset), the
whole corpus as one integer tensor in memory, batches of random blocks cut on the device.

As nanoGPT's data/shakespeare_char/prepare.py and train.py: the vocabulary is the sorted set of
characters of the whole text; the first 90% is the training split, the last 10% the held-out split;
a training batch is `batch_size` blocks of `block_size` characters starting at uniformly random
offsets, the targets the same blocks shifted by one. Random offsets are drawn on the device and the
blocks gathered by one indexing op, so there is no per-sample Python.

Evaluation:
- during training (every `steps_per_epoch` steps, the "epoch" Lightning validates after): `eval_iters`
  random held-out batches, as nanoGPT's estimate_loss; the same batches at every evaluation (one seed),
  so a learning curve moves with the model, not with the draw.
- the final pass (Lightning's test stage): every position of the held-out split, cut into consecutive
  blocks (the same mix of context lengths as random blocks, without sampling noise), or `eval_tokens`
  of it in evenly spaced blocks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch

from datamodules.in_memory import check_count
from datamodules.resume import EpochPosition, ResumableTrainBatches
from repro.errors import UserError


def char_codes(text: str) -> np.ndarray:
    """The Unicode code points of `text`, as uint32 (one C-level conversion, no per-character Python)."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def vocabulary(codes: np.ndarray) -> str:
    """The distinct characters, sorted (nanoGPT's sorted(set(text))), counted in chunks: linear in the text."""
    present = np.zeros(0x110000, dtype=bool)
    for start in range(0, len(codes), 1 << 26):
        present |= np.bincount(codes[start : start + (1 << 26)], minlength=0x110000) > 0
    return "".join(map(chr, np.flatnonzero(present)))


def encode_codes(codes: np.ndarray, chars: str) -> torch.Tensor:
    """Character ids of the code points under the vocabulary `chars` (distinct characters), by one table lookup."""
    vocab = char_codes(chars)
    table = np.full(int(max(codes.max(initial=0), vocab.max(initial=0))) + 1, -1,
                    dtype=np.int16 if len(vocab) < 2 ** 15 else np.int32)
    table[vocab] = np.arange(len(vocab))
    ids = table[codes]
    if (ids < 0).any():
        missing = sorted({chr(c) for c in codes[ids < 0][:1000]})
        raise UserError(f"the text has characters outside the vocabulary ({''.join(missing)!r}): "
                        f"use the vocabulary of the model's own training text")
    return torch.from_numpy(ids.astype(np.uint8) if len(chars) <= 256 else ids.astype(np.int32))


def encode_text(text: str, chars: str) -> torch.Tensor:
    return encode_codes(char_codes(text), chars)


@functools.lru_cache(maxsize=2)
def load_corpus(read, subset: int | None) -> tuple[str, torch.Tensor]:
    """(vocabulary, ids of the whole text) of what `read()` returns, cut to `subset` characters. Cached for the
    process: the jobs of a multirun read and encode a corpus once (TinyStories is 1.9B characters)."""
    codes = char_codes(read()[:subset] if subset else read())
    chars = vocabulary(codes)
    return chars, encode_codes(codes, chars)


def decode_ids(ids, chars: str) -> str:
    return "".join(chars[i] for i in ids)


def blocks_at(data: torch.Tensor, starts: torch.Tensor, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets), each (len(starts), block_size) int64: data[s : s + T] and data[s + 1 : s + 1 + T]."""
    index = starts[:, None] + torch.arange(block_size + 1, device=data.device)
    window = data[index].long()
    return window[:, :-1], window[:, 1:]


class RandomBlocks(EpochPosition):
    """`steps` batches of `batch_size` random blocks an epoch, drawn on data's device.

    Epoch e draws from a generator seeded with seed + e (every rank the same seed plus its rank), so a
    resumed run skips the batches already served by drawing and dropping their offsets."""

    def __init__(self, data: torch.Tensor, block_size: int, batch_size: int, steps: int, seed: int = 0,
                 rank: int = 0, fixed: bool = False) -> None:
        if len(data) <= block_size:
            raise UserError(f"the split has {len(data)} characters, not more than block_size={block_size}: "
                            f"use a longer text or a shorter data.block_size")
        self.data, self.block_size, self.batch_size, self.steps = data, block_size, batch_size, steps
        self.seed, self.rank, self.fixed = seed, rank, fixed
        self.epoch, self.served, self._skip = 0, 0, 0

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator(device=self.data.device)
        generator.manual_seed(self.seed + 1_000_003 * self.rank + (0 if self.fixed else self.epoch))
        if not self.fixed:
            self.epoch += 1
        skip, self._skip = self._skip, 0
        self.served = 0
        high = len(self.data) - self.block_size
        for step in range(self.steps):
            starts = torch.randint(high, (self.batch_size,), device=self.data.device, generator=generator)
            if step < skip:
                continue
            self.served = step + 1
            yield blocks_at(self.data, starts, self.block_size)
        self.served = 0


class FixedBlocks:
    """Batches of the blocks starting at `starts`, in order (a plain list would read as several loaders)."""

    def __init__(self, data: torch.Tensor, starts: torch.Tensor, block_size: int, batch_size: int) -> None:
        self.data, self.starts, self.block_size, self.batch_size = data, starts, block_size, batch_size

    def __len__(self) -> int:
        return -(-len(self.starts) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for starts in self.starts.split(self.batch_size):
            yield blocks_at(self.data, starts, self.block_size)


@dataclass(frozen=True)
class TextReader:
    """Reads the text of a UTF-8 file or of a Hugging Face dataset's column (lines joined by newlines); hashable,
    so load_corpus can cache by it."""
    path: str | None
    hub_name: str | None
    hub_config: str | None
    hub_split: str
    hub_column: str
    what: str

    def __call__(self) -> str:
        return self._hub() if self.hub_name else self._file()

    def _file(self) -> str:
        path = Path(self.path)
        if not path.is_file():
            raise UserError(f"{self.what} not found at {path}: put the text file there (see the data folder's "
                            f"SOURCE.md), point DATA_DIR at the folder that holds it, or pass data.file=FILE")
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise UserError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}): "
                            f"convert it to UTF-8 first") from error

    def _hub(self) -> str:
        import datasets

        try:
            data = datasets.load_dataset(self.hub_name, self.hub_config, split=self.hub_split)
        except Exception as error:  # offline, or no such dataset or split: fixable by the user
            raise UserError(f"cannot load {self.hub_name} split {self.hub_split!r} from the Hugging Face hub "
                            f"({type(error).__name__}): go online, or pass data.file=FILE") from error
        if self.hub_column not in data.column_names:
            raise UserError(f"{self.hub_name} has no column {self.hub_column!r} (columns: {data.column_names}): "
                            f"set data.hub_column")
        return "\n".join(data[self.hub_column])


class CharTextDataModule(ResumableTrainBatches, L.LightningDataModule):
    def __init__(self, data_dir: str = ".", file: str | None = None, vocab_size: int = 65, block_size: int = 256, batch_size: int = 64,
                 val_fraction: float = 0.1, steps_per_epoch: int = 250, eval_iters: int = 200,
                 eval_batch_size: int | None = None, eval_tokens: int | None = None, hub_name: str | None = None,
                 hub_config: str | None = None, hub_split: str = "train", hub_column: str = "text",
                 subset: int | None = None, test_subset: int | None = None, seed: int = 0,
                 what: str = "text") -> None:
        """`file`: a UTF-8 text file in `data_dir` (or an absolute path), or `hub_name`: a Hugging Face
        dataset whose `hub_column` lines are joined by newlines. Where the file lives (`data_dir`) is not the
        recipe; which file it is (`file`) is. `vocab_size`: the model's vocabulary, at least the text's distinct characters.
        `steps_per_epoch`: training steps between evaluations. `subset`: keep the first that many
        characters; `test_subset`: the final pass reads at most that many blocks (smoke runs)."""
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("block_size", block_size), ("batch_size", batch_size),
                            ("steps_per_epoch", steps_per_epoch), ("eval_iters", eval_iters)):
            check_count(name, value, allow_none=False)
        for name, value in (("eval_batch_size", eval_batch_size), ("eval_tokens", eval_tokens), ("subset", subset),
                            ("test_subset", test_subset)):
            check_count(name, value)
        if not 0 < val_fraction < 1:
            raise UserError(f"data.val_fraction={val_fraction!r} must lie between 0 and 1")
        if file is None and hub_name is None:
            raise UserError("no text given: set data.file=FILE (UTF-8; in data.data_dir, or an absolute path) "
                            "or data.hub_name=DATASET")
        self.path = Path(data_dir) / file if file else None
        self.hub_name, self.hub_config = hub_name, hub_config
        self.hub_split, self.hub_column = hub_split, hub_column
        self.vocab_size, self.block_size, self.batch_size = vocab_size, block_size, batch_size
        self.val_fraction, self.steps_per_epoch, self.eval_iters = val_fraction, steps_per_epoch, eval_iters
        self.eval_batch_size, self.eval_tokens = eval_batch_size or batch_size, eval_tokens
        self.subset, self.test_subset, self.seed, self.what = subset, test_subset, seed, what
        self.chars: str = ""
        self.splits: dict[str, torch.Tensor] = {}

    # ---- the text ----
    def reader(self) -> "TextReader":
        return TextReader(str(self.path) if self.path else None, self.hub_name, self.hub_config, self.hub_split,
                          self.hub_column, self.what)

    def prepare_data(self) -> None:
        if self.path is not None and not self.path.is_file():
            self.reader()()  # fail early, on rank 0, with the reader's message

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        self.chars, data = load_corpus(self.reader(), self.subset)
        if len(self.chars) > self.vocab_size:
            raise UserError(f"{self.what} has {len(self.chars)} distinct characters but data.vocab_size="
                            f"{self.vocab_size}: set data.vocab_size={len(self.chars)}")
        cut = int(len(data) * (1 - self.val_fraction))  # nanoGPT: data[:int(n*0.9)], data[int(n*0.9):]
        self.splits = {"train": data[:cut], "val": data[cut:]}
        for split, tokens in self.splits.items():
            if len(tokens) <= self.block_size:
                raise UserError(f"the {split} split of {self.what} has {len(tokens)} characters, not more than "
                                f"data.block_size={self.block_size}: use a longer text or a shorter block")

    # ---- batches ----
    def _on_device(self, split: str) -> torch.Tensor:
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        return self.splits[split].to(device)

    def _rank(self) -> int:
        return self.trainer.global_rank if self.trainer else 0

    def train_dataloader(self):
        return self.resumed(RandomBlocks(self._on_device("train"), self.block_size, self.batch_size,
                                         self.steps_per_epoch, seed=self.seed, rank=self._rank()))

    def val_dataloader(self):
        return RandomBlocks(self._on_device("val"), self.block_size, self.batch_size, self.eval_iters,
                            seed=self.seed + 10_000, rank=self._rank(), fixed=True)

    def test_dataloader(self):
        """Consecutive blocks of the held-out split (every block, or `eval_tokens` in evenly spaced ones),
        this rank's share."""
        data = self._on_device("val")
        available = count = (len(data) - 1) // self.block_size
        if self.eval_tokens:
            count = min(count, max(1, self.eval_tokens // self.block_size))
        if self.test_subset:
            count = min(count, self.test_subset)
        blocks = torch.linspace(0, available - 1, count).round().long().unique() * self.block_size
        world = self.trainer.world_size if self.trainer else 1
        return FixedBlocks(data, blocks[self._rank() :: world].to(data.device), self.block_size, self.eval_batch_size)

    def decode(self, ids) -> str:
        return decode_ids(ids, self.chars)
