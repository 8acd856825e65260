"""Named parameter sets of a plugin (``preset: paper``): one dict per name, explicit parameters win.

A plugin keeps its sets in ``PRESETS = {"paper": {...}}`` (its own ``presets.py``), accepts
``preset`` in ``__init__`` and passes everything through :func:`merge_preset` before configuring
itself; :func:`signature_from` makes ``inspect.signature(Plugin)`` show the configured parameters
(the preflight checks keywords against it).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Mapping, Optional


def merge_preset(plugin: str, presets: Mapping[str, Mapping[str, Any]], preset: Optional[str],
                 params: Mapping[str, Any]) -> Dict[str, Any]:
    """``params`` over the preset's values; an unknown name raises one line naming the accepted ones."""
    if preset is None:
        return dict(params)
    if preset not in presets:
        raise ValueError(f"{plugin}: preset={preset!r}; accepted: {', '.join(sorted(presets))}")
    return {**presets[preset], **params}


def signature_from(configure: Callable[..., Any]) -> inspect.Signature:
    """The signature of an unbound ``_configure(self, ...)`` without ``self``, for ``Plugin.__signature__``."""
    sig = inspect.signature(configure)
    return sig.replace(parameters=[p for name, p in sig.parameters.items() if name != "self"])
