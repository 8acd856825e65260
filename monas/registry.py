"""Registries: one per kind of extension, filled by decorators or by entry points.

Built-ins register through the same entry points a third-party package declares in its
``setup.py`` (``entry_points={"monas.generators": ["name = pkg.module:Class"]}``), so the core
never imports a plugin by name.
"""
from __future__ import annotations

import fnmatch
from importlib.metadata import entry_points
from typing import Any, Callable, Dict, Iterable, List, Optional


class RegistryError(KeyError):
    """An unknown or duplicate name; the message names the registry and the known names."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one plain line
        return str(self.args[0]) if self.args else ""


class Registry:
    """A name -> factory map for one kind of extension (generators, search spaces, ...)."""

    def __init__(self, kind: str, group: Optional[str] = None) -> None:
        self.kind = kind
        self.group = group
        self._items: Dict[str, Any] = {}
        self._entry_points: Optional[Dict[str, Any]] = None

    def register(self, name: str, obj: Any = None) -> Any:
        """Register ``obj`` under ``name``; usable as ``@registry.register("name")``."""
        if obj is None:
            def decorator(o: Any) -> Any:
                self.register(name, o)
                return o
            return decorator
        if name in self._items and self._items[name] is not obj:
            raise RegistryError(f"{self.kind} registry: {name!r} is already registered")
        self._items[name] = obj
        return obj

    def _discover(self) -> Dict[str, Any]:
        if self._entry_points is None:
            self._entry_points = {}
            if self.group:
                for ep in entry_points(group=self.group):
                    self._entry_points.setdefault(ep.name, ep)
        return self._entry_points

    def get(self, name: str) -> Any:
        if name in self._items:
            return self._items[name]
        eps = self._discover()
        if name in eps:
            return self.register(name, eps[name].load())
        raise RegistryError(
            f"unknown {self.kind} {name!r}; known: {', '.join(self.names()) or '(none)'}"
        )

    def create(self, name: str, **params: Any) -> Any:
        return self.get(name)(**params)

    def names(self, pattern: str = "*") -> List[str]:
        all_names = set(self._items) | set(self._discover())
        return sorted(n for n in all_names if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: str) -> bool:
        return name in self._items or name in self._discover()

    def __iter__(self) -> Iterable[str]:
        return iter(self.names())


GENERATORS = Registry("generator", "monas.generators")
SEARCH_SPACES = Registry("search space", "monas.search_spaces")
OBJECTIVES = Registry("objective", "monas.objectives")
DATASETS = Registry("dataset", "monas.datasets")
