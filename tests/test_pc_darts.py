"""PC-DARTS: partial channels, shuffle, edge normalisation, warm-up, alpha x beta derivation."""
import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from monas.datasets import DataBundle
from monas.plugins.darts import BilevelSearch, Relaxation, SearchSettings, SpaceAdapter, node_softmax
from monas.plugins.pc_darts import PartialChannelRelaxation, PcDarts
from monas.registry import SEARCH_SPACES
from monas.search_spaces.darts.supernet import channel_shuffle

DARTS = SEARCH_SPACES.create("darts")
ADAPTER = SpaceAdapter(DARTS)
C = 8


def pc_net(K=4, seed=0):
    opts = PcDarts(partial_channels=K).supernet_options(ADAPTER)
    torch.manual_seed(seed)
    return ADAPTER.build_supernet(opts["mode"], **ADAPTER.supernet_kwargs(
        C, 3, 1, 10, partial_channels=opts["partial_channels"]))


def test_only_c_over_k_channels_enter_the_ops_and_shapes_are_kept():
    net = pc_net(K=4)
    relax = PartialChannelRelaxation(ADAPTER, net.ops)
    params = relax.new_parameters(net, 0)
    seen, shapes = [], []
    for cell in net.cells:
        for edge in cell.edges:
            for op in edge.ops:
                op.register_forward_pre_hook(lambda m, inp: seen.append(inp[0].shape[1]))
            edge.register_forward_hook(lambda m, inp, out: shapes.append((inp[0].shape, out.shape, m.stride)))
    net(torch.randn(2, 1, 8, 8), *relax.weights(params, 0, 1))
    widths = {cell.C for cell in net.cells}
    assert set(seen) == {c // 4 for c in widths}
    for (b, c, h, w), out, stride in shapes:
        assert tuple(out) == (b, c, -(-h // stride), -(-w // stride))


def test_channel_shuffle_is_a_permutation_interleaving_the_groups():
    x = torch.arange(8.0).view(1, 8, 1, 1)
    y = channel_shuffle(x, 4).flatten().tolist()
    assert sorted(y) == list(range(8)) and y == [0, 2, 4, 6, 1, 3, 5, 7]


def test_edge_softmax_is_per_node_not_over_all_edges():
    beta = torch.randn(14)
    s = node_softmax(beta, ADAPTER.node_edges)
    for rows in ADAPTER.node_edges:
        assert float(s[list(rows)].sum()) == pytest.approx(1.0)
    assert float(s.sum()) == pytest.approx(4.0)
    assert not torch.allclose(s, torch.softmax(beta, 0))


def test_k1_with_uniform_beta_is_darts_up_to_a_per_node_scale():
    torch.manual_seed(0)
    darts = ADAPTER.build_supernet("mixture", **ADAPTER.supernet_kwargs(C, 3, 1, 10))
    pc = pc_net(K=1)
    pc.load_state_dict(darts.state_dict())
    relax = PartialChannelRelaxation(ADAPTER, pc.ops)
    params = relax.new_parameters(pc, 0)
    for b in relax.betas(params).values():
        b.data.zero_()
    w, ew = relax.weights(params, 0, 1)
    x = torch.randn(2, 1, 8, 8)
    darts.eval(), pc.eval()  # running stats (all equal): a deterministic comparison
    ones = {t: torch.ones(14) for t in ew}
    assert torch.allclose(pc(x, w, ones), darts(x, w), atol=1e-6)  # K=1, no edge scaling: DARTS exactly
    outs = {}
    for name, net, e in (("darts", darts, None), ("pc", pc, ew)):
        net.cells[0].register_forward_hook(lambda m, i, o, name=name: outs.__setitem__(name, o))
        net(x, w, e)
    node0 = slice(0, C)  # node 0 of the first cell: both in-edges read the same inputs in both nets
    assert torch.allclose(outs["pc"][:, node0], 0.5 * outs["darts"][:, node0], atol=1e-6)


def tiny_data(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)

    def split(m):
        return TensorDataset(torch.randn(m, 1, 8, 8, generator=g), torch.randint(0, 10, (m,), generator=g))

    return DataBundle("tiny", split(n), split(n), None, 10, (1, 8, 8))


def test_no_architecture_update_during_warm_up():
    net = pc_net(K=4)
    relax = PartialChannelRelaxation(ADAPTER, net.ops)
    params = relax.new_parameters(net, 0)
    start = {k: v.detach().clone() for k, v in params.items()}
    w0 = net.classifier.weight.detach().clone()
    settings = SearchSettings(epochs=2, batch_size=8, w_lrs=(0.1, 0.1), steps_per_epoch=1, arch_warmup_epochs=1,
                              arch_lr=6e-4)
    search = BilevelSearch(net, relax, params, settings)
    search.run(tiny_data(), max_epochs=1)
    assert all(torch.equal(params[k], start[k]) for k in params)  # alpha and beta frozen
    assert not torch.equal(net.classifier.weight, w0)               # weights trained
    assert "valid_loss" not in search.history_[0]
    search.run(tiny_data())
    assert all(not torch.equal(params[k], start[k]) for k in params)  # both move together afterwards


def test_derivation_uses_alpha_times_beta():
    relax = PartialChannelRelaxation(ADAPTER, ADAPTER.all_ops)
    alpha = torch.zeros(14, 8)
    alpha[:, 4] = 1.0          # sep_conv_3x3 best everywhere ...
    alpha[2, 4] = alpha[3, 4] = 3.0  # ... and strongest on node 1's edges from inputs 0 and 1
    beta = torch.zeros(14)
    beta[4] = 6.0              # but beta puts node 1's weight on the edge from node 0 (input 2)
    params = {"alpha.normal": alpha, "alpha.reduce": alpha.clone(), "beta.normal": beta, "beta.reduce": torch.zeros(14)}
    arch = relax.derive(params, k=1)[0][1]
    plain = Relaxation(ADAPTER, ADAPTER.all_ops).derive(params, k=1)[0][1]
    assert [i for _, i in arch.genotype["normal"][2:4]] == [0, 2]   # alpha*beta keeps edge 2->node 1
    assert [i for _, i in plain.genotype["normal"][2:4]] == [0, 1]  # alpha alone would keep inputs 0, 1
    assert arch.genotype["reduce"] == plain.genotype["reduce"]


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="arch_warmup_epochs"):
        PcDarts(epochs=2, arch_warmup_epochs=2)
    with pytest.raises(ValueError, match="partial_channels"):
        PcDarts(partial_channels=0)


# ---- guards: the supernet edge really shuffles, the relaxation really normalises per node ----

def test_darts_supernet_edge_shuffles_the_partial_output_with_the_bypass():
    # K=4, C=8: the ops see channels 0-1; skip_connect (identity) is the only live op, so before
    # the shuffle the edge holds x itself. The shuffle (4 groups of 2, transposed) interleaves
    # the groups: output channel order 0, 2, 4, 6, 1, 3, 5, 7 -- written out, not recomputed.
    from monas.search_spaces.darts.supernet import MixedEdge

    edge = MixedEdge(8, 1, ("none", "skip_connect"), "darts", 4)
    x = torch.arange(8.0).view(1, 8, 1, 1).expand(1, 8, 3, 3).contiguous()
    out = edge(x, torch.tensor([0.0, 1.0]), [True, True])
    assert out[0, :, 0, 0].tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    # stride 2: the 6 bypass channels are 2x2 max-pooled, the op part (none) is zero
    edge = MixedEdge(8, 2, ("none",), "darts", 4)
    x = torch.arange(8.0).view(1, 8, 1, 1) * torch.ones(1, 8, 4, 4)
    out = edge(x, torch.tensor([1.0]), [True])
    assert tuple(out.shape) == (1, 8, 2, 2)
    assert out[0, :, 0, 0].tolist() == [0, 2, 4, 6, 0, 3, 5, 7]


def test_nb201_supernet_edge_shuffles_the_partial_output_with_the_bypass():
    from monas.search_spaces.nb201.supernet import MixedEdge

    edge = MixedEdge(8, ("none", "skip_connect"), 4, False, False)
    x = torch.arange(8.0).view(1, 8, 1, 1).expand(1, 8, 3, 3).contiguous()
    out = edge(x, torch.tensor([0.0, 1.0]), [True, True])
    assert out[0, :, 0, 0].tolist() == [0, 2, 4, 6, 1, 3, 5, 7]


def test_pc_darts_edge_weights_are_softmax_of_beta_within_each_node():
    net = pc_net(K=4)
    relax = PartialChannelRelaxation(ADAPTER, net.ops)
    params = relax.new_parameters(net, 0)
    g = torch.Generator().manual_seed(3)
    for b in relax.betas(params).values():
        b.data.copy_(torch.randn(14, generator=g))
    _, ew = relax.weights(params, 0, 1)
    assert ew is not None and set(ew) == set(ADAPTER.cell_types)
    nodes = [(0, 1), (2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12, 13)]  # DARTS in-edges of nodes 0..3
    for t in ADAPTER.cell_types:
        beta = relax.betas(params)[t].detach().double().numpy()
        for rows in nodes:
            e = np.exp(beta[list(rows)])
            assert np.allclose(ew[t].detach().double().numpy()[list(rows)], e / e.sum(), atol=1e-6)


def test_paper_preset_applies_explicit_parameters_win_and_unknown_names_are_refused():
    import inspect

    from monas.plugins.pc_darts import PcDarts

    gen = PcDarts(preset="paper")
    assert (gen.partial_channels, gen.arch_warmup_epochs, gen.preset) == (4, 15, "paper")
    assert (gen.epochs, gen.C, gen.layers, gen.search_batch_size, gen.w_lr) == (50, 16, 8, 256, 0.1)
    over = PcDarts(preset="paper", epochs=20, arch_warmup_epochs=5)
    assert (over.epochs, over.arch_warmup_epochs, over.C) == (20, 5, 16)
    assert PcDarts().epochs == 3  # the CPU-friendly defaults without a preset
    with pytest.raises(ValueError) as err:
        PcDarts(preset="papr")
    assert str(err.value) == "pc_darts: preset='papr'; accepted: paper"
    params = inspect.signature(PcDarts).parameters
    assert "partial_channels" in params and "preset" in params and "self" not in params
