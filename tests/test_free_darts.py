"""FreeDARTS / ZEROS (METHODS.md section 4): the score's promises, the pruning schedule, the
derivation on NB201 and DARTS, the zero_cost objective and the generator's contract."""
import dataclasses

import numpy as np
import pytest
import torch

from monas.budget import Budget
from monas.constraint import Constraint
from monas.context import EvaluationContext, GeneratorContext
from monas.datasets import load_digits
from monas.engine import Engine
from monas.objectives.tabular import TabularObjective, load_table
from monas.objectives.zero_cost import ZeroCostObjective, kaiming_init, synflow_score, zeros_scores
from monas.plugins.free_darts import FreeDARTS, initial_masks, iterative_prune
from monas.registry import GENERATORS, OBJECTIVES, SEARCH_SPACES

SMALL = {"C": 8, "N": 1}


def _nb201_net(nb201, seed=0, **kw):
    torch.manual_seed(seed)
    return kaiming_init(nb201.supernet(mode="mixture", **{**SMALL, **kw}), seed)


@pytest.fixture(scope="module")
def darts():
    return SEARCH_SPACES.create("darts")


def _darts_net(darts, seed=0):
    torch.manual_seed(seed)
    return kaiming_init(darts.supernet(mode="mixture", C=4, layers=3), seed)


def _state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_registered():
    assert GENERATORS.get("free_darts") is FreeDARTS
    assert OBJECTIVES.get("zero_cost") is ZeroCostObjective


@pytest.mark.parametrize("bn", ["bypass", "train"])
def test_scoring_leaves_weights_buffers_and_mode_unchanged(nb201, bn):
    net = _nb201_net(nb201)
    net.train()
    before = _state(net)
    out = zeros_scores(net, initial_masks(net), input_shape=(3, 16, 16), bn=bn)
    after = _state(net)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # signs restored, bit for bit
    assert net.training and next(net.parameters()).dtype == torch.float32
    assert all(p.grad is None for p in net.parameters())
    assert np.isfinite(out["R"]) and out["R"] > 0


def test_scores_are_nonnegative_and_none_scores_zero(nb201):
    net = _nb201_net(nb201)
    scores = zeros_scores(net, initial_masks(net), input_shape=(3, 16, 16))["scores"]["cell"]
    assert scores.dtype == torch.float64 and scores.shape == (6, 5)
    assert torch.all(scores >= 0)
    assert torch.all(scores[:, net.ops.index("none")] == 0)
    assert torch.all(scores[:, net.ops.index("nor_conv_3x3")] > 0)


def test_score_is_data_agnostic(nb201):
    """Same score whatever the data: only the input's shape is read, never its values."""
    digits = load_digits()
    x, y = digits.train.tensors
    shuffled = dataclasses.replace(digits, train=torch.utils.data.TensorDataset(-x.flip(0), y.flip(0)),
                                   valid=torch.utils.data.TensorDataset(torch.randn_like(x), y))
    values = []
    for data in (digits, shuffled):
        ctx = EvaluationContext(space=nb201, data=data)
        obj = ZeroCostObjective(supernet_kwargs=SMALL)
        values.append(obj.measure(nb201.from_key(nb201.sample(np.random.default_rng(0)).key), ctx).value)
    assert values[0] == values[1]


def test_float32_overflow_is_reported_clearly(nb201):
    net = _nb201_net(nb201, C=16, N=5)
    with pytest.raises(FloatingPointError, match="float64"):
        zeros_scores(net, initial_masks(net), input_shape=(3, 32, 32), dtype=torch.float32)
    assert np.isfinite(zeros_scores(net, initial_masks(net), input_shape=(3, 32, 32))["R"])


def test_zeros_drops_the_layer_count_factor_of_synflow(darts):
    """Per op, SynFlow summed over the op's parameters equals (number of conv layers) x ZEROS
    in the linearised net: ZEROS is one scalar per op, not a sum over its parameters."""
    net = _darts_net(darts)
    masks = initial_masks(net)
    scores = zeros_scores(net, masks, input_shape=(3, 8, 8))["scores"]
    # SynFlow per (cell type, edge, op): the saliency of that op's parameters, over all cells
    from monas.objectives.zero_cost import Linearised
    with Linearised(net):
        alphas = {t: m.double() for t, m in masks.items()}
        R = net(torch.ones(1, 3, 8, 8, dtype=torch.float64), alphas).sum()
        params = list(net.parameters())
        grads = dict(zip(params, torch.autograd.grad(R, params, allow_unused=True)))
        synflow = {t: torch.zeros_like(s) for t, s in scores.items()}
        for cell in net.cells:
            t = "reduce" if cell.reduction else "normal"
            for e, edge in enumerate(cell.edges):
                for o, op in enumerate(edge.ops):
                    synflow[t][e, o] += sum(float((p.detach() * grads[p]).abs().sum()) for p in op.parameters()
                                            if grads[p] is not None)
    layers = {"sep_conv_3x3": 4, "sep_conv_5x5": 4, "dil_conv_3x3": 2, "dil_conv_5x5": 2}
    for t in scores:
        for name, k in layers.items():
            o = net.ops.index(name)
            np.testing.assert_allclose(synflow[t][:, o], k * scores[t][:, o], rtol=1e-6)
        for name in ("max_pool_3x3", "avg_pool_3x3"):  # no parameters: SynFlow 0, ZEROS > 0
            o = net.ops.index(name)
            assert torch.all(synflow[t][:, o] == 0) and torch.all(scores[t][:, o] > 0)


