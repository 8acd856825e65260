"""sharpDARTS: Cosine Power Annealing, Max-W weighting, SharpSepConv ops in the supernet."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from monas.plugins.darts import Relaxation, SpaceAdapter
from monas.plugins.sharp_darts import MaxWRelaxation, SharpDarts, cosine_power_annealing
from monas.registry import SEARCH_SPACES
from monas.search_spaces.darts.sharp_operations import SharpSepConv

ADAPTER = SpaceAdapter(SEARCH_SPACES.create("darts"))


def test_cpa_endpoints_and_power_below_cosine():
    E, hi, lo = 50, 0.025, 1e-4
    for n in (1, 2, 10):
        lr = cosine_power_annealing(E, hi, lo, exponent_order=n)
        assert lr[0] == pytest.approx(hi) and lr[-1] == pytest.approx(lo)
        assert all(a >= b - 1e-15 for a, b in zip(lr, lr[1:]))  # non-increasing
    c = [(1 + math.cos(math.pi * e / E)) / 2 for e in range(1, E + 1)]
    cosine = [lo + (ci - c[-1]) / (c[0] - c[-1]) * (hi - lo) for ci in c]
    assert np.allclose(cosine_power_annealing(E, hi, lo, exponent_order=1), cosine)  # n=1: scaled cosine
    for n in (2, 10):
        power = cosine_power_annealing(E, hi, lo, exponent_order=n)
        assert all(p <= q + 1e-12 for p, q in zip(power, cosine))
        assert power[E // 4] < cosine[E // 4] - 1e-3  # falls faster early


def test_cpa_warm_up_ramps_linearly_then_anneals():
    E, W, hi, lo = 20, 5, 0.025, 1e-4
    lr = cosine_power_annealing(E, hi, lo, exponent_order=2, warmup_epochs=W)
    p = [(v - lo) / (hi - lo) for v in lr]
    assert np.allclose(p[: W + 1], [k / (W + 1) for k in range(1, W + 2)])
    assert all(a >= b - 1e-15 for a, b in zip(lr[W:], lr[W + 1:]))
    assert lr[-1] == pytest.approx(lo)
    with pytest.raises(ValueError, match="exponent_order"):
        cosine_power_annealing(10, hi, lo, exponent_order=0.5)
    with pytest.raises(ValueError, match="warmup_epochs"):
        SharpDarts(epochs=3, lr_warmup_epochs=2)


def test_max_w_factors():
    relax = MaxWRelaxation(ADAPTER, ADAPTER.all_ops)
    g = torch.Generator().manual_seed(0)
    params = {"alpha.normal": torch.randn(14, 8, generator=g), "alpha.reduce": torch.zeros(14, 8)}
    w, ew = relax.weights(params, 0, 1)
    assert ew is None
    best = params["alpha.normal"].argmax(dim=1)
    assert torch.allclose(w["normal"][torch.arange(14), best], torch.ones(14))
    assert (w["normal"] > 0).all() and (w["normal"] <= 1).all()
    gap = torch.softmax(params["alpha.normal"], -1).max(-1, keepdim=True).values - torch.softmax(params["alpha.normal"], -1)
    assert torch.allclose(w["normal"], 1 - gap)
    assert torch.equal(w["reduce"], torch.ones(14, 8))  # uniform alpha: every op gets factor 1
    assert relax.derive(params)[0][1] == Relaxation(ADAPTER, ADAPTER.all_ops).derive(params)[0][1]


def _convs(module):
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def test_sharp_supernet_uses_balanced_sharp_sep_convs():
    gen = SharpDarts()
    opts = gen.supernet_options(ADAPTER)
    net = ADAPTER.build_supernet(opts["mode"], **ADAPTER.supernet_kwargs(8, 3, 1, 10, op_set=opts["op_set"]))
    edge = net.cells[0].edges[0]
    ops = dict(zip(net.ops, edge.ops))
    for name in ("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"):
        assert isinstance(ops[name], SharpSepConv), name
    sep, dil = _convs(ops["sep_conv_3x3"]), _convs(ops["dil_conv_3x3"])
    assert len(sep) == len(dil) == 4  # dw, 1x1, dw, 1x1: dilated ops as deep as separable ones
    assert dil[0].dilation == (2, 2) and dil[2].dilation == (1, 1) and dil[2].stride == (1, 1)
    assert dil[2].padding == (1, 1) and dil[2].groups == dil[2].in_channels
    reduce_edge = next(c for c in net.cells if c.reduction).edges[0]
    red = _convs(dict(zip(net.ops, reduce_edge.ops))["dil_conv_5x5"])
    assert red[0].stride == (2, 2) and red[2].stride == (1, 1) and red[2].dilation == (1, 1)


def test_schedule_is_cpa_and_weighting_can_be_scalar():
    gen = SharpDarts(epochs=6, w_lr=0.025, w_lr_min=1e-4, exponent_order=2)
    assert gen.w_lrs() == cosine_power_annealing(6, 0.025, 1e-4, 2)
    assert type(gen.relaxation(ADAPTER, ADAPTER.all_ops)) is MaxWRelaxation
    assert type(SharpDarts(weighting="scalar").relaxation(ADAPTER, ADAPTER.all_ops)) is Relaxation
    with pytest.raises(ValueError, match="weighting"):
        SharpDarts(weighting="max")


def test_generator_schedule_matches_the_cosine_power_formula_written_out():
    # sharpDARTS cnn/cosine_power_annealing.py, n = 2, E = 6, no warm-up, by hand:
    # c(e) = (1 + cos(pi e / 6)) / 2 for e = 1..6; p = 2 ** (c + 1); p -> (p - min) / (max - min)
    E, hi, lo = 6, 0.025, 1e-4
    c = [(1.0 + math.cos(math.pi * e / E)) / 2.0 for e in range(1, E + 1)]
    p = [2.0 ** (ci + 1.0) for ci in c]
    p = [(pi - min(p)) / (max(p) - min(p)) for pi in p]
    expect = [lo + pi * (hi - lo) for pi in p]
    got = SharpDarts(epochs=E, w_lr=hi, w_lr_min=lo, exponent_order=2).w_lrs()
    assert np.allclose(got, expect, rtol=0, atol=1e-12)
    # a linear decay (or plain cosine) is far from it in the middle of the run
    linear = [hi - (hi - lo) * k / (E - 1) for k in range(E)]
    assert abs(got[2] - linear[2]) > 1e-3
    # with warm-up W = 2: epochs shifted by W, horizon E - W, normalised over all E, then the ramp
    E, W = 8, 2
    c = [(1.0 + math.cos(math.pi * (e - W) / (E - W))) / 2.0 for e in range(1, E + 1)]
    p = [2.0 ** (ci + 1.0) for ci in c]
    p = [(pi - min(p)) / (max(p) - min(p)) for pi in p]
    p[: W + 1] = [1 / 3, 2 / 3, 1.0]
    expect = [lo + pi * (hi - lo) for pi in p]
    got = SharpDarts(epochs=E, w_lr=hi, w_lr_min=lo, exponent_order=2, lr_warmup_epochs=W).w_lrs()
    assert np.allclose(got, expect, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- the op set travels with the genotype
def _n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_derived_sharp_cell_is_built_with_the_sharp_ops():
    """A sharpDARTS cell names its op set; building it through the space gives SharpSepConv (as
    deep for dil as for sep), so params/FLOPs objectives and retraining see the searched ops."""
    space = SEARCH_SPACES.create("darts")
    g = torch.Generator().manual_seed(0)
    params = {"alpha.normal": torch.randn(14, 8, generator=g), "alpha.reduce": torch.randn(14, 8, generator=g)}
    params["alpha.normal"][:, ADAPTER.all_ops.index("dil_conv_5x5")] += 5.0  # a dil-conv cell
    arch = SharpDarts().relaxation(ADAPTER, ADAPTER.all_ops).derive(params)[0][1]
    assert arch.genotype["op_set"] == "sharp" and arch.key.endswith(";op_set=sharp")
    assert space.from_key(arch.key) == arch and space.from_key(arch.key).genotype == arch.genotype
    assert space.contains(arch)
    net = space.build(arch, C=8, layers=3)
    plain = space.build(space.with_op_set(arch, "darts"), C=8, layers=3)
    assert any(isinstance(m, SharpSepConv) for m in net.modules())
    assert not any(isinstance(m, SharpSepConv) for m in plain.modules())
    assert _n_params(net) > _n_params(plain)
    assert _n_params(net) == _n_params(space.build(arch, C=8, layers=3, op_set="sharp"))
    # the plain ops on request: scalar weighting over op_set "darts" derives plain cells
    plain_arch = SharpDarts(op_set="darts").relaxation(ADAPTER, ADAPTER.all_ops).derive(params)[0][1]
    assert "op_set" not in plain_arch.genotype and plain_arch == space.with_op_set(arch, "darts")


def test_plain_darts_genotypes_are_unchanged():
    from monas.search_spaces.darts.genotype import DARTS_V2, canonical_genotype, genotype_to_key
    space = SEARCH_SPACES.create("darts")
    arch = space.make(DARTS_V2)
    assert set(arch.genotype) == {"normal", "normal_concat", "reduce", "reduce_concat"}
    assert "op_set" not in arch.key and ";" in arch.key and arch.key.count(";") == 1
    assert canonical_genotype({**DARTS_V2, "op_set": "darts"}) == arch.genotype
    assert genotype_to_key(arch.genotype) == arch.key
    net = space.build(arch, C=8, layers=3)
    assert not any(isinstance(m, SharpSepConv) for m in net.modules())
    assert _n_params(net) == _n_params(space.build(arch, C=8, layers=3, op_set="darts"))
    from monas.search_space import ArchError
    with pytest.raises(ArchError, match="op_set"):
        space.make({**DARTS_V2, "op_set": "fancy"})


def test_sharp_search_proposes_cells_priced_with_the_sharp_ops():
    from monas.context import EvaluationContext, GeneratorContext
    from monas.datasets import load_digits
    from monas.objectives.params_flops import ParamsObjective
    space = SEARCH_SPACES.create("darts", C=8, layers=3)
    data = load_digits()
    ev = EvaluationContext(space=space, data=data)
    ctx = GeneratorContext(name="sharp", space=space, objectives=[], constraints=[], seed=0, measure=None,
                           archive=None, evaluation=ev)
    torch.manual_seed(0)
    gen = SharpDarts(**{**SharpDarts.contract_params, "top_k": 1})
    gen.setup(ctx)
    arch = gen.ask(1)[0]
    assert arch.genotype["op_set"] == "sharp"
    obj = ParamsObjective()
    assert obj.measure(arch, ev).value > obj.measure(space.with_op_set(arch, "darts"), ev).value


def test_paper_preset_applies_and_explicit_params_win():
    import inspect
    from monas.plugins.sharp_darts.presets import PRESETS
    gen = SharpDarts(preset="paper")
    assert gen.preset == "paper" and (gen.epochs, gen.C, gen.layers, gen.search_batch_size) == (50, 16, 8, 64)
    assert gen.lr_warmup_epochs == 5 and gen.op_set == "sharp" and gen.weighting == "max_w"
    assert gen.w_lrs()[0] == pytest.approx(1e-4 + (0.025 - 1e-4) / 6) and gen.w_lrs()[-1] == pytest.approx(1e-4)
    assert PRESETS["paper"]["epochs"] == 50
    other = SharpDarts(preset="paper", epochs=10, C=8)
    assert (other.epochs, other.C, other.layers) == (10, 8, 8)
    assert SharpDarts().epochs == 2 and SharpDarts().preset is None
    with pytest.raises(ValueError, match=r"^sharp_darts: preset='fast'; accepted: paper$"):
        SharpDarts(preset="fast")
    assert {"preset", "epochs", "op_set"} <= set(inspect.signature(SharpDarts).parameters)
