"""Zero-cost scores of a supernet at initialisation: ZEROS (FreeDARTS) and SynFlow; the
objective also offers the one-batch proxies NASWOT and jacob_cov (``activation_proxies``).

**ZEROS as the official FreeDARTS code computes it** (METHODS.md section 4 [C],
:func:`zeros_official`): the mixture supernet at initialisation with every parameter made
positive, **in train mode** (BatchNorm normalises with the statistics of the one input), one
all-ones image, the mixing weights the **raw signed alpha ~ 1e-3 N(0, 1)** of every (edge, op)
(no softmax; :func:`zeros_alphas`), R = sum of the logits and S_{e,o} = |alpha_{e,o} dR/dalpha_{e,o}|
from one backward pass. Train-mode BN on one image and the small signed alpha are what make it
differ from SynFlow.

**ZEROS-eval** (:func:`zeros_scores` with ``bn="bypass"``, the objective's ``score: zeros_eval``):
the earlier reconstruction, which is SynFlow per op. Both are data-agnostic synaptic-saliency
scores. :class:`Linearised` puts a network in the scoring state and restores it exactly afterwards:

- every parameter is replaced by its absolute value (signs kept and restored on exit, so the
  weights are bit-for-bit unchanged after scoring);
- the network runs in float64 [U]: an all-positive network multiplies magnitudes through every
  cell (NB201 at C=16, N=5 reaches ~1e60), beyond float32's range;
- ``bn="bypass"`` (SynFlow, ZEROS-eval): BatchNorm is bypassed (its output is its input) and the
  net is in eval mode, as SynFlow's reference code removes BN; ``bn="train"`` (official ZEROS):
  train mode, BN on the batch statistics of the one input (buffers restored afterwards);
- the input is one all-ones image (1 x C x H x W), so no data and no labels are used.

R = sum of the logits, 1^T f(1; |theta|, alpha). The score of op o on edge e is
S_{e,o} = |alpha_{e,o} * dR/dalpha_{e,o}|, one scalar per op (the connection sensitivity of the
op, not a sum over its parameters), where alpha is the per-(edge, op) weight the supernet
multiplies op outputs by (official: raw alpha; eval: 1 for live ops, 0 for pruned ones).
SynFlow (Tanaka et al.) sums |theta * dR/dtheta| over parameters instead. In the eval state the
network is positively homogeneous, so S_{e,o} is SynFlow of the op's weights divided by its
layer count (the "parameter-intensive bias" stays).

:class:`ZeroCostObjective` scores a discrete architecture: ``zeros`` (official) as the sum of the
official scores S_{e,o} of its ops, from one pass of the seeded mixture supernet (where the space
offers ``supernet.mixture`` and ``supernet.single_path``; elsewhere it falls back to ZEROS-eval
and says so in its fingerprint); ``zeros_eval`` and ``synflow`` on the space's supernet with the
architecture's one-hot weights (the same seeded, Kaiming-initialised shared weights for every
architecture, so scores compare architectures, not initialisations).
"naswot" and "jacob_cov" (:mod:`monas.objectives.activation_proxies`) run the same network on
one seeded batch of the training data instead of the all-ones image.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from monas.objective import MAXIMIZE, Measurement, Objective
from monas.objectives._build import input_shape_for, num_classes_for
from monas.objectives.activation_proxies import jacob_cov_score, naswot_score

SCORES = ("zeros", "zeros_eval", "synflow", "naswot", "jacob_cov")
DATA_SCORES = {"naswot": naswot_score, "jacob_cov": jacob_cov_score}  # need a batch of data
BN_MODES = ("bypass", "train")
DTYPES = {"float64": torch.float64, "float32": torch.float32}
ALPHA_SIGNS = ("signed", "abs")
#: the official code's alpha scale: alpha ~ 1e-3 N(0, 1), as DARTS initialises it
ZEROS_ALPHA_STD = 1e-3


def kaiming_init(net: nn.Module, seed: int = 0) -> nn.Module:
    """Seeded Kaiming-normal (fan_in, ReLU) init of conv and linear weights, zero biases, BN
    weight 1 and bias 0 [U: the init ZEROS assumes]. Returns ``net``."""
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                std = math.sqrt(2.0 / fan_in)
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
    return net


class Linearised:
    """Context manager: |theta|, float64 (or ``dtype``), eval mode, BatchNorm bypassed (or, with
    ``bn="train"``, in train mode on batch statistics).

    On exit the parameters get their signs back, buffers (BN running statistics) their values,
    the dtype and the train/eval mode are restored and the BN hooks removed, also when scoring
    raised.
    """

    def __init__(self, net: nn.Module, dtype: torch.dtype = torch.float64, bn: str = "bypass") -> None:
        if bn not in BN_MODES:
            raise ValueError(f"bn={bn!r}; accepted: {', '.join(BN_MODES)}")
        self.net = net
        self.dtype = dtype
        self.bn = bn

    def __enter__(self) -> nn.Module:
        net = self.net
        self._training = net.training
        p0 = next(net.parameters(), None)
        self._dtype = p0.dtype if p0 is not None else torch.float32
        self._hooks = []
        self._buffers = {name: b.detach().clone() for name, b in net.named_buffers()}
        net.train(self.bn == "train")
        with torch.no_grad():
            self._signs = {name: torch.sign(p) for name, p in net.named_parameters()}
            for p in net.parameters():
                p.abs_()
        net.to(self.dtype)
        if self.bn == "bypass":
            for m in net.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    self._hooks.append(m.register_forward_hook(lambda mod, inp, out: inp[0]))
        return net

    def __exit__(self, *exc) -> None:
        net = self.net
        for h in self._hooks:
            h.remove()
        net.to(self._dtype)
        with torch.no_grad():
            for name, p in net.named_parameters():
                p.mul_(self._signs[name].to(p.dtype))
                p.grad = None
            for name, b in net.named_buffers():
                b.copy_(self._buffers[name])
        net.train(self._training)


def _ones(net: nn.Module, input_shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) == 3:
        shape = (1,) + shape
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f"input_shape {list(input_shape)}; accepted: [C, H, W] or [1, C, H, W] positive ints")
    device = next(net.parameters()).device
    return torch.ones(shape, dtype=dtype, device=device)


def _check_finite(R: torch.Tensor, dtype: torch.dtype) -> None:
    if not torch.isfinite(R):
        raise FloatingPointError(
            f"synaptic-flow objective R = {float(R.detach())} overflowed in {dtype}; use dtype float64 "
            "or a smaller supernet (fewer cells or channels)")


def zeros_scores(net: nn.Module, weights: Dict[str, torch.Tensor],
                 edge_weights: Optional[Dict[str, torch.Tensor]] = None,
                 input_shape: Sequence[int] = (3, 32, 32), dtype: torch.dtype = torch.float64,
                 with_synflow: bool = False, bn: str = "bypass") -> Dict[str, Any]:
    """ZEROS op scores of a supernet ``net`` whose ops are masked by ``weights``.

    ``weights`` {cell type: (E, O)} are the mask-like alphas (1 live, 0 pruned; any values are
    accepted and used as given). Returns {"scores": {cell type: (E, O) float64 tensor >= 0},
    "R": float} and with ``with_synflow`` also "synflow": sum over parameters of
    |theta * dR/dtheta|. ``bn``: see :class:`Linearised`. The network's weights, buffers, dtype
    and mode are unchanged afterwards.
    """
    with Linearised(net, dtype, bn):
        alphas = {t: w.detach().to(dtype).clone().requires_grad_(True) for t, w in weights.items()}
        ew = None if edge_weights is None else {t: w.detach().to(dtype) for t, w in edge_weights.items()}
        R = net(_ones(net, input_shape, dtype), alphas, ew).sum()
        _check_finite(R, dtype)
        params = [p for p in net.parameters()] if with_synflow else []
        grads = torch.autograd.grad(R, list(alphas.values()) + params, allow_unused=True)
        scores = {}
        for (t, a), g in zip(alphas.items(), grads[: len(alphas)]):
            g = torch.zeros_like(a) if g is None else g
            scores[t] = (a.detach() * g).abs().to(torch.float64).cpu()
        out: Dict[str, Any] = {"scores": scores, "R": float(R.detach())}
        if with_synflow:
            out["synflow"] = float(sum((p.detach() * g).abs().sum() for p, g in zip(params, grads[len(alphas):])
                                       if g is not None))
    return out


def zeros_alphas(net: nn.Module, seed: int = 0, std: float = ZEROS_ALPHA_STD,
                 sign: str = "signed") -> Dict[str, torch.Tensor]:
    """The official code's mixing weights: ``std * N(0, 1)`` per (edge, op), seeded (the
    supernet's ``new_arch_parameters``), used raw (no softmax). ``sign="abs"`` makes them
    positive, as the NB201 notebook does (its alpha is a registered parameter, so its
    ``state_dict().abs_()`` reaches alpha too); the DARTS code keeps them signed."""
    if sign not in ALPHA_SIGNS:
        raise ValueError(f"alpha sign {sign!r}; accepted: {', '.join(ALPHA_SIGNS)}")
    alphas = net.new_arch_parameters(std=float(std), seed=int(seed))
    return {t: (a.detach().abs() if sign == "abs" else a.detach()).clone() for t, a in alphas.items()}


def zeros_official(net: nn.Module, input_shape: Sequence[int] = (3, 32, 32),
                   alphas: Optional[Dict[str, torch.Tensor]] = None, seed: int = 0,
                   std: float = ZEROS_ALPHA_STD, sign: str = "signed",
                   dtype: torch.dtype = torch.float64) -> Dict[str, Any]:
    """ZEROS as the official FreeDARTS code computes it (module docstring): one pass of the
    mixture supernet ``net`` in train mode (BN on the one all-ones image's statistics), with
    |theta| and the raw alphas (default :func:`zeros_alphas` of ``seed``, ``std``, ``sign``) as
    mixing weights. Returns {"scores": {cell type: (E, O) |alpha dR/dalpha|}, "R": float,
    "alphas": {cell type: (E, O) float64}}; the network is unchanged afterwards."""
    if alphas is None:
        alphas = zeros_alphas(net, seed, std, sign)
    out = zeros_scores(net, alphas, None, input_shape, dtype, bn="train")
    out["alphas"] = {t: a.detach().to(torch.float64).cpu() for t, a in alphas.items()}
    return out


def offers_mixture(space) -> bool:
    """Whether official ZEROS can score ``space``'s architectures: its supernet mixes every op
    (``supernet.mixture``) and maps an architecture to its op weights (``supernet.single_path``)."""
    from monas.capabilities import offered

    caps = offered(space)
    return "supernet.mixture" in caps and "supernet.single_path" in caps


def synflow_score(net: nn.Module, input_shape: Sequence[int] = (3, 32, 32), dtype: torch.dtype = torch.float64,
                  forward: Optional[Callable[[torch.Tensor], torch.Tensor]] = None) -> float:
    """SynFlow of a plain network: sum over parameters of |theta * dR/dtheta| (``forward(x)``
    defaults to ``net(x)``). Weights, dtype and mode are unchanged afterwards."""
    with Linearised(net, dtype):
        R = (forward or net)(_ones(net, input_shape, dtype)).sum()  # BN bypassed
        _check_finite(R, dtype)
        params = list(net.parameters())
        grads = torch.autograd.grad(R, params, allow_unused=True)
        return float(sum((p.detach() * g).abs().sum() for p, g in zip(params, grads) if g is not None))


class ZeroCostObjective(Objective):
    """A training-free accuracy proxy of an architecture (maximise), reported as
    log10(1 + score) for the synaptic scores and as they are for the activation ones:

    - ``score: zeros`` (default): official ZEROS (module docstring), the sum of the official op
      scores S_{e,o} of the architecture's ops, all from one pass of the seeded mixture supernet
      (raw alpha of ``alpha_std`` and ``alpha_sign``, seeded by ``seed``) -- the scores FreeDARTS
      derives from, so the derived cell maximises it. On a space whose supernet does not offer
      ``supernet.mixture`` and ``supernet.single_path`` it is ZEROS-eval (fingerprint ``variant``);
    - ``zeros_eval``: the sum of the eval-state op scores (BN bypassed, one-hot weights) of the
      architecture's ops in the discrete supernet, i.e. SynFlow per op;
    - ``synflow``: SynFlow of the architecture's network (sum over parameters);
    - ``naswot`` or ``jacob_cov``, reported as they are (both are already logarithmic).

    The network is the space's supernet (``supernet_kwargs``, e.g. ``{C: 16, N: 5}``; default
    the space's search size) with ``in_channels`` and classes of the data when there is data,
    initialised by :func:`kaiming_init` with ``seed`` and built once per objective; the input is
    one all-ones image of ``input_shape`` ([C, H, W]; default the data's, else 3 x the space's
    ``input_size``, else 3x32x32). ``dtype``: "float64" (default) or "float32". A disconnected
    architecture (no path from input to output) scores 0 with zeros_eval and synflow.

    "naswot" and "jacob_cov" need data (``ctx.data``; ValueError without): the batch is
    ``batch_size`` (128, Mellor et al.'s) training images drawn without replacement by a
    generator seeded with ``seed`` (all of them when there are fewer), the same for every
    architecture; the network runs in its own dtype (float32), BatchNorm on batch statistics.
    """

    direction = MAXIMIZE

    def __init__(self, score: str = "zeros", supernet_kwargs: Optional[Dict[str, Any]] = None,
                 input_shape: Optional[Sequence[int]] = None, seed: int = 0, dtype: str = "float64",
                 batch_size: int = 128, alpha_std: float = ZEROS_ALPHA_STD, alpha_sign: str = "signed") -> None:
        if score not in SCORES:
            raise ValueError(f"zero_cost score {score!r}; accepted: {', '.join(SCORES)}")
        if dtype not in DTYPES:
            raise ValueError(f"zero_cost dtype {dtype!r}; accepted: {', '.join(DTYPES)}")
        if alpha_sign not in ALPHA_SIGNS:
            raise ValueError(f"zero_cost alpha_sign {alpha_sign!r}; accepted: {', '.join(ALPHA_SIGNS)}")
        if not float(alpha_std) > 0:
            raise ValueError(f"zero_cost alpha_std must be > 0, got {alpha_std}")
        self.score = score
        self.supernet_kwargs = dict(supernet_kwargs or {})
        self.input_shape = None if input_shape is None else [int(v) for v in input_shape]
        self.seed = int(seed)
        self.dtype = dtype
        self.alpha_std = float(alpha_std)
        self.alpha_sign = alpha_sign
        if int(batch_size) < 2:
            raise ValueError(f"zero_cost batch_size must be >= 2, got {batch_size}")
        self.batch_size = int(batch_size)
        self._nets: Dict[Tuple, nn.Module] = {}
        self._official: Dict[Tuple, Tuple[nn.Module, Dict[str, torch.Tensor]]] = {}

    def _shape(self, ctx) -> Tuple[int, int, int]:
        if self.input_shape is None and getattr(ctx, "data", None) is None \
                and not getattr(getattr(ctx, "space", None), "input_size", None):
            return (3, 32, 32)
        return input_shape_for(ctx, self.input_shape)

    def _kwargs(self, ctx) -> Dict[str, Any]:
        kwargs = dict(self.supernet_kwargs)
        kwargs.setdefault("in_channels", self._shape(ctx)[0])
        classes = num_classes_for(ctx, self.supernet_kwargs)
        if classes is not None:
            kwargs["num_classes"] = classes
        return kwargs

    def network(self, ctx) -> nn.Module:
        """The seeded supernet this objective scores on (built on first use, then reused)."""
        kwargs = self._kwargs(ctx)
        key = (ctx.space.name, tuple(sorted(kwargs.items())))
        if key not in self._nets:
            torch.manual_seed(self.seed)
            net = ctx.space.supernet(mode="discrete", **kwargs)
            self._nets[key] = kaiming_init(net, self.seed).to(getattr(ctx, "device", "cpu") or "cpu")
        return self._nets[key]

    def official(self, ctx) -> Optional[Tuple[nn.Module, Dict[str, torch.Tensor]]]:
        """(mixture supernet, its official ZEROS op scores), computed once; None when the
        space's supernet offers no mixture forward (``zeros`` is then ZEROS-eval)."""
        if not offers_mixture(ctx.space):
            return None
        kwargs = self._kwargs(ctx)
        key = (ctx.space.name, tuple(sorted(kwargs.items())))
        if key not in self._official:
            torch.manual_seed(self.seed)
            net = kaiming_init(ctx.space.supernet(mode="mixture", **kwargs), self.seed)
            net = net.to(getattr(ctx, "device", "cpu") or "cpu")
            out = zeros_official(net, self._shape(ctx), seed=self.seed, std=self.alpha_std, sign=self.alpha_sign,
                                 dtype=DTYPES[self.dtype])
            self._official[key] = (net, out["scores"])
        return self._official[key]

    def zeros(self, arch, ctx) -> Optional[float]:
        """Official ZEROS of ``arch`` (raw): the sum of the official op scores of its ops; None
        when the space offers no mixture supernet."""
        official = self.official(ctx)
        if official is None:
            return None
        net, scores = official
        weights, edge_weights = net.arch_to_weights(arch)
        total = 0.0
        for t, w in weights.items():
            w = w.detach().to(torch.float64).cpu()
            if edge_weights is not None:
                w = w * edge_weights[t].detach().to(torch.float64).cpu()[:, None]
            total += float((scores[t] * (w != 0)).sum())
        return total

    def scores(self, arch, ctx) -> Dict[str, float]:
        """Every synaptic proxy of ``arch``, raw (not logged): {"zeros", "zeros_eval",
        "synflow", "R"} (R of the eval pass; "zeros" is "zeros_eval" without a mixture supernet)."""
        net = self.network(ctx)
        weights, edge_weights = net.arch_to_weights(arch)
        out = zeros_scores(net, weights, edge_weights, self._shape(ctx), DTYPES[self.dtype], with_synflow=True)
        zeros_eval = float(sum(s.sum() for s in out["scores"].values()))
        official = self.zeros(arch, ctx)
        return {"zeros": zeros_eval if official is None else official, "zeros_eval": zeros_eval,
                "synflow": out["synflow"], "R": out["R"]}

    def batch(self, ctx) -> torch.Tensor:
        """The seeded batch of training images "naswot" and "jacob_cov" score on."""
        data = getattr(ctx, "data", None)
        if data is None or getattr(data, "train", None) is None:
            raise ValueError(f"zero_cost score {self.score!r} needs data (one batch of training images); "
                             "the evaluation context has none: give the run a dataset, or use zeros/synflow")
        images = data.train.tensors[0]
        idx = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed))[: self.batch_size]
        if len(idx) < 2:
            raise ValueError(f"zero_cost score {self.score!r} needs at least 2 training images, got {len(idx)}")
        net = self.network(ctx)
        return images[idx].to(device=next(net.parameters()).device, dtype=next(net.parameters()).dtype)

    def data_score(self, arch, ctx) -> float:
        """The "naswot" or "jacob_cov" score of ``arch`` (raw) on :meth:`batch`."""
        net = self.network(ctx)
        weights, edge_weights = net.arch_to_weights(arch)
        return DATA_SCORES[self.score](net, self.batch(ctx), lambda x: net(x, weights, edge_weights))

    def measure(self, arch, ctx) -> Measurement:
        if self.score in DATA_SCORES:
            value = self.data_score(arch, ctx)
            return Measurement(value, {self.score: value})
        if self.score == "zeros":
            official = self.zeros(arch, ctx)
            if official is not None:
                return Measurement(math.log10(1.0 + official), {"zeros": official})
        s = self.scores(arch, ctx)
        return Measurement(math.log10(1.0 + s[self.score]), {k: v for k, v in s.items()})

    def fingerprint(self, ctx) -> Dict[str, Any]:
        out = {"kind": "zero_cost", "score": self.score, "seed": self.seed, "dtype": self.dtype,
               "input_shape": list(self._shape(ctx)), "supernet": dict(sorted(self._kwargs(ctx).items()))}
        if self.score == "zeros":
            if offers_mixture(ctx.space):
                out.update(variant="official", alpha_std=self.alpha_std, alpha_sign=self.alpha_sign)
            else:
                out["variant"] = "eval"
        if self.score in DATA_SCORES:
            out["batch_size"] = self.batch_size
            out.pop("dtype")
        return out
