"""Plugin parameters checked against the constructor's signature before anything is built.

A YAML node's ``params`` are a plugin's keyword arguments, so the constructor's signature is
its schema: each value is checked against the parameter's annotation (``int``, ``float``,
``bool``, ``str``, ``Optional[...]``, ``Sequence[...]``, ``Dict[...]``, ``Union[...]``), numbers
must be finite, a number whose default is non-negative must not be negative, and sizes and
counts (``batch_size``, ``pop_size``, ``C``, ``layers``, ...) must be >= 1. A plugin may narrow
this with a class attribute ``param_bounds = {"name": (low, high)}`` (either end None), may
name the function whose signature lists its parameters (``param_schema``, for a constructor
that takes ``**params``), and may
check what a signature cannot say (a file, a name in another library) with a static or class
method ``check_params(**params)`` that raises :class:`ParamError`.
"""
from __future__ import annotations

import inspect
import math
import numbers
import re
import types
import typing
from typing import Any, Dict, Mapping, Optional, Tuple

_SIZE_NAMES = re.compile(r"^(C|N|layers|depth|hidden|repeats|threads|top_k|ensemble|population_size|pop_size|"
                         r"sample_size|samples|max_tries|n_seeds|n_policies|ops_per_round|refit_every|"
                         r"num_classes|in_channels|input_size|size|.*_size|.*_layers|.*_C|n_mutants|max_pool|"
                         r"interval|top|policy_steps|proposal_draws)$")
_UNIONS = (typing.Union, getattr(types, "UnionType", typing.Union))
_UNIT_NAMES = re.compile(r"^(.*_prob|.*_fraction|momentum|w_momentum|baseline_gamma)$")


class ParamError(ValueError):
    """A bad plugin parameter: ``param`` is its path below ``params`` (``sampler_params.seed``)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


def schema_of(factory: Any) -> Any:
    """The callable whose signature lists ``factory``'s parameters: ``factory`` itself, or its
    ``param_schema`` when the constructor takes ``**params`` and forwards them (e.g.
    ``param_schema = _configure``)."""
    return getattr(factory, "param_schema", None) or factory


def signature_of(factory: Any) -> Optional[inspect.Signature]:
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):
        return None


def type_hints(factory: Any) -> Dict[str, Any]:
    """The resolved annotations of the parameters ``inspect.signature(factory)`` shows (which
    may be a ``__signature__`` the factory declares); one that cannot be resolved (a name
    imported only for type checkers) is left out, so it is not type-checked."""
    import builtins
    import sys

    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        hints = dict(typing.get_type_hints(target))
    except Exception:
        hints = {}
    sig = signature_of(factory)
    if sig is None:
        return hints
    modules = [sys.modules.get(getattr(o, "__module__", "") or "") for o in (factory, target)]
    namespace = {**vars(builtins), **vars(typing)}
    for module in modules:
        if module is not None:
            namespace.update(vars(module))
    for name, parameter in sig.parameters.items():
        annotation = parameter.annotation
        if annotation is inspect.Parameter.empty or (name in hints and not isinstance(annotation, str)
                                                     and hints[name] == annotation):
            continue
        try:
            hints[name] = eval(annotation, namespace) if isinstance(annotation, str) else annotation
        except Exception:
            hints.pop(name, None)
    return hints


def describe(annotation: Any) -> str:
    """``annotation`` in the words a config author reads (``an integer or null``)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if _is_callable_type(annotation):
        return "a function (which a YAML config cannot give)"
    if origin in _UNIONS:
        return " or ".join(dict.fromkeys(describe(a) for a in args))
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "an integer"
    if annotation in (float, numbers.Number, numbers.Real):
        return "a number"
    if annotation is str:
        return "a string"
    if _is_sequence_type(annotation):
        inner = args[0] if args else Any
        if inner is Any:
            return "a list"
        return "a list of " + {"an integer": "integers", "a number": "numbers", "a string": "strings"}.get(
            describe(inner), describe(inner))
    if _is_mapping_type(annotation):
        return "a mapping"
    return "any value"


def _is_sequence_type(annotation: Any) -> bool:
    import collections.abc as abc

    origin = typing.get_origin(annotation) or annotation
    return origin in (list, tuple, abc.Sequence, abc.MutableSequence)


def _is_callable_type(annotation: Any) -> bool:
    import collections.abc as abc

    return (typing.get_origin(annotation) or annotation) is abc.Callable


def _is_mapping_type(annotation: Any) -> bool:
    import collections.abc as abc

    origin = typing.get_origin(annotation) or annotation
    return origin in (dict, abc.Mapping, abc.MutableMapping)


