"""OneShotGenerator: a DARTS-family search as a monas CandidateGenerator.

The engine calls ``setup(ctx)``, then ``ask(n)``. The first ``ask`` runs the search for the
first lambda of the sweep (``lambdas``) on ``ctx.data`` (weights on the train split,
architecture on the valid split), derives the ``top_k`` most probable architectures and
returns them; when they are all proposed, the next ``ask`` runs the search for the next
lambda, and so on; an empty list means the sweep is done. Each lambda's search starts from
the same initial weights and architecture parameters (seeded by ``ctx.seed``), so the points
differ only by lambda.

After each search the trained supernet is published as ``ctx.evaluation.shared["supernet"]``
(what the ``accuracy`` objective's ``supernet`` fidelity reads) with a ``supernet_tag`` naming
the generator and lambda, so values measured on another lambda's weights are never reused.

Checkpoints: with ``ctx.checkpoint_dir`` set, every epoch writes ``lambda<i>.pt`` (supernet,
architecture parameters, optimisers, sampler RNG, epoch); a killed run resumes from the last
finished epoch, and a finished search is reloaded instead of retrained.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from monas.arch import Arch
from monas.generator import CandidateGenerator
from monas.plugins.darts.penalty import PENALTIES, HardwarePenalty
from monas.plugins.darts.relaxation import Relaxation
from monas.plugins.darts.search_loop import BilevelSearch, SearchSettings, cosine_annealing
from monas.plugins.darts.spaces import SpaceAdapter


class OneShotGenerator(CandidateGenerator):
    """Shared machinery of the DARTS-family generators (module docstring).

    Subclasses set ``method`` and override :meth:`relaxation`, :meth:`supernet_options`,
    :meth:`w_lrs` and :meth:`search_options` for what differs.
    """

    requires = ("supernet.mixture",)
    needs_data = True  # the supernet trains on the study's dataset; the preflight refuses a config without one

    method = "oneshot"

    def __init__(self, *, epochs: int, C: int, layers: Optional[int], search_batch_size: int,
                 steps_per_epoch: Optional[int], w_lr: float, w_lr_min: float, w_momentum: float,
                 w_weight_decay: float, grad_clip: Optional[float], arch_lr: float,
                 arch_betas: Sequence[float], arch_weight_decay: float, penalty: Optional[str],
                 lambdas: Sequence[float], latency_table: Optional[str], top_k: int,
                 device: Optional[str]) -> None:
        if penalty is not None and penalty not in PENALTIES:
            raise ValueError(f"{self.method}: penalty {penalty!r}; accepted: {', '.join(PENALTIES)} or None")
        lambdas = tuple(float(v) for v in (lambdas if lambdas is not None else (0.0,)))
        if not lambdas:
            raise ValueError(f"{self.method}: lambdas must list at least one value (e.g. [0.0])")
        if penalty is None and any(v != 0.0 for v in lambdas):
            raise ValueError(f"{self.method}: lambdas {list(lambdas)} need a penalty ({', '.join(PENALTIES)})")
        if int(top_k) < 1:
            raise ValueError(f"{self.method}: top_k must be >= 1, got {top_k}")
        self.epochs = int(epochs)
        self.C = int(C)
        self.layers = layers
        self.search_batch_size = int(search_batch_size)
        self.steps_per_epoch = steps_per_epoch
        self.w_lr = float(w_lr)
        self.w_lr_min = float(w_lr_min)
        self.w_momentum = float(w_momentum)
        self.w_weight_decay = float(w_weight_decay)
        self.grad_clip = grad_clip
        self.arch_lr = float(arch_lr)
        self.arch_betas = tuple(float(b) for b in arch_betas)
        self.arch_weight_decay = float(arch_weight_decay)
        self.penalty = penalty
        self.lambdas = lambdas
        self.latency_table = latency_table
        self.top_k = int(top_k)
        self.device = device
        self.batch_size = self.top_k

    # ---- method hooks -------------------------------------------------------------------
    def supernet_options(self, adapter: SpaceAdapter) -> Dict[str, Any]:
        """{"mode": ..., "ops": ... or None, "op_set": ..., "partial_channels": ... or None}."""
        return {"mode": "mixture", "ops": None, "op_set": "darts", "partial_channels": None}

    def relaxation(self, adapter: SpaceAdapter, ops: Sequence[str]) -> Relaxation:
        return Relaxation(adapter, ops)

    def w_lrs(self) -> List[float]:
        """Per-epoch weight learning rates (DARTS: cosine from ``w_lr`` to ``w_lr_min``)."""
        return cosine_annealing(self.epochs, self.w_lr, self.w_lr_min)

    def search_options(self) -> Dict[str, Any]:
        """SearchSettings fields of the method (warm-up, samples, order)."""
        return {}

    # ---- protocol -----------------------------------------------------------------------
    def setup(self, ctx) -> None:
        super().setup(ctx)
        self.adapter_ = SpaceAdapter(ctx.space)
        if ctx.data is None:
            raise ValueError(f"{self.method} trains a supernet and needs a dataset in the study (e.g. digits)")
        self.device_ = self.device or ctx.device
        self.next_lambda_ = 0
        self.queue_: List[Arch] = []
        self.proposed_: set = set()
        self.results_: List[Dict[str, Any]] = []
        self.told_: List[Dict[str, Any]] = []
        self.search_: Optional[BilevelSearch] = None
        self.penalty_: Optional[HardwarePenalty] = None
        self.current_tag_: Optional[str] = None

    def ask(self, n: int) -> List[Arch]:
        while not self.queue_ and self.next_lambda_ < len(self.lambdas):
            self._search_and_derive(self.next_lambda_)
        out = self.queue_[: max(int(n), 0)]
        del self.queue_[: len(out)]
        self.proposed_.update(a.key for a in out)
        if out:
            self.publish()
        return out

    def tell(self, evaluations) -> None:
        for ev in evaluations:
            self.told_.append({"key": ev.arch.key, "values": dict(ev.values), "state": str(ev.state.value)})

    def state_dict(self) -> Dict[str, Any]:
        state = {
            "method": self.method,
            "next_lambda": self.next_lambda_,
            "queue": [a.to_dict() for a in self.queue_],
            "proposed": sorted(self.proposed_),
            "results": self.results_,
            "told": self.told_,
        }
        if self.search_ is not None:
            path = self._checkpoint_path(self.next_lambda_ - 1)
            state["checkpoint"] = None if path is None else str(path)
            state["arch_params"] = {k: v.detach().cpu().clone() for k, v in self.search_.params.items()}
            if path is None:  # no run directory: keep the trained weights in the state itself
                state["supernet"] = self.search_.state_dict()
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        if state.get("method") != self.method:
            raise ValueError(f"state of method {state.get('method')!r} given to {self.method}")
        self.next_lambda_ = int(state["next_lambda"])
        self.queue_ = [Arch.from_dict(d) for d in state["queue"]]
        self.proposed_ = set(state["proposed"])
        self.results_ = list(state["results"])
        self.told_ = list(state["told"])
        if self.next_lambda_ > 0:
            i = self.next_lambda_ - 1
            search = self._new_search(i)
            path = self._checkpoint_path(i)
            if path is not None and path.exists():
                search.load_state_dict(torch.load(path, map_location=self.device_, weights_only=False)["search"])
            elif state.get("supernet") is not None:
                search.load_state_dict(state["supernet"])
            else:
                raise ValueError(f"{self.method}: cannot restore the lambda={self.lambdas[i]} supernet: "
                                 f"no checkpoint at {path} and no weights in the state")
            self.search_ = search
            self.current_tag_ = self._tag(i)
            self.publish()

    # ---- search -------------------------------------------------------------------------
    def _checkpoint_path(self, i: int) -> Optional[Path]:
        ckpt = getattr(self.ctx_, "checkpoint_dir", None)
        return None if ckpt is None or i < 0 else Path(ckpt) / f"lambda{i}.pt"

    def _tag(self, i: int) -> str:
        return f"{self.ctx_.name}:{self.method}:lambda={self.lambdas[i]}:seed={self.ctx_.seed}:epochs={self.epochs}"

    def supernet_kwargs(self) -> Dict[str, Any]:
        """``space.supernet`` kwargs of this search (mode excluded)."""
        opts = self.supernet_options(self.adapter_)
        data = self.ctx_.data
        return self.adapter_.supernet_kwargs(self.C, self.layers, data.input_shape[0], data.num_classes,
                                             ops=opts.get("ops"), op_set=opts.get("op_set", "darts"),
                                             partial_channels=opts.get("partial_channels"))

    def settings(self) -> SearchSettings:
        return SearchSettings(
            epochs=self.epochs, batch_size=self.search_batch_size, w_lrs=tuple(self.w_lrs()),
            steps_per_epoch=self.steps_per_epoch, w_momentum=self.w_momentum,
            w_weight_decay=self.w_weight_decay, grad_clip=self.grad_clip, arch_lr=self.arch_lr,
            arch_betas=self.arch_betas, arch_weight_decay=self.arch_weight_decay, **self.search_options())

    def _new_search(self, i: int) -> BilevelSearch:
        """A fresh search for lambda index ``i``: same seeded initialisation for every lambda."""
        kwargs = self.supernet_kwargs()
        mode = self.supernet_options(self.adapter_)["mode"]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.ctx_.seed))
            net = self.adapter_.build_supernet(mode, **kwargs).to(self.device_)
        relax = self.relaxation(self.adapter_, net.ops)
        params = relax.new_parameters(net, seed=int(self.ctx_.seed))
        penalty = None
        if self.penalty is not None and self.lambdas[i] != 0.0:
            if self.penalty_ is None:
                self.ctx_.progress(f"{self.ctx_.name}: measuring the {self.penalty} cost table")
                self.penalty_ = HardwarePenalty(self.penalty, self.adapter_, kwargs, self.ctx_.data.input_shape,
                                                self.latency_table)
                uniform = {k: torch.zeros_like(v) for k, v in params.items()}
                self.penalty_.set_reference(relax.expected_probabilities(uniform), relax.ops)
            penalty = self.penalty_
        return BilevelSearch(net, relax, params, self.settings(), penalty=penalty, lam=self.lambdas[i],
                             seed=int(self.ctx_.seed), device=self.device_)

    def _search_and_derive(self, i: int) -> None:
        search = self._new_search(i)
        path = self._checkpoint_path(i)
        if path is not None and path.exists():
            search.load_state_dict(torch.load(path, map_location=self.device_, weights_only=False)["search"])
        lam = self.lambdas[i]

        def on_epoch(s: BilevelSearch, record: Dict[str, float]) -> None:
            if path is not None:
                tmp = path.with_suffix(".tmp")
                torch.save({"search": s.state_dict(), "lambda": lam}, tmp)
                tmp.replace(path)
            note = s.relaxation.describe(record["epoch"] - 1, s.settings.epochs)
            losses = " ".join(f"{k} {record[k]:.4f}" for k in ("train_loss", "valid_loss") if k in record)
            self.ctx_.progress(f"{self.ctx_.name}: lambda {lam:g} epoch {record['epoch']}/{s.settings.epochs} "
                               f"{losses} lr {record['lr']:.4g}{' ' + note if note else ''}")

        search.run(self.ctx_.data, on_epoch=on_epoch)
        self.search_ = search
        self.current_tag_ = self._tag(i)
        derived = []
        for rank, (score, arch) in enumerate(search.relaxation.derive(search.params, k=self.top_k)):
            free = self.adapter_.parameter_free(arch)
            derived.append({"rank": rank, "key": arch.key, "score": score, "parameter_free": free})
            if arch.key not in self.proposed_ and all(a.key != arch.key for a in self.queue_):
                self.queue_.append(arch)
        self.results_.append({
            "lambda": lam, "derived": derived, "history": list(search.history_),
            "arch_params": {k: v.detach().cpu().tolist() for k, v in search.params.items()},
        })
        best = derived[0]["parameter_free"]
        cells = ", ".join(f"{t} {n}" for t, n in best.items() if t != "skip")
        self.ctx_.progress(f"{self.ctx_.name}: lambda {lam:g} derived {len(derived)} architectures; the best has "
                           f"parameter-free ops {cells} and {best['skip']} skip-connects in its normal cell")
        self.next_lambda_ = i + 1

    def publish(self) -> None:
        """Share the current supernet with the objectives (the ``supernet`` accuracy fidelity)."""
        if self.search_ is None:
            return
        shared = self.ctx_.evaluation.shared
        shared["supernet"] = self.search_.net
        shared["supernet_tag"] = self.current_tag_

    @property
    def derived_(self) -> List[Dict[str, Any]]:
        """Every derived architecture so far: lambda, rank, key, score, parameter-free counts."""
        return [dict(d, **{"lambda": r["lambda"]}) for r in self.results_ for d in r["derived"]]
