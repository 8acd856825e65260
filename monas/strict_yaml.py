"""YAML read strictly: a key given twice in one mapping is an error, not "the last one wins"."""
from __future__ import annotations

from typing import Any

import yaml


class DuplicateKeyError(ValueError):
    """A mapping that gives the same key twice; ``path`` is the config path of the repeated key."""

    def __init__(self, path: str, first_line: int, line: int) -> None:
        where = f"line {line}" if line == first_line else f"lines {first_line} and {line}"
        super().__init__(f"{path}: given twice ({where}); accepted: each key once")
        self.path = path
        self.line = line


def _check(node: yaml.Node, path: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            child = f"{path}.{key}" if path else str(key)
            if key is not None:
                if key in seen:
                    raise DuplicateKeyError(child, seen[key], key_node.start_mark.line + 1)
                seen[key] = key_node.start_mark.line + 1
            _check(value_node, child)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check(item, f"{path}[{i}]")


def load(text: str) -> Any:
    """Parse ``text`` like ``yaml.safe_load``; raises :class:`DuplicateKeyError` for a key given
    twice in one mapping (and ``yaml.YAMLError`` for text that is not YAML)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is not None:
        _check(node, "")
    return yaml.safe_load(text)
