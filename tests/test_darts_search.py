"""DARTS plugin and the shared DARTS-family machinery: derivation, penalty, loop, memory meter."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call
from torch.utils.data import TensorDataset

from monas.datasets import DataBundle
from monas.plugins.darts import (
    BilevelSearch, Darts, HardwarePenalty, Relaxation, SearchSettings, SpaceAdapter, cosine_annealing,
)
from monas.plugins.darts.derive import k_best_combinations
from monas.plugins.darts.memory import SavedTensorMeter
from monas.plugins.darts.unrolled import unrolled_arch_gradients
from monas.plugins.rome import Rome
from monas.registry import SEARCH_SPACES
from monas.search_spaces.darts import DARTS_V1, DARTS_V2

DARTS = SEARCH_SPACES.create("darts", C=8, layers=3)
NB201 = SEARCH_SPACES.create("nb201", C=4, N=1)


def tiny_data(n=32, size=8, channels=1, seed=0):
    g = torch.Generator().manual_seed(seed)

    def split(m):
        return TensorDataset(torch.randn(m, channels, size, size, generator=g), torch.randint(0, 10, (m,), generator=g))

    return DataBundle("tiny", split(n), split(n), split(8), 10, (channels, size, size))


def darts_net(mode="mixture", **kw):
    adapter = SpaceAdapter(DARTS)
    torch.manual_seed(0)
    return adapter, adapter.build_supernet(mode, **adapter.supernet_kwargs(4, 3, 1, 10, **kw))


# ---- derivation -----------------------------------------------------------------------
def test_k_best_combinations_is_exact_against_brute_force():
    rng = np.random.default_rng(0)
    factors = [sorted(((float(s), i) for i, s in enumerate(rng.normal(size=n))), key=lambda o: -o[0])
               for n in (3, 4, 2)]
    brute = sorted((a[0] + b[0] + c[0], (a[1], b[1], c[1])) for a in factors[0] for b in factors[1] for c in factors[2])
    best = k_best_combinations(factors, 7)
    assert [p for _, p in best] == [p for _, p in brute[::-1][:7]]
    assert all(x[0] >= y[0] for x, y in zip(best, best[1:]))


@pytest.mark.parametrize("with_beta", [False, True])
def test_best_derived_cell_is_the_darts_rule(with_beta):
    adapter, net = darts_net()
    relax = Relaxation(adapter, net.ops)
    g = torch.Generator().manual_seed(3)
    params = {f"alpha.{t}": torch.randn(14, 8, generator=g) for t in adapter.cell_types}
    scores = None
    if with_beta:  # PC-DARTS-like per-edge scores multiply the edge strength
        scores = {t: torch.rand(14, generator=g) for t in adapter.cell_types}
        relax.edge_scores = lambda p: scores
    ranked = relax.derive(params, k=4)
    expected = net.derive_genotype({t: F.softmax(params[f"alpha.{t}"], -1) for t in adapter.cell_types}, scores)
    assert ranked[0][1] == DARTS.from_genotype(expected.genotype)
    assert len({a.key for _, a in ranked}) == 4
    assert all(x[0] >= y[0] for x, y in zip(ranked, ranked[1:]))
    for _, arch in ranked:
        assert all(op != "none" for t in adapter.cell_types for op, _ in arch.genotype[t])


def test_nb201_derivation_is_argmax_and_may_keep_none():
    adapter = SpaceAdapter(NB201)
    relax = Relaxation(adapter, adapter.all_ops)
    alpha = torch.full((6, 5), -1.0)
    alpha[:, 0] = 2.0  # none everywhere is legal in NB201
    alpha[2, 3] = 3.0
    (score, best), (_, second) = relax.derive({"alpha.cell": alpha}, k=2)
    assert best.genotype == ("none", "none", "nor_conv_3x3", "none", "none", "none")
    assert second.key != best.key and sum(a != b for a, b in zip(best.genotype, second.genotype)) == 1


def test_parameter_free_count_of_published_cells():
    adapter = SpaceAdapter(DARTS)
    v1 = adapter.parameter_free(DARTS.from_genotype(DARTS_V1))
    assert v1 == {"normal": 3, "reduce": 8, "skip": 3}
    assert adapter.parameter_free(DARTS.from_genotype(DARTS_V2))["skip"] == 2


# ---- hardware penalty -----------------------------------------------------------------
@pytest.fixture(scope="module")
def nb201_params_penalty():
    adapter = SpaceAdapter(NB201)
    kw = adapter.supernet_kwargs(4, 1, 1, 10)
    return adapter, HardwarePenalty("params", adapter, kw, (1, 8, 8))


def test_penalty_is_one_at_uniform_logits_and_exact_on_one_hot(nb201_params_penalty):
    adapter, pen = nb201_params_penalty
    relax = Relaxation(adapter, adapter.all_ops)
    uniform = relax.expected_probabilities({"alpha.cell": torch.zeros(6, 5)})
    pen.set_reference(uniform, relax.ops)
    assert float(pen(uniform, relax.ops)) == pytest.approx(1.0, abs=1e-12)
    # one-hot distribution: base + the table entry of each chosen op
    ops = [1, 3, 0, 2, 4, 3]
    onehot = {"cell": F.one_hot(torch.tensor(ops), 5).double()}
    want = pen.base_ + sum(float(pen.table_["cell"][e, o]) for e, o in enumerate(ops))
    assert float(pen.expected(onehot, relax.ops)) == pytest.approx(want)
    assert float(pen.table_["cell"][0, 3]) > float(pen.table_["cell"][0, 2]) > 0  # 3x3 conv > 1x1 conv
    assert float(pen.table_["cell"][0, 0]) == 0.0  # none is free


def test_penalty_gradient_moves_alpha_toward_cheap_ops(nb201_params_penalty):
    adapter, pen = nb201_params_penalty
    relax = Relaxation(adapter, adapter.all_ops)
    pen.set_reference(relax.expected_probabilities({"alpha.cell": torch.zeros(6, 5)}), relax.ops)
    alpha = torch.zeros(6, 5, requires_grad=True)
    (grad,) = torch.autograd.grad(pen(relax.expected_probabilities({"alpha.cell": alpha}), relax.ops), [alpha])
    conv3 = adapter.all_ops.index("nor_conv_3x3")
    assert (grad[:, conv3] > 0).all()  # descent lowers the expensive op's logit
    assert (grad[:, adapter.all_ops.index("none")] < 0).all()


def test_rome_expected_cost_matches_monte_carlo_of_sampled_architectures():
    """The penalty is the expectation under the sampling distribution (edges and ops)."""
    adapter = SpaceAdapter(DARTS)
    relax = Rome().relaxation(adapter, [op for op in adapter.all_ops if op != "none"])
    g = torch.Generator().manual_seed(0)
    params = {**{f"alpha.{t}": torch.randn(14, 7, generator=g) for t in adapter.cell_types},
              **{f"beta.{t}": 2 * torch.randn(14, generator=g) for t in adapter.cell_types}}
    table = {t: torch.rand(14, 7, generator=g, dtype=torch.float64) for t in adapter.cell_types}
    exact = sum(float((relax.expected_probabilities(params)[t].double() * table[t]).sum()) for t in table)
    total, n = 0.0, 1200
    for _ in range(n):
        w, ew = relax.weights(params, 0, 2, g)
        total += sum(float((ew[t][:, None] * w[t]).double().mul(table[t]).sum()) for t in table)
    assert total / n == pytest.approx(exact, rel=0.02)


# ---- bi-level loop --------------------------------------------------------------------
def _nb201_search(order=1, epochs=2, seed=0, dtype=torch.float32):
    adapter = SpaceAdapter(NB201)
    torch.manual_seed(seed)
    net = adapter.build_supernet("mixture", **adapter.supernet_kwargs(4, 1, 1, 10)).to(dtype)
    relax = Relaxation(adapter, net.ops)
    params = {k: torch.nn.Parameter(v.detach().to(dtype)) for k, v in relax.new_parameters(net, seed).items()}
    settings = SearchSettings(epochs=epochs, batch_size=8, w_lrs=tuple(cosine_annealing(epochs, 0.05, 0.001)),
                              steps_per_epoch=1, order=order, arch_lr=0.05)
    return BilevelSearch(net, relax, params, settings, seed=seed)


def test_resume_from_epoch_checkpoint_continues_exactly():
    data = tiny_data()
    straight = _nb201_search()
    straight.run(data)
    first = _nb201_search()
    first.run(data, max_epochs=1)
    state = first.state_dict()
    resumed = _nb201_search()
    resumed.load_state_dict(state)
    resumed.run(data)
    assert resumed.epoch_ == straight.epoch_ == 2
    for k in straight.params:
        assert torch.equal(straight.params[k], resumed.params[k])
    for (n, a), b in zip(straight.net.state_dict().items(), resumed.net.state_dict().values()):
        assert torch.equal(a, b), n


def test_second_order_gradient_matches_exact_unrolled_hypergradient():
    search = _nb201_search(order=2, dtype=torch.float64)
    data = tiny_data()
    x_tr, y_tr = data.train.tensors[0][:8].double(), data.train.tensors[1][:8]
    x_val, y_val = data.valid.tensors[0][:8].double(), data.valid.tensors[1][:8]
    net, alpha = search.net, search.params["alpha.cell"]
    lr, wd = 0.05, search.settings.w_weight_decay
    weights_fn = lambda: ({"cell": F.softmax(alpha, -1)}, None)  # noqa: E731
    buffers = {n: b.clone() for n, b in net.named_buffers()}
    # DARTS' eps = 0.01/||d|| is coarse for a tiny random net (ReLU kinks at that scale);
    # a fine central difference must reproduce the exact hypergradient
    approx, _ = unrolled_arch_gradients(net, [alpha], weights_fn, (x_tr, y_tr), (x_val, y_val), lr, 0.9, wd,
                                        search.w_optimizer, fd_scale=1e-6)
    assert all(torch.equal(b, buffers[n]) for n, b in net.named_buffers())  # BN stats restored
    # exact: d/dalpha L_val(w - lr * (grad_w L_train(w, alpha) + wd w), alpha) by double backprop
    names, theta = zip(*net.named_parameters())
    g = torch.autograd.grad(F.cross_entropy(net(x_tr, weights_fn()[0]), y_tr), theta, create_graph=True)
    unrolled = {n: p - lr * (gi + wd * p) for n, p, gi in zip(names, theta, g)}
    exact = torch.autograd.grad(F.cross_entropy(functional_call(net, unrolled, (x_val, weights_fn()[0])), y_val),
                                [alpha])[0]
    fixed = {n: u.detach() for n, u in unrolled.items()}
    first = torch.autograd.grad(F.cross_entropy(functional_call(net, fixed, (x_val, weights_fn()[0])), y_val),
                                [alpha])[0]
    assert torch.allclose(approx[0], exact, rtol=1e-4, atol=1e-8)
    assert not torch.allclose(first, exact, rtol=1e-3, atol=1e-7)  # the second-order term matters here
    before = alpha.detach().clone()
    search.step((x_tr, y_tr), (x_val, y_val), 0)  # the search's own path (DARTS' eps) runs and updates alpha
    assert not torch.equal(alpha.detach(), before) and torch.isfinite(alpha).all()


def test_search_settings_reject_bad_values():
    with pytest.raises(ValueError, match="order"):
        SearchSettings(epochs=1, batch_size=8, w_lrs=(0.1,), order=3)
    with pytest.raises(ValueError, match="w_lrs"):
        SearchSettings(epochs=2, batch_size=8, w_lrs=(0.1,))
    with pytest.raises(ValueError, match="penalty"):
        Darts(penalty="energy")
    with pytest.raises(ValueError, match="need a penalty"):
        Darts(lambdas=[0.0, 1.0])
    with pytest.raises(ValueError, match="need the capability 'supernet.mixture'.*space 'mobilenet'"):
        SpaceAdapter(type("S", (), {"name": "mobilenet"})())  # by capability, not by name


# ---- saved-activation meter (exact byte counts) -----------------------------------------
def test_saved_tensor_meter_counts_unique_storages_exactly():
    a = torch.randn(4, 8, requires_grad=True)
    with SavedTensorMeter(exclude=[a]) as meter:
        b = a.relu()            # saves its output b (128 bytes)
        c = (b * b).sum()       # saves b twice: same storage, counted once
        d = a.exp()             # saves its output (128 bytes), a is excluded
        peak_before = meter.live_bytes
        (c + d.sum()).backward()
    assert peak_before == 2 * 4 * 8 * 4
    assert meter.peak_bytes == 256 and meter.live_bytes == 0


def test_saved_bytes_of_a_darts_step_are_repeatable():
    adapter, net = darts_net()
    relax = Relaxation(adapter, net.ops)
    params = relax.new_parameters(net, 0)
    search = BilevelSearch(net, relax, params, SearchSettings(epochs=1, batch_size=4, w_lrs=(0.01,)))
    x, y = torch.randn(4, 1, 8, 8), torch.randint(0, 10, (4,))
    peaks = []
    for _ in range(2):
        with SavedTensorMeter(exclude=list(net.parameters()) + list(params.values())) as meter:
            search.step((x, y), (x, y), 0)
        peaks.append(meter.peak_bytes)
        assert meter.live_bytes == 0
    assert peaks[0] == peaks[1] > 0


def test_latency_penalty_reads_a_profiled_per_edge_table(tmp_path):
    from monas.objectives.latency_lut import lut_estimate
    from monas.profiling import profile_ops, save_table

    table = profile_ops(NB201, input_shape=(1, 8, 8), warmup=1, repeats=2, rounds=1)
    path = save_table(table, tmp_path / "lut.json")
    adapter = SpaceAdapter(NB201)
    pen = HardwarePenalty("latency", adapter, adapter.supernet_kwargs(4, 1, 1, 10), (1, 8, 8), latency_table=str(path))
    arch = NB201.from_key("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    onehot = {"cell": F.one_hot(torch.as_tensor(NB201.encode(arch)), 5).double()}
    assert float(pen.expected(onehot, adapter.all_ops)) == pytest.approx(lut_estimate(table, NB201.encode(arch)))
    with pytest.raises(ValueError, match="NB201 only"):
        HardwarePenalty("latency", SpaceAdapter(DARTS), {}, (1, 8, 8), latency_table=str(path))


def test_darts_family_searches_by_capability_not_by_space_name():
    """A space under another name with the same cell layout is searched like nb201."""
    from monas.budget import Budget
    from monas.datasets import load_digits
    from monas.engine import Engine
    from monas.objective import MAXIMIZE, Measurement, Objective
    from monas.registry import GENERATORS, OBJECTIVES
    from monas.search_spaces.nb201 import NB201Space

    class RenamedCells(NB201Space):
        name = "my_cells"

    class OpCount(Objective):
        direction = MAXIMIZE
        cheap = True

        def measure(self, arch, ctx):
            return Measurement(float(sum(op != "none" for op in arch.genotype)))

    space = RenamedCells(C=4, N=1)
    for name in ("darts", "pc_darts"):
        cls = GENERATORS.get(name)
        gen = cls(**cls.contract_params)
        engine = Engine(space, {"ops": OpCount(), "params": OBJECTIVES.create("params")}, [(name, gen, 1.0)],
                        budget=Budget(evaluations=2), seed=0, data=load_digits(size=8))
        archive = engine.optimize()
        assert archive.evaluations and all(e.arch.space == "my_cells" for e in archive.evaluations)
        assert all(e.state.value == "complete" for e in archive.evaluations)
