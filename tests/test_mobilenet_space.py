"""The MobileNet macro space: canonical keys, networks at any input size, the single-path
supernet, the graph form, measured objectives, and the generators that search it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from monas.budget import Budget
from monas.capabilities import offered
from monas.datasets import load_digits
from monas.engine import Engine
from monas.objective import MAXIMIZE, Measurement, Objective
from monas.registry import GENERATORS, OBJECTIVES, SEARCH_SPACES
from monas.search_space import ArchError
from monas.search_spaces.mobilenet import MobileNetSpace

SMALL = dict(MobileNetSpace.contract_params)


@pytest.fixture(scope="module")
def space():
    return MobileNetSpace()


@pytest.fixture(scope="module")
def digits():
    return load_digits(size=8)


def test_variables_are_depth_se_kernel_expansion(space):
    names = [v.name for v in space.variables()]
    assert names[:4] == ["s1_depth", "s1_se", "s1_b1_kernel", "s1_b1_expansion"]
    assert len(names) == 4 * (2 + 3 * 2)
    assert {v.options for v in space.variables() if v.name.endswith("_kernel")} == {(3, 5, 7)}
    assert {v.options for v in space.variables() if v.name.endswith("_expansion")} == {(3, 4, 6)}
    per_block = MobileNetSpace(se="block")
    assert "s1_b3_se" in [v.name for v in per_block.variables()]
    assert not any(v.name.endswith("_se") for v in MobileNetSpace(se="none").variables())


def test_blocks_beyond_a_stages_depth_do_not_change_the_key(space):
    rng = np.random.default_rng(0)
    names = [v.name for v in space.variables()]
    for _ in range(20):
        x = space.encode(space.sample(rng))
        x[names.index("s2_depth")] = 0  # depth 1: blocks 2 and 3 of stage 2 are dropped
        y = x.copy()
        y[names.index("s2_b3_kernel")] = 2
        y[names.index("s2_b2_expansion")] = 1
        a, b = space.decode(x), space.decode(y)
        assert a == b and a.key.split("_")[1].count("-") == 0
        # encode writes option 0 where a block is beyond the depth, so decode(encode(a)) is a
        assert space.encode(b)[names.index("s2_b3_kernel")] == 0
        assert space.decode(space.encode(b)) == b


def test_keys_read_back_and_bad_keys_name_the_form(space):
    a = space.from_key("k3e4s-k5e6s_k7e3_k3e3-k3e3-k7e6_k5e6s")
    assert [len(s) for s in a.genotype] == [2, 1, 3, 1]
    assert a.genotype[0][1] == (5, 6, 1)
    assert space.from_genotype(a.genotype) == a
    with pytest.raises(ArchError, match="k<kernel>e<expansion>"):
        space.from_key("k3x4_k3e3_k3e3_k3e3")
    with pytest.raises(ArchError, match="accepted depths"):
        space.from_key("k3e4-k3e4-k3e4-k3e4_k3e3_k3e3_k3e3")
    with pytest.raises(ArchError, match="per stage"):
        space.from_key("k3e4s-k3e4_k3e3_k3e3_k3e3")
    with pytest.raises(ArchError, match="expected"):
        space.from_key("k9e4_k3e3_k3e3_k3e3")


@pytest.mark.parametrize("size,num_classes,in_channels", [(32, 10, 3), (8, 10, 1), (17, 5, 2), (1, 3, 3)])
def test_build_takes_any_input_size_class_count_and_channels(space, size, num_classes, in_channels):
    a = space.sample(np.random.default_rng(size))
    net = space.build(a, num_classes=num_classes, in_channels=in_channels)
    assert net(torch.zeros(2, in_channels, size, size)).shape == (2, num_classes)


def test_deeper_wider_blocks_have_more_parameters(space):
    small = space.from_key("k3e3_k3e3_k3e3_k3e3")
    big = space.from_key("k7e6s-k7e6s-k7e6s_k7e6-k7e6-k7e6_k7e6-k7e6-k7e6_k7e6-k7e6-k7e6")
    count = lambda a: sum(p.numel() for p in space.build(a).parameters())  # noqa: E731
    assert count(big) > 3 * count(small)
    wide = sum(p.numel() for p in space.build(small, C=32).parameters())
    assert wide > 2 * count(small)


def test_the_supernet_runs_exactly_the_path_of_an_architecture():
    space = MobileNetSpace(**SMALL)
    net = space.supernet(in_channels=1, num_classes=10)
    a = space.from_key("k5e4s_k7e6")  # stage 1 at depth 1: its second position is skipped
    w, ew = net.arch_to_weights(a)
    assert ew is None and w["blocks"].shape == (4, 9) and w["se"].shape == (4, 2)
    assert w["blocks"][1].sum() == 0 and w["blocks"].sum() == 2
    out = net(torch.randn(4, 1, 8, 8), w)
    out.sum().backward()
    cands = space.candidates()
    used = {(0, cands.index((5, 4))), (2, cands.index((7, 6)))}
    for i, position in enumerate(net.positions):
        for o, block in enumerate(position):
            grads = [p.grad for name, p in block.named_parameters() if not name.startswith("se.")]
            assert all(g is not None for g in grads) == ((i, o) in used), (i, o)
    # squeeze-excite runs only where chosen: stage 1's block has it, stage 2's does not
    assert net.positions[0][cands.index((5, 4))].se.reduce.weight.grad is not None
    assert net.positions[2][cands.index((7, 6))].se.reduce.weight.grad is None


def test_the_supernet_takes_averaged_paths(digits):
    space = MobileNetSpace(**SMALL)
    net = space.supernet(in_channels=1)
    rng = np.random.default_rng(0)
    paths = [net.arch_to_weights(space.sample(rng))[0] for _ in range(8)]
    mean = {k: torch.stack([p[k] for p in paths]).mean(0) for k in paths[0]}
    assert torch.isfinite(net(torch.randn(2, 1, 8, 8), mean)).all()


def test_graph_form_has_one_node_count_and_tells_architectures_apart(space):
    rng = np.random.default_rng(3)
    archs = [space.sample(rng) for _ in range(10)]
    graphs = [space.to_graph(a) for a in archs]
    assert len({g[0].shape for g in graphs}) == 1 and len({g[1].shape for g in graphs}) == 1
    distinct = {g[1].tobytes() for g in graphs}
    assert len(distinct) == len({a.key for a in archs})
    adj, feats = space.to_graph(space.from_key("k3e3_k3e3_k3e3_k3e3"))
    assert feats[:, 2].sum() == 8  # every position beyond depth 1 is a skip node
    assert adj.sum() == adj.shape[0] - 1  # a chain


def test_space_offers_network_graph_and_single_path(space):
    assert {"network", "graph", "supernet.single_path"} <= offered(space)
    assert "supernet.mixture" not in offered(space)


def test_measured_objectives_work_on_it(digits):
    space = MobileNetSpace(**SMALL)
    objectives = {"params": OBJECTIVES.create("params"), "flops": OBJECTIVES.create("flops"),
                  "latency": OBJECTIVES.create("latency", device="cpu", warmup=1, repeats=3, threads=1)}
    engine = Engine(space, objectives, [("random", GENERATORS.create("random"), 1.0)], budget=Budget(evaluations=3),
                    seed=0, data=digits)
    archive = engine.optimize()
    assert len(archive) == 3
    for e in archive.evaluations:
        assert e.values["params"] > 0 and e.values["flops"] > 0 and e.values["latency"] > 0
        assert not e.details["flops"]["unsupported_ops"].get("aten::conv2d")


class BlockAccuracy(Objective):
    """A cheap stand-in for a trained accuracy: larger kernels and expansions score higher."""

    direction = MAXIMIZE
    cheap = True

    def fingerprint(self, ctx):
        return {"kind": "block_accuracy"}

    def measure(self, arch, ctx):
        return Measurement(50.0 + sum(k + e for stage in arch.genotype for k, e, _se in stage))


BLACK_BOX = {
    "random": {},
    "evolution": {"population_size": 4, "sample_size": 2},
    "nsga2": {"pop_size": 4},
    "optuna": {},
    "gcn_predictor": {**GENERATORS.get("gcn_predictor").contract_params, "pool_size": 32, "n_mutants": 4},
    "tnd_nas": {"mode": "black_box", "n_policies": 2, "samples": 2, "n_calibration": 2, "n_initial": 2,
                "policy_steps": 2},
}


@pytest.mark.parametrize("name", sorted(BLACK_BOX))
def test_generators_search_it(name):
    space = MobileNetSpace(**SMALL)
    objectives = {"accuracy": BlockAccuracy(), "params": OBJECTIVES.create("params", input_shape=[1, 8, 8]),
                  "flops": OBJECTIVES.create("flops", input_shape=[1, 8, 8])}
    gen = GENERATORS.create(name, **BLACK_BOX[name])
    engine = Engine(space, objectives, [(name, gen, 1.0)], budget=Budget(evaluations=8), seed=0)
    archive = engine.optimize()
    assert len(archive) >= 4 and all(space.contains(e.arch) for e in archive.evaluations)


def test_tnd_nas_one_shot_searches_it(digits):
    space = MobileNetSpace(**SMALL)
    objectives = {"accuracy": OBJECTIVES.create("accuracy", fidelity="supernet"),
                  "params": OBJECTIVES.create("params")}
    gen = GENERATORS.create("tnd_nas", mode="one_shot", n_policies=2, samples=2, n_calibration=2, C=8, keep=[2, 1],
                            epochs=2, warmup_epochs=1, interval=1, steps_per_epoch=3, search_batch_size=16)
    engine = Engine(space, objectives, [("tnd_nas", gen, 1.0)], budget=Budget(evaluations=3), seed=0, data=digits)
    archive = engine.optimize()
    assert len(archive) >= 1 and all(space.contains(e.arch) for e in archive.evaluations)
    assert all(0 <= e.values["accuracy"] <= 100 for e in archive.evaluations)
