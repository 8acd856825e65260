"""DARTS supernet contract: shapes, arch parameters, skipping, partial channels, derivation."""
from collections import Counter

import numpy as np
import pytest
import torch

from monas import arch_weights as aw
from monas.search_space import ArchError
from monas.search_spaces.darts import DARTS_V2, EDGES, GENOTYPE_OPS, PRIMITIVES, DartsSpace, edge_index
from monas.search_spaces.darts.sharp_operations import SharpSepConv
from monas.search_spaces.darts.supernet import DartsSupernet, channel_shuffle, node_softmax

SPACE = DartsSpace()
SMALL = dict(C=8, layers=5)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _x(seed=0, channels=3):
    return torch.randn(8, channels, 16, 16, generator=torch.Generator().manual_seed(seed))


def _count_runs(net):
    """Hooks counting forward calls per (cell type, edge, op) and per (cell index, edge)."""
    ops, edges = Counter(), Counter()
    for ci, cell in enumerate(net.cells):
        t = "reduce" if cell.reduction else "normal"
        for e, edge in enumerate(cell.edges):
            edge.register_forward_hook(lambda m, i, o, ci=ci, e=e: edges.update([(ci, e)]))
            for o, op in enumerate(edge.ops):
                op.register_forward_hook(lambda m, i, out, t=t, e=e, o=o: ops.update([(t, e, o)]))
    return ops, edges