def test_after_round_r_each_edge_has_O_minus_r_survivors(nb201):
    net = _nb201_net(nb201)
    result = iterative_prune(net, (3, 16, 16))
    n_ops = len(net.ops)
    assert len(result.rounds) == n_ops  # |O| - 1 pruning rounds, then the final scoring
    for r, scores in enumerate(result.rounds):
        for e in range(6):
            alive = [o for o, last in zip(result.order["cell"][e], result.last_round["cell"][e]) if last >= r]
            assert len(alive) == n_ops - r
            dead = set(range(n_ops)) - set(alive)
            assert all(float(scores["cell"][e, o]) == 0.0 for o in dead)
    assert torch.equal(result.masks["cell"].sum(dim=1), torch.ones(6, dtype=torch.float64))
    assert all(order[0] == net.ops.index("none") for order in result.order["cell"])  # score 0 goes first


def test_faster_schedule_prunes_several_per_round(nb201):
    result = iterative_prune(_nb201_net(nb201), (3, 16, 16), ops_per_round=2)
    assert len(result.rounds) == 3  # 5 -> 3 -> 1, then the final scoring
    assert torch.equal(result.masks["cell"].sum(dim=1), torch.ones(6, dtype=torch.float64))


def test_deterministic_under_a_seed(nb201):
    a = iterative_prune(_nb201_net(nb201, seed=3), (3, 16, 16))
    b = iterative_prune(_nb201_net(nb201, seed=3), (3, 16, 16))
    assert a.order == b.order
    assert all(torch.equal(x["cell"], y["cell"]) for x, y in zip(a.rounds, b.rounds))


def _ctx(space, constraints=(), measure=None, seed=0):
    return GeneratorContext(name="free_darts", space=space, objectives=[], constraints=list(constraints),
                            seed=seed, measure=measure, archive=None, evaluation=EvaluationContext(space=space))


def test_darts_derivation_is_a_valid_genotype_without_none(darts):
    gen = FreeDARTS(supernet_kwargs={"C": 4, "layers": 3}, input_shape=[3, 8, 8])
    gen.setup(_ctx(darts))
    arch = gen.ask(1)[0]
    assert darts.contains(arch)
    for cell in ("normal", "reduce"):
        pairs = arch.genotype[cell]
        assert len(pairs) == 8 and all(op != "none" for op, _ in pairs)
        for node in range(4):
            assert pairs[2 * node][1] != pairs[2 * node + 1][1]  # 2 distinct inputs per node
    masks = gen.results_[0].masks
    assert all(torch.all(m[:, 0] == 0) for m in masks.values())  # `none` never competed


def test_nb201_derivation_beats_random_cells_on_the_table(nb201):
    table = load_table()
    acc = table.column("c10_test_acc_200ep")
    gen = FreeDARTS(supernet_kwargs={"C": 8, "N": 2})
    gen.setup(_ctx(nb201))
    arch = gen.ask(1)[0]
    value = acc[table.row_of(arch.key, nb201)]
    assert value >= 93.0 and value > acc.mean() + 5.0


def test_generator_front_walk_constraints_and_resume(nb201):
    objectives = {"accuracy": TabularObjective("c10_test_acc_200ep"),
                  "latency": TabularObjective("lat_ms_1080ti_1", direction="minimize")}
    gen = FreeDARTS(n_seeds=2, front_size=6, supernet_kwargs=SMALL)
    archive = Engine(nb201, objectives, [("fd", gen, 1.0)], constraints=[Constraint.parse("latency <= 15")],
                     budget=Budget(evaluations=50), seed=0).optimize()
    assert 1 <= len(archive) <= 2 + 6
    assert all(e.feasible for e in archive.evaluations)  # every returned arch meets its constraint
    assert gen.ask(3) == []  # done
    # a fresh generator loaded with the state continues (here: is done) without searching again
    other = FreeDARTS(n_seeds=2, front_size=6, supernet_kwargs=SMALL)
    other.setup(gen.ctx_)
    other.load_state_dict(gen.state_dict())
    assert other.ask(3) == [] and len(other.results_) == 2


