"""Which generators can search which spaces, as `monas list` would show it."""
from monas.compatibility import compatibility, compatibility_lines


def test_every_generator_searches_or_names_what_a_space_lacks():
    table = compatibility()
    assert table["random"] == {s: None for s in table["random"]}
    assert table["darts"]["mobilenet"] == "supernet.mixture" and table["darts"]["nb201"] is None
    assert table["gcn_predictor"]["mobilenet"] is None
    line = next(l for l in compatibility_lines() if l.startswith("pc_darts:"))
    assert "searches darts, nb201" in line and "mobilenet (no supernet.mixture)" in line


def test_monas_list_compat_prints_which_generator_can_search_which_space(capsys):
    from monas import cli

    assert cli.main(["list", "--compat"]) == 0
    out = capsys.readouterr().out
    assert "pc_darts: searches darts, nb201; not mobilenet (no supernet.mixture)" in out
    assert "tnd_nas: searches darts, mobilenet, nb201" in out
