"""`python -m cli` runs the newsqa command (handy from a checkout without the console script)."""

import sys

from cli.main import main

sys.exit(main())
