"""Contract tests run over every registered generator (built with its ``contract_params``).

The installed suite of ``monas.testing`` runs every generator on every registered space it can
search (and checks the refusal of the others); here, in addition, each generator runs through
the engine on the NB201 space with table objectives and the digits data in its context, must
propose only architectures of the space, and must resume exactly from its ``state_dict`` after a
round trip through ``torch.save``.
"""
import pytest

from monas.datasets import load_digits
from monas.objectives.tabular import TabularObjective
from monas.registry import GENERATORS, SEARCH_SPACES
from monas.testing.contract import assert_runs_and_resumes

from monas.testing.test_generator_contract import (  # noqa: E402,F401
    test_generator_constructor_takes_keywords_only_state,
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


@pytest.mark.parametrize("name", NAMES)
def test_generator_runs_in_the_engine_and_resumes_exactly(name, digits):
    space = SEARCH_SPACES.create("nb201", C=4, N=1)
    assert_runs_and_resumes(space, name, objectives(), digits, 6)

