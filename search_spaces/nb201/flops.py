"""FLOPs of NB201 networks: the benchmark's convention, and fvcore's count to report beside it.

NB201 convention (the ``c10_flops_M`` column): multiply-adds of every Conv2d (bias adds
included when the conv has a bias) plus the final Linear with its bias; BatchNorm, ReLU,
pooling and additions are not counted. Every built edge counts, ``none`` edges and convs
whose output feeds nothing included, as the benchmark ran AutoDL's network. fvcore counts
one multiply-add per FLOP too, but also counts BatchNorm and pooling and skips biases, so the
two numbers differ; report both, each with its name.
"""
from __future__ import annotations

import functools
from typing import Dict, Sequence, Tuple, Union

import torch
import torch.nn as nn

from monas.search_spaces.nb201.network import NB201Cell, NB201Network
from monas.search_spaces.nb201.operations import make_op
from monas.search_spaces.nb201.space import _check_ops


def _conv_flops(module: nn.Conv2d, output: torch.Tensor) -> int:
    kh, kw = module.kernel_size
    per_output = (module.in_channels // module.groups) * kh * kw + (1 if module.bias is not None else 0)
    return int(output.numel() // output.shape[0]) * per_output


def _linear_flops(module: nn.Linear, output: torch.Tensor) -> int:
    per_output = module.in_features + (1 if module.bias is not None else 0)
    return int(output.numel() // output.shape[0]) * per_output


def count_conv_linear_flops(module: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds (plus bias adds) of every Conv2d and Linear for one sample of ``x``.

    Runs one forward with hooks, under ``torch.no_grad`` and with the module temporarily in eval
    mode, so BN statistics are untouched. ``x`` may be on the ``meta`` device (shapes only).
    The count is per sample: it divides by the batch size of ``x``.
    """
    total = [0]

    def hook(mod: nn.Module, inputs, output) -> None:
        if isinstance(mod, nn.Conv2d):
            total[0] += _conv_flops(mod, output)
        elif isinstance(mod, nn.Linear):
            total[0] += _linear_flops(mod, output)

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(x)
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    return total[0]


def nb201_flops(genotype: Sequence[str], C: int = 16, N: int = 5, num_classes: int = 10,
                input_size: Union[int, Tuple[int, int]] = 32, in_channels: int = 3) -> float:
    """MFLOPs of the NB201 network of ``genotype`` in the benchmark's convention (module doc).

    Equals ``count_conv_linear_flops(NB201Network(genotype, ...), x) / 1e6`` for a one-sample
    ``x`` of ``input_size`` (the tests check this), but is computed from parts so a call costs
    microseconds once warm: the skeleton (stem, reduction blocks, classifier; measured by hooks
    on the network with every edge ``none``) plus N times the hook-measured FLOPs of each edge's
    op at its stage's channels and resolution. Both parts are measured on real modules and
    cached, so any C, N, input size and channel count work.
    """
    genotype = _check_ops(genotype)
    h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    skeleton, stages = _skeleton_flops(C, N, num_classes, int(h), int(w), in_channels)
    total = skeleton
    for (c, sh, sw) in stages:
        total += N * sum(_op_flops(op, c, sh, sw) for op in genotype)
    return total / 1e6


@functools.lru_cache(maxsize=256)
def _skeleton_flops(C: int, N: int, num_classes: int, h: int, w: int,
                    in_channels: int) -> Tuple[int, Tuple[Tuple[int, int, int], ...]]:
    """FLOPs of the network with all-``none`` cells, and each stage's (channels, H, W)."""
    net = NB201Network(("none",) * 6, C=C, N=N, num_classes=num_classes, in_channels=in_channels)
    shapes = {}

    def record(stage: int):
        def hook(mod, inputs, output):
            shapes[stage] = tuple(int(v) for v in inputs[0].shape[1:])
        return hook

    cells = [m for m in net.cells if isinstance(m, NB201Cell)]
    handles = [cells[s * N].register_forward_hook(record(s)) for s in range(3)]
    try:
        flops = count_conv_linear_flops(net, torch.zeros(1, in_channels, h, w))
    finally:
        for handle in handles:
            handle.remove()
    return flops, tuple(shapes[s] for s in range(3))


@functools.lru_cache(maxsize=1024)
def _op_flops(op: str, C: int, h: int, w: int) -> int:
    """Conv/Linear FLOPs of one cell edge's op at C channels on an h x w map (stride 1)."""
    return count_conv_linear_flops(make_op(op, C, C, 1), torch.zeros(1, C, h, w))


def nb201_params(genotype: Sequence[str], C: int = 16, N: int = 5, num_classes: int = 10,
                 in_channels: int = 3) -> int:
    """Parameter count of the NB201 network (all parameters: convs, BN affine, classifier)."""
    with torch.device("meta"):
        net = NB201Network(genotype, C=C, N=N, num_classes=num_classes, in_channels=in_channels)
    return sum(p.numel() for p in net.parameters())


def fvcore_flops(module: nn.Module, inputs) -> Tuple[float, Dict[str, int]]:
    """fvcore's FLOP count of ``module`` on ``inputs`` (a tensor or tuple of tensors).

    Returns ``(total, unsupported_ops)``: the total over the batch as fvcore counts it (one
    multiply-add = 1, BN and pooling counted, biases not), and the ops fvcore could not count
    with how often they occurred. Runs in eval mode under no_grad; warnings are silenced because
    the unsupported ops are returned.
    """
    from fvcore.nn import FlopCountAnalysis

    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            analysis = FlopCountAnalysis(module, inputs)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            total = float(analysis.total())
            unsupported = dict(analysis.unsupported_ops())
    finally:
        module.train(was_training)
    return total, unsupported
