"""TND-NAS: the faithful tests of METHODS.md section 3, plus both modes through the engine."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

from monas.budget import Budget
from monas.datasets import load_digits
from monas.engine import Engine
from monas.objectives.tabular import TabularObjective
from monas.plugins.tnd_nas import TNDNAS
from monas.plugins.tnd_nas.adapters import ChoiceAdapter
from monas.plugins.tnd_nas.policy import PolicySet, policy_gradient_loss
from monas.plugins.tnd_nas.rewards import Sweep, constrained_ranks, pareto_reward, product_reward
from monas.plugins.tnd_nas.shrinking import check_keep, shrink
from monas.plugins.tnd_nas.supernet_training import OneShotSearch, OneShotSettings
from monas.registry import GENERATORS, OBJECTIVES
from monas.search_spaces.darts import DartsSpace
from monas.search_spaces.nb201 import NB201Space


@pytest.fixture(scope="module")
def digits():
    return load_digits(size=8)


# ---------------------------------------------------------------- REINFORCE
def test_reinforce_gradient_matches_the_analytic_formula_on_a_toy_space():
    """alpha.grad = -(1/M) sum_m (R_m - b)(onehot(a_m) - softmax(alpha)), summed over edges."""
    pol = PolicySet({"choices": (2, 3)}, n=1, seed=3, init_std=0.5)
    samples = np.array([[[0, 2], [1, 2], [2, 0], [0, 0]]])  # (n=1, M=4, 2 edges)
    R = np.array([[0.9, 0.2, 0.5, 0.7]])
    b = 0.4
    adv = torch.as_tensor(R - b)
    loss = policy_gradient_loss(pol.alpha, pol.masks, pol._split(samples, shared=False), adv)
    loss.backward()
    p = torch.softmax(pol.alpha["choices"].detach()[0], dim=-1).numpy()
    onehot = np.eye(3)[samples[0]]  # (M, E, O)
    expected = -((R[0] - b)[:, None, None] * (onehot - p[None])).mean(axis=0)
    np.testing.assert_allclose(pol.alpha["choices"].grad[0].numpy(), expected, rtol=1e-10, atol=1e-12)


def test_adam_step_raises_the_probability_of_above_baseline_samples():
    pol = PolicySet({"choices": (2, 3)}, n=1, lr=0.1, seed=0)
    good, bad = np.array([2, 1]), np.array([0, 0])
    samples = np.array([[good, bad, good, bad]])
    before = pol.log_prob_np(np.stack([good, bad]))[0]
    pol.baseline[:] = 0.5  # b between the two rewards
    pol.step(samples, np.array([[1.0, 0.0, 1.0, 0.0]]))
    after = pol.log_prob_np(np.stack([good, bad]))[0]
    assert after[0] > before[0] and after[1] < before[1]


def test_baseline_starts_at_the_mean_then_moves_by_gamma():
    pol = PolicySet({"choices": (2, 3)}, n=1, gamma=0.95, seed=0)
    s = np.zeros((1, 2, 2), dtype=int)
    pol.step(s, np.array([[1.0, 3.0]]))
    assert float(pol.baseline[0]) == pytest.approx(2.0)
    pol.step(s, np.array([[4.0, 6.0]]))
    assert float(pol.baseline[0]) == pytest.approx(2.0 + 0.95 * (5.0 - 2.0))


# ---------------------------------------------------------------- rewards
def test_w_zero_gives_the_accuracy_only_reward():
    acc = np.array([90.0, 80.0, 95.0])
    costs = np.array([[1.0, 3.0], [0.2, 9.0], [5.0, 0.1]])
    targets = np.array([[2.0, 2.0]])
    R = product_reward(acc, costs, targets, np.zeros((1, 2)))
    np.testing.assert_allclose(R[0], acc / 100.0)
    R = product_reward(acc, costs, targets, np.zeros((1, 2)), np.zeros((1, 2)))
    np.testing.assert_allclose(R[0], acc / 100.0)


def test_soft_constraint_prefers_the_smaller_network_at_equal_accuracy():
    acc = np.array([90.0, 90.0])
    costs = np.array([[1.0], [3.0]])
    R = product_reward(acc, costs, np.array([[2.0]]), np.array([[-0.5]]))
    assert R[0, 0] > R[0, 1]
    assert R[0, 0] == pytest.approx(0.9 * 0.5 ** -0.5)


def test_pareto_rank_reward_counts_dominance_levels_and_violations():
    F = np.array([[-90, 1.0], [-80, 2.0], [-95, 3.0], [-70, 0.5], [-99, 0.1]])
    ranks = constrained_ranks(F, np.array([0, 0, 0, 0, 1.5]))
    assert ranks.tolist() == [0, 1, 0, 0, 2]  # the infeasible point ranks after every feasible level
    R = pareto_reward(ranks, F[:, 1:], np.array([[1.0]]), np.zeros((1, 1)))
    np.testing.assert_allclose(R[0], np.exp(-ranks))


def test_sweep_calibrates_geometric_targets_and_cycles_w():
    sweep = Sweep(["params", "lat"], n=3, w=[-1.0, -0.5], w_below=None)
    sweep.calibrate(np.array([[1.0, 2.0], [4.0, 8.0], [2.0, 3.0]]))
    np.testing.assert_allclose(sweep.targets, [[1.0, 2.0], [2.0, 4.0], [4.0, 8.0]])
    assert sweep.w()[:, 0].tolist() == [-1.0, -0.5, -1.0] and sweep.w_below() is None


def test_calibrated_targets_stay_within_the_hard_bounds_of_the_costs():
    costs = np.array([[1.0, 2.0], [4.0, 8.0], [2.0, 3.0], [3.0, 20.0]])
    sweep = Sweep(["params", "lat"], n=3)
    sweep.calibrate(costs, upper=np.array([np.inf, 10.0]))  # constraint lat <= 10
    # the span of the feasible cells (the 20-ms one is out), capped at the bound
    np.testing.assert_allclose(sweep.targets, [[1.0, 2.0], [2.0, 4.0], [4.0, 8.0]])
    sweep.calibrate(costs, upper=np.array([np.inf, 5.0]))
    assert sweep.targets[:, 1].max() <= 5.0 and sweep.targets[:, 0].max() == 2.0


def test_calibration_sets_far_out_cheap_cells_apart_from_the_working_span():
    """Cells with no path to the output time at ~0.005 ms, working cells at 1-30 ms (as on a
    phone): one policy keeps the cheapest cost, the others span the working cells geometrically."""
    rng = np.random.default_rng(0)
    working = np.exp(rng.normal(np.log(10.0), 0.5, 200))
    costs = np.concatenate([[0.005, 0.006, 0.04], working])[:, None]
    sweep = Sweep(["lat"], n=6)
    sweep.calibrate(costs)
    t = sweep.targets[:, 0]
    assert t[0] == pytest.approx(0.005)
    np.testing.assert_allclose(t[1:], working.min() * (working.max() / working.min()) ** np.linspace(0, 1, 5))
    plain = Sweep(["lat"], n=6, target_fence=None)  # geometric from the outlier: most policies aim below 1 ms
    plain.calibrate(costs)
    assert (plain.targets[:, 0] < 1.0).sum() == 4 and (t < 1.0).sum() == 1
    unchanged = Sweep(["lat"], n=6)  # no outliers: the plain geometric span from the cheapest cell
    unchanged.calibrate(working[:, None])
    np.testing.assert_allclose(unchanged.targets[:, 0],
                               working.min() * (working.max() / working.min()) ** np.linspace(0, 1, 6))
    with pytest.raises(ValueError, match="target_fence must be a positive number or null, got -1"):
        Sweep(["lat"], n=6, target_fence=-1)


def test_black_box_spends_few_evaluations_on_degenerate_cheap_cells():
    """Pixel 3 latency: cells with no path to the output (10% accuracy) time 300x faster than any
    working cell. Targets spread from them would aim most policies at costs where only such cells
    exist; set apart, a run evaluates few of them."""
    broken = {}
    for fence in (3.0, None):
        counts = []
        for seed in range(3):
            archive = _table_engine(TNDNAS(target_fence=fence), 150, seed, cost="lat_ms_pixel3").optimize()
            counts.append(int(np.sum(-archive.F()[:, 0] < 50.0)))
        broken[fence] = float(np.median(counts))
    assert broken[3.0] <= 0.5 * broken[None], broken


def test_per_cost_w_leaves_a_zero_weighted_cost_out_of_the_reward():
    sweep = Sweep(["params", "lat"], n=2, w={"params": -1.5, "lat": [0.0, -1.0]}, w_below={"params": 1.5})
    assert sweep.w().tolist() == [[-1.5, 0.0], [-1.5, -1.0]]
    assert sweep.w_below().tolist() == [[1.5, 0.0], [1.5, 0.0]]
    costs = np.array([[2.0, 10.0], [2.0, 40.0]])  # same params, latency 4x apart
    R = product_reward(np.array([90.0, 90.0]), costs, np.array([[1.0, 10.0], [1.0, 10.0]]),
                       sweep.w(), sweep.w_below())
    assert R[0, 0] == pytest.approx(R[0, 1])  # policy 0 ignores latency
    assert R[0, 0] == pytest.approx(0.9 * 2.0 ** -1.5)
    assert R[1, 1] == pytest.approx(0.9 * 2.0 ** -1.5 * 4.0 ** -1.0)  # policy 1 pays for it
    with pytest.raises(ValueError, match="unknown cost objectives.*latency"):
        Sweep(["params", "lat"], n=2, w={"latency": -1.0})


# ---------------------------------------------------------------- stages
def test_after_stage_s_every_edge_keeps_keep_s_ops():
    pol = PolicySet({"normal": (14, 8), "reduce": (14, 8)}, n=3, seed=1, init_std=1.0)
    assert check_keep(None, 8) == (5, 3, 1) and check_keep(None, 5) == (3, 2, 1)  # P-DARTS shape
    for kept in check_keep(None, 8):
        probs = pol.probs()
        dropped = shrink(pol, kept)
        for t in ("normal", "reduce"):
            assert (pol.masks[t].sum(-1) == kept).all()
            # what was dropped was never more probable than what stays
            stays = np.where(pol.masks[t].numpy(), probs[t], np.inf).min(-1)
            gone = np.where(dropped[t], probs[t], -np.inf).max(-1)
            assert (gone <= stays).all()
        assert np.isclose(pol.probs()["normal"].sum(-1), 1.0).all()
    with pytest.raises(ValueError, match="non-increasing"):
        check_keep([2, 3], 5)


def _tiny_search(data, keep=(3, 2, 1), weight_training="mixture", progress=None):
    space = NB201Space(C=4, N=1)
    adapter = ChoiceAdapter(space)
    pol = PolicySet(adapter.shapes, n=2, lr=0.05, seed=0, valid=adapter.valid_mask())
    settings = OneShotSettings(keep=tuple(keep), depths=(1,) * len(keep), C=4, epochs=(2,) * len(keep),
                               warmup_epochs=(1,) * len(keep), interval=1, batch_size=32, samples=2,
                               steps_per_epoch=2, weight_training=weight_training)

    def reward(samples, acc):
        return acc / 100.0

    return OneShotSearch(adapter, pol, settings, data, "cpu", 0, reward,
                         progress=progress or (lambda m: None)), pol


def test_alpha_gets_gradient_only_from_the_policy_term(digits):
    search, pol = _tiny_search(digits)
    search._build(0)
    x, y = next(iter(digits.loader("train", batch_size=32)))
    before = pol.alpha["choices"].detach().clone()
    for k in range(2):
        search.weight_step(x, y, k)
        assert pol.alpha["choices"].grad is None  # the cross-entropy never reaches alpha
    assert torch.equal(pol.alpha["choices"].detach(), before)
    assert any(p.grad is not None for p in search.net_.parameters())
    search.policy_step()
    assert pol.alpha["choices"].grad is not None
    assert not torch.equal(pol.alpha["choices"].detach(), before)


def test_one_shot_stages_shrink_to_the_keep_schedule(digits):
    seen = []
    search, pol = _tiny_search(digits, keep=(3, 2, 1), weight_training="uniform",
                               progress=lambda m: seen.append(pol.masks["choices"].sum(-1).unique().tolist())
                               if "done" in m else None)
    search.run()
    assert seen == [[3], [2], [1]]
    assert search.done and len(search.history_) == 6
    assert all(h["policy_steps"] == (2 if h["epoch"] == 2 else 0) for h in search.history_)


# ---------------------------------------------------------------- spaces
def test_darts_samples_map_to_valid_genotypes_and_back():
    space = DartsSpace()
    adapter = ChoiceAdapter(space)
    assert adapter.shapes == {"choices": (24, 10)}  # per node and cell type: the input pair, 2 ops
    pol = PolicySet(adapter.shapes, n=1, seed=0, init_std=1.0, valid=adapter.valid_mask())
    rng = np.random.default_rng(0)
    for sample in pol.sample(0, 20, rng):
        assert (sample < adapter.cards).all()  # never an option a variable does not have
        arch = adapter.to_arch(sample)
        assert space.contains(arch)
        assert adapter.to_arch(adapter.sample_of(arch)).key == arch.key
        for t in ("normal", "reduce"):
            assert len(arch.genotype[t]) == 8 and all(op != "none" for op, _ in arch.genotype[t])
    assert adapter.derive(pol.probs(0)).space == "darts"


# ---------------------------------------------------------------- black-box mode through the engine
def _table_engine(gen, budget, seed, cost="lat_ms_1080ti_1"):
    objectives = {"accuracy": TabularObjective("c10_test_acc_200ep"),
                  "cost": TabularObjective(cost, direction="minimize")}
    return Engine(NB201Space(), objectives, [("tnd_nas", gen, 1.0)], budget=Budget(evaluations=budget), seed=seed)


def test_black_box_run_is_registered_and_proposes_no_duplicates():
    gen = GENERATORS.create("tnd_nas")
    assert isinstance(gen, TNDNAS)
    engine = _table_engine(gen, 120, 0)
    archive = engine.optimize()
    assert len(archive) == 120 and engine.n_duplicates == 0
    assert gen.mode_ == "black_box" and len(gen.derived()) == gen.n_policies
    assert archive.hypervolume() > 0


def test_black_box_resume_continues_like_an_uninterrupted_run():
    a = _table_engine(TNDNAS(n_policies=4), 60, 1)
    a.optimize()
    first = _table_engine(TNDNAS(n_policies=4), 32, 1)
    first.optimize()
    state = first.slots[0].generator.state_dict()
    gen = TNDNAS(n_policies=4)
    second = _table_engine(gen, 60, 1)
    for ev in first.archive.evaluations:
        second._remember(ev)
    second.start()
    gen.load_state_dict(state)
    second.optimize()
    assert [e.arch.key for e in second.archive.evaluations] == [e.arch.key for e in a.archive.evaluations]


def test_more_negative_w_gives_smaller_derived_networks_across_seeds():
    """Product reward on the NB201 table with params as the cost: w = -2 vs w = -0.05."""
    sizes = {}
    for w in (-0.05, -2.0):
        params = []
        for seed in range(3):
            gen = TNDNAS(n_policies=1, reward="product", w=w, w_below=None, skip_dominated=False)
            _table_engine(gen, 80, seed, cost="c10_params_M").optimize()
            for _ in range(30):  # REINFORCE on the cached evaluations settles the policy
                gen.experience_.cached_steps(gen.policies_, "product", gen.sweep_, 1.0, 16, 1, gen.rng_)
            params.append(gen.ctx_.measure(gen.adapter_.to_arch(gen.policies_.argmax(0)), "cost"))
        sizes[w] = float(np.mean(params))
    assert sizes[-2.0] < sizes[-0.05]


def test_neighbours_are_every_allowed_one_variable_change():
    from monas.plugins.tnd_nas.proposals import neighbours

    allowed = np.array([[True, True, True], [True, False, True]])  # option 1 of variable 1 masked off
    got = {tuple(r) for r in neighbours(np.array([[0, 0], [2, 2]]), allowed)}
    assert got == {(1, 0), (2, 0), (0, 2), (1, 2)}


def test_the_policy_chooses_among_the_front_neighbours_by_its_probabilities():
    from monas.plugins.tnd_nas.proposals import neighbours, propose_near_front

    adapter = ChoiceAdapter(NB201Space())
    pol = PolicySet(adapter.shapes, n=2, seed=0, init_std=1.0)
    pool = neighbours(np.array([[0, 1, 2, 3, 4, 0]]), adapter.valid_mask()["choices"])
    for k in range(2):
        lp = pol.log_prob_np(pool, k)
        top = pool[int(np.argmax(lp))]
        arch, sample = propose_near_front(pol, k, adapter, pool, set(), set(), None, -math.inf, None)
        assert sample.tolist() == top.tolist()
        known = {adapter.to_arch(top).key}  # the most probable one is known: the next one
        second = pool[np.argsort(-lp, kind="stable")[1]]
        arch, sample = propose_near_front(pol, k, adapter, pool, known, {top.tobytes()}, None, -math.inf, None)
        assert sample.tolist() == second.tolist()


class _Recording(TNDNAS):
    """Records, at every ask, the proposals and the evaluated front they were proposed from."""

    def _ask(self, n):
        out = super()._ask(n)
        _, front_idx = self._front_filter()
        front = np.stack([self.experience_.samples[i] for i in front_idx]) if len(front_idx) else None
        self.log_ = getattr(self, "log_", []) + [(front, [self.adapter_.sample_of(a) for a in out])]
        return out


@pytest.mark.parametrize("share", [1.0, 0.0])
def test_front_neighbour_proposals_are_one_variable_from_the_evaluated_front(share):
    gen = _Recording(front_neighbours=share)
    _table_engine(gen, 160, 0).optimize()
    near = []
    for front, samples in gen.log_[1:]:  # the first ask is the random start
        for x in samples:
            near.append(bool((np.sum(front != x[None, :], axis=1) == 1).any()))
    if share == 1.0:
        assert all(near) and len(near) >= 100
    else:  # the policies' own draws: next to their argmax, often not next to the front
        assert np.mean(near) < 0.9, np.mean(near)


def test_bad_parameters_name_what_is_accepted():
    with pytest.raises(ValueError, match="mode='x'; accepted: auto, one_shot, black_box"):
        TNDNAS(mode="x")
    with pytest.raises(ValueError, match="target_range"):
        TNDNAS(target_range=(0.5, 0.2))
    gen = TNDNAS(costs=["nope"])
    with pytest.raises(ValueError, match="costs \\['nope'\\]"):
        _table_engine(gen, 10, 0).start()
    gen = TNDNAS(n_policies=2, targets={"cost": [1.0]})
    with pytest.raises(ValueError, match="needs 2 positive numbers"):
        _table_engine(gen, 10, 0).start()


# ---------------------------------------------------------------- one-shot mode through the engine
def test_one_shot_run_publishes_the_supernet_and_proposes_derived_cells_first(digits):
    space = NB201Space(C=4, N=1)
    objectives = {"accuracy": OBJECTIVES.create("accuracy", fidelity="supernet"), "params": OBJECTIVES.create("params")}
    gen = TNDNAS(mode="one_shot", n_policies=2, reward="product", w=[0.0, -1.0], w_below=None, samples=2,
                 n_calibration=4, C=4, keep=[2, 1], epochs=2, warmup_epochs=1, interval=2, steps_per_epoch=4,
                 search_batch_size=32, weight_training="sampled")
    engine = Engine(space, objectives, [("tnd_nas", gen, 1.0)], budget=Budget(evaluations=6), seed=0, data=digits)
    archive = engine.optimize()
    assert gen.search_.done and engine.eval_ctx.shared["supernet"] is gen.search_.net_
    assert gen.adapter_.prune_dead_ops  # on by default in the one-shot mode
    assert len(archive) == 6 and all(e.state.value == "complete" for e in archive.evaluations)
    assert len(gen.final_derived_) == 2
    first = [e.arch.key for e in archive.evaluations[:len(set(gen.final_derived_))]]
    assert set(first) == set(gen.final_derived_)  # each policy's derived cell comes first
    assert all(0.0 <= e.values["accuracy"] <= 100.0 for e in archive.evaluations)
    assert not math.isnan(float(gen.policies_.baseline[0]))


def test_darts_one_shot_search_runs_and_proposes_the_derived_cells_first(digits):
    space = DartsSpace(C=8, layers=3, num_classes=10, in_channels=1)
    objectives = {"accuracy": OBJECTIVES.create("accuracy", fidelity="supernet"), "params": OBJECTIVES.create("params")}
    gen = TNDNAS(mode="one_shot", n_policies=2, reward="product", w=[0.0, -1.0], w_below=None, samples=2,
                 n_calibration=4, C=4, depth=2, keep=[5, 3, 1], epochs=2, warmup_epochs=1, interval=2,
                 steps_per_epoch=3, search_batch_size=32)
    engine = Engine(space, objectives, [("tnd_nas", gen, 1.0)], budget=Budget(evaluations=4), seed=0, data=digits)
    archive = engine.optimize()
    assert all(e.state.value == "complete" for e in archive.evaluations)
    assert archive.evaluations[0].arch.key == gen.final_derived_[0]
    # proposals sample the last stage's 3 options per variable (fewer where a variable has fewer)
    assert (gen.sampling_masks_["choices"].sum(-1) == np.minimum(3, gen.adapter_.cards)).all()


def test_one_shot_search_resumes_from_its_epoch_checkpoint(digits, tmp_path):
    full, pol_full = _tiny_search(digits, keep=(3, 1), weight_training="uniform")
    full.run()

    class Killed(Exception):
        pass

    def kill_after_stage_one(message):
        if "stage 1/2 done" in message:
            raise Killed

    first, _ = _tiny_search(digits, keep=(3, 1), weight_training="uniform", progress=kill_after_stage_one)
    first.checkpoint_path = tmp_path / "search.pt"
    with pytest.raises(Killed):
        first.run()
    again, pol = _tiny_search(digits, keep=(3, 1), weight_training="uniform")
    again.checkpoint_path = tmp_path / "search.pt"
    again.load_state_dict(torch.load(again.checkpoint_path, weights_only=False))
    again.run()
    assert again.done and len(again.history_) == len(full.history_)
    torch.testing.assert_close(pol.alpha["choices"].detach(), pol_full.alpha["choices"].detach())
    assert torch.equal(pol.masks["choices"], pol_full.masks["choices"])


def test_one_shot_mode_prunes_dead_ops_and_black_box_keeps_them():
    adapter = ChoiceAdapter(NB201Space(), prune_dead_ops=True)
    dead = np.array([3, 0, 0, 1, 0, 0])  # conv 3x3 into node 1, which feeds nothing
    assert adapter.to_arch(dead).genotype == ("none", "none", "none", "skip_connect", "none", "none")
    assert ChoiceAdapter(NB201Space()).to_arch(dead).genotype[0] == "nor_conv_3x3"
    probs = {"choices": np.eye(5)[dead] * 0.9 + 0.02}
    assert adapter.derive(probs).genotype[0] == "none"
    gen = TNDNAS(n_policies=2)
    _table_engine(gen, 4, 0).optimize()
    assert gen.mode_ == "black_box" and not gen.adapter_.prune_dead_ops
    with pytest.raises(ValueError, match="prune_dead_ops must be true, false or null"):
        TNDNAS(prune_dead_ops="yes")


# ---------------------------------------------------------------- the paper's setup as a preset
def test_paper_preset_is_the_dev_code_setup_and_explicit_parameters_override_it():
    gen = TNDNAS(preset="paper")
    assert (gen.mode, gen.reward, gen.w_below, gen.samples, gen.C) == ("one_shot", "product", None, 10, 24)
    assert list(gen.stage_depths) == [5, 11, 17] and gen.epochs == 16 and gen.warmup_epochs == 8
    assert gen.targets == {"params": [4.4, 3.2, 2.5]} and gen.w == [-0.95, -1.0, -1.0]
    assert gen.keep == {"normal_*": [6, 3, 1], "reduce_*": [4, 2, 1]} and gen.policy_lr == 1e-2
    assert TNDNAS(preset="paper", epochs=2).epochs == 2  # a given parameter wins
    assert "preset" in inspect.signature(TNDNAS).parameters and "keep" in inspect.signature(TNDNAS).parameters
    with pytest.raises(ValueError, match="preset='papr'; accepted: paper"):
        TNDNAS(preset="papr")


def test_paper_preset_searches_darts_with_the_dev_op_sets_and_per_cell_keep_schedules(digits):
    space = DartsSpace(C=8, layers=3, num_classes=10, in_channels=1)
    objectives = {"accuracy": OBJECTIVES.create("accuracy", fidelity="supernet"),
                  "params": OBJECTIVES.create("params", build_kwargs={"C": 8, "layers": 5})}
    gen = TNDNAS(preset="paper", C=4, stage_depths=[1, 2, 2], epochs=1, warmup_epochs=0, steps_per_epoch=2,
                 interval=1, samples=2, search_batch_size=16)
    stages = []
    gen_search = gen._new_search

    def watched():
        search = gen_search()
        search.progress = lambda m: stages.append(gen.policies_.masks["choices"].sum(-1).numpy().copy()) \
            if "done" in m else None
        return search

    gen._new_search = watched
    engine = Engine(space, objectives, [("tnd_nas", gen, 1.0)], budget=Budget(evaluations=3), seed=0, data=digits)
    engine.optimize()
    names = [v.name for v in gen.adapter_.variables]
    ops = {i: ("normal" if n.startswith("normal") else "reduce") for i, n in enumerate(names) if "_op_" in n}
    normal_allowed = {"skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"}
    reduce_allowed = {"skip_connect", "max_pool_3x3", "avg_pool_3x3"}
    # after stage s an op variable keeps min(keep[s], its allowed options): normal 5 -> 5, 3, 1; reduce 3 -> 3, 2, 1
    for s, (kn, kr) in enumerate(((5, 3), (3, 2), (1, 1))):
        for i, cell in ops.items():
            assert (stages[s][:, i] == (kn if cell == "normal" else kr)).all(), (s, names[i])
    for e in engine.archive.evaluations:
        for cell, allowed in (("normal", normal_allowed), ("reduce", reduce_allowed)):
            assert {op for op, _ in e.arch.genotype[cell]} <= allowed
    assert gen.sweep_.targets[:, 0].tolist() == [4.4, 3.2, 2.5]


def test_dominance_filter_needs_a_strictly_cheaper_front_point():
    from monas.plugins.tnd_nas.proposals import FrontFilter

    front = FrontFilter(np.array([93.0]), np.array([[0.5, 2.0]]))
    assert front.dominated(np.array([0.6, 2.0]), ref_acc=90.0)  # costs more in one, as much in the other
    assert not front.dominated(np.array([0.5, 2.0]), ref_acc=90.0)  # a cost tie predicts nothing
    assert not front.dominated(np.array([0.4, 3.0]), ref_acc=90.0)  # cheaper in one cost
    assert not front.dominated(np.array([0.6, 2.5]), ref_acc=94.0)  # the policy already beats that point
