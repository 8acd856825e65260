"""``python -m monas``: the ``monas`` command line."""
import sys

from monas.cli import main

sys.exit(main())
