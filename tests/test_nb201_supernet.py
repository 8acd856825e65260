"""The NB201 supernet contract: shared weights only, zero-weight skipping, modes."""
import pytest
import torch

from monas import arch_weights as aw
from monas.search_spaces.nb201 import OPS, NB201Space
from monas.search_spaces.nb201.network import NB201Network
from monas.search_spaces.nb201.supernet import MixedEdge, NB201Supernet, SearchCell, channel_shuffle

GENOTYPE = ("nor_conv_3x3", "nor_conv_1x1", "skip_connect", "nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small nets: one thread is faster than two on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _small(mode, **kw):
    torch.manual_seed(0)
    kw = {"C": 8, "N": 1, "in_channels": 1, **kw}
    return NB201Supernet(mode=mode, **kw)


def _op_calls(net):
    """Register hooks counting forward calls per (cell, edge, op); returns (counts, handles)."""
    counts = {}
    handles = []
    cells = [m for m in net.cells if isinstance(m, SearchCell)]
    for c, cell in enumerate(cells):
        for e, edge in enumerate(cell.edges):
            for o, op in enumerate(edge.ops):
                def hook(mod, inp, key=(c, e, o)):
                    counts[key] = counts.get(key, 0) + 1
                handles.append(op.register_forward_pre_hook(hook))
    return counts, handles


@pytest.mark.parametrize("mode", ["mixture", "partial", "gumbel", "discrete"])
def test_parameters_are_shared_weights_only(mode):
    net = _small(mode)
    before = [id(p) for p in net.parameters()]
    alphas = net.new_arch_parameters(std=1e-3, seed=0)
    assert [id(p) for p in net.parameters()] == before
    assert not any(p is alphas["cell"] for p in net.parameters())
    assert not any(tuple(p.shape) in ((6, 5), (6,)) for p in net.parameters())
    assert not any("alpha" in n or "arch" in n for n, _ in net.named_parameters())
    assert net.arch_shapes() == {"cell": (6, 5)} and net.ops == list(OPS) and net.mode == mode
    assert isinstance(alphas["cell"], torch.nn.Parameter) and alphas["cell"].shape == (6, 5)
    assert 0 < alphas["cell"].abs().max() < 1e-2
    assert torch.equal(alphas["cell"], net.new_arch_parameters(seed=0)["cell"])
    assert not torch.equal(alphas["cell"], net.new_arch_parameters(seed=1)["cell"])


def test_search_cells_use_non_affine_bn():
    net = _small("mixture")
    bns = [m for m in net.cells.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    cell_bns = [m for m in net.cells if isinstance(m, SearchCell)][0].modules()
    assert any(isinstance(m, torch.nn.BatchNorm2d) and not m.affine for m in cell_bns)
    assert any(m.affine for m in bns)  # reduction blocks stay affine


def test_mixture_differs_from_discrete():
    net = _small("mixture").eval()
    x = torch.randn(2, 1, 16, 16)
    alpha = net.new_arch_parameters(std=1.0, seed=3)["cell"]
    mixed = net(x, {"cell": aw.mixture(alpha)})
    weights, edge_weights = net.arch_to_weights(GENOTYPE)
    assert edge_weights is None
    discrete = net(x, weights)
    assert mixed.shape == discrete.shape == (2, 10)
    assert not torch.allclose(mixed, discrete, atol=1e-4)


def test_discrete_subnet_equals_the_evaluation_network():
    torch.manual_seed(0)
    sup = NB201Supernet(mode="discrete", C=8, N=2, in_channels=1, affine=True).eval()
    net = NB201Network(GENOTYPE, C=8, N=2, in_channels=1).eval()
    sup_state = sup.state_dict()
    state = {}
    for key in net.state_dict():
        parts = key.split(".")
        if parts[0] == "cells" and parts[2] == "edges":  # cells.k.edges.e.* -> cells.k.edges.e.ops.o.*
            o = OPS.index(GENOTYPE[int(parts[3])])
            state[key] = sup_state[".".join(parts[:4] + ["ops", str(o)] + parts[4:])]
        else:
            state[key] = sup_state[key]
    net.load_state_dict(state)
    space = NB201Space()
    weights, _ = sup.arch_to_weights(space.make(GENOTYPE))
    x = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(sup(x, weights), net(x), atol=1e-5)


def test_discrete_gradient_reaches_only_the_chosen_ops():
    net = _small("discrete", N=2)
    weights, _ = net.arch_to_weights(NB201Space().make(GENOTYPE))
    net(torch.randn(4, 1, 16, 16), weights).logsumexp(1).mean().backward()
    for cell in (m for m in net.cells if isinstance(m, SearchCell)):
        for e, edge in enumerate(cell.edges):
            for name, op in zip(OPS, edge.ops):
                grads = [p.grad for p in op.parameters()]
                if name == GENOTYPE[e]:
                    assert all(g is not None and g.abs().sum() > 0 for g in grads)
                else:
                    assert all(g is None for g in grads)


def test_zero_weight_ops_and_edges_are_not_run():
    net = _small("mixture")
    counts, handles = _op_calls(net)
    w = torch.full((6, 5), 0.2)
    w[0, 3] = 0.0
    w[2] = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0])
    ew = torch.ones(6)
    ew[4] = 0.0
    out = net(torch.randn(2, 1, 16, 16), {"cell": w}, {"cell": ew})
    for h in handles:
        h.remove()
    assert torch.isfinite(out).all()
    for c in range(3):
        assert (c, 0, 3) not in counts and counts[(c, 0, 2)] == 1
        assert [o for o in range(5) if (c, 2, o) in counts] == [3]
        assert not any((c, 4, o) in counts for o in range(5))
        assert counts[(c, 5, 0)] == 1


