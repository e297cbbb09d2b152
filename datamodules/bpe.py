"""A joint byte-pair-encoding vocabulary for source and target (Vaswani et al. 2017, section 5.1:
"a shared source-target vocabulary of about 37000 tokens"), trained with Hugging Face `tokenizers`.

Byte-level BPE (GPT-2's pre-tokenizer): every string encodes without an unknown token and decodes
back exactly, so BLEU is computed on detokenised text as sacreBLEU expects. The vocabulary is
cached as JSON under the project's cache dir, keyed by the training text's digest and the vocabulary
size, never beside the data.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIALS = ("<pad>", "<s>", "</s>")  # ids 0, 1, 2: PAD, BOS, EOS of models/nets/transformer.py


def corpus_digest(texts: Iterable[Sequence[str]], vocab_size: int) -> str:
    """A key for the cache: the training sentences themselves, the vocabulary size and the recipe."""
    digest = hashlib.sha256(f"byte-level-bpe-v1|{vocab_size}|".encode())
    for part in texts:
        for line in part:
            digest.update(line.encode())
            digest.update(b"\n")
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def train_bpe(texts: Sequence[Sequence[str]], vocab_size: int) -> Tokenizer:
    """Learn the merges on all the given sentences (source and target sides together)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator((line for part in texts for line in part), trainer=trainer)
    return tokenizer


def joint_bpe(texts: Sequence[Sequence[str]], vocab_size: int, cache_dir: str | Path) -> Tokenizer:
    """The cached vocabulary for these sentences and size, trained and written (atomically) if absent."""
    path = Path(cache_dir) / "bpe" / f"joint-{vocab_size}-{corpus_digest(texts, vocab_size)}.json"
    if path.is_file():
        return Tokenizer.from_file(str(path))
    tokenizer = train_bpe(texts, vocab_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    tokenizer.save(str(partial))
    os.replace(partial, path)
    return tokenizer


def encode(tokenizer: Tokenizer, sentences: Sequence[str]) -> list[list[int]]:
    """Token ids per sentence (no special tokens), encoded in parallel by the Rust library."""
    return [e.ids for e in tokenizer.encode_batch(list(sentences), add_special_tokens=False)]


def decode(tokenizer: Tokenizer, ids: Sequence[Sequence[int]]) -> list[str]:
    return tokenizer.decode_batch([list(i) for i in ids], skip_special_tokens=True)
