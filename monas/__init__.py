"""monas: multi-objective neural architecture search."""
from pathlib import Path as _Path

# In a source checkout whose root is on sys.path, ./monas shadows the installed mapping of
# plugins/ and search_spaces/ to monas.plugins / monas.search_spaces; extend the package path
# so those names resolve the same way as when installed.
_root = _Path(__file__).resolve().parent.parent
if (_root / "setup.py").is_file() and (_root / "plugins").is_dir() and str(_root) not in __path__:
    __path__.append(str(_root))
from monas.arch import Arch
from monas.constraint import Constraint
from monas.context import EvaluationContext, GeneratorContext, ObjectiveSpec
from monas.evaluation import EvalState, Evaluation
from monas.generator import CandidateGenerator
from monas.objective import Measurement, Objective
from monas.registry import DATASETS, GENERATORS, OBJECTIVES, SEARCH_SPACES, Registry
from monas.search_space import ArchError, Choice, SearchSpace

# Heavier names (the engine pulls in Optuna and pymoo) load on first use, so `import monas` and
# the CLI's --help / list stay fast.
_LAZY = {
    "Engine": "monas.engine", "ParetoArchive": "monas.archive", "Budget": "monas.budget",
    "search": "monas.api", "SearchResult": "monas.api", "GeneratorSampler": "monas.optuna_bridge",
    "export_member": "monas.export", "train_arch": "monas.trainer",
}

__all__ = [
    "Arch", "ArchError", "Budget", "CandidateGenerator", "Choice", "Constraint", "DATASETS", "Engine",
    "EvalState", "Evaluation", "EvaluationContext", "GENERATORS", "GeneratorContext", "GeneratorSampler",
    "Measurement", "OBJECTIVES", "Objective", "ObjectiveSpec", "ParetoArchive", "Registry", "SEARCH_SPACES",
    "SearchResult", "SearchSpace", "export_member", "search", "train_arch",
]
__version__ = "0.1.0"


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'monas' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
