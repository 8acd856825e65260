"""ROME: single-path DARTS, Gumbel-Top2 topology, gradient accumulation (README.md)."""
from monas.plugins.rome.gumbel_top2 import gumbel_top2, inclusion_probabilities, node_inclusion, pair_probabilities
from monas.plugins.rome.rome import GumbelTop2Relaxation, Rome, linear_tau

__all__ = ["GumbelTop2Relaxation", "Rome", "gumbel_top2", "inclusion_probabilities", "linear_tau",
           "node_inclusion", "pair_probabilities"]
