"""DARTS evaluation network: parameter counts, reductions, drop-path, auxiliary head, shapes."""
import pytest
import torch

from monas.search_spaces.darts import DARTS_V1, DARTS_V2, PC_DARTS, DartsSpace
from monas.search_spaces.darts.network import Cell, DartsNetwork
from monas.search_spaces.darts.operations import FactorizedReduce, Identity, drop_path
from monas.search_spaces.darts.sharp_operations import SharpSepConv

SPACE = DartsSpace()


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _params(net, skip_aux=True):
    return sum(p.numel() for n, p in net.named_parameters() if not (skip_aux and "auxiliary" in n))


def test_darts_v2_has_3_3m_parameters():
    net = SPACE.build(SPACE.from_genotype(DARTS_V2), C=36, layers=20, num_classes=10, auxiliary=False)
    n = _params(net)
    assert 3.30e6 <= n <= 3.40e6
    assert n == 3_349_342  # what DARTS' train.py logs as "param size = 3.349342MB"
    # PC-DARTS reports 3.6M for its CIFAR cell
    assert 3.60e6 <= _params(SPACE.build(SPACE.from_genotype(PC_DARTS))) <= 3.65e6


def test_auxiliary_head_only_in_training():
    torch.manual_seed(0)
    net = SPACE.build(SPACE.from_genotype(DARTS_V1), C=8, layers=3, auxiliary=True)  # aux sees 8x8
    assert _params(net, skip_aux=False) > _params(net)
    x = torch.randn(2, 3, 32, 32)
    net.train()
    logits, aux = net.forward_with_aux(x)
    assert logits.shape == (2, 10) and aux.shape == (2, 10)
    net.eval()
    logits, aux = net.forward_with_aux(x)
    assert aux is None and net(x).shape == (2, 10)


def test_reductions_at_layers_over_3():
    net = SPACE.build(SPACE.from_genotype(DARTS_V2), C=16, layers=8)
    assert [i for i, c in enumerate(net.cells) if c.reduction] == [2, 5]
    net = SPACE.build(SPACE.from_genotype(DARTS_V2), C=8, layers=20)
    assert [i for i, c in enumerate(net.cells) if c.reduction] == [6, 13]
    # the cell after a reduction preprocesses c_{k-2} with a FactorizedReduce
    assert isinstance(net.cells[7].preprocess0, FactorizedReduce)


@pytest.mark.parametrize("in_channels, size", [(1, 16), (3, 15), (1, 7)])
def test_any_input_size_and_channels(in_channels, size):
    torch.manual_seed(0)
    net = SPACE.build(SPACE.from_genotype(PC_DARTS), C=8, layers=5, in_channels=in_channels,
                      num_classes=7, auxiliary=True)
    net.train()
    logits, aux = net.forward_with_aux(torch.randn(2, in_channels, size, size))
    assert logits.shape == (2, 7) and aux.shape == (2, 7)


def test_cell_structure_matches_genotype():
    net = SPACE.build(SPACE.from_genotype(DARTS_V2), C=8, layers=5)
    for cell in net.cells:
        assert len(cell.ops) == 8
        for n in range(4):
            i, j = cell.indices[2 * n], cell.indices[2 * n + 1]
            assert i != j and max(i, j) <= n + 1
    normal = net.cells[0]
    assert isinstance(normal.ops[4], Identity)  # skip_connect~0 of node 2 at stride 1
    reduce = net.cells[net.reduction_layers[0]]
    assert isinstance(reduce.ops[3], FactorizedReduce) is False  # skip_connect~2 is stride 1
    assert isinstance(reduce.ops[3], Identity)


def test_drop_path_spares_identity_and_only_in_training():
    torch.manual_seed(0)
    x = torch.ones(64, 2, 3, 3)
    y = drop_path(x, 0.5)
    per_sample = y.flatten(1)
    assert set(per_sample[:, 0].tolist()) <= {0.0, 2.0}
    assert 0 < (per_sample[:, 0] == 0).sum() < 64
    # a cell of only skip-connects (identities) is unaffected by any drop-path rate
    skips = [("skip_connect", 0), ("skip_connect", 1)] * 2 + [("skip_connect", 0), ("skip_connect", 2)] * 2
    cell = Cell(skips, 8, 8, 8, reduction=False, reduction_prev=False).train()
    s = torch.randn(4, 8, 6, 6)
    assert torch.allclose(cell(s, s, 0.9), cell(s, s, 0.0))
    # a network with convs is stochastic under drop-path in training, deterministic in eval
    net = SPACE.build(SPACE.from_genotype(DARTS_V2), C=8, layers=3, drop_path_prob=0.5)
    x = torch.randn(4, 3, 8, 8)
    net.train()
    assert not torch.allclose(net(x), net(x))
    net.eval()
    assert torch.equal(net(x), net(x))


def test_sharp_op_set_in_the_evaluation_network():
    net = SPACE.build(SPACE.from_genotype(DARTS_V2), C=8, layers=3, op_set="sharp")
    kinds = {type(op) for cell in net.cells for op in cell.ops}
    assert SharpSepConv in kinds
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_bad_network_arguments():
    with pytest.raises(ValueError, match="even C"):
        DartsNetwork(DARTS_V2, C=7, layers=3)
    with pytest.raises(ValueError, match="unknown op_set"):
        DartsNetwork(DARTS_V2, C=8, layers=3, op_set="fancy")
