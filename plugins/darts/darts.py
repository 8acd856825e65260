"""DARTS (Liu, Simonyan, Yang, ICLR 2019) as a monas generator; quark0/darts re-implemented.

Continuous relaxation ``softmax(alpha)`` over the ops of every edge of the space's mixture
supernet, bi-level search (Adam on alpha with the validation loss, SGD on the weights with the
training loss), first order by default or second order (unrolled, ``order=2``), DARTS
derivation. See ``plugins/darts/README.md`` for the parameters, their paper values and the
choices made where the paper is silent.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from monas.plugins.darts.generator import OneShotGenerator


class Darts(OneShotGenerator):
    """DARTS search over the ``darts`` or ``nb201`` space (tiny defaults; paper values in
    brackets): ``epochs`` 2 [50], ``C`` 8 [16], ``layers`` None = 5 cells DARTS / 1 cell per
    stage NB201 [8 / 5], ``search_batch_size`` 32 [64], ``steps_per_epoch`` None (full pass),
    ``w_lr`` 0.025 cosine to ``w_lr_min`` 0.001, ``w_momentum`` 0.9, ``w_weight_decay`` 3e-4,
    ``grad_clip`` 5, ``arch_lr`` 3e-4, ``arch_betas`` (0.5, 0.999), ``arch_weight_decay`` 1e-3,
    ``order`` 1 (2 = unrolled), ``penalty`` None | params | flops | latency, ``lambdas``
    (0.0,), ``latency_table`` None, ``top_k`` 3 derived architectures per lambda, ``device``
    None (the study's)."""

    method = "darts"
    #: tiny settings for the registry-wide contract tests
    contract_params = {"epochs": 1, "steps_per_epoch": 1, "C": 8, "search_batch_size": 8, "top_k": 2}

    def __init__(self, epochs: int = 2, C: int = 8, layers: Optional[int] = None, search_batch_size: int = 32,
                 steps_per_epoch: Optional[int] = None, w_lr: float = 0.025, w_lr_min: float = 0.001,
                 w_momentum: float = 0.9, w_weight_decay: float = 3e-4, grad_clip: Optional[float] = 5.0,
                 arch_lr: float = 3e-4, arch_betas: Sequence[float] = (0.5, 0.999), arch_weight_decay: float = 1e-3,
                 order: int = 1, penalty: Optional[str] = None, lambdas: Sequence[float] = (0.0,),
                 latency_table: Optional[str] = None, top_k: int = 3, device: Optional[str] = None) -> None:
        if order not in (1, 2):
            raise ValueError(f"darts: order must be 1 (first order) or 2 (second order), got {order!r}")
        super().__init__(epochs=epochs, C=C, layers=layers, search_batch_size=search_batch_size,
                         steps_per_epoch=steps_per_epoch, w_lr=w_lr, w_lr_min=w_lr_min, w_momentum=w_momentum,
                         w_weight_decay=w_weight_decay, grad_clip=grad_clip, arch_lr=arch_lr, arch_betas=arch_betas,
                         arch_weight_decay=arch_weight_decay, penalty=penalty, lambdas=lambdas,
                         latency_table=latency_table, top_k=top_k, device=device)
        self.order = int(order)

    def search_options(self) -> Dict[str, Any]:
        return {"order": self.order}