def matches(value: Any, annotation: Any) -> bool:
    """Whether ``value`` (parsed YAML) is of type ``annotation``; unknown annotations match."""
    if annotation is Any or annotation is inspect.Parameter.empty:
        return True
    if _is_callable_type(annotation):
        return False  # YAML gives data, never a function
    if annotation is type(None) or annotation is None:
        return value is None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in _UNIONS:
        return any(matches(value, a) for a in args)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation in (float, numbers.Number, numbers.Real):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if _is_sequence_type(annotation):
        if not isinstance(value, (list, tuple)):
            return False
        if args and args[-1] is not Ellipsis:
            return all(matches(v, args[0]) for v in value)
        return True
    if _is_mapping_type(annotation):
        if not isinstance(value, Mapping):
            return False
        if len(args) == 2:
            return all(matches(k, args[0]) and matches(v, args[1]) for k, v in value.items())
        return True
    return True


def non_finite(value: Any, path: str) -> Optional[Tuple[str, Any]]:
    """The first NaN or infinity inside ``value`` as (path, number), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if isinstance(value, Mapping):
        for k, v in value.items():
            hit = non_finite(v, f"{path}.{k}")
            if hit:
                return hit
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            hit = non_finite(v, f"{path}[{i}]")
            if hit:
                return hit
    return None


def _plain_number(annotation: Any) -> bool:
    """int, float, a list of them, or Optional / Union of those: the annotations a range rule
    applies to (to the number or to each number of the list)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] \
        if typing.get_origin(annotation) in _UNIONS else [annotation]
    numeric = [a for a in args if a in (int, float) or (
        _is_sequence_type(a) and typing.get_args(a)[:1] in ((int,), (float,)))]
    return bool(args) and len(numeric) == len(args)


def bounds_of(factory: Any, name: str, annotation: Any, default: Any) -> Tuple[Optional[float], Optional[float]]:
    """The accepted (low, high) of a numeric parameter (see the module docstring)."""
    declared = getattr(factory, "param_bounds", None) or {}
    if name in declared:
        return declared[name]
    if not _plain_number(annotation):
        return None, None
    low = high = None
    if default is inspect.Parameter.empty or default is None or (
            isinstance(default, (int, float)) and not isinstance(default, bool) and default >= 0):
        low = 0
    if _SIZE_NAMES.match(name):
        low = 1
    if _UNIT_NAMES.match(name):
        low, high = 0, 1
    return low, high


def check_param(factory: Any, name: str, value: Any, parameter: inspect.Parameter, annotation: Any) -> None:
    """Raise :class:`ParamError` when ``value`` does not fit parameter ``name``."""
    bad = non_finite(value, name)
    if bad:
        raise ParamError(bad[0], f"{bad[1]!r} is not a finite number; accepted: "
                                 f"{describe(annotation) if annotation is not inspect.Parameter.empty else 'a finite number'}")
    if annotation is not inspect.Parameter.empty and not matches(value, annotation):
        raise ParamError(name, f"{value!r} is not {describe(annotation)}")
    numbers_in = [(name, value)] if not isinstance(value, (list, tuple)) else \
        [(f"{name}[{i}]", v) for i, v in enumerate(value)]
    default = parameter.default
    if isinstance(default, (list, tuple)):
        default = min(default) if default and all(isinstance(d, (int, float)) for d in default) else None
    low, high = bounds_of(factory, name, annotation, default)
    for where, v in numbers_in:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if low is not None and v < low:
            raise ParamError(where, f"{v!r} is out of range; accepted: a number >= {low}"
                                    + (f" and <= {high}" if high is not None else ""))
        if high is not None and v > high:
            raise ParamError(where, f"{v!r} is out of range; accepted: a number <= {high}"
                                    + (f" and >= {low}" if low is not None else ""))


def check_params(factory: Any, params: Mapping[str, Any]) -> None:
    """Check every value of ``params`` against ``factory``'s signature, then its own
    ``check_params`` hook; raises :class:`ParamError` naming the first bad parameter."""
    schema = schema_of(factory)
    sig = signature_of(schema)
    if sig is not None:
        hints = type_hints(schema)
        for name, value in params.items():
            parameter = sig.parameters.get(name)
            if parameter is None or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                bad = non_finite(value, name)
                if bad:
                    raise ParamError(bad[0], f"{bad[1]!r} is not a finite number")
                continue
            check_param(factory, name, value, parameter, hints.get(name, inspect.Parameter.empty))
    hook = getattr(factory, "check_params", None)
    if callable(hook):
        hook(**params)
