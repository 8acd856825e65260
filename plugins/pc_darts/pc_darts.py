"""PC-DARTS (Xu et al., ICLR 2020): partial channel connections and edge normalisation.

yuhuixu1993/PC-DARTS ``model_search.py``, ``train_search.py`` re-implemented on the monas
supernets (mode ``partial``):

- every mixed op sees C/K channels of its edge input; the other channels bypass the ops
  (2x2 max-pooled on stride-2 edges), are concatenated back and channel-shuffled in K groups
  (done by the supernet, ``partial_channels=K``);
- edge normalisation: per cell type edge logits beta (init 1e-3 N(0,1)); the edge weights
  are the softmax of beta over each node's in-edges (:func:`node_softmax`), passed as the
  supernet's ``edge_weights``; alpha and beta are updated together by Adam (first order);
- warm-up: alpha and beta are frozen for the first ``arch_warmup_epochs`` epochs (paper 15
  of 50), weights only;
- derivation: edge score = softmax(beta)_edge x max non-``none`` softmax(alpha); top-2
  in-edges per node; op = argmax non-``none`` alpha.

NB201 [M]: the same relaxation (node 1 has one in-edge, so its edge weight is 1); NB201 keeps
every edge, so beta only scales edges during the search and the derivation is the argmax of
alpha per edge.
Penalty [M]: the probability that an edge is kept is the Gumbel-Top2 inclusion probability
of softmax(beta) within its node (ROME's closed form), a smooth stand-in for the top-2 rule.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from monas.plugins.darts.generator import OneShotGenerator
from monas.plugins.pc_darts.presets import PRESETS
from monas.presets import merge_preset, signature_from
from monas.plugins.darts.relaxation import Relaxation, node_softmax
from monas.plugins.rome.gumbel_top2 import node_inclusion


class PartialChannelRelaxation(Relaxation):
    """softmax(alpha) op weights with per-node softmax(beta) edge weights (PC-DARTS)."""

    mode = "partial"
    uses_beta = True

    def weights(self, params, epoch, epochs, generator=None):
        w, _ = super().weights(params, epoch, epochs, generator)
        return w, self.edge_scores(params)

    def edge_scores(self, params):
        return {t: node_softmax(b, self.adapter.node_edges) for t, b in self.betas(params).items()}

    def edge_inclusion(self, params):
        if not self.adapter.edges_per_node:
            return super().edge_inclusion(params)
        return {t: node_inclusion(b, self.adapter.node_edges) for t, b in self.betas(params).items()}


class PcDarts(OneShotGenerator):
    """PC-DARTS over ``darts`` or ``nb201`` (tiny defaults; paper CIFAR values in brackets):
    ``partial_channels`` K 4 [4; ImageNet 2], ``arch_warmup_epochs`` 1 [15], ``epochs`` 3 [50],
    ``C`` 8 [16], ``layers`` None = 5 cells DARTS / 1 per stage NB201 [8], ``search_batch_size``
    32 [256], ``w_lr`` 0.1 cosine to ``w_lr_min`` 0.0 [0.1 -> 0], ``w_momentum`` 0.9,
    ``w_weight_decay`` 3e-4, ``grad_clip`` 5, ``arch_lr`` 6e-4, ``arch_betas`` (0.5, 0.999),
    ``arch_weight_decay`` 1e-3, ``penalty``/``lambdas``/``latency_table``/``top_k``/``device``
    as in :class:`monas.plugins.darts.Darts`."""

    method = "pc_darts"
    #: tiny settings for the registry-wide contract tests
    contract_params = {"epochs": 1, "steps_per_epoch": 1, "C": 8, "search_batch_size": 8, "top_k": 2, "arch_warmup_epochs": 0}

    def __init__(self, preset: Optional[str] = None, **params: Any) -> None:
        """Keyword parameters as in the class docstring (the signature shown is ``_configure``'s);
        ``preset`` (``"paper"``, :mod:`.presets`) fills every parameter not given."""
        self._configure(preset=preset, **merge_preset("pc_darts", PRESETS, preset, params))

    def _configure(self, epochs: int = 3, C: int = 8, layers: Optional[int] = None, search_batch_size: int = 32,
                   steps_per_epoch: Optional[int] = None, partial_channels: int = 4, arch_warmup_epochs: int = 1,
                   w_lr: float = 0.1, w_lr_min: float = 0.0, w_momentum: float = 0.9, w_weight_decay: float = 3e-4,
                   grad_clip: Optional[float] = 5.0, arch_lr: float = 6e-4, arch_betas: Sequence[float] = (0.5, 0.999),
                   arch_weight_decay: float = 1e-3, penalty: Optional[str] = None, lambdas: Sequence[float] = (0.0,),
                   latency_table: Optional[str] = None, top_k: int = 3, device: Optional[str] = None,
                   preset: Optional[str] = None) -> None:
        if int(partial_channels) < 1:
            raise ValueError(f"pc_darts: partial_channels must be >= 1, got {partial_channels}")
        if not 0 <= int(arch_warmup_epochs) < int(epochs):
            raise ValueError(f"pc_darts: arch_warmup_epochs must be in 0..epochs-1 ({int(epochs) - 1}), "
                             f"got {arch_warmup_epochs}")
        super().__init__(epochs=epochs, C=C, layers=layers, search_batch_size=search_batch_size,
                         steps_per_epoch=steps_per_epoch, w_lr=w_lr, w_lr_min=w_lr_min, w_momentum=w_momentum,
                         w_weight_decay=w_weight_decay, grad_clip=grad_clip, arch_lr=arch_lr, arch_betas=arch_betas,
                         arch_weight_decay=arch_weight_decay, penalty=penalty, lambdas=lambdas,
                         latency_table=latency_table, top_k=top_k, device=device)
        self.partial_channels = int(partial_channels)
        self.arch_warmup_epochs = int(arch_warmup_epochs)
        self.preset = preset

    def supernet_options(self, adapter) -> Dict[str, Any]:
        return {"mode": "partial", "ops": None, "op_set": "darts", "partial_channels": self.partial_channels}

    def relaxation(self, adapter, ops):
        return PartialChannelRelaxation(adapter, ops)

    def search_options(self) -> Dict[str, Any]:
        return {"arch_warmup_epochs": self.arch_warmup_epochs}


# the parameters of PcDarts are those of _configure (``inspect.signature(PcDarts)`` shows them)
PcDarts.__signature__ = signature_from(PcDarts._configure)
