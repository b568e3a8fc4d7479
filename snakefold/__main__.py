"""``python -m snakefold COMMAND ...``: the ``snakefold`` command line, where its script is not on PATH (an
interpreter that runs the package from a source tree, as the GPU bench does)."""

import sys

from snakefold.cli import main

sys.exit(main())
