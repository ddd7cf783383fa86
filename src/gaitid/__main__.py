"""`python -m gaitid` runs the command line."""

import sys

from gaitid.cli import main

sys.exit(main())
