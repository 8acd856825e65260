"""DARTS CNN cell space: genotypes, evaluation network, weight-sharing supernet."""
from monas.search_spaces.darts.genotype import (
    CELL_TYPES, DARTS_V1, DARTS_V2, EDGES, GENOTYPE_OPS, PC_DARTS, PRIMITIVES, PUBLISHED,
    canonical_genotype, edge_index, genotype_to_key, key_to_genotype,
)
from monas.search_spaces.darts.space import GRAPH_FEATURES, INPUT_PAIRS, DartsSpace

__all__ = [
    "CELL_TYPES", "DARTS_V1", "DARTS_V2", "DartsSpace", "EDGES", "GENOTYPE_OPS", "GRAPH_FEATURES",
    "INPUT_PAIRS", "PC_DARTS", "PRIMITIVES", "PUBLISHED", "canonical_genotype", "edge_index",
    "genotype_to_key", "key_to_genotype",
]