def test_generator_walk_without_constraints_trades_merit_for_cost(nb201):
    objectives = {"accuracy": TabularObjective("c10_test_acc_200ep"),
                  "params": TabularObjective("c10_params_M", direction="minimize")}
    gen = FreeDARTS(score="zeros_eval", front_size=8, supernet_kwargs=SMALL)  # eval ranks ops by size
    archive = Engine(nb201, objectives, [("fd", gen, 1.0)], budget=Budget(evaluations=20), seed=0).optimize()
    params = [e.values["params"] for e in archive.evaluations]
    assert len(params) == 9 and params[0] == max(params) and params[-1] < params[0]
    assert len(archive.front()) >= 3


def test_zero_cost_objective_ranks_and_handles_disconnected_cells(nb201):
    ctx = EvaluationContext(space=nb201)
    obj = ZeroCostObjective(supernet_kwargs=SMALL)
    conv = obj.measure(nb201.make(["nor_conv_3x3"] * 6), ctx).value
    skip = obj.measure(nb201.make(["skip_connect"] * 6), ctx).value
    cut = obj.measure(nb201.make(["none"] * 6), ctx).value
    assert conv > skip > cut == 0.0
    assert obj.direction == "maximize"
    synflow = ZeroCostObjective(score="synflow", supernet_kwargs=SMALL).measure(nb201.make(["skip_connect"] * 6), ctx)
    assert synflow.value > 0 and synflow.details["zeros"] > 0
    with pytest.raises(ValueError, match="accepted"):
        ZeroCostObjective(score="snip")


def test_synflow_of_a_plain_network_restores_it(nb201):
    torch.manual_seed(0)
    net = nb201.build(nb201.make(["nor_conv_3x3"] * 6), C=8, N=1)
    before = _state(net)
    assert synflow_score(net, (3, 16, 16)) > 0
    assert all(torch.equal(before[k], v) for k, v in _state(net).items())


# ---------------------------------------------------------------- official ZEROS (METHODS.md section 4 [C])
class _ToyMixture(torch.nn.Module):
    """One edge mixing conv3x3 -> BN, identity and avg-pool3x3 (padding counted) -> BN, then
    ReLU, global average pool and a linear head of 2 logits: a supernet under the contract."""

    ops = ("conv", "skip", "pool")

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(1, affine=False)
        self.pool = torch.nn.AvgPool2d(3, 1, 1, count_include_pad=True)
        self.bn2 = torch.nn.BatchNorm2d(1, affine=False)
        self.head = torch.nn.Linear(1, 2)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(1, 1, 3, 3, generator=g))
            self.head.weight.copy_(torch.tensor([[0.7], [-1.3]]))
            self.head.bias.copy_(torch.tensor([0.1, -0.2]))

    def forward(self, x, weights, edge_weights=None):
        a = weights["cell"][0]
        m = a[0] * self.bn1(self.conv(x)) + a[1] * x + a[2] * self.bn2(self.pool(x))
        return self.head(torch.relu(m).mean(dim=(2, 3)))


def _toy_by_hand(net, alphas, bn_train=True):
    """Official ZEROS of the toy in numpy: |theta|, one 4x4 all-ones image, BN on the image's own
    statistics (biased variance, eps 1e-5), R = sum of the logits, S_o = |a_o dR/da_o|."""
    w = np.abs(net.conv.weight.detach().double().numpy()[0, 0])
    W = np.abs(net.head.weight.detach().double().numpy()[:, 0])
    x = np.pad(np.ones((4, 4)), 1)
    conv = np.array([[(x[i:i + 3, j:j + 3] * w).sum() for j in range(4)] for i in range(4)])
    pool = np.array([[x[i:i + 3, j:j + 3].sum() / 9.0 for j in range(4)] for i in range(4)])

    def bn(y):
        return (y - y.mean()) / np.sqrt(y.var() + 1e-5) if bn_train else y

    outs = [bn(conv), np.ones((4, 4)), bn(pool)]
    m = sum(a * o for a, o in zip(alphas, outs))
    # R = sum_j W_j mean(relu(m)) + b: dR/da_o = sum(W) * mean(1[m > 0] * o)
    return np.array([abs(a * W.sum() * ((m > 0) * o).mean()) for a, o in zip(alphas, outs)])


def test_official_zeros_matches_a_hand_computed_tiny_mixture():
    """Train-mode BN on the one all-ones image and the raw signed alpha, computed by hand. With
    eval-mode BN (or BN bypassed) the scores differ, so this test fails if ZEROS used it."""
    from monas.objectives.zero_cost import zeros_official
    net = _ToyMixture()
    alphas = [2e-3, -1e-3, 1.5e-3]
    got = zeros_official(net, (1, 4, 4), alphas={"cell": torch.tensor([alphas], dtype=torch.float64)})["scores"]["cell"][0].numpy()
    want = _toy_by_hand(net, alphas)
    assert np.all(want > 0)
    np.testing.assert_allclose(got, want, rtol=1e-9)
    eval_like = _toy_by_hand(net, alphas, bn_train=False)  # the SynFlow-like state gives other scores
    assert not np.allclose(eval_like, want, rtol=1e-3)


