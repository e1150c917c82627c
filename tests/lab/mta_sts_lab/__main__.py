"""Entry point: `python tests/lab/mta_sts_lab ARGS`, which tests/lab/run executes."""

import sys
from pathlib import Path

# Run as a directory, Python puts this package's own directory first on the
# path; the package's parent is what the imports need.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from mta_sts_lab.cli import main  # noqa: E402  pylint: disable=wrong-import-position

sys.exit(main())
