"""The pytest plugin of the contract tests (entry point ``pytest11: monas = monas.testing.plugin``).

It adds ``--monas-space`` / ``--monas-generator`` and parametrises, in any test that asks for
them: ``monas_space_name`` (every selected registered space), ``monas_generator_name`` (every
selected generator), ``monas_pair`` ((generator, space) pairs the generator can search) and
``monas_refused`` ((generator, space, missing capability) pairs it cannot). It adds no test of
its own: the tests live in ``monas.testing`` (``pytest --pyargs monas.testing``).
"""
from __future__ import annotations

from typing import List, Sequence

import pytest


def pytest_addoption(parser) -> None:
    group = parser.getgroup("monas", "monas contract tests (pytest --pyargs monas.testing)")
    group.addoption("--monas-space", action="append", default=[], metavar="NAME",
                    help="run the contract tests on this registered search space only (repeatable)")
    group.addoption("--monas-generator", action="append", default=[], metavar="NAME",
                    help="run the contract tests on this registered generator only (repeatable)")


def _selected(config, option: str, known: Sequence[str], kind: str) -> List[str]:
    chosen = config.getoption(option) or []
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise pytest.UsageError(f"--{option.replace('_', '-')} {unknown[0]!r} is not a registered {kind}; "
                                f"known: {', '.join(known)}")
    return [n for n in known if not chosen or n in chosen]


def pytest_generate_tests(metafunc) -> None:
    names = metafunc.fixturenames
    if not {"monas_space_name", "monas_generator_name", "monas_pair", "monas_refused"} & set(names):
        return
    from monas.registry import GENERATORS, SEARCH_SPACES
    from monas.testing.contract import refused_pairs, searchable_pairs

    config = metafunc.config
    spaces = _selected(config, "monas_space", SEARCH_SPACES.names(), "search space")
    generators = _selected(config, "monas_generator", GENERATORS.names(), "generator")
    if "monas_space_name" in names:
        metafunc.parametrize("monas_space_name", spaces)
    if "monas_generator_name" in names:
        metafunc.parametrize("monas_generator_name", generators)
    if "monas_pair" in names:
        pairs = [p for p in searchable_pairs() if p[0] in generators and p[1] in spaces]
        metafunc.parametrize("monas_pair", pairs, ids=[f"{g}-on-{s}" for g, s in pairs])
    if "monas_refused" in names:
        refused = [p for p in refused_pairs() if p[0] in generators and p[1] in spaces]
        metafunc.parametrize("monas_refused", refused, ids=[f"{g}-on-{s}" for g, s, _ in refused])


@pytest.fixture
def monas_space(monas_space_name):
    """The space ``monas_space_name`` built with its ``contract_params``."""
    from monas.testing.contract import make_space

    return make_space(monas_space_name)