def test_partial_feeds_only_C_over_K_channels():
    net = _small("partial", C=8)
    assert net.partial_channels == 4
    seen = []
    handles = [op.register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].shape[1]))
               for cell in net.cells if isinstance(cell, SearchCell) for edge in cell.edges for op in edge.ops]
    alpha = net.new_arch_parameters()["cell"]
    out = net(torch.randn(2, 1, 16, 16), {"cell": aw.mixture(alpha)})
    for h in handles:
        h.remove()
    assert out.shape == (2, 10)
    assert sorted(set(seen)) == [2, 4, 8]  # C/K at the stages' 8, 16, 32 channels
    assert len(seen) == 3 * 6 * 5


def test_partial_edge_bypasses_and_shuffles():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 5)
    edge = MixedEdge(8, OPS, 4, affine=False, track_running_stats=True)
    # only skip_connect with weight 1: the edge is a pure channel shuffle of x
    w = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0])
    out = edge(x, w, (w != 0).tolist())
    assert torch.equal(out, channel_shuffle(x, 4))
    perm = channel_shuffle(torch.arange(8.0).view(1, 8, 1, 1), 4).flatten().long()
    assert perm.tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    # the untouched C - C/K channels reach the output unchanged, even when every op is off
    off = edge(x, torch.zeros(5), [False] * 5)
    assert torch.equal(off[:, perm.argsort()][:, 2:], x[:, 2:])
    assert torch.equal(off[:, perm.argsort()][:, :2], torch.zeros_like(x[:, :2]))


def test_partial_with_edge_normalisation_gives_gradients_to_alpha_and_beta():
    net = _small("partial")
    alpha = net.new_arch_parameters()["cell"]
    beta = torch.nn.Parameter(1e-3 * torch.randn(6))
    groups = [[0], [1, 2], [3, 4, 5]]  # in-edges of nodes 1, 2, 3
    ew = torch.cat([torch.softmax(beta[g], dim=0) for g in groups])
    net(torch.randn(2, 1, 16, 16), {"cell": aw.mixture(alpha)}, {"cell": ew}).logsumexp(1).mean().backward()
    assert alpha.grad.abs().sum() > 0 and beta.grad.abs().sum() > 0


def test_gumbel_runs_one_op_per_edge_and_trains_alpha():
    net = _small("gumbel", N=2)
    alpha = net.new_arch_parameters()["cell"]
    counts, handles = _op_calls(net)
    h = aw.gumbel_straight_through(alpha, tau=1.0, generator=torch.Generator().manual_seed(0))
    out = net(torch.randn(2, 1, 16, 16), {"cell": h})
    for handle in handles:
        handle.remove()
    chosen = h.argmax(-1).tolist()
    n_cells = 6
    for c in range(n_cells):
        for e in range(6):
            assert [o for o in range(5) if (c, e, o) in counts] == [chosen[e]]
    out.logsumexp(1).mean().backward()
    assert torch.isfinite(alpha.grad).all() and (alpha.grad != 0).all()


def test_arch_to_weights_accepts_arch_string_and_tuple():
    space = NB201Space()
    net = _small("discrete")
    arch = space.make(GENOTYPE)
    w1, _ = net.arch_to_weights(arch)
    w2, _ = net.arch_to_weights(arch.key)
    w3, _ = net.arch_to_weights(GENOTYPE)
    assert torch.equal(w1["cell"], w2["cell"]) and torch.equal(w1["cell"], w3["cell"])
    assert w1["cell"].sum(1).tolist() == [1.0] * 6
    assert net.derive_genotype(w1) == GENOTYPE


def test_default_supernet_and_space_call():
    net = NB201Space().supernet(mode="mixture")
    assert (net.C, net.N, net.partial_channels) == (16, 5, 1)
    assert len([m for m in net.cells if isinstance(m, SearchCell)]) == 15
    alpha = net.new_arch_parameters()["cell"]
    with torch.no_grad():
        assert net(torch.randn(1, 3, 32, 32), {"cell": aw.mixture(alpha)}).shape == (1, 10)


def test_bad_input_messages():
    with pytest.raises(ValueError, match="accepted: mixture, partial, gumbel, discrete"):
        NB201Supernet(mode="darts")
    with pytest.raises(ValueError, match="dividing C=6"):
        NB201Supernet(mode="partial", C=6)
    net = _small("mixture")
    with pytest.raises(ValueError, match=r"shape \(6, 5\)"):
        net(torch.randn(1, 1, 8, 8), {"cell": torch.ones(6, 4)})
    with pytest.raises(ValueError, match="key 'cell'"):
        net(torch.randn(1, 1, 8, 8), {"normal": torch.ones(6, 5)})
    with pytest.raises(ValueError, match="accepted: 'nb201'"):
        from monas.arch import Arch
        net.arch_to_weights(Arch("darts", "k", ()))
