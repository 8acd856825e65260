"""The generator contract, run over every registered generator (built with its
``contract_params``) and every registered space it can search (``monas_pair``): a short run
through the engine proposes only architectures of the space and resumes exactly from its
``state_dict``; a space it cannot search is refused before any work, naming the capability."""
import inspect

import pytest

from monas.budget import Budget
from monas.capabilities import CapabilityError
from monas.engine import Engine
from monas.testing.contract import (assert_runs_and_resumes, contract_data, contract_objectives, make_generator,
                                    make_space)

EVALUATIONS = 4


def test_generator_runs_in_the_engine_and_resumes_exactly(monas_pair):
    name, space_name = monas_pair
    assert_runs_and_resumes(make_space(space_name), name, contract_objectives(), contract_data(), EVALUATIONS)


def test_generator_refuses_a_space_it_cannot_search_before_any_work(monas_refused):
    name, space_name, capability = monas_refused
    gen = make_generator(name)
    with pytest.raises(CapabilityError) as info:
        Engine(make_space(space_name), contract_objectives(), [(name, gen, 1.0)], budget=Budget(evaluations=1),
               seed=0, data=contract_data())
    message = str(info.value)
    assert capability in message and "\n" not in message
    assert not hasattr(gen, "ctx_"), "refused before setup"


def test_generator_constructor_takes_keywords_only_state(monas_generator_name):
    gen = make_generator(monas_generator_name)
    public = {k for k in vars(gen) if not k.endswith("_")}
    # scikit-learn convention: everything set in __init__ is a constructor parameter
    accepted = set(inspect.signature(type(gen)).parameters)
    assert public <= accepted | {"batch_size"}, f"stores non-parameters in __init__: {public - accepted}"
