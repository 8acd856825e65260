"""MobileNetV2/V3-style macro search space: space, network, single-path supernet."""
from monas.search_spaces.mobilenet.space import SE_MODES, MobileNetSpace

__all__ = ["SE_MODES", "MobileNetSpace"]
