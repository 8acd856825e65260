"""Contract tests run over every registered search space: the installed suite of
``monas.testing`` (also run by a third party as ``pytest --pyargs monas.testing``)."""
from monas.testing.test_space_contract import *  # noqa: F401,F403
