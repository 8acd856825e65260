"""GCN predictor (METHODS.md section 6): model invariances, fitting, the paper's central claim on
NB201, and the generator's contract (constraints, lookup table, determinism, resume)."""
import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from monas.budget import Budget
from monas.constraint import Constraint
from monas.engine import Engine
from monas.evaluation import EvalState
from monas.objectives.tabular import TabularObjective, load_table
from monas.plugins.gcn_predictor import GCN, GCNPredictor, GCNPredictorGenerator, stack_graphs
from monas.registry import GENERATORS

FAST = dict(n_init=10, refit_every=10, epochs=30, refit_epochs=5, hidden=16)


@pytest.fixture(scope="module")
def table(nb201):
    t = load_table()
    keys = t.keys(nb201)
    return keys, t.column("c10_test_acc_200ep")


def test_registered_as_generator():
    assert GENERATORS.get("gcn_predictor") is GCNPredictorGenerator


def test_predictions_invariant_to_node_relabelling(nb201):
    rng = np.random.default_rng(0)
    graphs = [nb201.to_graph(nb201.sample(rng)) for _ in range(5)]
    torch.manual_seed(0)
    model = GCN(graphs[0][1].shape[1], hidden=16, layers=3).eval()
    perm = rng.permutation(graphs[0][0].shape[0])
    relabelled = [(a[np.ix_(perm, perm)], x[perm]) for a, x in graphs]
    with torch.no_grad():
        y = model(*stack_graphs(graphs))
        y_perm = model(*stack_graphs(relabelled))
    assert torch.allclose(y, y_perm, atol=1e-5)
    assert not torch.allclose(y[0], y[1])  # different cells, different predictions


def test_fits_a_small_synthetic_target_exactly(nb201):
    rng = np.random.default_rng(1)
    archs = list({a.key: a for a in (nb201.sample(rng) for _ in range(40))}.values())[:30]
    y = np.array([2.0 * a.genotype.count("nor_conv_3x3") - a.genotype.count("none") for a in archs])
    p = GCNPredictor(hidden=32, epochs=400, lr=3e-3, weight_decay=0.0, valid_fraction=0.0, seed=0)
    p.fit([nb201.to_graph(a) for a in archs], y)
    pred = p.predict([nb201.to_graph(a) for a in archs])
    assert np.max(np.abs(pred - y)) < 0.15 * np.std(y)


def test_predictor_is_deterministic_and_resumable(nb201):
    rng = np.random.default_rng(2)
    graphs = [nb201.to_graph(nb201.sample(rng)) for _ in range(20)]
    y = rng.normal(size=20)
    a = GCNPredictor(hidden=8, epochs=5, seed=3).fit(graphs, y)
    b = GCNPredictor(hidden=8, epochs=5, seed=3).fit(graphs, y)
    np.testing.assert_array_equal(a.predict(graphs), b.predict(graphs))
    c = GCNPredictor(hidden=8, epochs=5, seed=3)
    c.load_state_dict(a.state_dict())
    np.testing.assert_allclose(c.predict(graphs), a.predict(graphs), rtol=1e-6)
    mean, std = GCNPredictor(hidden=8, epochs=3, ensemble=2).fit(graphs, y).predict(graphs, return_std=True)
    assert mean.shape == std.shape == (20,) and np.all(std >= 0) and np.any(std > 0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="valid_fraction"):
        GCNPredictor(valid_fraction=1.0)
    with pytest.raises(ValueError, match="costs"):
        GCNPredictorGenerator(costs="guess")
    with pytest.raises(ValueError, match="targets"):
        GCNPredictor().fit([(np.zeros((2, 2)), np.eye(2))] * 2, [1.0, float("nan")])


