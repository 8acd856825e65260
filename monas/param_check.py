"""Plugin parameters checked against the constructor's signature before anything is built.

A YAML node's ``params`` are a plugin's keyword arguments, so the constructor's signature is
its schema: each value is checked against the parameter's annotation (``int``, ``float``,
``bool``, ``str``, ``Optional[...]``, ``Sequence[...]``, ``Dict[...]``, ``Union[...]``), numbers
must be finite, a number whose default is non-negative must not be negative, and sizes and
counts (``batch_size``, ``pop_size``, ``C``, ``layers``, ...) must be >= 1. A plugin may narrow
this with a class attribute ``param_bounds = {"name": (low, high)}`` (either end None) and may
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


def signature_of(factory: Any) -> Optional[inspect.Signature]:
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):
        return None


def type_hints(factory: Any) -> Dict[str, Any]:
    """The resolved annotations of ``factory``'s parameters; one that cannot be resolved (a name
    imported only for type checkers) is left out, so it is not type-checked."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return typing.get_type_hints(target)
    except Exception:
        pass
    import builtins
    import sys

    module = sys.modules.get(getattr(target, "__module__", ""), None)
    namespace = {**vars(builtins), **vars(typing), **(vars(module) if module else {})}
    hints = {}
    for name, annotation in getattr(target, "__annotations__", {}).items():
        try:
            hints[name] = eval(annotation, namespace) if isinstance(annotation, str) else annotation
        except Exception:
            continue
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
    """int, float or Optional of one of them: the annotations a range rule applies to."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] \
        if typing.get_origin(annotation) in _UNIONS else [annotation]
    return len(args) == 1 and args[0] in (int, float)


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
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = bounds_of(factory, name, annotation, parameter.default)
        if low is not None and value < low:
            raise ParamError(name, f"{value!r} is out of range; accepted: a number >= {low}"
                                   + (f" and <= {high}" if high is not None else ""))
        if high is not None and value > high:
            raise ParamError(name, f"{value!r} is out of range; accepted: a number <= {high}"
                                   + (f" and >= {low}" if low is not None else ""))


def check_params(factory: Any, params: Mapping[str, Any]) -> None:
    """Check every value of ``params`` against ``factory``'s signature, then its own
    ``check_params`` hook; raises :class:`ParamError` naming the first bad parameter."""
    sig = signature_of(factory)
    if sig is not None:
        hints = type_hints(factory)
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
