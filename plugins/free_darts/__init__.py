"""FreeDARTS / ZEROS (METHODS.md section 4): training-free operation scoring of a supernet at
initialisation (:func:`zeros_scores`, in ``monas.objectives.zero_cost`` so the ``zero_cost``
objective shares it), iterative data-agnostic pruning (:func:`iterative_prune`) and the
generator (:class:`FreeDARTS`)."""
from monas.objectives.zero_cost import kaiming_init, synflow_score, zeros_scores
from monas.plugins.free_darts.generator import FreeDARTS
from monas.plugins.free_darts.pruning import PruningResult, derive_arch, initial_masks, iterative_prune

__all__ = ["FreeDARTS", "PruningResult", "derive_arch", "initial_masks", "iterative_prune", "kaiming_init",
           "synflow_score", "zeros_scores"]
