"""`python -m station` is the same as the `station` console script."""

import sys

from station.cli import main

sys.exit(main())
