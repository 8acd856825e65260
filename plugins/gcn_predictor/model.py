"""The graph convolutional regressor over cell graphs, in plain torch.

A cell graph is what ``space.to_graph(arch)`` returns: a directed adjacency ``A`` (``A[src, dst]
= 1`` along the data flow) and one-hot node features ``X``. Choices [U] (the paper's layer
details are unverified, METHODS.md section 6):

- **Propagation:** bidirectional graph convolution (as in Wen et al.'s neural predictor): each
  layer mixes messages along the data flow and against it, H' = ReLU(LayerNorm(A_f H W_f +
  A_b H W_b)), with A_f = norm(A^T + I) (a node hears its inputs), A_b = norm(A + I) (a node
  hears its consumers) and norm(M) = D_r^{-1/2} M D_c^{-1/2} (row / column degrees), which is
  the usual D^{-1/2}(A+I)D^{-1/2} when M is symmetric. Direction matters in a cell (which op
  feeds which), so a symmetrised A alone would lose it.
- **Readout:** mean over nodes, then a linear layer to one scalar per output (several outputs
  share the graph layers, e.g. accuracy and a cost).
- Every operation is a sum over neighbours or a mean over nodes, so predictions are invariant to
  any relabelling of the nodes (tested).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn


def normalise_adjacency(adj: torch.Tensor) -> torch.Tensor:
    """D_r^{-1/2} (adj + I) D_c^{-1/2} for a batch (B, n, n) or one (n, n) adjacency."""
    eye = torch.eye(adj.shape[-1], dtype=adj.dtype, device=adj.device)
    m = adj + eye
    row = m.sum(-1).clamp_min(1e-12).rsqrt()
    col = m.sum(-2).clamp_min(1e-12).rsqrt()
    return row.unsqueeze(-1) * m * col.unsqueeze(-2)


class GraphBatch(NamedTuple):
    """Dense batch of cell graphs: forward and backward propagators (B, n, n), features (B, n, F)."""

    a_f: torch.Tensor
    a_b: torch.Tensor
    x: torch.Tensor

    def __len__(self) -> int:  # the number of graphs, not of fields
        return int(self.x.shape[0])

    def select(self, index) -> "GraphBatch":
        """The graphs at ``index`` (a slice, an index array or tensor)."""
        if not isinstance(index, slice):
            index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return GraphBatch(self.a_f[index], self.a_b[index], self.x[index])

    def to(self, device) -> "GraphBatch":
        return GraphBatch(self.a_f.to(device), self.a_b.to(device), self.x.to(device))


Graphs = Union[GraphBatch, Sequence[Tuple[np.ndarray, np.ndarray]]]


def stack_graphs(graphs: Graphs) -> GraphBatch:
    """A :class:`GraphBatch` of ``to_graph`` outputs (a GraphBatch is returned as is).

    All graphs of one space have the same node count, so the batch is dense. Raises ValueError
    naming the first graph whose shape differs.
    """
    if isinstance(graphs, GraphBatch):
        return graphs
    if len(graphs) == 0:
        raise ValueError("stack_graphs got no graphs; accepted: a non-empty list of (adjacency, features)")
    n, f = graphs[0][1].shape
    for k, (a, x) in enumerate(graphs):
        if a.shape != (n, n) or x.shape != (n, f):
            raise ValueError(f"graph {k} has adjacency {a.shape} and features {x.shape}; "
                             f"accepted: ({n}, {n}) and ({n}, {f}) like graph 0")
    A = torch.as_tensor(np.stack([g[0] for g in graphs]), dtype=torch.float32)
    X = torch.as_tensor(np.stack([g[1] for g in graphs]), dtype=torch.float32)
    return GraphBatch(normalise_adjacency(A.transpose(1, 2)), normalise_adjacency(A), X)


class BiGraphConv(nn.Module):
    """One bidirectional graph convolution: ReLU(LayerNorm(A_f H W_f + A_b H W_b))."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.forward_weight = nn.Linear(in_features, out_features)
        self.backward_weight = nn.Linear(in_features, out_features, bias=False)
        self.norm = nn.LayerNorm(out_features)

    def forward(self, a_f: torch.Tensor, a_b: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        out = torch.bmm(a_f, self.forward_weight(h)) + torch.bmm(a_b, self.backward_weight(h))
        return torch.relu(self.norm(out))


class GCN(nn.Module):
    """Graph layers, mean readout, linear head: (A_f, A_b, X) (B, n, *) -> (B, outputs)."""

    def __init__(self, in_features: int, hidden: int = 128, layers: int = 3, outputs: int = 1) -> None:
        super().__init__()
        if layers < 1 or hidden < 1 or outputs < 1 or in_features < 1:
            raise ValueError(f"GCN needs positive in_features, hidden, layers and outputs; got "
                             f"{in_features}, {hidden}, {layers}, {outputs}")
        sizes = [in_features] + [hidden] * layers
        self.convs = nn.ModuleList(BiGraphConv(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.head = nn.Linear(hidden, outputs)

    def forward(self, a_f: torch.Tensor, a_b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = conv(a_f, a_b, h)
        return self.head(h.mean(dim=1))
