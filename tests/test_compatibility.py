"""Which generators can search which spaces, as `monas list` would show it."""
from monas.compatibility import compatibility, compatibility_lines


def test_every_generator_searches_or_names_what_a_space_lacks():
    table = compatibility()
    assert table["random"] == {s: None for s in table["random"]}
    assert table["darts"]["mobilenet"] == "supernet.mixture" and table["darts"]["nb201"] is None
    assert table["gcn_predictor"]["mobilenet"] is None
    line = next(l for l in compatibility_lines() if l.startswith("pc_darts:"))
    assert "searches darts, nb201" in line and "mobilenet (no supernet.mixture)" in line
