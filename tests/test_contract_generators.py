"""Contract tests run over every registered generator (built with its ``contract_params``).

The installed suite of ``monas.testing`` runs every generator on every registered space it can
search (and checks the refusal of the others); here, in addition, each generator runs through
the engine on the NB201 space with table objectives and the digits data in its context, must
propose only architectures of the space, and must resume exactly from its ``state_dict`` after a
round trip through ``torch.save``.
"""
import io

import pytest
import torch

from monas.budget import Budget
from monas.datasets import load_digits
from monas.engine import Engine
from monas.objectives.tabular import TabularObjective
from monas.registry import GENERATORS, SEARCH_SPACES

from monas.testing.test_generator_contract import (  # noqa: E402,F401
    test_generator_refuses_a_space_it_cannot_search_before_any_work,
    test_generator_runs_in_the_engine_and_resumes_exactly as test_every_searchable_pair_runs_and_resumes_exactly)

NAMES = GENERATORS.names()


@pytest.fixture(scope="module")
def digits():
    return load_digits(size=16)


def objectives():
    return {
        "accuracy": TabularObjective("c10_test_acc_200ep"),
        "latency": TabularObjective("lat_ms_1080ti_1", direction="minimize"),
        "params": TabularObjective("c10_params_M", direction="minimize"),
    }


def make(name):
    cls = GENERATORS.get(name)
    return GENERATORS.create(name, **getattr(cls, "contract_params", {}))


@pytest.mark.parametrize("name", NAMES)
def test_generator_runs_in_the_engine_and_resumes_exactly(name, digits):
    space = SEARCH_SPACES.create("nb201", C=4, N=1)
    engine = Engine(space, objectives(), [(name, make(name), 1.0)], budget=Budget(evaluations=6),
                    seed=0, data=digits)
    archive = engine.optimize()
    assert 1 <= len(archive) <= 6
    assert all(space.contains(e.arch) for e in archive.evaluations)
    assert all(e.generator == name for e in archive.evaluations)

    gen = engine.slots[0].generator
    buf = io.BytesIO()
    torch.save(gen.state_dict(), buf)
    buf.seek(0)
    restored = make(name)
    restored.setup(gen.ctx_)
    restored.load_state_dict(torch.load(buf, weights_only=False))
    n = max(1, min(gen.batch_size, 4))
    assert [a.key for a in restored.ask(n)] == [a.key for a in gen.ask(n)]


@pytest.mark.parametrize("name", NAMES)
def test_generator_constructor_takes_keywords_only_state(name):
    gen = make(name)
    public = {k for k in vars(gen) if not k.endswith("_")}
    # scikit-learn convention: everything set in __init__ is a constructor parameter
    import inspect

    accepted = set(inspect.signature(type(gen)).parameters)
    assert public <= accepted | {"batch_size"}, f"{name} stores non-parameters in __init__: {public - accepted}"
