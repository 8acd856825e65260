import os

import pytest
import torch

torch.set_num_threads(1)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: longer end-to-end checks")


@pytest.fixture(scope="session")
def nb201():
    from monas.registry import SEARCH_SPACES

    return SEARCH_SPACES.create("nb201")


@pytest.fixture
def table_objectives():
    from monas.objectives.tabular import TabularObjective

    return {"accuracy": TabularObjective("c10_test_acc_200ep"),
            "latency": TabularObjective("lat_ms_1080ti_1", direction="minimize")}
