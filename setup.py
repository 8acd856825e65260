"""Install monas; the plugins/ and search_spaces/ folders install as monas.plugins and
monas.search_spaces so no generic top-level name leaks into site-packages."""
from setuptools import find_packages, setup

PACKAGES = ["monas"] + [f"monas.{p}" for p in find_packages("monas")]
PACKAGES += ["monas.plugins"] + [f"monas.plugins.{p}" for p in find_packages("plugins")]
PACKAGES += ["monas.search_spaces"] + [f"monas.search_spaces.{p}" for p in find_packages("search_spaces")]

GENERATORS = [
    "random = monas.plugins.random_search:RandomSearch",
    "nsga2 = monas.plugins.pymoo_nsga2:PymooNSGA2",
    "optuna = monas.plugins.optuna_sampler:OptunaSampler",
    "evolution = monas.plugins.regularized_evolution:MORegularizedEvolution",
    "free_darts = monas.plugins.free_darts:FreeDARTS",
    "gcn_predictor = monas.plugins.gcn_predictor:GCNPredictorGenerator",
    "darts = monas.plugins.darts:Darts",
    "pc_darts = monas.plugins.pc_darts:PcDarts",
    "rome = monas.plugins.rome:Rome",
    "sharp_darts = monas.plugins.sharp_darts:SharpDarts",
    "tnd_nas = monas.plugins.tnd_nas:TNDNAS",
]
SEARCH_SPACES = [
    "nb201 = monas.search_spaces.nb201:NB201Space",
    "darts = monas.search_spaces.darts:DartsSpace",
    "mobilenet = monas.search_spaces.mobilenet:MobileNetSpace",
]
OBJECTIVES = [
    "tabular = monas.objectives.tabular:TabularObjective",
    "params = monas.objectives.params_flops:ParamsObjective",
    "flops = monas.objectives.params_flops:FlopsObjective",
    "latency = monas.objectives.latency:LatencyObjective",
    "latency_lut = monas.objectives.latency_lut:LatencyLUTObjective",
    "peak_memory = monas.objectives.peak_memory:PeakMemoryObjective",
    "accuracy = monas.objectives.accuracy:AccuracyObjective",
    "error = monas.objectives.accuracy:ErrorObjective",
    "zero_cost = monas.objectives.zero_cost:ZeroCostObjective",
]
DATASETS = [
    "digits = monas.datasets:load_digits",
    "cifar10 = monas.datasets:load_cifar10",
    "cifar100 = monas.datasets:load_cifar100",
]

setup(
    name="monas",
    version="0.1.0",
    description="Multi-objective neural architecture search: plugins, one Pareto archive, Optuna record",
    python_requires=">=3.9",
    packages=PACKAGES,
    package_dir={
        "monas": "monas",
        "monas.plugins": "plugins",
        "monas.search_spaces": "search_spaces",
    },
    package_data={"monas": ["data/*.csv.gz"]},
    include_package_data=True,
    install_requires=[
        "torch>=2.0,<2.14",
        "pymoo>=0.6.1",
        "optuna>=5.0",  # Trial.set_constraint, create_trial(constraints=), RetryHeartbeatStaleTrialCallback
        "fvcore>=0.1.5",
        "numpy>=1.23",
        "pyyaml>=6",
        "scikit-learn>=1.2",
        "matplotlib>=3.5",
        "tqdm>=4.60",
        "scipy>=1.9",
    ],
    extras_require={
        # the tests also run the optional paths: ONNX export, to_dataframe() and the interactive report
        # and the PostgreSQL workers (.ci/run starts a local server)
        "test": ["pytest>=7", "pandas>=1.5", "onnx>=1.15", "onnxscript>=0.2", "plotly>=5", "psycopg2-binary>=2.9"],
        "postgres": ["psycopg2-binary>=2.9"],  # workers on several machines share a PostgreSQL study
        "onnx": ["onnx>=1.15", "onnxscript>=0.2"],  # monas export writes model.onnx with these
        "pandas": ["pandas>=1.5"],  # SearchResult.to_dataframe()
        "plot": ["plotly>=5"],  # the report's interactive view (optuna.visualization.plot_pareto_front)
        "parquet": ["pyarrow>=10"],  # the tabular objective reads .parquet tables
    },
    entry_points={
        "console_scripts": ["monas = monas.cli:main"],
        "monas.generators": GENERATORS,
        "monas.search_spaces": SEARCH_SPACES,
        "monas.objectives": OBJECTIVES,
        "monas.datasets": DATASETS,
        "pytest11": ["monas = monas.testing.plugin"],
    },
)
