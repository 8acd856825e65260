"""TND-NAS on a space that is neither nb201 nor darts, and costs (measured latency among them)
that must reach the reward: in the black-box mode, in the one-shot mode, and as the engine's
cached measurement of the very architecture whose accuracy is rewarded (DARTS included)."""
from __future__ import annotations

import numpy as np
import pytest

from layer_space import OPTIONS, LayerSpace, NoSupernetSpace
from monas.budget import Budget
from monas.capabilities import CapabilityError, offered
from monas.datasets import load_digits
from monas.engine import Engine
from monas.objective import MAXIMIZE, Measurement, Objective
from monas.objectives.latency import LatencyObjective
from monas.plugins.tnd_nas import TNDNAS
from monas.plugins.tnd_nas.rewards import product_reward
from monas.registry import OBJECTIVES
from monas.search_spaces.darts import DartsSpace


@pytest.fixture(scope="module")
def digits():
    return load_digits(size=8)


class ConvAccuracy(Objective):
    """A cheap stand-in for a trained accuracy: every conv adds accuracy, 5x5 a little more."""

    direction = MAXIMIZE
    cheap = True

    def fingerprint(self, ctx):
        return {"kind": "conv_accuracy"}

    def measure(self, arch, ctx):
        return Measurement(80.0 + 2.0 * arch.genotype.count("conv3") + 2.5 * arch.genotype.count("conv5"))


def _latency():
    # a real timed network: 16 channels at 16x16, one pinned thread, median of 7 passes, timed on
    # the thread's own CPU clock so a loaded machine (CI, other jobs) does not reorder the cells
    return LatencyObjective(device="cpu", batch_size=1, input_shape=[1, 16, 16], warmup=1, repeats=7, threads=1,
                            clock="thread")


def _black_box(w, seed=0, reward="product"):
    space = LayerSpace(n_layers=6, width=16)
    gen = TNDNAS(mode="black_box", n_policies=1, reward=reward, w={"latency": w}, w_below=None,
                 n_calibration=4, n_initial=4, policy_steps=5, samples=8)
    engine = Engine(space, {"accuracy": ConvAccuracy(), "latency": _latency()}, [("tnd_nas", gen, 1.0)],
                    budget=Budget(evaluations=24), seed=seed)
    engine.optimize()
    derived = gen.adapter_.derive(gen.policies_.probs(0))
    return engine.evaluator.value(derived, "latency"), derived


@pytest.mark.parametrize("reward", ["product", "pareto"])
def test_black_box_measured_latency_in_the_reward_moves_the_policy_to_faster_networks(reward):
    slow, slow_arch = _black_box(0.0)  # product with w = 0: the reward is the accuracy alone -> convs
    fast, fast_arch = _black_box(-2.0, reward=reward)
    assert fast_arch.genotype.count("skip") > slow_arch.genotype.count("skip")
    assert fast < 0.5 * slow, (fast_arch.key, fast, slow_arch.key, slow)


def _one_shot(digits, w, space=None, **kw):
    space = space or LayerSpace(n_layers=4, width=8)
    objectives = {"accuracy": OBJECTIVES.create("accuracy", fidelity="supernet"),
                  "latency": LatencyObjective(device="cpu", batch_size=1, warmup=1, repeats=5, threads=1,
                                              clock="thread")}
    params = dict(mode="one_shot", n_policies=1, reward="product", w={"latency": w}, w_below=None, samples=4,
                  n_calibration=4, C=8, keep=[2, 1], epochs=3, warmup_epochs=1, interval=1, steps_per_epoch=6,
                  search_batch_size=32, weight_training="uniform", policy_lr=0.2)
    params.update(kw)
    gen = TNDNAS(**params)
    engine = Engine(space, objectives, [("tnd_nas", gen, 1.0)], budget=Budget(evaluations=2), seed=0, data=digits)
    engine.optimize()
    return engine, gen


def test_one_shot_measured_latency_in_the_reward_moves_the_policy_to_faster_networks(digits):
    e0, g0 = _one_shot(digits, 0.0)
    e1, g1 = _one_shot(digits, -4.0)
    a0 = g0.adapter_.derive(g0.policies_.probs(0))
    a1 = g1.adapter_.derive(g1.policies_.probs(0))
    p_skip0 = g0.policies_.probs(0)["choices"][:, OPTIONS.index("skip")].mean()
    p_skip1 = g1.policies_.probs(0)["choices"][:, OPTIONS.index("skip")].mean()
    assert p_skip1 > p_skip0 + 0.1, (p_skip0, p_skip1)
    assert e1.evaluator.value(a1, "latency") < e0.evaluator.value(a0, "latency")


