"""A third-party monas plugin package: `pip install -e examples/third_party_plugin`, then
`monas list` shows `hill_climb`, `conv_chain` and `model_size` beside the built-ins, a config
can use them by name, and `pytest --pyargs monas.testing --monas-space conv_chain` checks them."""
from setuptools import setup

setup(
    name="monas-hill-climb",
    version="0.1.0",
    packages=["monas_hill_climb"],
    install_requires=["monas"],
    entry_points={
        "monas.generators": ["hill_climb = monas_hill_climb:ParetoHillClimb"],
        "monas.search_spaces": ["conv_chain = monas_hill_climb.space:ConvChainSpace"],
        "monas.objectives": ["model_size = monas_hill_climb.objective:ModelSizeObjective"],
    },
)
