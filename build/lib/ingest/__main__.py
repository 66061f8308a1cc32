"""``python -m ingest [PATHS...]``: the same as ``peacetalks ingest``."""

import sys

from assistant.cli import main

sys.argv = [sys.argv[0], "ingest", *sys.argv[1:]]
main()