def test_official_zeros_restores_the_net_and_uses_raw_seeded_alphas(nb201):
    from monas.objectives.zero_cost import zeros_alphas, zeros_official
    net = _nb201_net(nb201).eval()
    before = _state(net)
    out = zeros_official(net, (3, 16, 16), seed=4)
    assert all(torch.equal(before[k], v) for k, v in _state(net).items()) and not net.training
    alphas = zeros_alphas(net, seed=4)["cell"]
    assert torch.equal(out["alphas"]["cell"], alphas.double()) and (alphas < 0).any()  # raw, signed
    assert 5e-4 < float(alphas.std()) < 2e-3
    assert torch.all(out["scores"]["cell"][:, net.ops.index("none")] == 0)
    with pytest.raises(ValueError, match="accepted"):
        zeros_alphas(net, sign="positive")


def test_official_zeros_is_not_synflow_per_op_on_darts(darts):
    """Across seeds the official derivation mixes op types (the official run's histogram); the
    eval-mode variant (SynFlow per op) picks the largest convolutions on every edge."""
    hist = {}
    for score in ("zeros", "zeros_eval"):
        counts = {}
        for seed in range(3):
            gen = FreeDARTS(score=score, seed=seed, supernet_kwargs={"C": 4, "layers": 3}, input_shape=[3, 8, 8])
            gen.setup(_ctx(darts))
            for cell in ("normal", "reduce"):
                for op, _ in gen.ask(1)[0].genotype[cell]:
                    counts[op] = counts.get(op, 0) + 1
        hist[score] = counts
    assert max(hist["zeros"].values()) <= 24 and len(hist["zeros"]) >= 4  # <= half of 48 edges
    assert set(hist["zeros_eval"]) <= {"sep_conv_3x3", "sep_conv_5x5"}


def test_zero_cost_zeros_is_the_official_sum_where_a_mixture_exists(nb201):
    from monas.objectives.zero_cost import offers_mixture, zeros_official
    from monas.plugins.free_darts import one_pass
    ctx = EvaluationContext(space=nb201)
    obj = ZeroCostObjective(supernet_kwargs=SMALL)
    arch = nb201.make(["nor_conv_3x3", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "none", "nor_conv_3x3"])
    scores = zeros_official(_nb201_net(nb201), (3, 32, 32), seed=0)["scores"]["cell"]
    want = sum(float(scores[e, nb201.supernet(mode="mixture", **SMALL).ops.index(op)])
               for e, op in enumerate(arch.genotype))
    m = obj.measure(arch, ctx)
    assert m.details["zeros"] == pytest.approx(want, rel=1e-12)
    assert obj.fingerprint(ctx)["variant"] == "official"
    ev = ZeroCostObjective(score="zeros_eval", supernet_kwargs=SMALL).measure(arch, ctx)
    assert ev.details["zeros_eval"] != pytest.approx(m.details["zeros"], rel=1e-3)
    assert offers_mixture(nb201)
    mobilenet = SEARCH_SPACES.create("mobilenet")
    assert not offers_mixture(mobilenet)
    assert ZeroCostObjective().fingerprint(EvaluationContext(space=mobilenet))["variant"] == "eval"
    # FreeDARTS derives from the same scores: on NB201 its cell maximises the official sum
    res = one_pass(_nb201_net(nb201), (3, 32, 32), seed=0)
    derived = [nb201.supernet(mode="mixture", **SMALL).ops[int(torch.argmax(r))] for r in res.masks["cell"]]
    assert obj.measure(nb201.make(derived), ctx).value >= m.value


def test_paper_preset_applies_and_explicit_params_win():
    from monas.plugins.free_darts.presets import PRESETS
    import inspect
    gen = FreeDARTS(preset="paper")
    assert gen.preset == "paper" and gen.score == "zeros" and gen.dtype == PRESETS["paper"]["dtype"] == "float32"
    assert gen.alpha_std == 1e-3 and gen.n_seeds == 1
    assert FreeDARTS(preset="paper", dtype="float64", n_seeds=3).dtype == "float64"
    assert FreeDARTS().dtype == "float64" and FreeDARTS().preset is None
    with pytest.raises(ValueError, match=r"^free_darts: preset='nope'; accepted: paper$"):
        FreeDARTS(preset="nope")
    assert "preset" in inspect.signature(FreeDARTS).parameters
    assert "alpha_sign" in inspect.signature(FreeDARTS).parameters
