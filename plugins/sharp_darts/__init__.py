"""sharpDARTS: SharpSepConv, Cosine Power Annealing, Max-W weighting (README.md)."""
from monas.plugins.sharp_darts.schedule import cosine_power_annealing
from monas.plugins.sharp_darts.sharp_darts import WEIGHTINGS, MaxWRelaxation, SharpDarts

__all__ = ["MaxWRelaxation", "SharpDarts", "WEIGHTINGS", "cosine_power_annealing"]
