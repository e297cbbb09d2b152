"""Losses that come from the papers rather than from torch."""

from __future__ import annotations

import torch


def lecun_map_loss(scores: torch.Tensor, labels: torch.Tensor, j: float = 0.1) -> torch.Tensor:
    """LeCun et al. 1998, eq. 9: E = mean_p( y_Dp + log(e^-j + sum_i e^-y_i) ), with y_i the RBF
    distances. `scores` are -y (as LeNet5 returns them). The e^-j term is a "rubbish" class that
    keeps already-small penalties from being pushed further; the paper gives no value for j
    (guess: 0.1)."""
    rubbish = scores.new_full((scores.shape[0], 1), -j)
    correct = scores.gather(1, labels[:, None]).squeeze(1)
    return (torch.logsumexp(torch.cat([scores, rubbish], 1), 1) - correct).mean()
