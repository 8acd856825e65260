"""Contract tests a plugin author runs on an installed monas (no source checkout needed).

``pytest --pyargs monas.testing`` runs them over every registered search space and every
registered generator paired with every space it can search (its ``required_capabilities()``
against the space's offered capabilities, :mod:`monas.capabilities`); pairs it cannot search
must be refused before any work, naming the missing capability. Restrict the run to your own
plugins with ``--monas-space NAME`` and ``--monas-generator NAME`` (each repeatable).

Spaces are built with their ``contract_params`` class attribute (default ``{}``), generators
with theirs, so a plugin declares the cheapest faithful configuration once. The option and the
parametrisation come from the pytest plugin :mod:`monas.testing.plugin`, registered through the
``pytest11`` entry point, so the same fixtures serve a third party's own test files:
``monas_space`` (a space instance, one per selected space) and ``monas_pair`` (a
``(generator name, space name)`` pair that can be searched).
"""
from monas.testing.contract import (CONTRACT_INPUT, contract_data, contract_objectives, make_generator,
                                    make_space, refused_pairs, searchable_pairs)

__all__ = ["CONTRACT_INPUT", "contract_data", "contract_objectives", "make_generator", "make_space",
           "refused_pairs", "searchable_pairs"]
