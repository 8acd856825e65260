"""A corpus of broken configs: each is one mutation of a valid base config (the shape of
``examples/nb201_table.yaml``, with a small budget) and the config path its error must name.

A case is ``(id, mutate, path)``: ``mutate(cfg, tmp)`` changes the parsed base config in place
(``tmp`` is a folder for files the case needs) or returns YAML text to use as the whole file;
``path`` is the config path the one-line error must start with (or contain, for file-level errors).
"""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np

from monas.arch import Arch
from monas.objective import Measurement, Objective
from monas.registry import OBJECTIVES, SEARCH_SPACES
from monas.search_space import Choice, SearchSpace

BASE = {
    "seed": 0,
    "search_space": {"name": "nb201"},
    "objectives": [
        {"name": "tabular", "label": "accuracy", "params": {"column": "c10_test_acc_200ep", "direction": "maximize"}},
        {"name": "tabular", "label": "latency", "params": {"column": "lat_ms_1080ti_1", "direction": "minimize"}},
        {"name": "tabular", "label": "params", "params": {"column": "c10_params_M", "direction": "minimize"}},
    ],
    "constraints": ["latency <= 16"],
    "generators": [
        {"name": "evolution", "share": 2},
        {"name": "nsga2", "params": {"pop_size": 20}},
        {"name": "optuna", "label": "optuna_nsga2",
         "params": {"sampler": "NSGAIISampler", "sampler_params": {"population_size": 20}}},
    ],
    "budget": {"evaluations": 6},
    "progress": False,
}

BASE_TEXT = """\
seed: 0
search_space: {name: nb201}
objectives:
  - {name: tabular, label: accuracy, params: {column: c10_test_acc_200ep}}
generators:
  - {name: random}
  - {name: nsga2, params: {pop_size: 20}}
budget: {evaluations: 6}
progress: false
"""


class ToySpace(SearchSpace):
    """A third-party space that offers only categorical choices (no network, no supernet)."""

    name = "toy"

    def variables(self):
        return [Choice(f"x{i}", ("a", "b")) for i in range(3)]

    def decode(self, x):
        return self.from_genotype(tuple("ab"[int(i)] for i in x))

    def encode(self, arch):
        return np.array(["ab".index(c) for c in arch.genotype])

    def from_genotype(self, genotype):
        return Arch(self.name, "".join(genotype), tuple(genotype))


class ToyCount(Objective):
    """How many 'b' choices an architecture of the toy space makes."""

    cheap = True

    def measure(self, arch, ctx):
        return Measurement(float(arch.key.count("b")))

    def fingerprint(self, ctx):
        return {"kind": "toy_count"}


def register_toys() -> None:
    if "toy_corpus_space" not in SEARCH_SPACES:
        SEARCH_SPACES.register("toy_corpus_space", ToySpace)
    if "toy_corpus_count" not in OBJECTIVES:
        OBJECTIVES.register("toy_corpus_count", ToyCount)


# --------------------------------------------------------------------------- mutation helpers
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _walk(cfg, path):
    steps = [int(i) if i else k for k, i in _STEP.findall(path)]
    node = cfg
    for step in steps[:-1]:
        if isinstance(step, str) and isinstance(node, dict) and step not in node:
            node[step] = {}
        node = node[step]
    return node, steps[-1]


def _resolve(value, tmp):
    if callable(value):
        return value(tmp)
    if isinstance(value, dict):
        return {k: _resolve(v, tmp) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, tmp) for v in value]
    return value


def put(path, value):
    def mutate(cfg, tmp):
        node, last = _walk(cfg, path)
        node[last] = _resolve(value, tmp)
    return mutate


def drop(path):
    def mutate(cfg, tmp):
        node, last = _walk(cfg, path)
        del node[last]
    return mutate


def text(yaml_text):
    return lambda cfg, tmp: yaml_text


def both(*mutations):
    def mutate(cfg, tmp):
        for m in mutations:
            m(cfg, tmp)
    return mutate


def _file(name, content: bytes):
    def make(tmp):
        p = Path(tmp) / name
        p.write_bytes(content)
        return str(p)
    return make


def _folder(name):
    def make(tmp):
        p = Path(tmp) / name
        p.mkdir(exist_ok=True)
        return str(p)
    return make


TOY = both(put("search_space", {"name": "toy_corpus_space"}),
           put("objectives", [{"name": "toy_corpus_count", "label": "bs"}]),
           put("constraints", []))

