"""Sentence pairs batched by length and bounded by tokens, cut on the device without per-sample Python.

Vaswani et al. 2017, section 5.1: "Sentence pairs were batched together by approximate sequence
length. Each training batch contained a set of sentence pairs containing approximately 25000 source
tokens and 25000 target tokens." Here a pair's length is the longer of its two sides, lengths are
grouped in buckets `bucket_width` tokens wide, and a bucket whose longest pair has L tokens is cut
into batches of max_tokens // L pairs, so no batch holds more than `max_tokens` padded tokens on
either side. Each epoch draws a new order inside every bucket and a new order of the batches.

Sentences live as one flat token tensor per side with offsets (ragged), so WMT-sized corpora take
memory for their tokens only; a batch is padded by one gather on the device.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from datamodules.resume import EpochPosition
from models.nets.transformer import PAD


class RaggedTokens:
    """Sentences of different lengths as one flat tensor plus offsets and lengths."""

    def __init__(self, sentences: Sequence[Sequence[int]]) -> None:
        self.lengths = torch.tensor([len(s) for s in sentences], dtype=torch.long)
        self.offsets = torch.cumsum(self.lengths, 0) - self.lengths
        total = int(self.lengths.sum())  # one pass over the ids, no list of Python ints (WMT: 140M tokens)
        self.flat = torch.from_numpy(np.fromiter(itertools.chain.from_iterable(sentences), dtype=np.int32, count=total))
        self._columns = torch.arange(int(self.lengths.max()) if len(self.lengths) else 1)

    def __len__(self) -> int:
        return len(self.lengths)

    def to(self, device: torch.device) -> "RaggedTokens":
        moved = object.__new__(RaggedTokens)
        moved.lengths, moved.offsets, moved.flat, moved._columns = (
            t.to(device) for t in (self.lengths, self.offsets, self.flat, self._columns))
        return moved

    def select(self, keep: torch.Tensor) -> "RaggedTokens":
        """The sentences at indices `keep` (a new flat tensor)."""
        lengths = self.lengths[keep]
        starts = self.offsets[keep]
        positions = torch.repeat_interleave(starts - (torch.cumsum(lengths, 0) - lengths), lengths) + \
            torch.arange(int(lengths.sum()))
        picked = object.__new__(RaggedTokens)
        picked.lengths, picked.offsets = lengths, torch.cumsum(lengths, 0) - lengths
        picked.flat, picked._columns = self.flat[positions], self._columns
        return picked

    def padded(self, index: torch.Tensor, width: int) -> torch.Tensor:
        """(len(index), width) int64 token ids, PAD after each sentence's end."""
        columns = self._columns[:width]
        lengths = self.lengths[index][:, None]
        positions = (self.offsets[index][:, None] + columns).clamp_(max=max(len(self.flat) - 1, 0))
        return torch.where(columns < lengths, self.flat[positions].long(), PAD)


class TokenBatches(EpochPosition):
    """Iterate (src, tgt) training batches, or (src, tgt, index) evaluation batches, sharded over ranks.

    `tgt` holds BOS ... EOS; the model reads tgt[:, :-1] and predicts tgt[:, 1:]. Every rank draws
    the same plan (seeded by seed + epoch) and takes every world_size-th batch; training plans are
    cut to a multiple of world_size batches so every rank runs the same number of steps.
    """

    def __init__(self, src: RaggedTokens, tgt: RaggedTokens, max_tokens: int, bucket_width: int = 4,
                 shuffle: bool = False, seed: int = 0, rank: int = 0, world_size: int = 1,
                 with_index: bool = False) -> None:
        if len(src) != len(tgt):
            raise ValueError(f"source and target differ in length: {len(src)} vs {len(tgt)}")
        self.src, self.tgt = src, tgt
        self.max_tokens, self.bucket_width = max_tokens, bucket_width
        self.shuffle, self.seed, self.rank, self.world_size = shuffle, seed, rank, world_size
        self.with_index = with_index
        self.epoch, self.served, self._skip = 0, 0, 0
        # The planning happens on the CPU, once an epoch; the batches are cut where the tokens are.
        self._src_len, self._tgt_len = src.lengths.cpu(), tgt.lengths.cpu() - 1
        self._n_batches = len(self._plan(torch.Generator().manual_seed(seed))[0])

    def _plan(self, generator: torch.Generator | None) -> tuple[list[torch.Tensor], list[int], list[int]]:
        """Batches of indices (this rank's share) and each batch's source and target width."""
        n = len(self._src_len)
        if n == 0:
            return [], [], []
        pair_len = torch.maximum(self._src_len, self._tgt_len)
        bucket = (pair_len + self.bucket_width - 1) // self.bucket_width
        if self.shuffle:  # random order inside each bucket: a new mix of pairs in every batch
            order = torch.randperm(n, generator=generator)
            order = order[torch.sort(bucket[order], stable=True).indices]
        else:
            order = torch.sort(pair_len, stable=True).indices
        sorted_bucket = bucket[order]
        _, counts = torch.unique_consecutive(sorted_bucket, return_counts=True)
        first = torch.cumsum(counts, 0) - counts
        per_batch = (self.max_tokens // (torch.unique_consecutive(sorted_bucket) * self.bucket_width)).clamp(min=1)
        rank_in_bucket = torch.arange(n) - torch.repeat_interleave(first, counts)
        batches_per_bucket = (counts + per_batch - 1) // per_batch
        batch_id = torch.repeat_interleave(torch.cumsum(batches_per_bucket, 0) - batches_per_bucket, counts) + \
            rank_in_bucket // torch.repeat_interleave(per_batch, counts)
        sizes = torch.bincount(batch_id).tolist()
        n_batches = len(sizes)
        widest = torch.zeros(n_batches, dtype=torch.long)
        src_width = widest.scatter_reduce(0, batch_id, self._src_len[order], "amax")
        tgt_width = widest.scatter_reduce(0, batch_id, self._tgt_len[order] + 1, "amax")
        chosen = torch.arange(n_batches)
        if self.shuffle:
            chosen = torch.randperm(n_batches, generator=generator)
            chosen = chosen[: n_batches - n_batches % self.world_size]
        chosen = chosen[self.rank :: self.world_size].tolist()
        groups = order.to(self.src.lengths.device).split(sizes)
        return [groups[i] for i in chosen], src_width[chosen].tolist(), tgt_width[chosen].tolist()

    def __len__(self) -> int:
        return self._n_batches

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch) if self.shuffle else None
        batches, src_widths, tgt_widths = self._plan(generator)
        if self.shuffle:
            self.epoch += 1
        skip, self._skip = self._skip, 0
        self.served = skip
        for index, src_width, tgt_width in list(zip(batches, src_widths, tgt_widths))[skip:]:
            self.served += 1
            batch = (self.src.padded(index, src_width), self.tgt.padded(index, tgt_width))
            yield (*batch, index) if self.with_index else batch
        self.served = 0
