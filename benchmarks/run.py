"""Run the workloads of docs/performance.md: ``python benchmarks/run.py [--only W1,W3] [--quick]``.

The same program as ``socialfeed bench`` (and ``make bench``). The workloads themselves live in
the package, in ``socialfeed.bench`` (``memory.py``: W9, ``redis.py``: W1-W6, ``scale.py``: W10
and W12, ``sql.py``: W7-W8), so that an installed ``socialfeed`` can measure the servers it is
deployed against.
"""

import sys

from socialfeed.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", *sys.argv[1:]]))