CASES = [
    # top level
    ("unknown_top_field", put("budgt", {"evaluations": 1}), "budgt"),
    ("missing_search_space", drop("search_space"), "search_space"),
    ("missing_objectives", drop("objectives"), "objectives"),
    ("missing_generators", drop("generators"), "generators"),
    ("missing_budget", drop("budget"), "budget"),
    ("seed_string", put("seed", "zero"), "seed"),
    ("seed_negative", put("seed", -1), "seed"),
    ("seed_float", put("seed", 1.5), "seed"),
    ("device_tpu", put("device", "tpu"), "device"),
    ("device_list", put("device", ["cpu"]), "device"),
    ("device_cuda_99", put("device", "cuda:99"), "device"),
    ("run_dir_number", put("run_dir", 5), "run_dir"),
    ("run_dir_is_a_file", put("run_dir", _file("a_file", b"x")), "run_dir"),
    ("progress_string_no", put("progress", "no"), "progress"),
    ("progress_int", put("progress", 1), "progress"),
    ("max_failed_share_2", put("max_failed_share", 2), "max_failed_share"),
    ("max_failed_share_nan", put("max_failed_share", float("nan")), "max_failed_share"),
    # search space
    ("space_list", put("search_space", [1]), "search_space"),
    ("space_unknown", put("search_space.name", "nb999"), "search_space.name"),
    ("space_C_string", put("search_space.params", {"C": "eight"}), "search_space.params.C"),
    ("space_C_negative", put("search_space.params", {"C": -1}), "search_space.params.C"),
    ("space_N_zero", put("search_space.params", {"N": 0}), "search_space.params.N"),
    ("space_unknown_param", put("search_space.params", {"depth": 3}), "search_space.params.depth"),
    ("space_params_string", put("search_space.params", "C=8"), "search_space.params"),
    ("space_input_size_inf", put("search_space.params", {"input_size": float("inf")}), "search_space.params.input_size"),
    # objectives
    ("objectives_mapping", put("objectives", {"name": "tabular"}), "objectives"),
    ("objectives_empty", put("objectives", []), "objectives"),
    ("objective_no_name", drop("objectives[0].name"), "objectives[0].name"),
    ("objective_unknown", put("objectives[0].name", "acuracy"), "objectives[0].name"),
    ("objective_unknown_field", put("objectives[0].weight", 2), "objectives[0].weight"),
    ("objective_unknown_param", put("objectives[0].params.colum", "x"), "objectives[0].params.colum"),
    ("tabular_column_misspelt", put("objectives[0].params.column", "c10_test_acc_200"), "objectives[0].params.column"),
    ("tabular_column_number", put("objectives[0].params.column", 5), "objectives[0].params.column"),
    ("tabular_direction_up", put("objectives[1].params.direction", "up"), "objectives[1].params.direction"),
    ("tabular_table_missing", put("objectives[2].params.table", "/no/such/table.csv"), "objectives[2].params.table"),
    ("tabular_table_json", put("objectives[2].params.table", _file("t.json", json.dumps({"a": 1}).encode())),
     "objectives[2].params.table"),
    ("tabular_table_not_gzip", put("objectives[2].params.table", _file("t.csv.gz", b"arch_str,c10_params_M\n")),
     "objectives[2].params.table"),
    ("tabular_table_binary", put("objectives[2].params.table", _file("t.csv", b"\xff\xfe\x00\x01garbage")),
     "objectives[2].params.table"),
    ("tabular_table_no_key_column", put("objectives[2].params.table", _file(
        "nokey.csv", b"name,c10_params_M\nx,1.0\ny,2.0\n")), "objectives[2].params.table"),
    ("tabular_table_keys_of_other_space", put("objectives[2].params.table", _file(
        "otherkeys.csv", b"arch_str,c10_params_M\nnot-an-nb201-cell,1.0\n")), "objectives[2].params.table"),
    ("objective_label_number", put("objectives[1].label", 3), "objectives[1].label"),
    ("objective_labels_twice", put("objectives[1].label", "accuracy"), "objectives"),
    ("latency_device_gpu", put("objectives[1]", {"name": "latency", "label": "latency",
                                                 "params": {"device": "gpu"}}), "objectives[1].params.device"),
    ("latency_device_cuda_99", put("objectives[1]", {"name": "latency", "label": "latency",
                                                     "params": {"device": "cuda:99"}}), "objectives[1].params.device"),
    ("latency_repeats_zero", put("objectives[1]", {"name": "latency", "label": "latency",
                                                   "params": {"repeats": 0}}), "objectives[1].params.repeats"),
    ("latency_warmup_negative", put("objectives[1]", {"name": "latency", "label": "latency",
                                                      "params": {"warmup": -1}}), "objectives[1].params.warmup"),
    ("latency_threads_string", put("objectives[1]", {"name": "latency", "label": "latency",
                                                     "params": {"threads": "two"}}), "objectives[1].params.threads"),
    ("params_unit_number", put("objectives[2]", {"name": "params", "label": "params",
                                                 "params": {"unit": 5}}), "objectives[2].params.unit"),
    ("params_input_shape_string", put("objectives[2]", {"name": "params", "label": "params",
                                                        "params": {"input_shape": "3x32x32"}}),
     "objectives[2].params.input_shape"),
    ("accuracy_without_dataset", put("objectives[0]", {"name": "accuracy", "label": "accuracy"}), "objectives[0]"),
    ("accuracy_lr_fast", both(put("dataset", {"name": "digits"}), put("objectives[0]", {
        "name": "accuracy", "label": "accuracy", "params": {"lr": "fast"}})), "objectives[0].params.lr"),
    ("accuracy_epochs_four", both(put("dataset", {"name": "digits"}), put("objectives[0]", {
        "name": "accuracy", "label": "accuracy", "params": {"epochs": "four"}})), "objectives[0].params.epochs"),
    ("accuracy_fidelity_magic", both(put("dataset", {"name": "digits"}), put("objectives[0]", {
        "name": "accuracy", "label": "accuracy", "params": {"fidelity": "magic"}})), "objectives[0].params.fidelity"),
    ("accuracy_momentum_1_5", both(put("dataset", {"name": "digits"}), put("objectives[0]", {
        "name": "accuracy", "label": "accuracy", "params": {"momentum": 1.5}})), "objectives[0].params.momentum"),
    ("accuracy_batch_size_nan", both(put("dataset", {"name": "digits"}), put("objectives[0]", {
        "name": "accuracy", "label": "accuracy", "params": {"batch_size": float("nan")}})),
     "objectives[0].params.batch_size"),
    # constraints
    ("constraints_string", put("constraints", "latency <= 16"), "constraints"),
    ("constraint_number", put("constraints", [5]), "constraints[0]"),
    ("constraint_strict_less", put("constraints", ["latency < 16"]), "constraints[0]"),
    ("constraint_unknown_label", put("constraints", ["lat <= 16"]), "constraints[0]"),
    ("constraint_unit", put("constraints", ["latency <= 16 ms"]), "constraints[0]"),
    # generators
    ("generators_mapping", put("generators", {"name": "random"}), "generators"),
    ("generators_empty", put("generators", []), "generators"),
    ("generator_unknown", put("generators[0].name", "evolutoin"), "generators[0].name"),
    ("pop_size_negative", put("generators[1].params.pop_size", -5), "generators[1].params.pop_size"),
    ("pop_size_zero", put("generators[1].params.pop_size", 0), "generators[1].params.pop_size"),
    ("pop_size_string", put("generators[1].params.pop_size", "20"), "generators[1].params.pop_size"),
    ("pop_size_nan", put("generators[1].params.pop_size", float("nan")), "generators[1].params.pop_size"),
    ("pop_size_misspelt", put("generators[1].params", {"pop_sze": 20}), "generators[1].params.pop_sze"),
    ("nsga2_mutation_prob_2", put("generators[1].params.mutation_prob", 2.0), "generators[1].params.mutation_prob"),
    ("nsga2_variation_weird", put("generators[1].params.variation", "weird"), "generators[1].params.variation"),
    ("share_inf", put("generators[0].share", float("inf")), "generators[0].share"),
    ("share_negative", put("generators[0].share", -1), "generators[0].share"),
    ("share_zero", put("generators[0].share", 0), "generators[0].share"),
    ("share_string", put("generators[0].share", "two"), "generators[0].share"),
    ("generator_label_list", put("generators[0].label", ["a"]), "generators[0].label"),
    ("generator_labels_twice", put("generators[1].label", "evolution"), "generators"),
    ("optuna_sampler_unknown", put("generators[2].params.sampler", "NSGA2Sampler"), "generators[2].params.sampler"),
    ("optuna_sampler_param_misspelt", put("generators[2].params.sampler_params", {"populaton_size": 20}),
     "generators[2].params.sampler_params.populaton_size"),
    ("optuna_sampler_params_string", put("generators[2].params.sampler_params", "population_size=20"),
     "generators[2].params.sampler_params"),
    ("optuna_population_negative", put("generators[2].params.sampler_params", {"population_size": -3}),
     "generators[2].params.sampler_params.population_size"),
    ("optuna_population_string", put("generators[2].params.sampler_params", {"population_size": "twenty"}),
     "generators[2].params.sampler_params.population_size"),
    ("optuna_tpe_gamma_number", both(put("generators[2].params.sampler", "TPESampler"),
                                     put("generators[2].params.sampler_params", {"gamma": 0.5})),
     "generators[2].params.sampler_params.gamma"),
    ("optuna_tpe_multivariate_yes", both(put("generators[2].params.sampler", "TPESampler"),
                                         put("generators[2].params.sampler_params", {"multivariate": "yes"})),
     "generators[2].params.sampler_params.multivariate"),
    ("optuna_batch_size_zero", put("generators[2].params.batch_size", 0), "generators[2].params.batch_size"),
    ("evolution_population_many", put("generators[0].params", {"population_size": "many"}),
     "generators[0].params.population_size"),
    ("evolution_front_prob_1_5", put("generators[0].params", {"front_prob": 1.5}), "generators[0].params.front_prob"),
    ("evolution_front_selection", put("generators[0].params", {"front_selection": "best"}),
     "generators[0].params.front_selection"),
    ("random_max_tries_negative", put("generators[0]", {"name": "random", "params": {"max_tries": -1}}),
     "generators[0].params.max_tries"),
    ("darts_C_eight", put("generators[0]", {"name": "darts", "params": {"C": "eight"}}), "generators[0].params.C"),
    ("darts_epochs_four", put("generators[0]", {"name": "darts", "params": {"epochs": "four"}}),
     "generators[0].params.epochs"),
    ("darts_w_lr_fast", put("generators[0]", {"name": "darts", "params": {"w_lr": "fast"}}),
     "generators[0].params.w_lr"),
    ("darts_device_cuda_99", put("generators[0]", {"name": "darts", "params": {"device": "cuda:99"}}),
     "generators[0].params.device"),
    ("rome_topology_no", put("generators[0]", {"name": "rome", "params": {"topology": "no"}}),
     "generators[0].params.topology"),
    ("pc_darts_partial_channels_negative", put("generators[0]", {"name": "pc_darts", "params": {
        "partial_channels": -4}}), "generators[0].params.partial_channels"),
    ("gcn_lr_fast", put("generators[0]", {"name": "gcn_predictor", "params": {"lr": "fast"}}),
     "generators[0].params.lr"),
    ("gcn_hidden_zero", put("generators[0]", {"name": "gcn_predictor", "params": {"hidden": 0}}),
     "generators[0].params.hidden"),
    ("free_darts_n_seeds_string", put("generators[0]", {"name": "free_darts", "params": {"n_seeds": "one"}}),
     "generators[0].params.n_seeds"),
    ("tnd_nas_epochs_four", put("generators[0]", {"name": "tnd_nas", "params": {"epochs": "four"}}),
     "generators[0].params.epochs"),
    ("darts_without_dataset", put("generators[0]", {"name": "darts"}), "generators[0]"),
    ("rome_without_dataset", put("generators[0]", {"name": "rome", "params": {"epochs": 1}}), "generators[0]"),
    ("darts_latency_table_missing", both(put("dataset", {"name": "digits"}), put("generators[0]", {
        "name": "darts", "params": {"latency_table": "/no/such/lut.json"}})), "generators[0].params.latency_table"),
    ("gcn_target_unknown_label", put("generators[0]", {"name": "gcn_predictor", "params": {"target": "acc"}}),
     "generators[0].params.target"),
    ("constraint_infinite_bound", put("constraints", ["latency <= 1e999"]), "constraints[0]"),
    ("hv_nadir_nan", both(put("budget.target_hypervolume", 0.5),
                          put("budget.hv_ideal", {"accuracy": 100, "latency": 0, "params": 0}),
                          put("budget.hv_nadir", {"accuracy": 0, "latency": float("nan"), "params": 2})),
     "budget.hv_nadir.latency"),
    ("darts_on_a_space_without_supernet", both(TOY, put("generators", [{"name": "darts"}])), "generators[0].name"),
    ("gcn_on_a_space_without_graph", both(TOY, put("generators", [{"name": "random"}, {"name": "gcn_predictor"}])),
     "generators[1].name"),
    # budget
    ("budget_list", put("budget", [6]), "budget"),
    ("budget_empty", put("budget", {}), "budget"),
    ("budget_evaluations_zero", put("budget.evaluations", 0), "budget.evaluations"),
    ("budget_evaluations_string", put("budget.evaluations", "many"), "budget.evaluations"),
    ("budget_evaluations_fraction", put("budget.evaluations", 2.5), "budget.evaluations"),
    ("budget_wall_time_nan", put("budget.wall_time_s", float("nan")), "budget.wall_time_s"),
    ("budget_wall_time_negative", put("budget.wall_time_s", -5), "budget.wall_time_s"),
    ("budget_target_hv_alone", put("budget.target_hypervolume", 0.5), "budget.target_hypervolume"),
    ("budget_misspelt", put("budget", {"evalutions": 6}), "budget.evalutions"),
    ("budget_hv_ideal_partial", both(put("budget.target_hypervolume", 0.5), put("budget.hv_ideal", {"accuracy": 100}),
                                     put("budget.hv_nadir", {"accuracy": 0, "latency": 30, "params": 2})),
     "budget.hv_ideal"),
    # storage and study
    ("storage_not_a_url", put("storage", "not a url"), "storage"),
    ("storage_number", put("storage", 5), "storage"),
    ("storage_sqlite_no_folder", put("storage", "sqlite:////no/such/folder/study.db"), "storage"),
    ("storage_sqlite_garbage", put("storage", lambda tmp: "sqlite:///" + _file("garbage.db", b"garbage" * 100)(tmp)),
     "storage"),
    ("storage_unreachable_server", put("storage", "postgresql://user:pw@127.0.0.1:1/monas"), "storage"),
    ("study_name_empty", put("study_name", ""), "study_name"),
    # parallel workers
    ("workers_negative", put("workers", -2), "workers"),
    ("workers_text", put("workers", "many"), "workers"),
    ("workers_fraction", put("workers", 2.5), "workers"),
    ("devices_not_a_list", put("devices", "cuda:0"), "devices"),
    ("devices_empty", put("devices", []), "devices"),
    ("devices_unknown", put("devices", ["cpu", "tpu:0"]), "devices[1]"),
    ("devices_cuda_99", lambda cfg, tmp: cfg.update(workers=2, devices=["cuda:99"]), "devices[0]"),
    ("heartbeat_zero", put("heartbeat_s", 0), "heartbeat_s"),
    ("supernet_accuracy_in_workers", lambda cfg, tmp: cfg.update(
        workers=3, dataset={"name": "digits"},
        objectives=[{"name": "accuracy", "label": "accuracy", "params": {"fidelity": "supernet"}}] + cfg["objectives"][1:]),
     "objectives[0]"),
    # dataset and retrain
    ("dataset_unknown", put("dataset", {"name": "mnist"}), "dataset.name"),
    ("cifar_root_missing", put("dataset", {"name": "cifar10", "params": {"root": "/no/such/cifar"}}),
     "dataset.params.root"),
    ("cifar_root_empty", put("dataset", {"name": "cifar10", "params": {"root": _folder("empty_cifar")}}),
     "dataset.params.root"),
    ("cifar_root_missing_param", put("dataset", {"name": "cifar100"}), "dataset.params.root"),
    ("digits_valid_fraction_1_5", put("dataset", {"name": "digits", "params": {"valid_fraction": 1.5}}),
     "dataset.params.valid_fraction"),
    ("digits_size_big", put("dataset", {"name": "digits", "params": {"size": "big"}}), "dataset.params.size"),
    ("retrain_without_dataset", put("retrain", {"epochs": 2}), "retrain"),
    ("retrain_epochs_four", both(put("dataset", {"name": "digits"}), put("retrain", {"epochs": "four"})),
     "retrain.epochs"),
    ("retrain_lr_fast", both(put("dataset", {"name": "digits"}), put("retrain", {"lr": "fast"})), "retrain.lr"),
    ("retrain_unknown_field", both(put("dataset", {"name": "digits"}), put("retrain", {"epoch": 2})), "retrain.epoch"),
    ("retrain_batch_size_zero", both(put("dataset", {"name": "digits"}), put("retrain", {"batch_size": 0})),
     "retrain.batch_size"),
    # the file itself
    ("duplicate_top_key", text(BASE_TEXT + "budget: {evaluations: 60}\n"), "budget"),
    ("duplicate_nested_key", text(BASE_TEXT.replace("{pop_size: 20}", "{pop_size: 20, pop_size: 5}")),
     "generators[1].params.pop_size"),
    ("not_a_mapping", text("- search_space\n- objectives\n"), "expected a mapping"),
    ("not_yaml", text(BASE_TEXT + "generators: [unclosed\n"), "not valid YAML"),
]
