"""Greedy decoding and beam search for an encoder-decoder, batched over sentences.

Vaswani et al. 2017, section 6.1: beam size 4, length penalty alpha = 0.6, maximum output length
input length + 50, stopping early when possible. The length penalty is GNMT's (Wu et al. 2016,
eq. 14), which the paper cites: lp(Y) = ((5 + |Y|) / 6)^alpha, a hypothesis scoring log P(Y|X) / lp(Y).
|Y| counts the output tokens including the end-of-sentence token.

The model provides `encode(src) -> (memory, mask)`, `start_decoding(memory) -> state`,
`decode_step(last_tokens, mask, state, position) -> log-probs (B, V)` and
`reorder_state(state, order)` (models/nets/transformer.py).
"""

from __future__ import annotations

import torch

from models.nets.transformer import BOS, EOS, PAD


def length_penalty(length: torch.Tensor | float, alpha: float) -> torch.Tensor | float:
    """GNMT's lp(Y) = ((5 + |Y|) / 6)^alpha."""
    return ((5 + length) / 6) ** alpha


def output_limits(src: torch.Tensor, max_len_a: float, max_len_b: int, cap: int) -> torch.Tensor:
    """Per sentence, the most output tokens allowed: a * source length + b (section 6.1: a=1, b=50)."""
    source_lengths = (src != PAD).sum(1)
    return (max_len_a * source_lengths + max_len_b).long().clamp(min=1, max=cap)


def _allowed(logp: torch.Tensor, must_end: torch.Tensor) -> torch.Tensor:
    """Never emit padding or a second start token; emit only EOS where a sentence is at its limit."""
    logp[..., PAD] = float("-inf")
    logp[..., BOS] = float("-inf")
    not_eos = torch.ones(logp.shape[-1], dtype=torch.bool, device=logp.device)
    not_eos[EOS] = False
    shape = (-1,) + (1,) * (logp.dim() - 1)
    return logp.masked_fill(must_end.view(shape) & not_eos, float("-inf"))


def strip(tokens: torch.Tensor) -> list[list[int]]:
    """Token rows -> lists of ids, cut before the first EOS (and without padding)."""
    out = []
    for row in tokens.tolist():
        ids = row[: row.index(EOS)] if EOS in row else row
        out.append([t for t in ids if t != PAD])
    return out


@torch.no_grad()
def greedy_decode(model, src: torch.Tensor, max_len_a: float = 1.0, max_len_b: int = 50) -> torch.Tensor:
    """The most probable next token at every step: (B, T) with EOS then padding after each sentence's end."""
    memory, mask = model.encode(src)
    state = model.start_decoding(memory)
    limits = output_limits(src, max_len_a, max_len_b, model.max_len)
    tokens = torch.full((len(src),), BOS, dtype=torch.long, device=src.device)
    done = torch.zeros(len(src), dtype=torch.bool, device=src.device)
    out = []
    for t in range(int(limits.max())):
        logp = _allowed(model.decode_step(tokens, mask, state, t), t + 1 >= limits)
        tokens = logp.argmax(-1).masked_fill(done, PAD)
        out.append(tokens)
        done |= tokens == EOS
        if bool(done.all()):
            break
    return torch.stack(out, dim=1)


@torch.no_grad()
def beam_search(model, src: torch.Tensor, beam: int = 4, alpha: float = 0.6, max_len_a: float = 1.0,
                max_len_b: int = 50) -> torch.Tensor:
    """The highest-scoring finished hypothesis per sentence, (B, T) padded, as tensor2tensor's beam search.

    Every step extends the `beam` alive hypotheses of each sentence by every token, keeps the 2*beam
    best extensions (so at least `beam` of them do not end), moves those ending in EOS into the
    sentence's `beam` finished hypotheses (scored with the length penalty), and keeps the best
    `beam` others alive. A sentence stops when no alive hypothesis can still beat its worst finished
    one: log-probabilities only fall, so an alive hypothesis's best possible final score is its
    log-probability over the largest penalty it can reach, lp(limit).
    """
    batch, k = len(src), beam
    memory, mask = model.encode(src)
    memory, mask = memory.repeat_interleave(k, 0), mask.repeat_interleave(k, 0)
    state = model.start_decoding(memory)
    limits = output_limits(src, max_len_a, max_len_b, model.max_len)
    steps, device = int(limits.max()), src.device
    best_possible_penalty = length_penalty(limits.double(), alpha)

    alive_logp = torch.full((batch, k), float("-inf"), dtype=torch.float64, device=device)
    alive_logp[:, 0] = 0.0  # at the start only one hypothesis exists per sentence
    alive_seq = torch.empty(batch, k, 0, dtype=torch.long, device=device)
    finished_score = torch.full((batch, k), float("-inf"), dtype=torch.float64, device=device)
    finished_seq = torch.full((batch, k, steps), PAD, dtype=torch.long, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    last = torch.full((batch * k,), BOS, dtype=torch.long, device=device)
    offsets = torch.arange(batch, device=device)[:, None] * k

    for t in range(steps):
        logp = model.decode_step(last, mask, state, t).view(batch, k, -1).double()
        vocab = logp.shape[-1]
        logp = _allowed(logp, t + 1 >= limits)
        scores, flat = (alive_logp[..., None] + logp).view(batch, -1).topk(2 * k, dim=1)
        from_beam, token = flat // vocab, flat % vocab
        extended = torch.cat([alive_seq.gather(1, from_beam[..., None].expand(-1, -1, t)), token[..., None]], dim=2)

        # Extensions that end: candidates for the finished set, scored with the length penalty.
        ends = (token == EOS) & ~done[:, None]
        ended_score = torch.where(ends, scores / length_penalty(t + 1.0, alpha), float("-inf"))
        ended_seq = torch.nn.functional.pad(extended, (0, steps - t - 1), value=PAD)
        pool_score = torch.cat([finished_score, ended_score], dim=1)
        pool_seq = torch.cat([finished_seq, ended_seq], dim=1)
        finished_score, keep = pool_score.topk(k, dim=1)
        finished_seq = pool_seq.gather(1, keep[..., None].expand(-1, -1, steps))

        # Extensions that go on: the best `beam` of them stay alive.
        alive_logp, keep = torch.where(token == EOS, float("-inf"), scores).topk(k, dim=1)
        alive_seq = extended.gather(1, keep[..., None].expand(-1, -1, t + 1))
        last = token.gather(1, keep).view(-1)
        state = model.reorder_state(state, (offsets + from_beam.gather(1, keep)).view(-1))

        done |= (finished_score[:, -1] >= alive_logp[:, 0] / best_possible_penalty) | (t + 1 >= limits)
        if bool(done.all()):
            break
    return finished_seq[:, 0, : t + 1]
