"""Contract tests run over every registered search space."""
import json

import numpy as np
import pytest

from monas.arch import Arch
from monas.registry import SEARCH_SPACES
from monas.search_space import ArchError

SPACES = SEARCH_SPACES.names()


@pytest.fixture(params=SPACES)
def space(request):
    return SEARCH_SPACES.create(request.param)


def test_sample_encode_decode_round_trip(space):
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = space.sample(rng)
        assert space.contains(a)
        x = space.encode(a)
        assert x.shape == (len(space.variables()),)
        assert np.all((x >= 0) & (x < space.cardinalities()))
        assert space.decode(x) == a


def test_genotype_and_key_round_trip_through_json(space):
    rng = np.random.default_rng(1)
    a = space.sample(rng)
    again = Arch.from_dict(json.loads(json.dumps(a.to_dict())))
    assert again == a and space.contains(again)
    assert space.from_genotype(again.genotype) == a
    assert space.from_key(a.key) == a


def test_mutate_changes_the_architecture(space):
    rng = np.random.default_rng(2)
    a = space.sample(rng)
    for _ in range(20):
        b = space.mutate(a, rng)
        assert b != a and space.contains(b)


def test_outside_arch_is_rejected_with_a_clear_message(space):
    with pytest.raises(ArchError):
        space.from_key("not-an-architecture")
    alien = Arch("other_space", "k", ())
    assert not space.contains(alien)
    with pytest.raises(ArchError, match="belongs to space"):
        space.check(alien)


def test_variables_are_named_categoricals(space):
    names = [v.name for v in space.variables()]
    assert len(names) == len(set(names))
    assert all(len(v.options) >= 1 for v in space.variables())
