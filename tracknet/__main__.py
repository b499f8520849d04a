import sys

from tracknet.cli import main

sys.exit(main())
