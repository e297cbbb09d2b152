"""The Transformer of Vaswani et al. 2017, "Attention Is All You Need" (NeurIPS), section 3.

An encoder-decoder of N identical layers each (section 3.1) with post-layer-norm residual blocks,
LayerNorm(x + Dropout(Sublayer(x))) (sections 3.1 and 5.4); multi-head scaled dot-product attention
(section 3.2, computed by F.scaled_dot_product_attention); position-wise feed-forward networks
(section 3.3); one embedding matrix shared by the source embedding, the target embedding and the
pre-softmax projection over a joint BPE vocabulary, multiplied by sqrt(d_model) in the embedding
layers (section 3.4); sinusoidal positional encodings (section 3.5), or learned position embeddings
(Table 3 row E).

Sizes (Table 3): base N=6, d_model 512, d_ff 2048, h 8, dropout 0.1 (65M parameters in the paper);
big N=6, d_model 1024, d_ff 4096, h 16, dropout 0.3 (213M).

Decoding helpers (`encode`, `decode_step` with a cache of the decoder's keys and values) serve
greedy and beam search (models/decoding.py); training uses `forward` on whole sequences.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

PAD, BOS, EOS = 0, 1, 2  # the joint BPE vocabulary's special tokens (datamodules/bpe.py)


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """Section 3.5: PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(same)."""
    position = torch.arange(length, dtype=torch.float64)[:, None]
    rate = torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    table = torch.zeros(length, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)
    return table.float()


class MultiHeadAttention(nn.Module):
    """Section 3.2.2: h heads of scaled dot-product attention over d_model/h-dimensional projections.

    The projections carry no biases, as in the paper's formulas (QW_i^Q, ... , Concat(...)W^O) and in
    tensor2tensor. Q, K and V of self-attention come from one fused (d_model, 3 d_model) matrix and
    K, V of encoder-decoder attention from one (d_model, 2 d_model) matrix: the same parameters as
    separate matrices, fewer kernel launches.

    GPT (models/nets/gpt.py) reuses the causal self-attention with `bias` (GPT-2's projections have
    biases) and `dropout` on the attention weights (GPT-2 and nanoGPT; the Transformer here has none).
    """

    def __init__(self, d_model: int, heads: int, self_attention: bool, bias: bool = False,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
        self.heads, self.d_k = heads, d_model // heads
        self.self_attention, self.dropout = self_attention, dropout
        if self_attention:
            self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        else:
            self.q = nn.Linear(d_model, d_model, bias=bias)
            self.kv = nn.Linear(d_model, 2 * d_model, bias=bias)
        self.out = nn.Linear(d_model, d_model, bias=bias)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d_model) -> (B, h, T, d_k)
        return x.unflatten(-1, (self.heads, self.d_k)).transpose(1, 2)

    def project_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder-decoder attention's keys and values of the encoder output (computed once per sentence)."""
        k, v = self.kv(memory).chunk(2, dim=-1)
        return self._split(k), self._split(v)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                causal: bool = False, cache: dict | None = None,
                memory_kv: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """`mask`: bool, True where attention is allowed, broadcastable to (B, h, T_q, T_k).
        `cache` (self-attention while decoding step by step): keys and values of earlier positions,
        extended in place. `memory_kv`: precomputed `project_kv(memory)`."""
        if self.self_attention:
            q, k, v = (self._split(t) for t in self.qkv(x).chunk(3, dim=-1))
            if cache is not None:
                if "k" in cache:
                    k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
                cache["k"], cache["v"] = k, v
        else:
            q = self._split(self.q(x))
            k, v = memory_kv if memory_kv is not None else self.project_kv(memory)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and mask is None,
                                                  dropout_p=self.dropout if self.training else 0.0)
        return self.out(attended.transpose(1, 2).flatten(-2))


