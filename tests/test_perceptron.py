"""The perceptron rule (Rosenblatt 1958) and its two classic properties."""

import torch

from datamodules.toy import ToyDataModule
from models.nets.perceptron import Perceptron


def test_rule_changes_weights_only_on_mistakes():
    unit = Perceptron(in_features=2, num_classes=2)
    x = torch.tensor([1.0, 2.0])
    assert unit.learn(x, 1)  # all-zero weights score 0: a mistake
    assert torch.equal(unit.weight[0], x) and unit.bias[0] == 1
    before = unit.weight.clone()
    assert not unit.learn(x, 1)  # now right: nothing changes
    assert torch.equal(unit.weight, before)


def test_multiclass_rule_moves_true_class_up_and_predicted_down():
    unit = Perceptron(in_features=3, num_classes=4)
    unit.weight.data[2] = torch.tensor([1.0, 0.0, 0.0])
    x = torch.tensor([1.0, 1.0, 0.0])
    assert unit.learn(x, 0)
    assert torch.equal(unit.weight[0], x)
    assert torch.equal(unit.weight[2], torch.tensor([0.0, -1.0, 0.0]))


def _train(unit, x, y, epochs):
    mistakes, best = 0, 0.0
    for _ in range(epochs):
        epoch_mistakes = 0
        for example, label in zip(x, y.tolist()):
            if unit.learn(example, label):
                epoch_mistakes += 1
                best = max(best, (unit.predict(x) == y).float().mean().item())
        mistakes += epoch_mistakes
        if epoch_mistakes == 0:
            return mistakes, best, True
    return mistakes, best, False


def test_converges_on_separable_data_within_novikoff_bound():
    data = ToyDataModule(kind="separable", size=300, margin=0.05, seed=3)
    data.setup()
    x, y = data.splits["train"]
    mistakes, _, converged = _train(Perceptron(2, 2), x, y, epochs=1000)
    assert converged
    assert 0 < mistakes <= data.novikoff_bound


def test_never_passes_75_percent_on_xor():
    data = ToyDataModule(kind="xor")
    data.setup()
    x, y = data.splits["train"]
    _, best, converged = _train(Perceptron(2, 2), x, y, epochs=200)
    assert not converged
    assert best <= 0.75
