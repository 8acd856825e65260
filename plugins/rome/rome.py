"""ROME (Wang et al., ICCV 2023, arXiv 2011.11233): robust single-path DARTS.

No official code; re-implemented from the paper text on the monas supernets (mode
``gumbel``):

- space S0 = the DARTS space **without** ``none`` (7 ops); topology is sampled separately;
- op sampling: per edge a hard one-hot by Gumbel-max on log softmax(alpha), relaxed by the
  Gumbel-softmax at temperature tau (GDAS' straight-through estimator,
  ``monas.arch_weights.gumbel_straight_through``); one sample per cell type per forward;
- topology disentanglement (v2): per node, Gumbel-Top2 over softmax(beta) of its in-edges, so
  each node has in-degree exactly 2 (``monas.plugins.rome.gumbel_top2``); only the 2 sampled
  edges with their one sampled op run;
- gradient accumulation: per step K architectures on a validation batch, alpha/beta move by
  the **mean** of the K gradients; K more on a training batch, the weights by the **sum**;
- derivation: z* = argmax p(z; alpha, beta): per node the top-2 edges by beta, per edge the
  argmax alpha (the k most probable cells for ``top_k`` > 1, with exact pair probabilities).

Choices where the paper is silent [U]/[M]: tau decays linearly from ``tau_max`` 10 to
``tau_min`` 0.1 over the epochs (GDAS' schedule); w lr cosine to 0.001 (DARTS'); batch 64;
the Gumbel-Top2 gradient is straight-through (see ``gumbel_top2``). ``topology=False`` drops
the edge sampling (all 14 edges run, DARTS derivation) and ``include_none=True`` keeps the
``none`` op: together with ``samples=1`` this is GDAS. NB201 [M]: its topology lives in the
``none`` op (node 1 has a single in-edge), so ROME there keeps ``none`` and runs without
topology disentanglement: single-path sampling plus gradient accumulation.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from monas.arch_weights import gumbel_straight_through
from monas.plugins.darts.generator import OneShotGenerator
from monas.plugins.rome.presets import PRESETS
from monas.presets import merge_preset, signature_from
from monas.plugins.darts.relaxation import Relaxation
from monas.plugins.rome.gumbel_top2 import gumbel_top2, node_inclusion, pair_probabilities


def linear_tau(epoch: int, epochs: int, tau_max: float, tau_min: float) -> float:
    """GDAS: tau_e = tau_max - (tau_max - tau_min) * e / (E - 1), e = 0..E-1 (tau_max when E = 1)."""
    if epochs <= 1:
        return float(tau_max)
    return float(tau_max - (tau_max - tau_min) * epoch / (epochs - 1))


class GumbelTop2Relaxation(Relaxation):
    """Single-path op sampling plus (``topology=True``) Gumbel-Top2 edge sampling."""

    mode = "gumbel"

    def __init__(self, adapter, ops, tau_max: float = 10.0, tau_min: float = 0.1, topology: bool = True) -> None:
        super().__init__(adapter, ops)
        self.tau_max = float(tau_max)
        self.tau_min = float(tau_min)
        self.topology = bool(topology) and adapter.edges_per_node is not None
        self.uses_beta = self.topology

    def tau(self, epoch: int, epochs: int) -> float:
        return linear_tau(epoch, epochs, self.tau_max, self.tau_min)

    def describe(self, epoch, epochs):
        return f"tau {self.tau(epoch, epochs):.3g}"

    def weights(self, params, epoch, epochs, generator=None):
        tau = self.tau(epoch, epochs)
        w = {t: gumbel_straight_through(a, tau, generator) for t, a in self.alphas(params).items()}
        if not self.topology:
            return w, None
        ew = {t: gumbel_top2(b, self.adapter.node_edges, tau, generator) for t, b in self.betas(params).items()}
        return w, ew

    def edge_inclusion(self, params):
        if not self.topology:
            return super().edge_inclusion(params)
        return {t: node_inclusion(b, self.adapter.node_edges) for t, b in self.betas(params).items()}

    def pair_logp(self, params) -> Optional[Dict[str, List[np.ndarray]]]:
        if not self.topology:
            return super().pair_logp(params)
        out = {}
        with torch.no_grad():
            for t, b in self.betas(params).items():
                b = b.detach().cpu().double()
                mats = []
                for rows in self.adapter.node_edges:
                    m = pair_probabilities(F.softmax(b[list(rows)], dim=-1)).numpy()
                    mats.append(np.log(np.clip(m, 1e-300, None)))
                out[t] = mats
        return out


class Rome(OneShotGenerator):
    """ROME over ``darts`` (or ``nb201``, see module docstring). Tiny defaults, paper CIFAR
    values in brackets: ``samples`` K 2 [7], ``epochs`` 2 [50], ``tau_max`` 10 and ``tau_min``
    0.1 [U], ``topology`` True (v2 Gumbel-Top2), ``include_none`` False [S0 has no none],
    ``C`` 8 [16], ``layers`` None = 5 cells [8], ``search_batch_size`` 32 [64, U],
    ``w_lr`` 0.05 cosine to ``w_lr_min`` 0.001 [0.05; schedule U], ``w_momentum`` 0.9,
    ``w_weight_decay`` 3e-4, ``grad_clip`` 5, ``arch_lr`` 3e-4, ``arch_betas`` (0.5, 0.999),
    ``arch_weight_decay`` 1e-3; ``penalty``/``lambdas``/``latency_table``/``top_k``/``device``
    as in :class:`monas.plugins.darts.Darts`."""

    method = "rome"
    #: tiny settings for the registry-wide contract tests
    contract_params = {"epochs": 1, "steps_per_epoch": 1, "C": 8, "search_batch_size": 8, "top_k": 2}

    def __init__(self, preset: Optional[str] = None, **params: Any) -> None:
        """Keyword parameters as in the class docstring (the signature shown is ``_configure``'s);
        ``preset`` (``"paper"``, :mod:`.presets`) fills every parameter not given."""
        self._configure(preset=preset, **merge_preset("rome", PRESETS, preset, params))

    def _configure(self, epochs: int = 2, C: int = 8, layers: Optional[int] = None, search_batch_size: int = 32,
                   steps_per_epoch: Optional[int] = None, samples: int = 2, tau_max: float = 10.0,
                   tau_min: float = 0.1, topology: bool = True, include_none: bool = False, w_lr: float = 0.05,
                   w_lr_min: float = 0.001, w_momentum: float = 0.9, w_weight_decay: float = 3e-4,
                   grad_clip: Optional[float] = 5.0, arch_lr: float = 3e-4, arch_betas: Sequence[float] = (0.5, 0.999),
                   arch_weight_decay: float = 1e-3, penalty: Optional[str] = None, lambdas: Sequence[float] = (0.0,),
                   latency_table: Optional[str] = None, top_k: int = 3, device: Optional[str] = None,
                   preset: Optional[str] = None) -> None:
        if int(samples) < 1:
            raise ValueError(f"rome: samples (K architectures per step) must be >= 1, got {samples}")
        if not 0 < float(tau_min) <= float(tau_max):
            raise ValueError(f"rome: need 0 < tau_min <= tau_max, got tau_min={tau_min}, tau_max={tau_max}")
        super().__init__(epochs=epochs, C=C, layers=layers, search_batch_size=search_batch_size,
                         steps_per_epoch=steps_per_epoch, w_lr=w_lr, w_lr_min=w_lr_min, w_momentum=w_momentum,
                         w_weight_decay=w_weight_decay, grad_clip=grad_clip, arch_lr=arch_lr, arch_betas=arch_betas,
                         arch_weight_decay=arch_weight_decay, penalty=penalty, lambdas=lambdas,
                         latency_table=latency_table, top_k=top_k, device=device)
        self.samples = int(samples)
        self.tau_max = float(tau_max)
        self.tau_min = float(tau_min)
        self.topology = bool(topology)
        self.include_none = bool(include_none)
        self.preset = preset

    def supernet_options(self, adapter) -> Dict[str, Any]:
        ops = None
        if adapter.edges_per_node is not None and not self.include_none:  # edges are chosen, not 'none'd
            ops = [op for op in adapter.all_ops if op != "none"]
        return {"mode": "gumbel", "ops": ops, "op_set": "darts", "partial_channels": None}

    def relaxation(self, adapter, ops):
        return GumbelTop2Relaxation(adapter, ops, self.tau_max, self.tau_min, self.topology)

    def search_options(self) -> Dict[str, Any]:
        return {"arch_samples": self.samples, "weight_samples": self.samples}


# the parameters of Rome are those of _configure (``inspect.signature(Rome)`` shows them)
Rome.__signature__ = signature_from(Rome._configure)