def test_gcn_smooths_noisy_supernet_estimates_on_nb201(nb201, table):
    """The paper's central claim: a GCN fitted to noisy estimates ranks held-out cells better
    than the noisy estimates themselves (benchmark accuracy + zero-mean noise as the stand-in)."""
    keys, acc = table
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(keys))
    train, test = idx[:300], idx[300:800]
    noise = 4.0  # percentage points, about the spread of one-shot estimates
    noisy = acc + rng.normal(0.0, noise, size=len(acc))
    graphs = [nb201.to_graph(nb201.from_key(keys[i])) for i in np.concatenate([train, test])]
    p = GCNPredictor(hidden=32, epochs=60, seed=0).fit(graphs[:300], noisy[train])
    tau_gcn = kendalltau(p.predict(graphs[300:]), acc[test])[0]
    tau_noisy = kendalltau(noisy[test], acc[test])[0]
    assert tau_gcn >= tau_noisy, (tau_gcn, tau_noisy)


def _engine(nb201, gen, budget=40, seed=0, constraints=()):
    objectives = {"accuracy": TabularObjective("c10_test_acc_200ep"),
                  "latency": TabularObjective("lat_ms_1080ti_1", direction="minimize")}
    return Engine(nb201, objectives, [("gcn", gen, 1.0)], constraints=constraints,
                  budget=Budget(evaluations=budget), seed=seed)


def test_every_returned_architecture_meets_its_constraint(nb201):
    gen = GCNPredictorGenerator(**FAST)
    bound = Constraint.parse("latency <= 13")
    archive = _engine(nb201, gen, budget=35, constraints=[bound]).optimize()
    assert len(archive) == 35 and gen.cost_mode_ == "measure"
    assert all(e.feasible for e in archive.evaluations)
    # the lookup table covers every NB201 cell
    assert len(gen.pool_keys_) == 15625 == len(set(gen.pool_keys_))


def test_predict_costs_mode_fits_every_objective(nb201):
    gen = GCNPredictorGenerator(costs="predict", **FAST)
    archive = _engine(nb201, gen, budget=25).optimize()
    assert len(archive) == 25 and gen.predicted_labels == ["accuracy", "latency"]
    assert gen.predictor_.mean_.shape == (2,)
    assert all(e.state == EvalState.COMPLETE for e in archive.evaluations)


def test_deterministic_under_a_seed_and_resumes_exactly(nb201):
    keys = []
    for _ in range(2):
        archive = _engine(nb201, GCNPredictorGenerator(**FAST), budget=30, seed=4).optimize()
        keys.append([e.arch.key for e in archive.evaluations])
    assert keys[0] == keys[1] and len(set(keys[0])) == 30
    # resume: a fresh generator loaded with the state proposes what the original proposes next
    eng = _engine(nb201, GCNPredictorGenerator(**FAST), budget=30, seed=4)
    eng.optimize()
    gen = eng.slots[0].generator
    state = gen.state_dict()
    other = GCNPredictorGenerator(**FAST)
    other.setup(gen.ctx_)
    other.load_state_dict(state)
    assert [a.key for a in other.ask(5)] == [a.key for a in gen.ask(5)]


def test_beats_random_search_on_the_nb201_front(nb201):
    from monas.indicators import hypervolume_ratio, non_dominated

    t = load_table()
    F_all = np.stack([-t.column("c10_test_acc_200ep"), t.column("lat_ms_1080ti_1")], axis=1)
    true_F = F_all[non_dominated(F_all)]
    ratios = {"gcn": [], "random": []}
    for seed in range(3):
        for name, gen in (("gcn", GCNPredictorGenerator(n_init=20, refit_every=20, epochs=60, refit_epochs=10,
                                                         hidden=16)),
                          ("random", GENERATORS.create("random"))):
            archive = _engine(nb201, gen, budget=80, seed=seed).optimize()
            ratios[name].append(hypervolume_ratio(archive.front_F(), true_F))
    assert np.mean(ratios["gcn"]) > np.mean(ratios["random"]) + 0.01, ratios