def test_shapes_reductions_and_no_arch_params_in_module():
    net = SPACE.supernet(mode="mixture", C=16, layers=8)
    assert net.ops == PRIMITIVES and net.arch_shapes() == {"normal": (14, 8), "reduce": (14, 8)}
    assert [i for i, c in enumerate(net.cells) if c.reduction] == [2, 5]
    n_before = sum(p.numel() for p in net.parameters())
    alphas, betas = net.new_arch_parameters(), net.new_edge_parameters()
    assert sum(p.numel() for p in net.parameters()) == n_before == 1_930_618
    ids = {id(p) for p in net.parameters()}
    assert all(id(p) not in ids for p in list(alphas.values()) + list(betas.values()))
    assert not any("alpha" in n or "beta" in n for n, _ in net.named_parameters())
    assert alphas["normal"].shape == (14, 8) and betas["reduce"].shape == (14,)
    assert 1e-4 < float(alphas["normal"].detach().std()) < 1e-2
    again = net.new_arch_parameters(seed=0)
    assert torch.equal(again["reduce"], alphas["reduce"])
    assert not torch.equal(net.new_arch_parameters(seed=1)["normal"], alphas["normal"])
    for cell in net.cells:  # search BN is affine=False everywhere inside cells
        assert all(not m.affine for m in cell.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_alpha_to_genotype_to_eval_net():
    torch.manual_seed(0)
    net = SPACE.supernet(**SMALL)
    alphas = net.new_arch_parameters(std=1.0, seed=3)
    w = {t: aw.mixture(a) for t, a in alphas.items()}
    logits = net(_x(), w)
    assert logits.shape == (8, 10)
    arch = net.derive_genotype(w)
    assert SPACE.contains(arch)
    for t in ("normal", "reduce"):
        pairs = arch.genotype[t]
        assert len(pairs) == 8 and all(op != "none" for op, _ in pairs)
        assert all(pairs[2 * n][1] != pairs[2 * n + 1][1] for n in range(4))
    eval_net = SPACE.build(arch, C=8, layers=5)
    assert all(len(c.ops) == 8 for c in eval_net.cells)
    assert eval_net(_x()).shape == (8, 10)


def test_derivation_rule_by_hand():
    net = SPACE.supernet(**SMALL)
    w = torch.full((14, 8), 0.01)
    w[:, 0] = 0.9  # none dominates everywhere but never counts
    sep3 = PRIMITIVES.index("sep_conv_3x3")
    w[edge_index(0, 1), sep3] = 0.5
    w[edge_index(0, 0), PRIMITIVES.index("max_pool_3x3")] = 0.3
    w[edge_index(3, 4), PRIMITIVES.index("dil_conv_5x5")] = 0.6
    w[edge_index(3, 2), sep3] = 0.2
    arch = net.derive_genotype({"normal": w, "reduce": w})
    normal = arch.genotype["normal"]
    assert normal[0:2] == (("max_pool_3x3", 0), ("sep_conv_3x3", 1))
    assert normal[6:8] == (("sep_conv_3x3", 2), ("dil_conv_5x5", 4))
    # edge scores (e.g. PC-DARTS softmax(beta)) reweigh the edge choice, not the op choice
    scores = torch.ones(14)
    scores[edge_index(3, 2)] = 0.01
    scores[edge_index(3, 0)] = 100.0
    arch = net.derive_genotype({"normal": w, "reduce": w}, {"normal": scores, "reduce": scores})
    assert arch.genotype["normal"][6:8] == (("max_pool_3x3", 0), ("dil_conv_5x5", 4))


def test_zero_weight_ops_are_not_run():
    net = SPACE.supernet(**SMALL)
    ops, _ = _count_runs(net)
    w = torch.zeros(14, 8)
    sep3, skip = PRIMITIVES.index("sep_conv_3x3"), PRIMITIVES.index("skip_connect")
    w[:, sep3] = 0.7
    w[::2, skip] = 0.3
    net(_x(), {"normal": w, "reduce": w})
    n_normal, n_reduce = 3, 2  # cells 0, 2, 4 normal; 1, 3 reduce (layers=5)
    for (t, e, o), c in ops.items():
        assert o in (sep3, skip)
        assert c == (n_normal if t == "normal" else n_reduce)
    assert len([k for k in ops if k[2] == skip]) == 2 * 7


def test_zero_edge_weights_skip_edges_and_arch_to_weights_runs_8_edges():
    net = SPACE.supernet(**SMALL)
    ops, edges = _count_runs(net)
    arch = SPACE.from_genotype(DARTS_V2)
    weights, edge_weights = net.arch_to_weights(arch)
    assert all(float(m.sum()) == 8 for m in edge_weights.values())
    assert all(torch.equal(weights[t].sum(1), edge_weights[t]) for t in weights)
    net(_x(), weights, edge_weights)
    per_cell = Counter(ci for ci, _ in edges)
    assert per_cell == {ci: 8 for ci in range(5)}
    assert all(c == 1 for c in edges.values())
    # exactly one op per run edge, and it is the genotype's op
    for t in ("normal", "reduce"):
        chosen = {(edge_index(k // 2, inp), PRIMITIVES.index(op)) for k, (op, inp) in enumerate(arch.genotype[t])}
        assert {(e, o) for (tt, e, o) in ops if tt == t} == chosen
    # zeroing one more edge skips it
    edges.clear()
    e = edge_index(0, 0)
    edge_weights["normal"][e] = 0.0
    net(_x(), weights, edge_weights)
    assert not any(k for k in edges if k[1] == e and not net.cells[k[0]].reduction)


def test_edge_weights_of_one_equal_no_edge_weights():
    net = SPACE.supernet(**SMALL).eval()
    w = {t: aw.mixture(a) for t, a in net.new_arch_parameters(seed=1).items()}
    ones = {t: torch.ones(14) for t in w}
    with torch.no_grad():
        assert torch.allclose(net(_x(), w), net(_x(), w, ones), atol=1e-6)


def test_straight_through_gradients_reach_skipped_ops_and_edges():
    net = SPACE.supernet(mode="gumbel", ops=list(GENOTYPE_OPS), **SMALL)
    assert net.arch_shapes()["normal"] == (14, 7)
    alphas, betas = net.new_arch_parameters(), net.new_edge_parameters()
    g = torch.Generator().manual_seed(0)
    w = {t: aw.gumbel_straight_through(a, tau=1.0, generator=g) for t, a in alphas.items()}
    # top-2 edges per node as a straight-through mask (ROME-style)
    masks = {}
    for t, b in betas.items():
        soft = node_softmax(b)
        hard = torch.zeros(14)
        for n, (lo, hi) in enumerate(((0, 2), (2, 5), (5, 9), (9, 14))):
            hard[lo + torch.topk(soft[lo:hi], 2).indices] = 1.0
        masks[t] = hard - soft.detach() + soft
    ops, edges = _count_runs(net)
    net(_x(), w, masks).sum().backward()
    assert Counter(ci for ci, _ in edges) == {ci: 8 for ci in range(5)}
    assert sum(ops.values()) == 5 * 8
    for t in ("normal", "reduce"):
        run = masks[t].detach() == 1
        # every op of a run edge gets a gradient (the unsampled ones through straight-through);
        # edges not run give their ops none, but their edge logits still get one
        assert bool((alphas[t].grad[run] != 0).all()) and bool((alphas[t].grad[~run] == 0).all())
        assert bool((betas[t].grad != 0).all())


def test_partial_channels_feed_c_over_k_channels():
    net = SPACE.supernet(mode="partial", **SMALL)
    assert net.partial_channels == 4
    seen = []
    for cell in net.cells:
        for edge in cell.edges:
            edge.ops[PRIMITIVES.index("sep_conv_3x3")].register_forward_pre_hook(
                lambda m, inp, C=cell.C: seen.append((inp[0].shape[1], C)))
            edge.register_forward_hook(
                lambda m, inp, out, s=edge.stride: seen.append(("out", inp[0].shape, out.shape, s)))
    w = {t: aw.mixture(a) for t, a in net.new_arch_parameters().items()}
    b = {t: node_softmax(v) for t, v in net.new_edge_parameters().items()}
    assert net(_x(), w, b).shape == (8, 10)
    op_inputs = [s for s in seen if s[0] != "out"]
    assert len(op_inputs) == 5 * 14 and all(c == C // 4 for c, C in op_inputs)
    for _, i, o, s in (s for s in seen if s[0] == "out"):
        assert o[1] == i[1] and o[2] == -(-i[2] // s) and o[3] == -(-i[3] // s)


def test_channel_shuffle_is_a_permutation():
    x = torch.arange(16.0).view(1, 16, 1, 1).repeat(2, 1, 3, 3)
    y = channel_shuffle(x, 4)
    order = y[0, :, 0, 0].long().tolist()
    assert sorted(order) == list(range(16))
    assert order[:8] == [0, 4, 8, 12, 1, 5, 9, 13]
    assert torch.equal(channel_shuffle(x, 1), x)


def test_node_softmax_per_node():
    beta = torch.randn(14, generator=torch.Generator().manual_seed(0))
    p = node_softmax(beta)
    sums = [float(p[lo:hi].sum()) for lo, hi in ((0, 2), (2, 5), (5, 9), (9, 14))]
    assert np.allclose(sums, 1.0)
    assert [n for n, _ in EDGES] == [0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3]


def test_sharp_op_set_and_layers():
    net = DartsSupernet(ops="sharp", C=8, layers=11)
    assert net.ops == PRIMITIVES and net.op_set == "sharp"
    sharp = [type(op) for op in net.cells[0].edges[0].ops]
    assert sharp[PRIMITIVES.index("dil_conv_3x3")] is SharpSepConv
    assert sharp[PRIMITIVES.index("sep_conv_5x5")] is SharpSepConv
    assert [i for i, c in enumerate(net.cells) if c.reduction] == [3, 7]
    w = {t: aw.one_hot([PRIMITIVES.index("dil_conv_3x3")] * 14, 8) for t in ("normal", "reduce")}
    assert net(_x(channels=3)[:2, :, :8, :8], w).shape == (2, 10)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="accepted: mixture, partial, gumbel, discrete"):
        DartsSupernet(mode="gdas")
    with pytest.raises(ValueError, match="partial_channels=3"):
        DartsSupernet(mode="partial", C=8, partial_channels=3)
    net = SPACE.supernet(ops=list(GENOTYPE_OPS), **SMALL)
    with pytest.raises(ValueError, match=r"expected shape \(14, 7\)"):
        net(_x(), {"normal": torch.zeros(14, 8), "reduce": torch.zeros(14, 8)})
    narrow = SPACE.supernet(ops=["none", "skip_connect", "sep_conv_3x3"], **SMALL)
    with pytest.raises(ArchError, match="does not have"):
        narrow.arch_to_weights(SPACE.from_genotype(DARTS_V2))
