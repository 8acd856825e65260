"""PC-DARTS: partial channels, channel shuffle, edge normalisation, warm-up (README.md)."""
from monas.plugins.pc_darts.pc_darts import PartialChannelRelaxation, PcDarts

__all__ = ["PartialChannelRelaxation", "PcDarts"]
