import os

import pytest
import torch

torch.set_num_threads(1)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: longer end-to-end checks")


@pytest.fixture(scope="session")
def nb201():
    from monas.registry import SEARCH_SPACES

    return SEARCH_SPACES.create("nb201")


@pytest.fixture
def table_objectives():
    from monas.objectives.tabular import TabularObjective

    return {"accuracy": TabularObjective("c10_test_acc_200ep"),
            "latency": TabularObjective("lat_ms_1080ti_1", direction="minimize")}


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL URL for the parallel-worker tests: $MONAS_TEST_POSTGRES (.ci/run starts the server
    and sets it), else a local server started by .ci/postgres.sh when PostgreSQL is installed. In CI
    these tests must not skip."""
    import shutil
    import subprocess
    from pathlib import Path

    url = os.environ.get("MONAS_TEST_POSTGRES")
    if not url:
        script = Path(__file__).resolve().parent.parent / ".ci" / "postgres.sh"
        have_server = bool(list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))) if Path("/usr/lib/postgresql").exists() else False
        if have_server and shutil.which("bash"):
            try:
                url = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=True,
                                     timeout=120).stdout.strip().splitlines()[-1]
            except (subprocess.SubprocessError, IndexError) as exc:
                url = None
                reason = f"could not start a local PostgreSQL server with .ci/postgres.sh ({exc})"
        else:
            reason = "no PostgreSQL server installed (apt-get install postgresql, or set MONAS_TEST_POSTGRES)"
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: psycopg2 is not installed (pip install -e '.[test]')")
        pytest.skip("psycopg2 is not installed (pip install -e '.[test]')")
    return url
