"""``socialfeed bench``: the workloads of docs/performance.md, each beside a raw baseline.

Workloads live in one module per backend group (:mod:`~socialfeed.bench.memory`,
:mod:`~socialfeed.bench.redis`, :mod:`~socialfeed.bench.sql`), each exposing ``WORKLOADS``: a dict
from workload id to a function ``(BenchContext) -> list[Row]``. :mod:`~socialfeed.bench.harness`
runs them, takes medians and prints the table.
"""
