"""GCNPredictor: fit a :class:`GCN` to evaluated performance, predict it for any cell graph.

``fit(graphs, y)`` trains on (graph, target) pairs: targets are standardised per output, the
loss is mean squared error (METHODS.md section 6), the optimiser Adam with weight decay, and
a held-out share of the data (``valid_fraction``, 10% [M]) picks the epoch with the lowest
validation loss (early stopping by restoring the best weights). ``fit(..., warm_start=True)``
continues from the current weights, so a generator refits incrementally in a few epochs as
evaluations come in. ``ensemble`` > 1 trains that many independently initialised members on
the same data and averages them (their spread is returned by ``predict(..., return_std=True)``).
Everything is seeded by ``seed``; the same data and seed give the same predictions.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from monas.plugins.gcn_predictor.model import GCN, Graphs, stack_graphs


class GCNPredictor:
    """Regressor from cell graphs to one or more targets.

    Parameters: ``hidden`` (128), ``layers`` (3), ``epochs`` (300, full fits), ``lr`` (1e-3),
    ``weight_decay`` (1e-4), ``batch_size`` (64), ``valid_fraction`` (0.1; 0 trains on all and
    keeps the last epoch), ``ensemble`` (1), ``seed`` (0), ``device`` ("cpu").
    """

    def __init__(self, hidden: int = 128, layers: int = 3, epochs: int = 300, lr: float = 1e-3,
                 weight_decay: float = 1e-4, batch_size: int = 64, valid_fraction: float = 0.1,
                 ensemble: int = 1, seed: int = 0, device: str = "cpu") -> None:
        if not 0.0 <= valid_fraction < 1.0:
            raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
        for name, value in (("hidden", hidden), ("layers", layers), ("epochs", epochs),
                            ("batch_size", batch_size), ("ensemble", ensemble)):
            if int(value) < 1:
                raise ValueError(f"GCNPredictor {name} must be >= 1, got {value}")
        self.hidden = int(hidden)
        self.layers = int(layers)
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.batch_size = int(batch_size)
        self.valid_fraction = float(valid_fraction)
        self.ensemble = int(ensemble)
        self.seed = int(seed)
        self.device = device
        self.models_: List[GCN] = []
        self.mean_: Optional[np.ndarray] = None
        self.std_: Optional[np.ndarray] = None
        self.n_fits_ = 0

    # ------------------------------------------------------------------ fitting
    def _targets(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or not np.all(np.isfinite(y)):
            raise ValueError(f"targets have shape {y.shape} or non-finite values; accepted: a finite "
                             "(n,) or (n, outputs) array")
        return y

    def fit(self, graphs: Graphs, y, epochs: Optional[int] = None,
            warm_start: bool = False) -> "GCNPredictor":
        """Train on ``graphs`` (``to_graph`` outputs or a GraphBatch) and targets ``y`` ((n,) or (n, k)).

        ``epochs`` overrides the constructor's count for this call; ``warm_start`` keeps the
        current members and the target scaling (when the output count is unchanged)."""
        y = self._targets(y)
        if len(graphs) != len(y):
            raise ValueError(f"fit got {len(graphs)} graphs and {len(y)} targets; accepted: equal counts")
        if len(y) < 2:
            raise ValueError(f"fit needs at least 2 examples, got {len(y)}")
        a_f, a_b, x = stack_graphs(graphs).to(self.device)
        warm = warm_start and self.models_ and self.mean_ is not None and self.mean_.shape[0] == y.shape[1]
        if not warm:
            self.mean_ = y.mean(axis=0)
            self.std_ = np.where(y.std(axis=0) > 1e-12, y.std(axis=0), 1.0)
        target = torch.as_tensor((y - self.mean_) / self.std_, dtype=torch.float32, device=self.device)
        gen = torch.Generator().manual_seed(self.seed * 1000003 + self.n_fits_)
        n = len(y)
        n_valid = int(round(self.valid_fraction * n)) if n >= 10 else 0
        models = []
        for m in range(self.ensemble):
            perm = torch.randperm(n, generator=gen)
            valid, train = perm[:n_valid], perm[n_valid:]
            if warm:
                model = self.models_[m]
            else:
                torch.manual_seed(int(torch.randint(2 ** 31 - 1, (1,), generator=gen)))
                model = GCN(x.shape[-1], self.hidden, self.layers, y.shape[1]).to(self.device)
            models.append(self._train(model, a_f, a_b, x, target, train, valid, epochs or self.epochs, gen))
        self.models_ = models
        self.n_fits_ += 1
        return self

    def _train(self, model: GCN, a_f, a_b, x, target, train, valid, epochs: int, gen) -> GCN:
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        best, best_loss = None, float("inf")
        model.train()
        for _ in range(epochs):
            order = train[torch.randperm(len(train), generator=gen)]
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                loss = torch.mean((model(a_f[idx], a_b[idx], x[idx]) - target[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
            if len(valid):
                with torch.no_grad():
                    v = float(torch.mean((model(a_f[valid], a_b[valid], x[valid]) - target[valid]) ** 2))
                if v < best_loss:
                    best_loss, best = v, copy.deepcopy(model.state_dict())
        if best is not None:
            model.load_state_dict(best)
        model.eval()
        return model

    # ------------------------------------------------------------------ prediction
    @property
    def fitted(self) -> bool:
        return bool(self.models_)

    def predict(self, graphs: Graphs, return_std: bool = False, chunk: int = 4096):
        """Predicted targets, (n,) for one output or (n, k); with ``return_std`` also the spread
        over ensemble members (zeros for a single model)."""
        if not self.fitted:
            raise RuntimeError("GCNPredictor.predict called before fit")
        batch = stack_graphs(graphs)
        outs = []
        with torch.no_grad():
            for start in range(0, len(batch), chunk):
                a_f, a_b, x = batch.select(slice(start, start + chunk)).to(self.device)
                outs.append(torch.stack([m(a_f, a_b, x) for m in self.models_]).cpu().numpy())
        pred = np.concatenate(outs, axis=1).astype(np.float64) * self.std_ + self.mean_  # (members, n, k)
        mean, std = pred.mean(axis=0), pred.std(axis=0)
        if mean.shape[1] == 1:
            mean, std = mean[:, 0], std[:, 0]
        return (mean, std) if return_std else mean

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> Dict[str, Any]:
        return {
            "models": [{k: v.cpu() for k, v in m.state_dict().items()} for m in self.models_],
            "in_features": self.models_[0].convs[0].forward_weight.in_features if self.models_ else None,
            "mean": None if self.mean_ is None else self.mean_.tolist(),
            "std": None if self.std_ is None else self.std_.tolist(),
            "n_fits": self.n_fits_,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.mean_ = None if state["mean"] is None else np.asarray(state["mean"], dtype=np.float64)
        self.std_ = None if state["std"] is None else np.asarray(state["std"], dtype=np.float64)
        self.n_fits_ = int(state["n_fits"])
        self.models_ = []
        for sd in state["models"]:
            model = GCN(int(state["in_features"]), self.hidden, self.layers, len(self.mean_)).to(self.device)
            model.load_state_dict(sd)
            model.eval()
            self.models_.append(model)
