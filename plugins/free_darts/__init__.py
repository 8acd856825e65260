"""FreeDARTS / ZEROS (METHODS.md section 4): training-free operation scoring of a supernet at
initialisation (official :func:`zeros_official` and ZEROS-eval :func:`zeros_scores`, in
``monas.objectives.zero_cost`` so the ``zero_cost`` objective shares them), the official one-pass
selection (:func:`one_pass`), the earlier iterative pruning (:func:`iterative_prune`) and the
generator (:class:`FreeDARTS`)."""
from monas.objectives.zero_cost import kaiming_init, synflow_score, zeros_official, zeros_scores
from monas.plugins.free_darts.generator import FreeDARTS
from monas.plugins.free_darts.pruning import PruningResult, derive_arch, initial_masks, iterative_prune, one_pass

__all__ = ["FreeDARTS", "PruningResult", "derive_arch", "initial_masks", "iterative_prune", "kaiming_init",
           "one_pass", "synflow_score", "zeros_official", "zeros_scores"]
