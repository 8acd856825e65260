"""CandidateGenerator: the plugin protocol every NAS method implements (ask / tell)."""
from __future__ import annotations

import abc
from typing import Any, Dict, List, Optional, Sequence, Tuple

from monas.arch import Arch
from monas.evaluation import Evaluation


class CandidateGenerator(abc.ABC):
    """Proposes architectures; never evaluates them (the engine does).

    The engine calls, in order:

    - ``setup(ctx)`` once per process before the first ``ask``; ``ctx`` is a
      :class:`monas.context.GeneratorContext` (space, objectives, constraints, seed, a cached
      ``measure`` service, data, device, progress and checkpoint hooks).
    - ``load_state_dict(state)`` right after ``setup`` when a run is resumed.
    - ``ask(n)`` for up to ``n`` candidates (fewer is fine, an empty list means "done").
    - ``tell(evaluations)`` with the evaluations of the candidates of the last ``ask``, in order,
      including those answered from the cache (duplicates) and failed ones.
    - ``state_dict()`` after every ``tell``, to checkpoint; it must capture everything needed to
      continue exactly (RNG state included).

    Constructors take explicit keyword parameters only (a YAML ``params`` node is exactly the
    constructor's kwargs); state learned during a run lives in attributes ending in ``_``.
    """

    #: how many candidates the generator prefers per ``ask`` (e.g. its population size)
    batch_size: int = 1

    #: how many ``ask``s may await their ``tell`` at once while workers evaluate in parallel
    #: (None: any number). 1 (the default) suits a generator that learns from each batch before the
    #: next (a population, a policy); a generator that proposes independently of outstanding results
    #: (random, steady-state evolution) allows more and keeps every worker busy. ``tell`` then
    #: arrives per batch, in the order the batches complete.
    max_pending_batches: Optional[int] = 1
    #: constructor kwargs for the cheapest faithful configuration; the contract tests in
    #: tests/test_contract_generators.py build every registered generator with these
    contract_params: Dict[str, Any] = {}

    #: search-space capabilities this generator needs (``monas.capabilities``); the engine
    #: refuses a space that lacks one before any work
    requires: Tuple[str, ...] = ("categorical",)

    def required_capabilities(self) -> Tuple[str, ...]:
        """The capabilities needed with this instance's parameters (default: ``requires``)."""
        return tuple(self.requires)

    def setup(self, ctx) -> None:
        self.ctx_ = ctx

    @abc.abstractmethod
    def ask(self, n: int) -> List[Arch]:
        """Up to ``n`` new candidates."""

    def tell(self, evaluations: Sequence[Evaluation]) -> None:
        """Results of the candidates of the last ``ask``, in the same order."""

    def state_dict(self) -> Dict[str, Any]:
        return {}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        pass
