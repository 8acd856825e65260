"""Which registered generators can search which registered spaces (for ``monas list``).

Each generator is built with its defaults and each space with its ``contract_params``; a pair
is searchable when the space offers every capability of ``generator.required_capabilities()``
(:mod:`monas.capabilities`), else the first missing capability is named.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from monas.capabilities import missing


def compatibility() -> Dict[str, Dict[str, Optional[str]]]:
    """{generator: {space: None when it can search the space, else the first missing capability}}."""
    from monas.registry import GENERATORS, SEARCH_SPACES

    spaces = {}
    for s in SEARCH_SPACES.names():
        params = dict(getattr(SEARCH_SPACES.get(s), "contract_params", {}) or {})
        spaces[s] = SEARCH_SPACES.create(s, **params)
    out: Dict[str, Dict[str, Optional[str]]] = {}
    for g in GENERATORS.names():
        required = tuple(GENERATORS.create(g).required_capabilities())
        out[g] = {s: next(iter(missing(required, space)), None) for s, space in spaces.items()}
    return out


def compatibility_lines() -> List[str]:
    """One line per generator: the spaces it can search, then the others with what they lack."""
    lines = []
    for g, row in compatibility().items():
        can = [s for s, lack in row.items() if lack is None]
        cannot = [f"{s} (no {lack})" for s, lack in row.items() if lack is not None]
        lines.append(f"{g}: searches {', '.join(can) or 'none'}" + (f"; not {', '.join(cannot)}" if cannot else ""))
    return lines
