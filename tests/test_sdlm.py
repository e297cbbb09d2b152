"""The training recipe of LeCun et al. 1998's fully connected nets (Fig. 9): squared error against
+-1 codes, stochastic diagonal Levenberg-Marquardt (appendix C) and section III-B's eta schedule."""

import pytest
import torch
from torch.func import functional_call

from models.losses import squared_error_to_codes
from models.lr_schedules import piecewise_constant
from models.nets.mlp import MLP
from models.sdlm import SDLM, gauss_newton_diagonal


def test_squared_error_against_plus_minus_one_codes():
    outputs = torch.tensor([[1.0, -1.0, -1.0], [0.0, 0.5, -1.0]])
    labels = torch.tensor([0, 1])
    # example 1 meets its code exactly; example 2: (0 + 1)^2 + (0.5 - 1)^2 + 0
    assert squared_error_to_codes(outputs, labels).item() == pytest.approx((0 + 1.25) / 2)


@pytest.mark.parametrize("output_activation", [None, "lecun_tanh"])
def test_curvature_is_the_gauss_newton_diagonal_for_one_hidden_layer(output_activation):
    # With one hidden layer, appendix C's back-propagated diagonal is exact: mean over examples of
    # sum_o 2 (dy_o/dw)^2, the Gauss-Newton diagonal of E = sum_o (y_o - t_o)^2.
    torch.manual_seed(0)
    net = MLP(in_features=6, hidden=(5,), num_classes=3, output_activation=output_activation).double()
    x = torch.randn(7, 6, dtype=torch.float64)
    params = dict(net.named_parameters())

    names = list(params)

    def outputs(xi, *values):
        return functional_call(net, dict(zip(names, values)), (xi[None],))[0]

    exact = {name: torch.zeros_like(p) for name, p in params.items()}
    for xi in x:  # per example: d y_o / d w for every output o and weight w
        jacobians = torch.autograd.functional.jacobian(lambda *v: outputs(xi, *v), tuple(params.values()))
        for name, jacobian in zip(names, jacobians):
            exact[name] += (2 * jacobian.square()).sum(0) / len(x)
    ours = gauss_newton_diagonal(net.layers, x)
    for name, p in params.items():
        assert torch.allclose(ours[p], exact[name], rtol=1e-10, atol=1e-12), name


def test_curvature_rejects_layers_it_cannot_handle():
    with pytest.raises(TypeError, match="ReLU"):
        gauss_newton_diagonal(MLP(in_features=4, hidden=(3,), activation="relu").layers, torch.randn(2, 4))


def test_sdlm_step_is_eta_over_mu_plus_h_per_example():
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    optimizer = SDLM([w], lr=0.01, mu=0.02, examples_per_step=4)
    optimizer.state[w]["curvature"] = torch.tensor([0.0, 0.08])
    w.grad = torch.tensor([1.0, 1.0])  # the batch's mean gradient
    optimizer.step()
    # four examples' steps of eta / (mu + h) each, from the same weights
    assert w.detach().tolist() == pytest.approx([1.0 - 4 * 0.01 / 0.02, 2.0 - 4 * 0.01 / 0.10])


def test_sdlm_refuses_to_step_without_a_curvature_estimate():
    w = torch.nn.Parameter(torch.ones(2))
    w.grad = torch.ones(2)
    with pytest.raises(RuntimeError, match="refresh_curvature"):
        SDLM([w]).step()


def test_eta_schedule_of_section_3b():
    # "0.0005 for the first two passes, 0.0002 for the next three, 0.0001 for the next three, 0.00005
    # for the next 4, and 0.00001 thereafter"
    optimizer = SDLM([torch.nn.Parameter(torch.ones(1))], lr=0.0005)
    schedule = piecewise_constant(optimizer, milestones=[2, 5, 8, 12], factors=[1.0, 0.4, 0.2, 0.1, 0.02])
    rates = []
    for _ in range(20):
        rates.append(optimizer.param_groups[0]["lr"])
        schedule.step()
    expected = [5e-4] * 2 + [2e-4] * 3 + [1e-4] * 3 + [5e-5] * 4 + [1e-5] * 8
    assert rates == pytest.approx(expected)
