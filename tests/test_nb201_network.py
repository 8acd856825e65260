"""The discrete NB201 network against the benchmark table: params exact, FLOPs within 0.1 %."""
import csv
import gzip
import random
from pathlib import Path

import pytest
import torch

import monas
from monas.search_space import ArchError
from monas.search_spaces.nb201 import EDGE_COLUMNS, NB201Space
from monas.search_spaces.nb201.flops import count_conv_linear_flops, fvcore_flops, nb201_flops, nb201_params
from monas.search_spaces.nb201.network import NB201Network

TABLE = Path(monas.__file__).parent / "data" / "nb201_cifar10.csv.gz"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small nets: one thread is faster than two on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def rows():
    """Arch 0, arch 13714 and 200 random rows (seed 0) of the benchmark table."""
    with gzip.open(TABLE, "rt") as fh:
        table = list(csv.DictReader(fh))
    by_index = {int(r["arch_index"]): r for r in table}
    sample = random.Random(0).sample([r for r in table if int(r["arch_index"]) not in (0, 13714)], 200)
    return [by_index[0], by_index[13714]] + sample


def _arch(space, row):
    arch = space.from_key(row["arch_str"])
    # the op_i_j columns and the string must describe the same cell
    assert arch.genotype == tuple(row[c] for c in EDGE_COLUMNS)
    return arch


def _n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_reference_archs_match_readme():
    space = NB201Space()
    arch0 = space.from_key("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+"
                           "|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")
    best = space.from_key("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
                          "|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    assert _n_params(space.build(arch0)) == 129306
    assert _n_params(space.build(best)) == 1073466
    assert nb201_params(best.genotype) == 1073466
    assert nb201_flops(arch0.genotype) == pytest.approx(15.64737, rel=1e-6)
    assert nb201_flops(best.genotype) == pytest.approx(153.27297, rel=1e-6)


def test_params_equal_table_exactly(rows):
    space = NB201Space()
    mismatches = []
    for row in rows:
        n = _n_params(space.build(_arch(space, row)))
        if round(n / 1e6, 6) != float(row["c10_params_M"]):
            mismatches.append((row["arch_index"], n, row["c10_params_M"]))
    assert len(rows) == 202 and mismatches == []


def test_flops_within_a_tenth_of_a_percent(rows):
    space = NB201Space()
    errors = [abs(nb201_flops(_arch(space, r).genotype) - float(r["c10_flops_M"])) / float(r["c10_flops_M"])
              for r in rows]
    assert max(errors) < 1e-3


@pytest.mark.parametrize("kw, size", [({}, 32), ({"C": 8, "N": 2, "in_channels": 1}, (17, 23)),
                                      ({"C": 4, "N": 1, "num_classes": 3}, 16)])
def test_flops_from_parts_equal_full_hook_count(rows, kw, size):
    torch.manual_seed(0)
    h, w = (size, size) if isinstance(size, int) else size
    for row in rows[:3]:
        genotype = tuple(row[c] for c in EDGE_COLUMNS)
        net = NB201Network(genotype, **kw)
        x = torch.randn(2, kw.get("in_channels", 3), h, w)
        full = count_conv_linear_flops(net, x) / 1e6
        assert nb201_flops(genotype, input_size=size, **kw) == pytest.approx(full, rel=1e-12)


def test_forward_on_digit_sized_input():
    torch.manual_seed(0)
    space = NB201Space()
    arch = space.decode([3, 2, 4, 1, 0, 3])
    net = space.build(arch, C=8, N=2, num_classes=10, in_channels=1)
    x = torch.randn(4, 1, 16, 16)
    out = net(x)
    assert out.shape == (4, 10) and torch.isfinite(out).all()
    out.logsumexp(1).mean().backward()
    assert all(p.grad is not None for p in net.parameters())
    # odd sizes survive the stride-2 blocks
    assert net(torch.randn(2, 1, 7, 7)).shape == (2, 10)


def test_all_none_cell_is_a_valid_network():
    net = NB201Network(("none",) * 6, C=4, N=1)
    out = net(torch.randn(2, 3, 8, 8))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_fvcore_count_beside_nb201_count(rows):
    genotype = tuple(rows[1][c] for c in EDGE_COLUMNS)  # arch 13714
    net = NB201Network(genotype)
    total, unsupported = fvcore_flops(net, torch.zeros(1, 3, 32, 32))
    ours = nb201_flops(genotype) * 1e6
    # fvcore adds BN and global pooling, so it is a little above the conv+linear count
    assert ours < total < 1.02 * ours
    assert all(isinstance(k, str) and v > 0 for k, v in unsupported.items())
    assert net.training  # mode restored


def test_bad_input_messages():
    with pytest.raises(ArchError, match="accepted"):
        NB201Network(("conv_5x5",) * 6)
    with pytest.raises(ValueError, match="positive int"):
        NB201Network(("none",) * 6, C=0)
    net = NB201Network(("skip_connect",) * 6, C=4, N=1, in_channels=1)
    with pytest.raises(ValueError, match=r"\(batch, 1, H, W\)"):
        net(torch.randn(1, 3, 8, 8))
