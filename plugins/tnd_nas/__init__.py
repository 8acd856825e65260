"""TND-NAS: policy-gradient (REINFORCE) search of per-edge op distributions inside a progressive
weight-sharing supernet, made multi-objective by a sweep of (target, w) soft constraints and a
Pareto-rank reward. See ``plugins/tnd_nas/README.md``."""
from monas.plugins.tnd_nas.generator import TNDNAS

__all__ = ["TNDNAS"]
