"""ROME: Gumbel-Top2 topology, single path without none, gradient accumulation, GDAS limit."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from monas.plugins.darts import BilevelSearch, SearchSettings, SpaceAdapter
from monas.plugins.rome import (
    Rome, gumbel_top2, inclusion_probabilities, linear_tau, node_inclusion, pair_probabilities,
)
from monas.registry import SEARCH_SPACES

DARTS = SEARCH_SPACES.create("darts")
ADAPTER = SpaceAdapter(DARTS)


def search_of(gen, seed=0, C=4, layers=3, batch=4):
    opts = gen.supernet_options(ADAPTER)
    torch.manual_seed(seed)
    net = ADAPTER.build_supernet(opts["mode"], **ADAPTER.supernet_kwargs(C, layers, 1, 10, ops=opts["ops"]))
    relax = gen.relaxation(ADAPTER, net.ops)
    params = relax.new_parameters(net, seed, std=0.5)  # non-uniform logits: samples differ
    settings = SearchSettings(epochs=2, batch_size=batch, w_lrs=(0.05, 0.05), **gen.search_options())
    return BilevelSearch(net, relax, params, settings, seed=seed)


def test_every_node_has_in_degree_two_and_no_none_op():
    search = search_of(Rome(samples=2))
    assert "none" not in search.net.ops and len(search.net.ops) == 7
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        w, ew = search.relaxation.weights(search.params, 0, 2, g)
        for t in ADAPTER.cell_types:
            hard = (ew[t] - 1).abs() < 1e-6
            assert ((ew[t] == 0) | hard).all()  # dropped edges are exactly 0: they do not run
            assert [int(hard[list(rows)].sum()) for rows in ADAPTER.node_edges] == [2, 2, 2, 2]
            one = (w[t] - 1).abs() < 1e-6
            assert ((w[t] == 0) | one).all() and one.sum(dim=1).tolist() == [1] * 14


def test_only_the_sampled_edges_and_ops_run():
    search = search_of(Rome(samples=1))
    w, ew = search.relaxation.weights(search.params, 0, 2, torch.Generator().manual_seed(0))
    ran = []
    for c, cell in enumerate(search.net.cells):
        for e, edge in enumerate(cell.edges):
            for o, op in enumerate(edge.ops):
                op.register_forward_pre_hook(lambda m, i, key=(c, e, o): ran.append(key))
    search.net(torch.randn(2, 1, 8, 8), w, ew)
    expect = []
    for c, cell in enumerate(search.net.cells):
        t = "reduce" if cell.reduction else "normal"
        expect += [(c, e, int(w[t][e].argmax())) for e in range(14) if ew[t][e] != 0]
    assert sorted(ran) == sorted(expect) and len(ran) == 8 * len(search.net.cells)


def test_gumbel_top2_inclusion_frequencies_match_the_closed_form():
    beta = torch.tensor([1.5, -0.5, 0.3, 0.0, -1.0])
    p = torch.softmax(beta, 0)
    pi = inclusion_probabilities(p)
    assert float(pi.sum()) == pytest.approx(2.0)
    assert float(pi[0]) == pytest.approx(float(p[0] + sum(p[i] * p[0] / (1 - p[i]) for i in range(1, 5))))
    pairs = pair_probabilities(p)
    assert float(torch.triu(pairs, 1).sum()) == pytest.approx(1.0)
    g = torch.Generator().manual_seed(0)
    n = 4000
    counts = torch.zeros(5)
    pair_counts = {}
    for _ in range(n):
        mask = gumbel_top2(beta, [range(5)], tau=1.0, generator=g)
        counts += mask
        key = tuple(int(i) for i in torch.nonzero(mask).flatten())
        pair_counts[key] = pair_counts.get(key, 0) + 1
    assert torch.allclose(counts / n, pi, atol=0.025)
    for i, k in itertools.combinations(range(5), 2):
        assert pair_counts.get((i, k), 0) / n == pytest.approx(float(pairs[i, k]), abs=0.025)


def test_gumbel_top2_gradient_flows_through_the_relaxation():
    beta = torch.zeros(14, requires_grad=True)
    mask = gumbel_top2(beta, ADAPTER.node_edges, tau=1.0, generator=torch.Generator().manual_seed(0))
    (g,) = torch.autograd.grad((mask * torch.arange(14.0)).sum(), [beta])
    assert g.abs().sum() > 0
    assert torch.allclose(node_inclusion(torch.zeros(14), ADAPTER.node_edges),
                          torch.tensor([1, 1] + [2 / 3] * 3 + [0.5] * 4 + [0.4] * 5, dtype=torch.float32))


def _autodl_gumbel_hardwts(alpha, tau, generator):
    """AutoDL GDAS ``search_model_gdas*.py`` forward, written out: gumbels = -log(Exp(1)) noise,
    probs = softmax((log_softmax(alpha) + gumbels) / tau), resampled while inf/NaN, index = argmax,
    hardwts = one_hot(index) - probs.detach() + probs. The Exp(1) draw is -log(U) with U uniform
    from ``generator`` (clamped away from 0 and 1), so both sides consume the same random numbers."""
    while True:
        u = torch.rand(alpha.shape, generator=generator).clamp(1e-10, 1.0 - 1e-10)
        gumbels = -torch.log(-torch.log(u))
        probs = torch.softmax((torch.log_softmax(alpha, dim=-1) + gumbels) / tau, dim=-1)
        if torch.isfinite(probs).all():
            break
    hard = torch.zeros_like(probs).scatter_(-1, probs.argmax(dim=-1, keepdim=True), 1.0)
    return hard - probs.detach() + probs


def test_k1_without_topology_reproduces_gdas_under_the_same_seed():
    """ROME with K=1, all 14 edges and ``none`` is GDAS. AutoDL's GDAS (``exps/NAS-Bench-201-algos/
    GDAS.py`` search_func) updates per step the **weights first** (train batch, clip 5, SGD), then
    the architecture (valid batch, Adam); ROME's Alg. 1 (and monas' loop) the architecture first.
    The two interleavings coincide when ROME's first step is weight-only (arch warm-up of one
    epoch) and its valid batches lag one step: W(t1) | A(v1) W(t2) | A(v2) W(t3) is GDAS's
    W(t1) A(v1) | W(t2) A(v2) | W(t3). tau is held constant (GDAS sets it per epoch)."""
    tau = 2.0
    rome = Rome(samples=1, topology=False, include_none=True, tau_max=tau, tau_min=tau)
    opts = rome.supernet_options(ADAPTER)
    nets = []
    for _ in range(2):  # the same initial weights on both sides
        torch.manual_seed(0)
        nets.append(ADAPTER.build_supernet(opts["mode"], **ADAPTER.supernet_kwargs(4, 3, 1, 10, ops=opts["ops"])))
    net, ref_net = nets
    initial = [p.detach().clone() for p in net.parameters()]
    assert "none" in net.ops
    relax = rome.relaxation(ADAPTER, net.ops)
    assert relax.uses_beta is False
    params = relax.new_parameters(net, 0, std=0.5)
    settings = SearchSettings(epochs=2, batch_size=4, w_lrs=(0.05, 0.05), arch_warmup_epochs=1, **rome.search_options())
    search = BilevelSearch(net, relax, params, settings, seed=0)
    alpha = {t: params[f"alpha.{t}"].detach().clone().requires_grad_(True) for t in ADAPTER.cell_types}
    # AutoDL: w_optimizer SGD over the weights; a_optimizer Adam over the arch parameters
    w_opt = torch.optim.SGD(ref_net.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    a_opt = torch.optim.Adam(alpha.values(), lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    g = torch.Generator().manual_seed(0)  # BilevelSearch's sampling generator, seeded the same
    torch.manual_seed(1)
    train = [(torch.randn(4, 1, 8, 8), torch.randint(0, 10, (4,))) for _ in range(3)]
    valid = [(torch.randn(4, 1, 8, 8), torch.randint(0, 10, (4,))) for _ in range(3)]

    def forward(x):  # one GDAS forward: fresh Gumbel noise per cell type, only the sampled op runs
        return ref_net(x, {t: _autodl_gumbel_hardwts(a, tau, g) for t, a in alpha.items()})

    arch_grads = []
    for s in range(3):
        # update the weights (AutoDL: zero_grad, backward, clip_grad_norm_(network.parameters(), 5), step).
        # [M] AutoDL's norm also counts alpha's train-loss gradient (its arch parameters are registered
        # in the network); monas clips the weights' gradient alone, as quark0/darts does: so here.
        w_opt.zero_grad()
        F.cross_entropy(forward(train[s][0]), train[s][1]).backward()
        torch.nn.utils.clip_grad_norm_(ref_net.parameters(), 5.0)
        w_opt.step()
        if s == 2:
            break
        # update the architecture-weight
        a_opt.zero_grad()
        F.cross_entropy(forward(valid[s][0]), valid[s][1]).backward()
        arch_grads.append({t: a.grad.clone() for t, a in alpha.items()})
        a_opt.step()

    search.step(train[0], valid[2], epoch=0)  # warm-up: weights only (the valid batch is not used)
    search.step(train[1], valid[0], epoch=1)
    search.step(train[2], valid[1], epoch=1)
    for t in ADAPTER.cell_types:  # the last architecture gradient (scale-sensitive, unlike Adam's step)
        assert torch.allclose(params[f"alpha.{t}"].grad, arch_grads[-1][t], atol=1e-7)
        assert torch.allclose(params[f"alpha.{t}"], alpha[t], atol=1e-7)
    for a, b, a0 in zip(net.parameters(), ref_net.parameters(), initial):
        assert torch.allclose(a, b, atol=1e-6)
    assert any(not torch.allclose(a, a0) for a, a0 in zip(net.parameters(), initial))  # the weights moved


def test_arch_gradient_is_the_mean_and_weight_gradient_the_sum_of_k_samples():
    K = 3
    search = search_of(Rome(samples=K))
    x, y = torch.randn(4, 1, 8, 8), torch.randint(0, 10, (4,))
    plist = list(search.params.values())
    state = search.generator.get_state()
    per_arch, per_weight = [], []
    for _ in range(K):  # replay the same K samples one by one
        w, ew = search.relaxation.weights(search.params, 0, 2, search.generator)
        per_arch.append(torch.autograd.grad(F.cross_entropy(search.net(x, w, ew), y), plist))
    for _ in range(K):
        with torch.no_grad():
            w, ew = search.relaxation.weights(search.params, 0, 2, search.generator)
        per_weight.append(torch.autograd.grad(F.cross_entropy(search.net(x, w, ew), y),
                                              list(search.net.parameters()), allow_unused=True))
    search.generator.set_state(state)
    search.arch_gradients(x, y, 0)
    for i, p in enumerate(plist):
        mean = sum(g[i] for g in per_arch) / K
        assert torch.allclose(p.grad, mean, atol=1e-6)
        assert not torch.allclose(p.grad, sum(g[i] for g in per_arch), atol=1e-6)
    search.weight_gradients(x, y, 0)
    for i, p in enumerate(search.net.parameters()):
        parts = [g[i] for g in per_weight if g[i] is not None]
        total = sum(parts) if parts else torch.zeros_like(p)
        got = p.grad if p.grad is not None else torch.zeros_like(p)
        assert torch.allclose(got, total, atol=1e-5)


def test_derivation_keeps_the_top2_edges_by_beta_and_argmax_alpha():
    search = search_of(Rome(samples=1))
    relax = search.relaxation
    alpha = torch.zeros(14, 7)
    alpha[:, 3] = 2.0  # sep_conv_3x3 (index 3 without none)
    beta = torch.zeros(14)
    beta[[0, 1, 3, 4, 8, 7, 12, 13]] = 3.0  # node 0: 0,1; node 1: inputs 1,2; node 2: 2,3; node 3: 3,4
    params = {"alpha.normal": alpha, "alpha.reduce": alpha, "beta.normal": beta, "beta.reduce": beta}
    arch = relax.derive(params, k=1)[0][1]
    assert [i for _, i in arch.genotype["normal"]] == [0, 1, 1, 2, 2, 3, 3, 4]
    assert {op for op, _ in arch.genotype["normal"]} == {"sep_conv_3x3"}


def test_tau_decays_linearly_from_max_to_min():
    assert [linear_tau(e, 5, 10.0, 0.1) for e in (0, 4)] == [10.0, pytest.approx(0.1)]
    assert linear_tau(2, 5, 10.0, 0.1) == pytest.approx(5.05)
    with pytest.raises(ValueError, match="tau_min"):
        Rome(tau_min=0.0)


def test_paper_preset_applies_explicit_parameters_win_and_unknown_names_are_refused():
    import inspect

    gen = Rome(preset="paper")
    assert (gen.samples, gen.tau_max, gen.tau_min, gen.topology, gen.include_none) == (7, 10.0, 0.1, True, False)
    assert (gen.epochs, gen.C, gen.layers, gen.search_batch_size, gen.w_lr) == (50, 16, 8, 64, 0.05)
    over = Rome(preset="paper", samples=3, epochs=30)
    assert (over.samples, over.epochs, over.C) == (3, 30, 16)
    assert Rome().samples == 2  # the CPU-friendly defaults without a preset
    with pytest.raises(ValueError) as err:
        Rome(preset="papr")
    assert str(err.value) == "rome: preset='papr'; accepted: paper"
    params = inspect.signature(Rome).parameters
    assert "samples" in params and "preset" in params and "self" not in params
