"""CLI manners: every command and option has help text; --help, list and a table-only validate do
not import torch; python -m monas is the CLI."""
import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from monas.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_and_option_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helped = {c.dest: c.help for c in sub._choices_actions}
    for name, command in sub.choices.items():
        assert helped.get(name), f"command {name} has no help"
        if name == "profile":
            continue  # its own parser, checked below
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"monas {name} {action.dest}: no help text"


def test_profile_help_is_its_own():
    proc = subprocess.run([sys.executable, "-m", "monas", "profile", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: monas profile")
    assert "--out OUT" in proc.stdout and "path of the JSON table" in proc.stdout


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["export", "--help"], ["train", "--help"],
                                  ["validate", str(ROOT / "examples" / "nb201_table.yaml")]])
def test_cheap_commands_do_not_import_torch(argv):
    code = ("import sys\nfrom monas.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print('TORCH', 'torch' in sys.modules)" % (argv,))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert proc.stdout.strip().endswith("TORCH False")
