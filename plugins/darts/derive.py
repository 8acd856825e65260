"""Derive several architectures from one search: the k most probable cells, best first.

A search ends with independent per-decision scores: per edge a log-score of each op, and (in
the DARTS space) per node a log-score of each pair of kept in-edges. The architecture score
is the sum over decisions, so the k best architectures come from a best-first walk over the
sorted option lists of the decisions (the classic k-best product). The best one is the
usual derivation:

- DARTS space: the option "node j keeps edges (i, k) with ops (a, b)" scores
  ``pair[i, k] + op[i, a] + op[k, b]``. With ``op = log softmax(alpha)`` (``none`` excluded)
  and ``pair[i, k] = log s_i + log s_k`` (s = per-edge scores such as PC-DARTS' per-node
  softmax of beta, or 1) the best option keeps the 2 edges with the largest max-op weight
  times score, each with its argmax op: exactly DARTS' rule (``genotype.derive_cell``).
  ROME passes the exact log-probability of each pair under Gumbel-Top2 sampling instead.
- NB201: one decision per edge (``none`` is a legal op), best = argmax per edge.

Ties break toward the earlier pair and the earlier op, as DARTS' stable sort does.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

Option = Tuple[float, Any]


def k_best_combinations(factors: Sequence[Sequence[Option]], k: int) -> List[Tuple[float, Tuple[Any, ...]]]:
    """The ``k`` best (sum of scores, payloads) picking one option from each factor.

    Each factor is a list of (score, payload) already sorted best first. Returns at most
    ``k`` combinations in decreasing total score (ties: lexicographically smaller index vector
    first).
    """
    if k < 1 or not factors or any(len(f) == 0 for f in factors):
        return []
    start = (0,) * len(factors)

    def total(idx):
        return sum(factors[d][i][0] for d, i in enumerate(idx))

    heap = [(-total(start), start)]
    seen = {start}
    out = []
    while heap and len(out) < k:
        neg, idx = heapq.heappop(heap)
        out.append((-neg, tuple(factors[d][i][1] for d, i in enumerate(idx))))
        for d in range(len(idx)):
            if idx[d] + 1 < len(factors[d]):
                nxt = idx[:d] + (idx[d] + 1,) + idx[d + 1:]
                if nxt not in seen:
                    seen.add(nxt)
                    heapq.heappush(heap, (-total(nxt), nxt))
    return out


def _sorted_options(options: List[Option], keep: int) -> List[Option]:
    # stable sort: equal scores keep enumeration order (earlier pair / op first)
    finite = [o for o in options if np.isfinite(o[0])]
    return sorted(finite, key=lambda o: -o[0])[:keep]


def darts_factors(op_logp: Dict[str, np.ndarray], ops: Sequence[str], node_edges: Sequence[Sequence[int]],
                  pair_logp: Optional[Dict[str, Sequence[np.ndarray]]] = None, keep: int = 16) -> List[List[Option]]:
    """Per (cell type, node) option lists of the DARTS space (see module docstring).

    ``op_logp[cell]`` is (14, len(ops)) with -inf on ops that may not be derived (``none``);
    ``pair_logp[cell][node]`` is an (n_in, n_in) matrix whose [a, b] (a < b) entry scores the
    node keeping its a-th and b-th in-edges (input indices a and b); None scores every pair 0.
    Only the ``keep`` best options of each factor are kept (enough for k <= keep).
    """
    factors = []
    for cell, logp in op_logp.items():
        logp = np.asarray(logp, dtype=np.float64)
        for node, rows in enumerate(node_edges):
            pairs = None if pair_logp is None else np.asarray(pair_logp[cell][node], dtype=np.float64)
            options = []
            for a, b in itertools.combinations(range(len(rows)), 2):
                base = 0.0 if pairs is None else pairs[a, b]
                for oa in range(len(ops)):
                    for ob in range(len(ops)):
                        score = base + logp[rows[a], oa] + logp[rows[b], ob]
                        options.append((score, (cell, node, ((ops[oa], a), (ops[ob], b)))))
            factors.append(_sorted_options(options, keep))
    return factors


def darts_genotypes(op_logp, ops, node_edges, pair_logp=None, k: int = 1) -> List[Tuple[float, Dict]]:
    """The ``k`` best DARTS genotypes (score, genotype dict), best first."""
    factors = darts_factors(op_logp, ops, node_edges, pair_logp, keep=max(k, 1))
    out = []
    for score, payloads in k_best_combinations(factors, k):
        cells: Dict[str, List] = {}
        for cell, node, pair in payloads:
            cells.setdefault(cell, [None] * len(node_edges))[node] = pair
        genotype = {cell: tuple(p for pair in nodes for p in pair) for cell, nodes in cells.items()}
        out.append((score, genotype))
    return out


def edge_genotypes(op_logp: np.ndarray, ops: Sequence[str], k: int = 1) -> List[Tuple[float, Tuple[str, ...]]]:
    """The ``k`` best one-op-per-edge genotypes (NB201) from an (edges, ops) log-score matrix."""
    logp = np.asarray(op_logp, dtype=np.float64)
    factors = [_sorted_options([(logp[e, o], ops[o]) for o in range(len(ops))], max(k, 1))
               for e in range(logp.shape[0])]
    return [(score, tuple(payloads)) for score, payloads in k_best_combinations(factors, k)]


def pairs_from_edge_scores(edge_logp: Dict[str, np.ndarray],
                           node_edges: Sequence[Sequence[int]]) -> Dict[str, List[np.ndarray]]:
    """``pair[a, b] = edge_logp[a] + edge_logp[b]`` per node (DARTS/PC-DARTS edge scores)."""
    out = {}
    for cell, s in edge_logp.items():
        s = np.asarray(s, dtype=np.float64)
        out[cell] = [s[list(rows)][:, None] + s[list(rows)][None, :] for rows in node_edges]
    return out