class FeedForward(nn.Module):
    """Section 3.3: FFN(x) = max(0, x W1 + b1) W2 + b2."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.w1, self.w2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.relu(self.w1(x)))


class EncoderLayer(nn.Module):
    """Section 3.1: self-attention, then feed-forward, each as LayerNorm(x + Dropout(Sublayer(x)))."""

    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(d_model, heads, self_attention=True)
        self.feed_forward = FeedForward(d_model, d_ff)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout(self.attention(x, mask=src_mask)))
        return self.norm2(x + self.dropout(self.feed_forward(x)))


class DecoderLayer(nn.Module):
    """Section 3.1: masked self-attention, encoder-decoder attention, feed-forward; post-norm residuals."""

    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(d_model, heads, self_attention=True)
        self.cross_attention = MultiHeadAttention(d_model, heads, self_attention=False)
        self.feed_forward = FeedForward(d_model, d_ff)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, y: torch.Tensor, memory: torch.Tensor | None, memory_mask: torch.Tensor,
                cache: dict | None = None, memory_kv=None) -> torch.Tensor:
        # Without a cache the whole target is processed at once: the causal mask keeps position i from
        # seeing positions after i (section 3.2.3). With a cache, y is the newest position only and
        # attends to the cached earlier positions, so no mask is needed.
        y = self.norm1(y + self.dropout(self.self_attention(y, causal=cache is None, cache=cache)))
        y = self.norm2(y + self.dropout(self.cross_attention(y, memory, mask=memory_mask, memory_kv=memory_kv)))
        return self.norm3(y + self.dropout(self.feed_forward(y)))


class Transformer(nn.Module):
    """Vaswani et al. 2017: `forward(src, tgt_in)` -> logits over the joint vocabulary, (B, T, vocab).

    Init (the paper states none; a guess following tensor2tensor and fairseq): Xavier-uniform
    linear weights, zero biases, embeddings N(0, d_model^-0.5) so that the sqrt(d_model)-scaled
    embedding has unit variance, like the sinusoids it is added to.
    """

    def __init__(self, vocab_size: int, layers: int = 6, d_model: int = 512, d_ff: int = 2048, heads: int = 8,
                 dropout: float = 0.1, positions: str = "sinusoidal", max_len: int = 1024) -> None:
        super().__init__()
        if positions not in ("sinusoidal", "learned"):
            raise ValueError(f"positions={positions!r}: use 'sinusoidal' (section 3.5) or 'learned' (Table 3 E)")
        self.vocab_size, self.d_model, self.max_len = vocab_size, d_model, max_len
        self.config = {"vocab_size": vocab_size, "layers": layers, "d_model": d_model, "d_ff": d_ff, "heads": heads,
                       "dropout": dropout, "positions": positions, "max_len": max_len}  # rebuilds the net
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD)  # shared three ways (section 3.4)
        if positions == "learned":
            self.position_embedding = nn.Embedding(max_len, d_model)
        else:
            self.register_buffer("position_table", sinusoidal_positions(max_len, d_model), persistent=False)
        self.positions = positions
        self.encoder = nn.ModuleList(EncoderLayer(d_model, heads, d_ff, dropout) for _ in range(layers))
        self.decoder = nn.ModuleList(DecoderLayer(d_model, heads, d_ff, dropout) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)  # section 5.4: also on the sums of embeddings and positions
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.embedding.weight, std=self.d_model ** -0.5)
        with torch.no_grad():
            self.embedding.weight[PAD].zero_()
        if self.positions == "learned":
            nn.init.normal_(self.position_embedding.weight, std=self.d_model ** -0.5)

    def _position(self, start: int, length: int) -> torch.Tensor:
        if start + length > self.max_len:
            raise ValueError(f"sequence of {start + length} tokens is longer than max_len={self.max_len}")
        if self.positions == "learned":
            return self.position_embedding.weight[start : start + length]
        return self.position_table[start : start + length]

    def embed(self, tokens: torch.Tensor, start: int = 0) -> torch.Tensor:
        x = self.embedding(tokens) * math.sqrt(self.d_model) + self._position(start, tokens.shape[1])
        return self.dropout(x)

    @staticmethod
    def padding_mask(src: torch.Tensor) -> torch.Tensor:
        """(B, 1, 1, S) bool, True at real source tokens: no query ever attends to padding."""
        return (src != PAD)[:, None, None, :]

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = self.padding_mask(src)
        x = self.embed(src)
        for layer in self.encoder:
            x = layer(x, mask)
        return x, mask

    def project(self, y: torch.Tensor) -> torch.Tensor:
        """The pre-softmax linear transformation, sharing the embedding matrix (section 3.4)."""
        return F.linear(y, self.embedding.weight)

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor) -> torch.Tensor:
        y = self.embed(tgt_in)
        for layer in self.decoder:
            y = layer(y, memory, memory_mask)
        return self.project(y)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory, mask = self.encode(src)
        return self.decode(tgt_in, memory, mask)

    # ---- step-by-step decoding (greedy and beam search) ----
    def start_decoding(self, memory: torch.Tensor) -> list[dict]:
        """Per decoder layer: the encoder-decoder keys/values of `memory` and an empty self-attention cache."""
        return [{"memory_kv": layer.cross_attention.project_kv(memory), "self": {}} for layer in self.decoder]

    def decode_step(self, last_tokens: torch.Tensor, memory_mask: torch.Tensor, state: list[dict],
                    position: int) -> torch.Tensor:
        """Log-probabilities (B, vocab) of the token after `last_tokens` (B,), at target `position`."""
        y = self.embed(last_tokens[:, None], start=position)
        for layer, layer_state in zip(self.decoder, state):
            y = layer(y, None, memory_mask, cache=layer_state["self"], memory_kv=layer_state["memory_kv"])
        return F.log_softmax(self.project(y[:, 0]).float(), dim=-1)

    @staticmethod
    def reorder_state(state: list[dict], order: torch.Tensor) -> list[dict]:
        """Keep the rows `order` of the self-attention caches (the beams that survive a beam-search step).
        Beams are only reordered within their own sentence, so the encoder keys/values stay as they are."""
        return [{"memory_kv": s["memory_kv"], "self": {key: t.index_select(0, order) for key, t in s["self"].items()}}
                for s in state]