def test_engine_resume_reproduces_an_uninterrupted_run(nb201, tmp_path):
    def run(run_dir, budget, resume=False):
        objectives = {"accuracy": TabularObjective("c10_test_acc_200ep"),
                      "latency": TabularObjective("lat_ms_1080ti_1", direction="minimize")}
        eng = Engine(nb201, objectives, [("gcn", GCNPredictorGenerator(**FAST), 1.0)],
                     budget=Budget(evaluations=budget), seed=2, run_dir=run_dir, resume=resume)
        return [e.arch.key for e in eng.optimize().evaluations]

    full = run(tmp_path / "full", 22)
    run(tmp_path / "cut", 17)  # stops inside a batch: asked, not told
    assert run(tmp_path / "cut", 22, resume=True) == full


class _ToyObjective:
    """A cheap stand-in measured from the genotype (DARTS has no table)."""

    cheap = True

    def __init__(self, weights, direction):
        self.weights, self.direction = weights, direction

    def measure(self, arch, ctx):
        from monas.objective import Measurement

        ops = [op for cell in ("normal", "reduce") for op, _ in arch.genotype[cell]]
        return Measurement(float(sum(self.weights.get(op, 0.0) for op in ops)))

    def fingerprint(self, ctx):
        return {"toy": sorted(self.weights.items())}


def test_large_space_uses_a_sampled_pool_grown_by_mutation():
    from monas.registry import SEARCH_SPACES

    darts = SEARCH_SPACES.create("darts")
    objectives = {"merit": _ToyObjective({"sep_conv_3x3": 1.0, "dil_conv_3x3": 0.5, "skip_connect": 0.2}, "maximize"),
                  "cost": _ToyObjective({"sep_conv_3x3": 2.0, "sep_conv_5x5": 3.0, "dil_conv_3x3": 1.0}, "minimize")}
    gen = GCNPredictorGenerator(pool_size=150, n_mutants=30, **FAST)
    archive = Engine(darts, objectives, [("gcn", gen, 1.0)], budget=Budget(evaluations=30), seed=0).optimize()
    assert len(archive) == 30 and all(darts.contains(e.arch) for e in archive.evaluations)
    assert 150 + 30 <= len(gen.pool_keys_) <= 150 + 30 * gen.n_refits_ + 30


def test_predictions_depend_on_the_graph_structure(nb201):
    # Two cells with the same ops (one 3x3 conv, five skips) in different places: same adjacency,
    # same multiset of node features, only *where* the conv sits in the graph differs. The GCN is
    # invariant to node order, so only propagation along the adjacency tells them apart; a GCN
    # that ignored it (per-node features, mean readout) would predict the same value for both.
    a = nb201.make(("nor_conv_3x3",) + ("skip_connect",) * 5)
    b = nb201.make(("skip_connect",) * 5 + ("nor_conv_3x3",))
    ga, gb = nb201.to_graph(a), nb201.to_graph(b)
    assert sorted(map(tuple, ga[1])) == sorted(map(tuple, gb[1])) and np.array_equal(ga[0], gb[0])
    torch.manual_seed(0)
    model = GCN(ga[1].shape[1], hidden=16, layers=3).eval()
    with torch.no_grad():
        y = model(*stack_graphs([ga, gb]))
        y_empty = model(*stack_graphs([(np.zeros_like(ga[0]), ga[1])]))
    assert abs(float(y[0] - y[1])) > 1e-4
    assert abs(float(y[0] - y_empty[0])) > 1e-4  # dropping the edges changes the prediction
    # and a fitted predictor learns a target that only the structure determines
    rng = np.random.default_rng(0)
    archs = list({s.key: s for s in (nb201.sample(rng) for _ in range(60))}.values())[:40]
    archs += [a, b]
    y = np.array([float(s.genotype[0] == "nor_conv_3x3") - float(s.genotype[5] == "nor_conv_3x3") for s in archs])
    p = GCNPredictor(hidden=32, epochs=300, lr=3e-3, weight_decay=0.0, valid_fraction=0.0, seed=0)
    p.fit([nb201.to_graph(s) for s in archs], y)
    pa, pb = p.predict([ga, gb])
    assert pa - pb > 1.0  # truth: +1 against -1
