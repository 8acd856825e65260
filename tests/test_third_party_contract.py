"""The example third-party package (examples/third_party_plugin: a generator, a space and an
objective) installed as a plugin author would, then checked by the installed contract suite
(``pytest --pyargs monas.testing``): its space against every built-in generator (each searches
it or is refused before any work naming the missing capability), its generator on every space."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "third_party_plugin"

SEARCH = """
from monas.budget import Budget
from monas.engine import Engine
from monas.registry import GENERATORS, OBJECTIVES, SEARCH_SPACES
from monas.testing import contract_data, contract_objectives
space = SEARCH_SPACES.create("conv_chain")
objectives = {"accuracy": contract_objectives()["accuracy"], "size": OBJECTIVES.create("model_size", dtype="float16")}
archive = Engine(space, objectives, [("hc", GENERATORS.create("hill_climb"), 1.0)], budget=Budget(evaluations=6),
                 seed=0, data=contract_data()).optimize()
assert len(archive) == 6 and all(e.values["size"] > 0 for e in archive.evaluations)
print("searched", len(archive))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The example package installed into a fresh folder (``pip install --target``), as an
    environment that has it: PYTHONPATH for subprocesses."""
    root = tmp_path_factory.mktemp("third_party")
    src = root / "src"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(src)], check=True, capture_output=True, text=True)
    assert list(site.glob("monas_hill_climb-*.dist-info/entry_points.txt"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    return root, env


def _run(args, env, cwd):
    proc = subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


def _contract(env, cwd, *options):
    return _run(["-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider", "-p", "no:randomly", "--pyargs",
                 "monas.testing", *options], env, cwd)


def test_the_installed_contract_suite_passes_on_the_third_party_space(installed):
    root, env = installed
    out = _contract(env, root, "--monas-space", "conv_chain")
    # every built-in generator either searched it or was refused before any work
    for name in ("random", "evolution", "nsga2", "optuna", "tnd_nas", "hill_climb"):
        assert f"runs_in_the_engine_and_resumes_exactly[{name}-on-conv_chain] PASSED" in out
    for name in ("gcn_predictor", "darts", "pc_darts", "rome", "sharp_darts", "free_darts"):
        assert f"cannot_search_before_any_work[{name}-on-conv_chain] PASSED" in out
    assert "does not offer 'graph'" in out  # what the space lacks is skipped, and said


def test_the_installed_contract_suite_passes_on_the_third_party_generator(installed):
    root, env = installed
    out = _contract(env, root, "--monas-generator", "hill_climb", "-k", "generator")
    for space in ("nb201", "darts", "mobilenet", "conv_chain"):
        assert f"[hill_climb-on-{space}] PASSED" in out


def test_the_third_party_objective_measures_its_space(installed):
    root, env = installed
    assert "searched 6" in _run(["-c", SEARCH], env, root)


def test_an_unknown_plugin_name_is_a_usage_error_naming_the_known(installed):
    root, env = installed
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", "monas.testing",
                           "--monas-space", "no_such_space"], env=env, cwd=root, capture_output=True, text=True)
    assert proc.returncode != 0 and "'no_such_space' is not a registered search space" in proc.stderr + proc.stdout
