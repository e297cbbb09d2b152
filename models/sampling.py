"""Sampling text from an autoregressive language model, as nanoGPT's GPT.generate: feed the last
block_size tokens, scale the last position's logits by 1/temperature, keep the top_k most likely
tokens, draw one from the softmax, append it, repeat."""

from __future__ import annotations

import torch


@torch.inference_mode()
def generate(net: torch.nn.Module, idx: torch.Tensor, new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """`idx` (B, T) token ids -> (B, T + new_tokens). The context is cropped to the net's block_size."""
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be above 0")
    for _ in range(new_tokens):
        logits = net(idx[:, -net.block_size :])[:, -1].float() / temperature
        if top_k is not None and top_k < logits.shape[-1]:
            kth = torch.topk(logits, top_k).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        following = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
        idx = torch.cat([idx, following], dim=1)
    return idx
