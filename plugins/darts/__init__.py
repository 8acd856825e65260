"""DARTS and the shared machinery of the DARTS-family plugins (README.md beside this file)."""
from monas.plugins.darts.darts import Darts
from monas.plugins.darts.generator import OneShotGenerator
from monas.plugins.darts.penalty import PENALTIES, HardwarePenalty
from monas.plugins.darts.relaxation import Relaxation, node_softmax
from monas.plugins.darts.search_loop import BilevelSearch, SearchSettings, cosine_annealing
from monas.plugins.darts.spaces import SpaceAdapter

__all__ = ["BilevelSearch", "Darts", "HardwarePenalty", "OneShotGenerator", "PENALTIES", "Relaxation",
           "SearchSettings", "SpaceAdapter", "cosine_annealing", "node_softmax"]
