"""``python -m tracknet``: the same command line as the ``tracknet`` script."""

from tracknet.cli import entry

entry()
