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

__all__ = [
    "Arch", "ArchError", "CandidateGenerator", "Choice", "Constraint", "DATASETS",
    "EvalState", "Evaluation", "EvaluationContext", "GENERATORS", "GeneratorContext",
    "Measurement", "OBJECTIVES", "Objective", "ObjectiveSpec", "Registry", "SEARCH_SPACES",
    "SearchSpace",
]
__version__ = "0.1.0"
