"""A third-party monas plugin package: `pip install -e examples/third_party_plugin`, then
`monas list` shows `hill_climb` beside the built-ins and a config can use it by name."""
from setuptools import setup

setup(
    name="monas-hill-climb",
    version="0.1.0",
    packages=["monas_hill_climb"],
    install_requires=["monas"],
    entry_points={"monas.generators": ["hill_climb = monas_hill_climb:ParetoHillClimb"]},
)
