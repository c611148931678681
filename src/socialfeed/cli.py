"""The ``socialfeed`` command: ``demo``, ``worker``, ``bench`` and ``plan``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from socialfeed.demo import run_demo

    run_demo(users=args.users, tweets=args.tweets, seed=args.seed)
    return 0


def _worker(args: argparse.Namespace) -> int:
    import socialfeed
    from socialfeed.abilities import complete_queue

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log = logging.getLogger("socialfeed.worker")
    settings = socialfeed.Settings(
        celebrity_threshold=args.celebrity_threshold,
        max_feed_length=args.max_feed_length,
        fanout_batch_size=args.fanout_batch_size,
    )
    sf = socialfeed.connect(
        store=args.store,
        cache=args.cache,
        queue=args.queue,
        workers=args.workers,
        strategy=args.strategy,
        settings=settings,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("%d workers consuming %s", args.workers, args.queue)
    queue = complete_queue(sf.queue)
    while not stop.wait(args.log_every):
        if stats := queue.stats():
            log.info("progress %s", stats)
    log.info("stopping: finishing in-flight jobs")
    sf.close()
    log.info("stopped")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from socialfeed.bench.harness import BenchContext, run

    only = {w.strip().upper() for w in args.only.split(",")} if args.only else None
    ctx = BenchContext(
        quick=args.quick,
        repeats=args.repeats,
        redis_url=args.redis_url,
        postgres_url=args.postgres_url,
    )
    run(ctx, only, args.json)
    return 0


def _plan(args: argparse.Namespace) -> int:
    from socialfeed.plan import Plan

    print(Plan(**{k: getattr(args, k) for k in Plan.fields()}).report())
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="socialfeed", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build a small network in memory and show its feeds")
    demo.add_argument("--users", type=int, default=3_000)
    demo.add_argument("--tweets", type=int, default=30_000)
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(run=_demo)

    worker = sub.add_parser("worker", help="run fan-out workers until SIGTERM")
    worker.add_argument("--queue", required=True, help="e.g. redis://127.0.0.1:6379/0")
    worker.add_argument("--cache", default="memory://")
    worker.add_argument("--store", default="memory://")
    worker.add_argument("--workers", type=int, default=4)
    worker.add_argument("--strategy", default="hybrid", choices=["push", "pull", "hybrid"])
    worker.add_argument("--celebrity-threshold", type=int, default=10_000)
    worker.add_argument("--max-feed-length", type=int, default=800)
    worker.add_argument("--fanout-batch-size", type=int, default=1_000)
    worker.add_argument("--log-every", type=float, default=5.0, help="seconds between log lines")
    worker.set_defaults(run=_worker)

    bench = sub.add_parser("bench", help="run the benchmark workloads (docs/performance.md)")
    bench.add_argument("--only", help="comma-separated workload ids, e.g. W1,W3")
    bench.add_argument("--quick", action="store_true", help="small sizes (for the test suite)")
    bench.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument(
        "--redis-url",
        help="a Redis database the bench may flush (default: it starts a redis-server of its own)",
    )
    bench.add_argument(
        "--postgres-url",
        help="a PostgreSQL server the bench creates (and drops) a database of its own on",
    )
    bench.set_defaults(run=_bench)

    from socialfeed.plan import Plan

    plan = sub.add_parser("plan", help="capacity planning for a deployment")
    for name, default in Plan.defaults().items():
        plan.add_argument(
            f"--{name.replace('_', '-')}", dest=name, type=type(default), default=default
        )
    plan.set_defaults(run=_plan)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
