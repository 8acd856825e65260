"""DARTS cell space: genotypes, canonical keys, encoding, validation, graph form."""
import json

import numpy as np
import pytest

from monas.arch import Arch
from monas.registry import SEARCH_SPACES
from monas.search_space import ArchError
from monas.search_spaces.darts import (
    DARTS_V1, DARTS_V2, GENOTYPE_OPS, GRAPH_FEATURES, PC_DARTS, DartsSpace, key_to_genotype,
)

SPACE = DartsSpace()


def _assert_valid_cell(pairs):
    assert len(pairs) == 8
    for n in range(4):
        (op_a, i), (op_b, j) = pairs[2 * n], pairs[2 * n + 1]
        assert i != j and 0 <= i < j <= n + 1
        assert op_a in GENOTYPE_OPS and op_b in GENOTYPE_OPS


def test_registered_through_entry_point():
    space = SEARCH_SPACES.create("darts")
    assert isinstance(space, DartsSpace) and space.name == "darts"


def test_variables_encode_every_valid_genotype():
    vars_ = SPACE.variables()
    assert len(vars_) == 24
    assert [len(v.options) for v in vars_[:12]] == [1, 7, 7, 3, 7, 7, 6, 7, 7, 10, 7, 7]
    assert list(SPACE.cardinalities()) == [len(v.options) for v in vars_]
    assert SPACE.size() == (1 * 3 * 6 * 10 * 7 ** 8) ** 2


def test_darts_v2_key_is_canonical_and_round_trips():
    arch = SPACE.from_genotype(DARTS_V2)
    assert arch.key.startswith("normal=sep_conv_3x3~0|sep_conv_3x3~1+sep_conv_3x3~0|sep_conv_3x3~1"
                               "+skip_connect~0|sep_conv_3x3~1+skip_connect~0|dil_conv_3x3~2;reduce=")
    assert SPACE.from_key(arch.key) == arch
    assert SPACE.from_key(arch.key).genotype == arch.genotype
    assert SPACE.contains(arch)
    # JSON round trip gives back an equal Arch with an equal genotype
    back = Arch.from_dict(json.loads(json.dumps(arch.to_dict())))
    assert back == arch and back.genotype == arch.genotype and SPACE.contains(back)


def test_swapping_inputs_of_a_node_keeps_the_key():
    swapped = dict(DARTS_V2)
    normal = list(DARTS_V2["normal"])
    normal[0], normal[1] = normal[1], normal[0]
    normal[6], normal[7] = normal[7], normal[6]
    swapped["normal"] = tuple(normal)
    assert SPACE.from_genotype(swapped).key == SPACE.from_genotype(DARTS_V2).key
    keys = {SPACE.from_genotype(g).key for g in (DARTS_V1, DARTS_V2, PC_DARTS)}
    assert len(keys) == 3


def test_every_sampled_vector_decodes_and_round_trips():
    rng = np.random.default_rng(0)
    cards = SPACE.cardinalities()
    for _ in range(300):
        x = np.array([rng.integers(c) for c in cards])
        arch = SPACE.decode(x)
        for cell in ("normal", "reduce"):
            _assert_valid_cell(arch.genotype[cell])
        assert np.array_equal(SPACE.encode(arch), x)
        assert SPACE.from_key(arch.key) == arch
        assert SPACE.contains(arch)
    child = SPACE.mutate(arch, rng)
    assert child.key != arch.key and SPACE.contains(child)
    assert sum(a != b for a, b in zip(SPACE.encode(child), SPACE.encode(arch))) == 1


def test_accepts_darts_namedtuple_form():
    from collections import namedtuple

    Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
    g = Genotype(list(DARTS_V2["normal"]), range(2, 6), list(DARTS_V2["reduce"]), range(2, 6))
    assert SPACE.from_genotype(g) == SPACE.from_genotype(DARTS_V2)


@pytest.mark.parametrize("mutate, message", [
    (lambda g: g["normal"].__setitem__(0, ("conv_9x9", 0)), "unknown op 'conv_9x9'; accepted: max_pool_3x3, avg_pool_3x3"),
    (lambda g: g["reduce"].__setitem__(3, ("none", 2)), "'none' is not allowed"),
    (lambda g: g["normal"].__setitem__(1, ("sep_conv_3x3", 0)), "must be distinct"),
    (lambda g: g["normal"].__setitem__(2, ("sep_conv_3x3", 3)), "input 3 out of range; node 1 accepts 0..2"),
    (lambda g: g["reduce"].pop(), "expected 8 (op, input) pairs"),
    (lambda g: g["normal"].__setitem__(4, ("sep_conv_3x3", "1")), "is not an integer"),
    (lambda g: g.__setitem__("normal_concat", [2, 3, 4]), "accepted: [2, 3, 4, 5]"),
    (lambda g: g.pop("reduce"), "no 'reduce' cell"),
    (lambda g: g.__setitem__("layout", "x"), "unknown fields"),
])
def test_bad_genotypes_raise_clear_errors(mutate, message):
    g = {k: list(v) for k, v in DARTS_V2.items()}
    mutate(g)
    with pytest.raises(ArchError) as info:
        SPACE.from_genotype(g)
    assert message in str(info.value)


def test_bad_keys_and_encodings_raise():
    key = SPACE.from_genotype(DARTS_V2).key
    with pytest.raises(ArchError, match="expected"):
        SPACE.from_key("normal=sep_conv_3x3~0")
    with pytest.raises(ArchError, match="not canonical"):
        SPACE.from_key(key.replace("sep_conv_3x3~0|sep_conv_3x3~1", "sep_conv_3x3~1|sep_conv_3x3~0", 1))
    with pytest.raises(ArchError, match="unknown op"):
        key_to_genotype(key.replace("dil_conv_3x3", "conv_7x1_1x7"))
    with pytest.raises(ArchError, match="expected 24"):
        SPACE.decode([0] * 23)
    with pytest.raises(ArchError, match="accepted 0..0"):
        SPACE.decode([1] + [0] * 23)
    wrong = Arch("darts", "bogus", DARTS_V2)
    assert not SPACE.contains(wrong)


def test_to_graph_layout():
    arch = SPACE.from_genotype(DARTS_V2)
    adj, feats = SPACE.to_graph(arch)
    assert adj.shape == (22, 22) and feats.shape == (22, len(GRAPH_FEATURES))
    assert np.all(feats[:, :10].sum(axis=1) == 1)
    assert np.all(feats[:11, -1] == 0) and np.all(feats[11:, -1] == 1)
    for base in (0, 11):
        assert adj[:, base + 0].sum() == 0 and adj[:, base + 1].sum() == 0
        assert adj[:, base + 10].sum() == 8 and adj[base + 10].sum() == 0
        for op_node in range(base + 2, base + 10):
            assert adj[:, op_node].sum() in (1, 2)
    assert not adj[:11, 11:].any() and not adj[11:, :11].any()
    # normal node 3 = (skip_connect~0, dil_conv_3x3~2): its dil op (node 9) reads node 0's ops 2, 3
    assert feats[9, 3 + GENOTYPE_OPS.index("dil_conv_3x3")] == 1
    assert list(np.flatnonzero(adj[:, 9])) == [2, 3]
    assert list(np.flatnonzero(adj[:, 8])) == [0]
