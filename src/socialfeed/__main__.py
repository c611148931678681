"""``python -m socialfeed`` is the ``socialfeed`` command."""

from socialfeed.cli import main

raise SystemExit(main())
