"""Rosenblatt (1958), "The perceptron: a probabilistic model for information storage and
organization in the brain", Psychological Review 65(6): a threshold unit whose weights change only
when it errs. The multiclass form (one weight vector per class; on a mistake add the input to
the true class and subtract it from the predicted one) is Kesler's construction, as in Duda & Hart
(1973) and Collins (2002). The update rule lives here because it *is* the model; there are no
gradients anywhere."""

from __future__ import annotations

import torch
from torch import nn


class Perceptron(nn.Module):
    """`num_classes == 2`: Rosenblatt's single unit, sign(w.x + b). More: one unit per class, argmax."""

    def __init__(self, in_features: int, num_classes: int = 2) -> None:
        super().__init__()
        self.num_classes = num_classes
        units = 1 if num_classes == 2 else num_classes
        # Parameters (not buffers) so they count, checkpoint and move like any net's; never trained by autograd.
        self.weight = nn.Parameter(torch.zeros(units, in_features), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(units), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (N, num_classes); for the single unit, (-a, a) with a = w.x + b."""
        a = x.flatten(1) @ self.weight.T + self.bias
        return torch.cat([-a, a], 1) if self.num_classes == 2 else a

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        a = x.flatten(1) @ self.weight.T + self.bias
        return (a[:, 0] > 0).long() if self.num_classes == 2 else a.argmax(1)

    @torch.no_grad()
    def learn(self, x: torch.Tensor, label: int) -> bool:
        """The perceptron rule for one example (x flat). Returns True when it was a mistake."""
        if self.num_classes == 2:
            target = 1.0 if label == 1 else -1.0
            if target * (self.weight[0] @ x + self.bias[0]) > 0:
                return False
            self.weight[0].add_(x, alpha=target)
            self.bias[0].add_(target)
            return True
        predicted = int((self.weight @ x + self.bias).argmax())
        if predicted == label:
            return False
        self.weight[label].add_(x)
        self.bias[label].add_(1.0)
        self.weight[predicted].sub_(x)
        self.bias[predicted].sub_(1.0)
        return True
