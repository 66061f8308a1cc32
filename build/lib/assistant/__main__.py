"""``python -m assistant``: the ``peacetalks`` command line."""

from assistant.cli import main

main()
