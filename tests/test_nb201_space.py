import numpy as np

from monas.objectives.tabular import load_table


def test_nb201_has_15625_unique_cells(nb201):
    archs = nb201.all()
    assert len(archs) == 15625 == nb201.size()
    assert len({a.key for a in archs}) == 15625


def test_table_strings_are_canonical_keys(nb201):
    table = load_table()
    raw = table.text("arch_str")
    assert [nb201.from_key(s).key for s in raw[:500]] == raw[:500]
    # op columns agree with the string
    row = 1
    ops = tuple(table.text(c)[row] for c in [v.name for v in nb201.variables()])
    assert nb201.from_genotype(ops).key == raw[row]


def test_to_graph_shapes(nb201):
    a = nb201.from_key("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    adj, feats = nb201.to_graph(a)
    assert adj.shape == (8, 8) and feats.shape == (8, 7)
    assert np.allclose(feats.sum(1), 1)
    assert np.all(np.tril(adj) == 0)  # data flows forward only


def test_without_dead_ops_keeps_the_function_and_drops_only_dead_ops(nb201):
    import torch
    import torch.nn.functional as F

    from monas.search_spaces.nb201 import OPS, without_dead_ops
    from monas.search_spaces.nb201.supernet import NB201Supernet

    torch.manual_seed(0)
    net = NB201Supernet(mode="mixture", C=4, N=1, in_channels=1, num_classes=10, track_running_stats=False)
    x = torch.randn(8, 1, 8, 8)
    rng = np.random.default_rng(0)
    changed = 0
    for _ in range(60):
        ops = tuple(OPS[i] for i in rng.integers(0, len(OPS), 6))
        live = without_dead_ops(ops)
        assert without_dead_ops(live) == live
        assert all(a == b or b == "none" for a, b in zip(ops, live))  # only turns ops into none
        changed += live != ops
        with torch.no_grad():
            out = [net(x, {"cell": F.one_hot(torch.tensor([OPS.index(o) for o in g]), len(OPS)).float()})
                   for g in (ops, live)]
        torch.testing.assert_close(out[0], out[1])
    assert changed > 5
    # node 1 feeds nothing: its input edge is dead; node 2 feeds node 3: everything stays
    assert without_dead_ops(("nor_conv_3x3", "none", "none", "skip_connect", "none", "none")) == \
        ("none", "none", "none", "skip_connect", "none", "none")
    full = ("nor_conv_3x3", "nor_conv_1x1", "nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3")
    assert without_dead_ops(full) == full
