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


def squared_error_to_codes(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The squared error against place codes, the loss of the fully connected nets of LeCun et al.
    1998, section III-C (guess: the paper names no loss for them; its LeNet-5 loss, eq. 8 without the
    RBF layer, is this squared distance). Target +1 for the labelled class and -1 for the others, the
    values where appendix A's squashing function has f(+-1) = +-1. E = mean_p sum_i (y_i - t_i)^2."""
    targets = torch.full_like(outputs, -1.0).scatter_(1, labels[:, None], 1.0)
    return (outputs - targets).square().sum(1).mean()
