"""How measured objectives build the network of an architecture and what input it takes.

Shared by params, FLOPs, latency, peak memory and accuracy so they all measure the same net:
``space.build(arch, num_classes=..., in_channels=..., **build_kwargs)``.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import torch.nn as nn


def input_shape_for(ctx: Any, input_shape: Optional[Sequence[int]] = None) -> Tuple[int, int, int]:
    """The (C, H, W) of one input image.

    Order of precedence: the objective's own ``input_shape``; the dataset's
    (``ctx.data.input_shape``); the space's ``input_size`` with 3 channels. Raises ValueError
    when none is known or the shape is not three positive ints.
    """
    shape = input_shape
    if shape is None and ctx is not None and getattr(ctx, "data", None) is not None:
        shape = ctx.data.input_shape
    if shape is None and ctx is not None and getattr(ctx.space, "input_size", None):
        shape = (3, ctx.space.input_size, ctx.space.input_size)
    if shape is None:
        raise ValueError("no input shape: give input_shape=[C, H, W] or an evaluation context with data")
    shape = tuple(shape)
    if len(shape) != 3 or any(not isinstance(v, int) or v < 1 for v in shape):
        raise ValueError(f"input_shape {list(shape)} must be three positive ints [C, H, W]")
    return shape


def num_classes_for(ctx: Any, build_kwargs: Optional[Dict[str, Any]] = None) -> Optional[int]:
    """Classes of the head: ``build_kwargs['num_classes']``, else the dataset's, else None (space default)."""
    if build_kwargs and "num_classes" in build_kwargs:
        return int(build_kwargs["num_classes"])
    if ctx is not None and getattr(ctx, "data", None) is not None:
        return int(ctx.data.num_classes)
    return None


def build_network(space: Any, arch: Any, ctx: Any = None, input_shape: Optional[Sequence[int]] = None,
                  build_kwargs: Optional[Dict[str, Any]] = None) -> nn.Module:
    """``space.build(arch, ...)`` with the head and stem matching the data (see module doc)."""
    kwargs = dict(build_kwargs or {})
    kwargs["in_channels"] = input_shape_for(ctx, input_shape)[0]
    num_classes = num_classes_for(ctx, build_kwargs)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    return space.build(arch, **kwargs)


def build_fingerprint(ctx: Any, input_shape: Optional[Sequence[int]] = None,
                      build_kwargs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """What the built network depends on besides the arch: input shape, classes, build kwargs."""
    shape = input_shape_for(ctx, input_shape)
    return {
        "input_shape": list(shape),
        "num_classes": num_classes_for(ctx, build_kwargs),
        "build": dict(sorted((build_kwargs or {}).items())),
    }
