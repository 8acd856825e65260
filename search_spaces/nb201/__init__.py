"""NAS-Bench-201 search space: cell space, network, supernet."""
from monas.search_spaces.nb201.space import EDGE_COLUMNS, EDGES, OPS, NB201Space, without_dead_ops

__all__ = ["EDGE_COLUMNS", "EDGES", "OPS", "NB201Space", "without_dead_ops"]
