"""NASWOT and jacob_cov (Mellor et al.): each checked against a value computed by hand, step by
step in numpy, on a tiny network with fixed weights and inputs; then as ``zero_cost`` scores."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

from monas.context import EvaluationContext
from monas.datasets import DataBundle
from monas.objectives.activation_proxies import jacob_cov_score, naswot_score
from monas.objectives.zero_cost import ZeroCostObjective

W1 = np.array([[0.5, -0.2, 0.1, 0.4, -0.3, 0.2],
               [-0.1, 0.3, -0.5, 0.2, 0.1, -0.4],
               [0.2, 0.2, 0.3, -0.3, 0.4, 0.1],
               [-0.4, 0.1, 0.2, 0.1, -0.2, 0.5],
               [0.3, -0.4, -0.1, 0.2, 0.3, -0.2]])
B1 = np.array([0.05, -0.1, 0.0, 0.1, -0.05])
W2 = np.array([[0.4, -0.3, 0.2, 0.5, -0.1],
               [-0.2, 0.5, 0.3, -0.4, 0.2],
               [0.1, 0.2, -0.5, 0.3, 0.4]])
B2 = np.array([0.0, 0.1, -0.1])
W3 = np.array([[0.3, -0.2, 0.5],
               [-0.4, 0.6, 0.1]])
B3 = np.array([0.2, -0.1])
X = np.array([[1.0, -0.5, 0.3, 0.8, -1.2, 0.4],
              [-0.7, 1.1, 0.9, -0.3, 0.5, -0.8],
              [0.2, 0.4, -1.0, 1.3, 0.6, 0.1],
              [1.5, 0.3, 0.7, -0.9, -0.4, 1.0]])


def tiny_net():
    """Linear(6,5) - ReLU - Linear(5,3) - ReLU - Linear(3,2) with the fixed weights above."""
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    with torch.no_grad():
        for layer, (w, b) in zip((net[0], net[2], net[4]), ((W1, B1), (W2, B2), (W3, B3))):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
    return net


def test_naswot_equals_the_hand_computed_log_determinant():
    # the ReLU inputs (pre-activations) of every sample, layer by layer
    h1 = X @ W1.T + B1
    a1 = np.maximum(h1, 0.0)
    h2 = a1 @ W2.T + B2
    codes = np.concatenate([h1 > 0, h2 > 0], axis=1).astype(int)  # (4 samples, N_A = 8 units)
    n, n_a = codes.shape
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            hamming = sum(int(codes[i, u] != codes[j, u]) for u in range(n_a))
            K[i, j] = n_a - hamming
    det = np.linalg.det(K)
    assert det > 0.5  # an integer matrix: det is a positive integer here, the kernel is non-singular
    expect = np.log(det)
    assert naswot_score(tiny_net(), torch.from_numpy(X)) == pytest.approx(expect, rel=1e-9)


def test_naswot_of_a_network_blind_to_its_input_is_zero():
    net = tiny_net()
    with torch.no_grad():
        net[0].weight.zero_()  # every sample gets the same codes: K is all N_A, singular
    assert naswot_score(net, torch.from_numpy(X)) == 0.0


def test_jacob_cov_equals_the_hand_computed_value():
    # d(sum of the 2 outputs)/dx_i through the two ReLUs, sample by sample
    J = np.zeros_like(X)
    for i, x in enumerate(X):
        h1 = W1 @ x + B1
        h2 = W2 @ np.maximum(h1, 0.0) + B2
        g_a2 = W3.T @ np.ones(2)          # d out / d a2
        g_h2 = g_a2 * (h2 > 0)            # through ReLU 2
        g_a1 = W2.T @ g_h2
        g_h1 = g_a1 * (h1 > 0)            # through ReLU 1
        J[i] = W1.T @ g_h1
    n = len(J)
    centred = J - J.mean(axis=1, keepdims=True)
    corr = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            corr[i, j] = (centred[i] @ centred[j]) / np.sqrt((centred[i] @ centred[i]) * (centred[j] @ centred[j]))
    v = np.linalg.eigvalsh(corr)
    k = 1e-5
    expect = -np.sum(np.log(v + k) + 1.0 / (v + k))
    assert jacob_cov_score(tiny_net(), torch.from_numpy(X)) == pytest.approx(expect, rel=1e-6)


def test_jacob_cov_of_constant_jacobians_is_the_perfectly_correlated_worst_case():
    net = tiny_net()
    with torch.no_grad():
        net[4].weight.zero_()  # outputs do not depend on x: every Jacobian is 0
    k, n = 1e-5, len(X)
    worst = -(np.log(n + k) + 1.0 / (n + k)) - (n - 1) * (np.log(k) + 1.0 / k)  # eigenvalues n, 0, 0, 0
    assert jacob_cov_score(net, torch.from_numpy(X)) == pytest.approx(worst, rel=1e-6)


def _digits_like(n=24, seed=0):
    g = torch.Generator().manual_seed(seed)

    def split(m):
        return TensorDataset(torch.randn(m, 3, 8, 8, generator=g), torch.randint(0, 10, (m,), generator=g))

    return DataBundle("tiny", split(n), split(n), None, 10, (3, 8, 8))


@pytest.mark.parametrize("score", ["naswot", "jacob_cov"])
def test_zero_cost_objective_offers_the_batch_proxies(nb201, score):
    ctx = EvaluationContext(space=nb201, data=_digits_like())
    obj = ZeroCostObjective(score=score, supernet_kwargs={"C": 8, "N": 1}, batch_size=16)
    net = obj.network(ctx)
    before = {k: v.detach().clone() for k, v in net.state_dict().items()}
    conv = obj.measure(nb201.make(["nor_conv_3x3"] * 6), ctx)
    cut = obj.measure(nb201.make(["none"] * 6), ctx).value
    assert conv.details == {score: conv.value} and np.isfinite(conv.value) and conv.value > cut
    assert obj.measure(nb201.make(["nor_conv_3x3"] * 6), ctx).value == conv.value  # same batch, same weights
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # weights and BN stats kept
    assert obj.fingerprint(ctx)["batch_size"] == 16 and "batch_size" not in ZeroCostObjective().fingerprint(ctx)
    with pytest.raises(ValueError, match="needs data"):
        obj.measure(nb201.make(["nor_conv_3x3"] * 6), EvaluationContext(space=nb201))
