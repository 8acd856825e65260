"""Second-order DARTS: the architecture gradient through one unrolled weight step.

quark0/darts ``cnn/architect.py`` (re-implemented): with xi the current weight learning rate,

    w' = w - xi * (momentum * v + grad_w L_train(w, A) + wd * w)
    dA = grad_A L_val(w', A) - xi * [grad_A L_train(w+, A) - grad_A L_train(w-, A)] / (2 eps)

with w+- = w +- eps * grad_{w'} L_val(w', A) and eps = 0.01 / ||grad_{w'} L_val(w', A)|| (a
central-difference Hessian-vector product). ``v`` is the SGD momentum buffer (0 before the
first weight step). [M] BatchNorm running statistics touched by the extra forwards are
restored afterwards, so only regular steps move them.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call


def unrolled_arch_gradients(net: nn.Module, arch_params: Sequence[torch.Tensor],
                            weights_fn: Callable[[], Tuple[Dict, Dict]], train_batch, valid_batch,
                            lr: float, momentum: float, weight_decay: float,
                            w_optimizer: torch.optim.Optimizer, fd_scale: float = 0.01
                            ) -> Tuple[List[torch.Tensor], float]:
    """(grads of ``arch_params``, validation loss at w') by the formula of the module docstring.

    ``fd_scale`` is the 0.01 of eps = 0.01 / ||grad_{w'} L_val|| (DARTS' value; smaller values
    approach the exact Hessian-vector product where the loss is smooth at that scale).

    ``weights_fn()`` returns the supernet's (weights, edge_weights) as a differentiable function
    of ``arch_params``; it is called afresh for every forward.
    """
    x_tr, y_tr = train_batch
    x_val, y_val = valid_batch
    names = [n for n, _ in net.named_parameters()]
    theta = [p for _, p in net.named_parameters()]
    buffers = {n: b.detach().clone() for n, b in net.named_buffers()}
    try:
        w, ew = weights_fn()
        loss_tr = F.cross_entropy(net(x_tr, {k: v.detach() for k, v in w.items()},
                                      None if ew is None else {k: v.detach() for k, v in ew.items()}), y_tr)
        g_tr = torch.autograd.grad(loss_tr, theta, allow_unused=True)
        unrolled = {}
        for n, p, g in zip(names, theta, g_tr):
            step = torch.zeros_like(p) if g is None else g.detach().clone()
            step += weight_decay * p.detach()
            buf = w_optimizer.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                step += momentum * buf
            unrolled[n] = (p.detach() - lr * step).requires_grad_(True)

        w, ew = weights_fn()
        loss_val = F.cross_entropy(functional_call(net, unrolled, (x_val, w, ew)), y_val)
        leaves = list(unrolled.values())
        grads = torch.autograd.grad(loss_val, list(arch_params) + leaves, allow_unused=True)
        d_arch = [torch.zeros_like(a) if g is None else g for a, g in zip(arch_params, grads[:len(arch_params)])]
        d_w = [torch.zeros_like(p) if g is None else g for p, g in zip(leaves, grads[len(arch_params):])]

        norm = torch.sqrt(sum((g * g).sum() for g in d_w))
        eps = fd_scale / norm.clamp_min(1e-12)

        def arch_grad_at(sign: float) -> List[torch.Tensor]:
            shifted = {n: p.detach() + sign * eps * g for n, p, g in zip(names, theta, d_w)}
            w_, ew_ = weights_fn()
            loss = F.cross_entropy(functional_call(net, shifted, (x_tr, w_, ew_)), y_tr)
            gs = torch.autograd.grad(loss, list(arch_params), allow_unused=True)
            return [torch.zeros_like(a) if g is None else g for a, g in zip(arch_params, gs)]

        g_plus, g_minus = arch_grad_at(1.0), arch_grad_at(-1.0)
        out = [(da - lr * (gp - gm) / (2.0 * eps)).detach() for da, gp, gm in zip(d_arch, g_plus, g_minus)]
        return out, float(loss_val.detach())
    finally:
        with torch.no_grad():
            for n, b in net.named_buffers():
                b.copy_(buffers[n])
