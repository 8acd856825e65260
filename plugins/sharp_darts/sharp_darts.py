"""sharpDARTS (Hundt, Jain, Hager, 2019): SharpSepConv ops, Cosine Power Annealing, Max-W.

ahundt/sharpDARTS ``cnn/model_search.py``, ``cnn/train_search.py`` re-implemented:

- ops: the DARTS primitive names with ``sep_conv_*`` **and** ``dil_conv_*`` built as
  SharpSepConv (the supernet's ``op_set="sharp"``; SharpSepConvDARTS);
- Max-W weighting (``weighting="max_w"``, the paper's "regularization"): an edge outputs
  ``sum_o (1 - max w + w_o) o(x)`` with ``w = softmax(alpha)``; ``"scalar"`` is DARTS' sum;
- the weight learning rate follows Cosine Power Annealing per epoch
  (``monas.plugins.sharp_darts.schedule``) from ``w_lr`` to ``w_lr_min`` with exponent order
  ``exponent_order`` and ``lr_warmup_epochs`` linear warm-up epochs;
- cell, first-order bi-level search and derivation as DARTS; the derived cells name the op set
  they were searched with (``op_set`` in the genotype, through the space's ``with_op_set``), so
  the space builds, prices and retrains them with SharpSepConv, not the plain DARTS ops.

NB201 [M]: SharpSepConv has no NB201 counterpart, so there sharpDARTS is Max-W weighting
plus CPA over NB201's own ops. Not implemented: the HyperCuboid / MultiChannelNetwork search
over channel sizes (a different search space).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from monas.arch_weights import max_w, mixture
from monas.plugins.darts.generator import OneShotGenerator
from monas.plugins.darts.relaxation import Relaxation
from monas.plugins.sharp_darts.presets import PRESETS
from monas.plugins.sharp_darts.schedule import cosine_power_annealing
from monas.presets import merge_preset, signature_from

WEIGHTINGS = ("max_w", "scalar")


class MaxWRelaxation(Relaxation):
    """Max-W: ``weights = 1 - max(w) + w`` with ``w = softmax(alpha)`` per edge.

    The best op gets factor 1, every other op 1 minus its gap to the best, so no op output
    vanishes; the max is not detached (as the reference code). Derivation as DARTS (Max-W is
    monotone in w, so the argmax is the same); the penalty uses softmax(alpha).
    """

    def weights(self, params, epoch, epochs, generator=None):
        return {t: max_w(mixture(a)) for t, a in self.alphas(params).items()}, None


class _OpSetAdapter:
    """The space adapter whose derived architectures name the op set they were searched with."""

    def __init__(self, adapter, op_set: str) -> None:
        self._adapter = adapter
        self.op_set = op_set

    def __getattr__(self, name: str):
        return getattr(self._adapter, name)

    def to_arch(self, genotype):
        return self._adapter.space.with_op_set(self._adapter.to_arch(genotype), self.op_set)


class SharpDarts(OneShotGenerator):
    """sharpDARTS over ``darts`` (or ``nb201``, module docstring). Tiny defaults, paper search
    values in brackets: ``weighting`` "max_w", ``op_set`` "sharp" (DARTS space only; "darts"
    for the plain ops), ``exponent_order`` 2 [2], ``lr_warmup_epochs`` 0 [5], ``epochs`` 2
    [50; README 120], ``C`` 8 [16], ``layers`` None = 5 cells [8], ``search_batch_size`` 32 [64;
    README 48], ``w_lr`` 0.025 -> ``w_lr_min`` 1e-4 by CPA, ``w_momentum`` 0.9,
    ``w_weight_decay`` 3e-4, ``grad_clip`` 5, ``arch_lr`` 3e-4, ``arch_betas`` (0.5, 0.999),
    ``arch_weight_decay`` 1e-3; ``penalty``/``lambdas``/``latency_table``/``top_k``/``device``
    as in :class:`monas.plugins.darts.Darts`; ``preset`` ("paper", :mod:`.presets`) fills every
    parameter not given."""

    method = "sharp_darts"
    #: tiny settings for the registry-wide contract tests
    contract_params = {"epochs": 1, "steps_per_epoch": 1, "C": 8, "search_batch_size": 8, "top_k": 2}

    def __init__(self, preset: Optional[str] = None, **params: Any) -> None:
        """Keyword parameters as in the class docstring (the signature shown is ``_configure``'s)."""
        self._configure(preset=preset, **merge_preset("sharp_darts", PRESETS, preset, params))

    def _configure(self, epochs: int = 2, C: int = 8, layers: Optional[int] = None, search_batch_size: int = 32,
                 steps_per_epoch: Optional[int] = None, weighting: str = "max_w", op_set: str = "sharp",
                 exponent_order: float = 2.0, lr_warmup_epochs: int = 0, w_lr: float = 0.025,
                 w_lr_min: float = 1e-4, w_momentum: float = 0.9, w_weight_decay: float = 3e-4,
                 grad_clip: Optional[float] = 5.0, arch_lr: float = 3e-4, arch_betas: Sequence[float] = (0.5, 0.999),
                 arch_weight_decay: float = 1e-3, penalty: Optional[str] = None, lambdas: Sequence[float] = (0.0,),
                 latency_table: Optional[str] = None, top_k: int = 3, device: Optional[str] = None,
                 preset: Optional[str] = None) -> None:
        if weighting not in WEIGHTINGS:
            raise ValueError(f"sharp_darts: weighting {weighting!r}; accepted: {', '.join(WEIGHTINGS)}")
        if op_set not in ("sharp", "darts"):
            raise ValueError(f"sharp_darts: op_set {op_set!r}; accepted: sharp, darts")
        super().__init__(epochs=epochs, C=C, layers=layers, search_batch_size=search_batch_size,
                         steps_per_epoch=steps_per_epoch, w_lr=w_lr, w_lr_min=w_lr_min, w_momentum=w_momentum,
                         w_weight_decay=w_weight_decay, grad_clip=grad_clip, arch_lr=arch_lr, arch_betas=arch_betas,
                         arch_weight_decay=arch_weight_decay, penalty=penalty, lambdas=lambdas,
                         latency_table=latency_table, top_k=top_k, device=device)
        self.weighting = weighting
        self.op_set = op_set
        self.exponent_order = float(exponent_order)
        self.lr_warmup_epochs = int(lr_warmup_epochs)
        self.preset = preset
        self.w_lrs()  # validate the schedule settings now, not at the first ask

    def supernet_options(self, adapter) -> Dict[str, Any]:
        op_set = self.op_set if self.op_set in adapter.op_sets else "darts"
        return {"mode": "mixture", "ops": None, "op_set": op_set, "partial_channels": None}

    def relaxation(self, adapter, ops):
        """Max-W or scalar; with an op set other than the plain one, on a space that can record it
        (``with_op_set``), the derived cells carry that op set."""
        op_set = self.supernet_options(adapter)["op_set"]
        if op_set != "darts" and callable(getattr(adapter.space, "with_op_set", None)):
            adapter = _OpSetAdapter(adapter, op_set)
        return MaxWRelaxation(adapter, ops) if self.weighting == "max_w" else Relaxation(adapter, ops)

    def w_lrs(self) -> List[float]:
        return cosine_power_annealing(self.epochs, self.w_lr, self.w_lr_min, self.exponent_order,
                                      self.lr_warmup_epochs)


# the parameters of SharpDarts are those of _configure (``inspect.signature(SharpDarts)`` shows them)
SharpDarts.__signature__ = signature_from(SharpDarts._configure)
