"""The benchmark harness: rows of figure, same-run baseline and ratio; medians; JSON; progress."""

from __future__ import annotations

import contextlib
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import attrs

__all__ = [
    "GROUPS",
    "BenchContext",
    "Row",
    "Workload",
    "known_workloads",
    "median_of",
    "p50_over",
    "percentile",
    "run",
    "table",
    "timed",
]

GROUPS = (
    "socialfeed.bench.memory",
    "socialfeed.bench.redis",
    "socialfeed.bench.scale",
    "socialfeed.bench.sql",
    "socialfeed.bench.sql_scale",
    "socialfeed.bench.live",
)
"""Modules holding workloads; a group whose backend is not installed is reported and skipped."""


@attrs.frozen
class Row:
    """One figure of one workload (the JSON keys of docs/performance.md)."""

    id: str
    figure: str
    value: float | None
    baseline: float | None
    target: str
    meets: bool | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """``value / baseline`` where both exist."""
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def as_json(self) -> dict[str, Any]:
        """The row as JSON object of docs/performance.md."""
        ratio = self.ratio
        return {
            "id": self.id,
            "figure": self.figure,
            "value": self.value,
            "baseline": self.baseline,
            "ratio": None if ratio is None else round(ratio, 3),
            "target": self.target,
            "meets": self.meets,
            "note": self.note,
        }


DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
"""The PostgreSQL server the bench creates its database on when no ``--postgres-url`` is given."""


@attrs.define
class BenchContext:
    """What a workload gets: sizes (``quick``), servers, repeats and a progress printer.

    The bench touches nothing it did not create or was not given: :meth:`redis` is a
    redis-server of the bench's own (or the ``redis_url`` given, which the workloads flush), and
    :meth:`postgres` a database of its own, created on the server of ``postgres_url`` (default
    :data:`DEFAULT_POSTGRES`) and dropped by :meth:`close`.
    """

    quick: bool = False
    repeats: int = 3
    redis_url: str | None = None
    postgres_url: str | None = None
    out: TextIO = attrs.field(factory=lambda: sys.stderr)
    _servers: contextlib.ExitStack = attrs.field(init=False, factory=contextlib.ExitStack)
    _redis: str | None = attrs.field(init=False, default=None)
    _postgres: str | None = attrs.field(init=False, default=None)

    @property
    def drain_timeout(self) -> float:
        """Seconds a workload waits for its fan-out before it fails (instead of hanging)."""
        return 120.0 if self.quick else 1800.0

    def progress(self, message: str) -> None:
        """Print a progress line."""
        print(f"  .. {message}", file=self.out, flush=True)

    def redis(self) -> str:
        """The Redis URL the workloads use (and flush), starting the bench's own server once."""
        if self._redis is None:
            if self.redis_url:
                self.progress(f"using {self.redis_url} as given: the Redis workloads flush it")
                self._redis = self.redis_url
            else:
                from socialfeed.testing.servers import RedisServer

                server = self._servers.enter_context(RedisServer())
                self.progress(f"started a redis-server of the bench's own on port {server.port}")
                self._redis = server.url
        return self._redis

    def postgres(self) -> str:
        """The URL of the bench's own PostgreSQL database (created once, dropped by close)."""
        if self._postgres is None:
            from socialfeed.testing.servers import temp_database

            server = self.postgres_url or DEFAULT_POSTGRES
            self._postgres = self._servers.enter_context(temp_database(server))
            self.progress(f"created a database of the bench's own on {server.rsplit('@', 1)[-1]}")
        return self._postgres

    def close(self) -> None:
        """Stop the servers the bench started and drop the databases it created."""
        self._servers.close()


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``samples``, nearest rank."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def timed(fn: Callable[[], object], n: int) -> list[float]:
    """Call ``fn`` ``n`` times; the latencies in microseconds."""
    out = []
    clock = time.perf_counter
    for _ in range(n):
        start = clock()
        fn()
        out.append((clock() - start) * 1e6)
    return out


def p50_over(sample: Sequence[int], fn: Callable[[int], object]) -> Callable[[], float]:
    """A measurement for :func:`median_of`: ``fn(u)`` for every ``u`` of ``sample``, its p50 in
    microseconds."""

    def once() -> float:
        it = iter(sample)
        return percentile(timed(lambda: fn(next(it)), len(sample)), 50)

    return once


def median_of(ctx: BenchContext, measure: Callable[[], float]) -> float:
    """The median of ``ctx.repeats`` runs of ``measure``."""
    return statistics.median(measure() for _ in range(ctx.repeats))


Workload = Callable[[BenchContext], list[Row]]
"""A workload: runs on a :class:`BenchContext`, returns its rows."""


def known_workloads(progress: Callable[[str], None] | None = None) -> dict[str, Workload]:
    """Every workload of the :data:`GROUPS` that import here, by id, in the order of their
    numbers (a group whose driver is missing is left out, and told to ``progress``). Importing
    a group starts no server."""
    found: dict[str, Workload] = {}
    for group in GROUPS:
        try:
            module = importlib.import_module(group)
        except ImportError as exc:
            if progress is not None:
                progress(f"skipping {group}: {exc}")
            continue
        found.update(module.WORKLOADS)
    return dict(sorted(found.items(), key=lambda item: (int(item[0][1:].rstrip("F")), item[0])))


def _workloads(only: set[str] | None, ctx: BenchContext) -> list[tuple[str, Workload]]:
    return [
        (wid, fn)
        for wid, fn in known_workloads(ctx.progress).items()
        if only is None or wid in only
    ]


def table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table."""
    head = ("id", "figure", "value", "baseline", "ratio", "target", "meets")
    lines = [head]
    for r in rows:
        ratio = r.ratio
        lines.append(
            (
                r.id,
                r.figure,
                "-" if r.value is None else f"{r.value:,.1f}",
                "-" if r.baseline is None else f"{r.baseline:,.1f}",
                "-" if ratio is None else f"{ratio:.2f}x",
                r.target,
                {True: "yes", False: "NO", None: "-"}[r.meets] + (f" ({r.note})" if r.note else ""),
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def run(ctx: BenchContext, only: set[str] | None = None, json_path: str | None = None) -> list[Row]:
    """Run the workloads (all, or the ids in ``only``), print the table, optionally write JSON."""
    rows: list[Row] = []
    try:
        for wid, fn in _workloads(only, ctx):
            ctx.progress(f"{wid} ...")
            try:
                rows.extend(fn(ctx))
            except Exception as exc:  # a workload whose server is down is reported, not fatal
                rows.append(Row(wid, "error", None, None, "", None, f"{type(exc).__name__}: {exc}"))
    finally:
        ctx.close()
    print(table(rows))
    if json_path:
        with open(json_path, "w") as f:
            json.dump([r.as_json() for r in rows], f, indent=2)
    return rows
