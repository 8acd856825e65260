"""Parameter and FLOP counts through fvcore, and their differentiable expectation for supernets.

``params`` counts every parameter of ``space.build(arch, ...)`` (fvcore's ``parameter_count``,
the same as ``sum(p.numel())``). ``flops`` counts with ``FlopCountAnalysis`` on one input of the
data's shape: fvcore counts one fused multiply-add as one flop and counts BatchNorm, but not
pooling, ReLU or additions; the ops it could not count are kept in the details
(``unsupported_ops``) with every value. NB201's own table follows another convention, so
compare fvcore values with fvcore values.

For DARTS-family plugins, :func:`op_cost_table` measures the cost of every (edge, op) of a
space's supernet, so the expected cost under softmax probabilities,
``base + sum_cell sum(p[cell] * table[cell])``, is differentiable in the probabilities
(:func:`expected_cost`, ``ParamsObjective.expected``, ``FlopsObjective.expected``).
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from monas.objective import Measurement, Objective
from monas.objectives._build import build_fingerprint, build_network, input_shape_for

UNITS = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9}


def unit_scale(unit: str) -> float:
    """Divisor of a raw count for ``unit`` ('' for raw counts, 'K', 'M' or 'G')."""
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r} is not supported; accepted: {', '.join(repr(u) for u in UNITS)}")
    return UNITS[unit]


def count_params(model: nn.Module) -> int:
    """Total parameters of ``model`` by fvcore (shared parameters counted once)."""
    from fvcore.nn import parameter_count

    return int(parameter_count(model).get("", 0))


def flop_analysis(model: nn.Module, inputs: Union[torch.Tensor, Tuple[Any, ...]]):
    """fvcore's FlopCountAnalysis of ``model`` on ``inputs`` with its warnings silenced.

    The unsupported ops are still available through ``.unsupported_ops()``.
    """
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, inputs)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return analysis


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> Tuple[int, Dict[str, int], Dict[str, int]]:
    """(total flops, unsupported op counts, flops by operator) of ``model`` on one zero input."""
    model.eval()
    x = torch.zeros(1, *input_shape)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = flop_analysis(model, x)
        total = int(analysis.total())
        unsupported = {str(k): int(v) for k, v in analysis.unsupported_ops().items()}
        by_operator = {str(k): int(v) for k, v in analysis.by_operator().items()}
    return total, unsupported, by_operator


class _CountObjective(Objective):
    """Shared parts of params and FLOPs: unit, build kwargs, fingerprint, expectation."""

    cheap = True
    kind = ""

    def __init__(self, unit: str = "M", input_shape: Optional[Sequence[int]] = None,
                 build_kwargs: Optional[Dict[str, Any]] = None, supernet_kwargs: Optional[Dict[str, Any]] = None) -> None:
        self.unit = unit
        self.units = f"{unit} params" if self.kind == "params" else f"{unit}FLOPs"
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.build_kwargs = dict(build_kwargs or {})
        self.supernet_kwargs = dict(supernet_kwargs or {})
        unit_scale(unit)
        self.cost_tables_ = {}

    def fingerprint(self, ctx) -> Dict[str, Any]:
        return {"kind": self.kind, "unit": self.unit, **build_fingerprint(ctx, self.input_shape, self.build_kwargs)}

    def expected(self, space, probabilities: Dict[str, torch.Tensor]) -> torch.Tensor:
        """E[cost] in ``unit`` under per-edge op probabilities {cell type: (edges, ops)}.

        The table is measured once per space on ``space.supernet(**supernet_kwargs)`` (see
        :func:`op_cost_table`) and cached on the objective; the result is differentiable in
        ``probabilities``.
        """
        key = id(space)
        if key not in self.cost_tables_:
            shape = self.input_shape or (3, getattr(space, "input_size", 32), getattr(space, "input_size", 32))
            self.cost_tables_[key] = op_cost_table(space, self.kind, input_shape=shape,
                                                   num_classes=self.build_kwargs.get("num_classes"),
                                                   return_base=True, **self.supernet_kwargs)
        table, base = self.cost_tables_[key]
        return expected_cost(table, probabilities, base) / unit_scale(self.unit)


class ParamsObjective(_CountObjective):
    """Number of parameters of the built network, in ``unit`` (default millions).

    ``build_kwargs`` go to ``space.build`` (e.g. ``{C: 16, N: 5}``); the head has the data's
    classes and the stem its channels. Details: the raw ``count`` and the ``trainable`` count.
    """

    kind = "params"

    def __init__(self, unit: str = "M", build_kwargs: Optional[Dict[str, Any]] = None,
                 input_shape: Optional[Sequence[int]] = None,
                 supernet_kwargs: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(unit=unit, input_shape=input_shape, build_kwargs=build_kwargs,
                         supernet_kwargs=supernet_kwargs)

    def fingerprint(self, ctx) -> Dict[str, Any]:
        fp = super().fingerprint(ctx)
        fp["input_shape"] = fp["input_shape"][:1]  # only the channel count matters to params
        return fp

    def measure(self, arch, ctx) -> Measurement:
        net = build_network(ctx.space, arch, ctx, self.input_shape, self.build_kwargs)
        count = count_params(net)
        trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
        return Measurement(count / unit_scale(self.unit), {"count": count, "trainable": trainable, "unit": self.unit})


class FlopsObjective(_CountObjective):
    """FLOPs of one forward pass (batch 1) of the built network by fvcore, in ``unit``.

    Details: the raw ``count``, ``unsupported_ops`` (op name -> occurrences fvcore did not
    count), ``by_operator`` and the counting ``convention``.
    """

    kind = "flops"

    def __init__(self, input_shape: Optional[Sequence[int]] = None, unit: str = "M",
                 build_kwargs: Optional[Dict[str, Any]] = None,
                 supernet_kwargs: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(unit=unit, input_shape=input_shape, build_kwargs=build_kwargs,
                         supernet_kwargs=supernet_kwargs)

    def measure(self, arch, ctx) -> Measurement:
        shape = input_shape_for(ctx, self.input_shape)
        net = build_network(ctx.space, arch, ctx, shape, self.build_kwargs)
        total, unsupported, by_operator = count_flops(net, shape)
        return Measurement(total / unit_scale(self.unit), {
            "count": total, "unit": self.unit, "unsupported_ops": unsupported, "by_operator": by_operator,
            "convention": "fvcore: one multiply-add = 1 flop, batch 1, unsupported ops not counted",
        })


class _WithWeights(nn.Module):
    """A supernet with fixed op weights, as a one-input module fvcore can trace."""

    def __init__(self, net: nn.Module, weights, edge_weights=None) -> None:
        super().__init__()
        self.net = net
        self.weights = weights
        self.edge_weights = edge_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.weights, self.edge_weights)


def _called_modules(net: nn.Module, x: torch.Tensor, weights) -> list:
    """Modules whose forward runs when ``net`` is driven by ``weights`` (one cheap forward)."""
    called = []
    hooks = [m.register_forward_pre_hook(lambda mod, inp: called.append(mod)) for m in net.modules()]
    try:
        with torch.no_grad():
            net(x, weights)
    finally:
        for h in hooks:
            h.remove()
    return list({id(m): m for m in called}.values())


def op_cost_table(space, objective: Union[str, Objective] = "params", input_shape: Optional[Sequence[int]] = None,
                  num_classes: Optional[int] = None, mode: str = "mixture", return_base: bool = False,
                  **supernet_kwargs):
    """Cost of every op on every edge of ``space.supernet(mode, **supernet_kwargs)``.

    Returns {cell type: float tensor (edges, ops)} in raw counts (params or flops), the shape of
    ``net.arch_shapes()``; with ``return_base=True`` a pair (table, base) where ``base`` is the
    cost with every edge on ``none`` (stem, reductions, head). The cost of a discrete subnet is
    then ``base + sum of its (edge, op) entries``, and under probabilities ``expected_cost``.

    How it is measured: one forward of the supernet with every op enabled is analysed by fvcore
    per module (flops; for params the parameters owned by each module); then for each
    (cell type, edge, op) one cheap forward with that single op enabled on top of the all-``none``
    subnet records which modules run; the entry is the summed own cost of the modules that ran
    minus the base's. An entry covers the op in every cell of that type (cells of one type share
    their op weights). The supernet's ops may carry slightly other parameters than the built
    evaluation net (e.g. non-affine BN), so the table serves gradients and ranking, not exact counts.
    """
    kind = objective if isinstance(objective, str) else getattr(objective, "kind", "")
    if kind not in ("params", "flops"):
        raise ValueError(f"op_cost_table objective {objective!r}; accepted: 'params', 'flops' "
                         "or a ParamsObjective / FlopsObjective")
    shape = tuple(input_shape or (3, getattr(space, "input_size", 32), getattr(space, "input_size", 32)))
    kw = dict(supernet_kwargs)
    kw.setdefault("in_channels", shape[0])
    if num_classes is not None:
        kw["num_classes"] = num_classes
    net = space.supernet(mode=mode, **kw).eval()
    ops = list(net.ops)
    if "none" not in ops:
        raise ValueError(f"op_cost_table needs a 'none' op in the supernet's ops to isolate edges; ops: {ops}")
    none = ops.index("none")
    shapes = net.arch_shapes()
    x = torch.zeros(1, *shape)

    own: Dict[int, float] = {}
    if kind == "params":
        for m in net.modules():
            own[id(m)] = float(sum(p.numel() for p in m.parameters(recurse=False)))
    else:
        everything = {ct: torch.ones(e, o) for ct, (e, o) in shapes.items()}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            by_module = flop_analysis(_WithWeights(net, everything), x).by_module()
        for name, m in net.named_modules():
            total = float(by_module.get(f"net.{name}" if name else "net", 0))
            children = sum(float(by_module.get(f"net.{name}.{c}" if name else f"net.{c}", 0))
                           for c, _ in m.named_children())
            own[id(m)] = total - children

    def cost(weights) -> float:
        return sum(own.get(id(m), 0.0) for m in _called_modules(net, x, weights))

    def all_none():
        return {ct: torch.nn.functional.one_hot(torch.full((e,), none), o).float() for ct, (e, o) in shapes.items()}

    base = cost(all_none())
    table = {}
    for ct, (n_edges, n_ops) in shapes.items():
        t = torch.zeros(n_edges, n_ops)
        for e in range(n_edges):
            for o in range(n_ops):
                if o == none:
                    continue
                w = all_none()
                w[ct][e] = torch.nn.functional.one_hot(torch.tensor(o), n_ops).float()
                t[e, o] = cost(w) - base
        table[ct] = t
    return (table, base) if return_base else table


def expected_cost(table: Dict[str, torch.Tensor], probabilities: Dict[str, torch.Tensor],
                  base: float = 0.0) -> torch.Tensor:
    """``base + sum_cell sum(probabilities[cell] * table[cell])``, differentiable in the probabilities."""
    missing = set(table) - set(probabilities)
    if missing:
        raise ValueError(f"probabilities lack cell types {sorted(missing)}; table has {sorted(table)}")
    total = None
    for ct, t in table.items():
        p = probabilities[ct]
        if tuple(p.shape) != tuple(t.shape):
            raise ValueError(f"probabilities[{ct!r}] has shape {tuple(p.shape)}, table {tuple(t.shape)}")
        term = (p * t.to(device=p.device, dtype=p.dtype)).sum()
        total = term if total is None else total + term
    return total + base
