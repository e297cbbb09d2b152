"""GPT: the decoder-only Transformer language model of Radford et al. 2018 ("Improving Language
Understanding by Generative Pre-Training", section 3.1 and 4.1) and 2019 ("Language Models are
Unsupervised Multitask Learners", section 2.3), as nanoGPT's model.py (karpathy/nanoGPT) builds it.

- Token embeddings plus learned position embeddings (2018, eq. 2), dropout on their sum.
- n_layer blocks, each with layer normalisation moved to the input of the sub-block, GPT-2's change
  (2019, section 2.3): x + Attention(LN(x)), then x + MLP(LN(x)). The attention is the Transformer's
  multi-head self-attention (models/nets/transformer.py) with the causal mask, through
  F.scaled_dot_product_attention; the MLP has 4 n_embd hidden units and a GELU (2018, section 4.1).
- A final layer norm after the last block (2019, section 2.3), then the output layer, which is the
  token embedding matrix transposed (2018, eq. 2: P(u) = softmax(h_n W_e^T)).
- Initialisation: weights N(0, 0.02) (2018, section 4.1), biases zero; the residual projections
  (attention output, second MLP layer) scaled by 1/sqrt(2 n_layer): "we scale the weights of residual
  layers at initialization by a factor of 1/sqrt(N) where N is the number of residual layers"
  (2019, section 2.3); nanoGPT's std 0.02/sqrt(2 n_layer), there being two residual layers per block.

Following nanoGPT: GELU is the exact (erf) form, where GPT-2's code used the tanh approximation;
`bias=False` drops the biases of every linear and LayerNorm, as nanoGPT's train.py does by default
(GPT-2 has them: bias=True). LayerNorm eps 1e-5 as in GPT-2's code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from models.nets.transformer import MultiHeadAttention

# The GPT-2 sizes of Radford et al. 2019, Table 2 (vocabulary 50,257, context 1,024).
SIZES = {
    "gpt2": {"n_layer": 12, "n_head": 12, "n_embd": 768},
    "gpt2-medium": {"n_layer": 24, "n_head": 16, "n_embd": 1024},
    "gpt2-large": {"n_layer": 36, "n_head": 20, "n_embd": 1280},
    "gpt2-xl": {"n_layer": 48, "n_head": 25, "n_embd": 1600},
}


class MLP(nn.Module):
    """Position-wise feed-forward: n_embd -> 4 n_embd -> GELU -> n_embd, dropout on its output."""

    def __init__(self, n_embd: int, bias: bool, dropout: float) -> None:
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.proj = nn.Linear(4 * n_embd, n_embd, bias=bias)  # a residual projection (scaled init)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """A pre-LayerNorm decoder block: x + Dropout(CausalAttention(LN(x))); x + MLP(LN(x))."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        # Dropout on the attention weights and (below) on the attention's output, as GPT-2 and nanoGPT.
        self.attn = MultiHeadAttention(n_embd, n_head, self_attention=True, bias=bias, dropout=dropout)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, bias, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.attn(self.ln_1(x), causal=True))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """`forward(idx)`: token ids (B, T) with T <= block_size -> next-token logits (B, T, vocab_size).

    Hyperparameters carry nanoGPT's names: n_layer blocks, n_head heads, n_embd the model width,
    block_size the context length.
    """

    def __init__(self, vocab_size: int, block_size: int = 1024, n_layer: int = 12, n_head: int = 12,
                 n_embd: int = 768, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.config = {"vocab_size": vocab_size, "block_size": block_size, "n_layer": n_layer, "n_head": n_head,
                       "n_embd": n_embd, "dropout": dropout, "bias": bias}  # rebuilds the net (scripts/sample.py)
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, n_embd)  # also the output layer (tied)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, dropout, bias) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        residual_std = 0.02 / math.sqrt(2 * len(self.blocks))
        for block in self.blocks:
            nn.init.normal_(block.attn.out.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.proj.weight, mean=0.0, std=residual_std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        length = idx.shape[1]
        if length > self.block_size:
            raise ValueError(f"sequence of {length} tokens is longer than block_size={self.block_size}")
        x = self.dropout(self.wte(idx) + self.wpe.weight[:length])
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # the output layer is W_e^T (weight tying)

    def non_embedding_params(self) -> int:
        """Kaplan et al. 2020's N: every parameter but the token and position embeddings (the tied output
        layer is the token embedding, so it is left out too); about 12 n_layer n_embd^2."""
        return sum(p.numel() for p in self.parameters()) - self.wte.weight.numel() - self.wpe.weight.numel()

    def kaplan_flops_per_token(self, context: int | None = None) -> int:
        """Kaplan et al. 2020, Table 1: training FLOPs per token ~ 3 C_forward = 6N + 6 n_layer n_ctx n_embd,
        where C_forward = 2N + 2 n_layer n_ctx d_attn ("Attention: Mask"; d_attn = n_embd here). It
        leaves out the embedding and de-embedding, which torch's FLOP counter includes."""
        n_ctx = context or self.block_size
        return 6 * self.non_embedding_params() + 6 * len(self.blocks) * n_ctx * self.wte.weight.shape[1]
