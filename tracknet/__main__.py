"""``python -m tracknet``: the same command line as the ``tracknet`` script."""

import sys

from tracknet.cli import main

sys.exit(main())
