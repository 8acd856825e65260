"""Capabilities: what a search space offers, what a generator needs, and the one check between them.

A method never asks a space for its name; it declares the capabilities it needs
(``CandidateGenerator.required_capabilities()``) and the engine refuses, before any work, a
generator whose space lacks one, naming the missing capability. A space offers:

- ``categorical``: ``variables()`` are categorical choices with ``decode`` / ``encode`` (every
  :class:`~monas.search_space.SearchSpace`);
- ``network``: ``build(arch)``, the discrete network (measured objectives, training);
- ``graph``: ``to_graph(arch)``, adjacency and node features (predictors);
- ``enumerable``: ``all()``, every architecture of the space (small spaces);
- ``supernet``: ``supernet(mode=...)``, a weight-sharing network, plus the protocols it names in
  the space's ``supernet_protocols`` (``supernet.single_path``, ``supernet.mixture``; see
  ``search_spaces/README.md``).
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Sequence

CAPABILITIES: Dict[str, str] = {
    "categorical": "variables() are categorical choices with decode() and encode()",
    "network": "build(arch) gives the discrete network",
    "graph": "to_graph(arch) gives the cell graph (adjacency, node features)",
    "enumerable": "all() lists every architecture of the space",
    "supernet": "supernet(mode=...) gives a weight-sharing network",
    "supernet.single_path": "the supernet runs one architecture's path: forward(x, *net.arch_to_weights(arch))",
    "supernet.mixture": ("the supernet mixes every op of every edge: arch_shapes(), new_arch_parameters(), "
                         "derive_genotype(weights) and forward(x, weights) with softmax weights, and the space "
                         "describes its cells with mixture_layout() and cell_ops(arch)"),
}


class CapabilityError(ValueError):
    """A generator cannot search a space: the message names the missing capability."""


def _overrides(space, method: str) -> bool:
    from monas.search_space import SearchSpace

    impl = getattr(type(space), method, None)
    return impl is not None and impl is not getattr(SearchSpace, method, None)


def offered(space) -> FrozenSet[str]:
    """The capabilities ``space`` offers (see the module docstring)."""
    caps = {"categorical"}
    if _overrides(space, "build"):
        caps.add("network")
    if _overrides(space, "to_graph"):
        caps.add("graph")
    if callable(getattr(space, "all", None)):
        caps.add("enumerable")
    if _overrides(space, "supernet"):
        caps.add("supernet")
        for protocol in getattr(space, "supernet_protocols", ()):
            if protocol == "mixture" and not callable(getattr(space, "mixture_layout", None)):
                continue  # the DARTS family reads the cell layout from mixture_layout()
            caps.add(f"supernet.{protocol}")
    return frozenset(caps)


def missing(required: Sequence[str], space) -> list:
    """The capabilities of ``required`` that ``space`` does not offer, in order."""
    have = offered(space)
    return [c for c in required if c not in have]


def check(generator, space, label: str) -> None:
    """Raise :class:`CapabilityError` when ``generator`` needs a capability ``space`` lacks."""
    required = tuple(generator.required_capabilities())
    lacking = missing(required, space)
    if lacking:
        cap = lacking[0]
        what = CAPABILITIES.get(cap, "a capability this generator declares")
        raise CapabilityError(
            f"generator {label!r} cannot search space {getattr(space, 'name', type(space).__name__)!r}: it needs "
            f"the capability {cap!r} ({what}); the space offers: {', '.join(sorted(offered(space)))}")
