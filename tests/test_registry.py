"""Registries: entry-point discovery exactly as a third-party package is found."""
import sys
from pathlib import Path

import pytest

from monas.budget import Budget
from monas.engine import Engine
from monas.registry import GENERATORS, Registry, RegistryError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "third_party_plugin"


def test_builtins_come_from_entry_points():
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="monas.generators")}
    assert {"random", "nsga2", "optuna", "evolution"} <= names
    assert set(GENERATORS.names()) >= names


def test_third_party_package_is_discovered_through_its_entry_point(tmp_path, monkeypatch, nb201, table_objectives):
    # an installed distribution is a .dist-info folder with entry_points.txt on sys.path
    dist = tmp_path / "monas_hill_climb-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: monas-hill-climb\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[monas.generators]\nhill_climb = monas_hill_climb:ParetoHillClimb\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(EXAMPLE))
    registry = Registry("generator", "monas.generators")
    assert "hill_climb" in registry.names()
    gen = registry.create("hill_climb")
    archive = Engine(nb201, table_objectives, [("hc", gen, 1.0)], budget=Budget(evaluations=30)).optimize()
    assert len(archive) == 30 and archive.front()


def test_duplicates_raise_and_misses_name_the_known():
    reg = Registry("widget")
    reg.register("a", int)
    with pytest.raises(RegistryError, match="'a' is already registered"):
        reg.register("a", float)
    with pytest.raises(RegistryError, match=r"unknown widget 'b'; known: a"):
        reg.get("b")
    assert reg.names("a*") == ["a"]