def _spy(search, record):
    """Record, per policy step of ``search``, the samples, their accuracies and rewards, and the
    architectures whose single path the supernet ran (its ``arch_to_weights`` calls)."""
    build, reward_fn = search._build, search.reward_fn

    def spied_build(stage):
        build(stage)
        to_weights = search.net_.arch_to_weights

        def arch_to_weights(arch, *a, **k):
            record["paths"].add(arch.key)
            return to_weights(arch, *a, **k)

        search.net_.arch_to_weights = arch_to_weights

    def spied_reward(samples, acc):
        out = reward_fn(samples, acc)
        record["steps"].append((samples.copy(), acc.copy(), out.copy()))
        return out

    search._build, search.reward_fn = spied_build, spied_reward


@pytest.mark.parametrize("space_name", ["layers", "darts"])
def test_reward_latency_is_the_engines_cached_measurement_of_the_rewarded_architecture(digits, space_name):
    space = (LayerSpace(n_layers=4, width=8) if space_name == "layers"
             else DartsSpace(C=4, layers=2, num_classes=10, in_channels=1))
    objectives = {"accuracy": OBJECTIVES.create("accuracy", fidelity="supernet"), "latency": _CountingLatency()}
    gen = TNDNAS(mode="one_shot", n_policies=2, reward="product", w={"latency": -1.0}, w_below=None, samples=3,
                 n_calibration=3, C=4, keep=[2, 1], epochs=2, warmup_epochs=1, interval=2, steps_per_epoch=4,
                 search_batch_size=16, weight_training="sampled", **({"depth": 2} if space_name == "darts" else {}))
    engine = Engine(space, objectives, [("tnd_nas", gen, 1.0)], budget=Budget(evaluations=2), seed=0, data=digits)
    record = {"paths": set(), "steps": []}
    new_search = gen._new_search

    def spied_search():
        search = new_search()
        _spy(search, record)
        return search

    gen._new_search = spied_search
    engine.optimize()
    assert record["steps"], "no REINFORCE step ran"
    fp = engine.evaluator.fingerprint("latency")
    for samples, acc, rewards in record["steps"]:
        for k in range(samples.shape[0]):
            archs = [gen.adapter_.to_arch(s) for s in samples[k]]
            # the path whose accuracy was rewarded is the architecture that was priced
            assert {a.key for a in archs} <= record["paths"]
            cached = np.array([[engine.evaluator.cache[(a.key, "latency", fp)].value] for a in archs])
            expected = product_reward(acc[k], cached, gen.sweep_.targets[k:k + 1], gen.sweep_.w()[k:k + 1], None)[0]
            np.testing.assert_allclose(rewards[k], expected, rtol=1e-12)
    # every latency came from one measurement per architecture (the cache), never re-timed
    assert objectives["latency"].calls == len({k for k in engine.evaluator.cache if k[1] == "latency"})


class _CountingLatency(LatencyObjective):
    def __init__(self):
        super().__init__(device="cpu", batch_size=1, warmup=0, repeats=3, threads=1, max_iqr_percent=None)
        self.calls = 0

    def measure(self, arch, ctx):
        self.calls += 1
        return super().measure(arch, ctx)


def test_black_box_runs_on_a_space_that_is_neither_nb201_nor_darts():
    space = NoSupernetSpace(n_layers=8)
    assert offered(space) == {"categorical"}
    gen = TNDNAS(n_policies=4, n_calibration=8)
    engine = Engine(space, {"accuracy": ConvAccuracy(), "latency": _ConvCount()}, [("tnd_nas", gen, 1.0)],
                    budget=Budget(evaluations=40), seed=0)
    archive = engine.optimize()
    assert gen.mode_ == "black_box" and len(archive) == 40 and engine.n_duplicates == 0
    assert len({e.arch.key for e in archive.evaluations}) == 40


class _ConvCount(Objective):
    cheap = True

    def measure(self, arch, ctx):
        return Measurement(1.0 + sum(o != "skip" for o in arch.genotype))


def test_one_shot_on_a_space_without_a_supernet_is_refused_before_any_work(tmp_path):
    space = NoSupernetSpace()
    gen = TNDNAS(mode="one_shot")
    assert gen.required_capabilities() == ("categorical", "supernet.single_path")
    with pytest.raises(CapabilityError, match="needs the capability 'supernet.single_path'"):
        Engine(space, {"accuracy": ConvAccuracy()}, [("tnd_nas", gen, 1.0)], run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    # auto picks the black-box mode where the space offers no supernet
    assert TNDNAS().required_capabilities() == ("categorical",)


def test_one_shot_runs_on_the_test_space_through_its_single_path_supernet(digits):
    engine, gen = _one_shot(digits, -1.0)
    assert gen.search_.done and engine.eval_ctx.shared["supernet"] is gen.search_.net_
    assert all(e.state.value == "complete" for e in engine.archive.evaluations)
