"""The ``socialfeed`` command: ``demo``, ``worker``, ``bench`` and ``plan``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from socialfeed.demo import run_demo

    run_demo(users=args.users, tweets=args.tweets, seed=args.seed)
    return 0


_SHARED = {
    "store": "the deployment's store, e.g. postgresql+psycopg://app@db/feeds",
    "cache": "the deployment's feed cache, e.g. redis://cache:6379/0",
    "queue": "the deployment's queue, e.g. redis://cache:6379/1",
}


def _shared(args: argparse.Namespace, role: str) -> str:
    """A worker's backend URL from its flag or ``SOCIALFEED_<ROLE>``: refused when missing or
    in this process only (a worker on ``memory://`` would apply jobs to an empty store)."""
    url = getattr(args, role) or os.environ.get(f"SOCIALFEED_{role.upper()}")
    if not url:
        raise _Refused(f"--{role} (or SOCIALFEED_{role.upper()}) is required: {_SHARED[role]}")
    if url.split("://", 1)[0] in ("memory", "inline", "thread"):
        raise _Refused(f"--{role} {url} lives in this process only; a worker needs {_SHARED[role]}")
    return url


class _Refused(Exception):
    """A one-line reason ``socialfeed worker`` will not start."""


def _worker(args: argparse.Namespace) -> int:
    import socialfeed
    from socialfeed.abilities import complete_queue

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    log = logging.getLogger("socialfeed.worker")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    given = {
        name: value
        for name in ("celebrity_threshold", "max_feed_length", "fanout_batch_size")
        if (value := getattr(args, name)) is not None
    }
    try:
        store, cache, queue_url = (_shared(args, role) for role in ("store", "cache", "queue"))
    except _Refused as exc:
        print(f"socialfeed worker: {exc}", file=sys.stderr)
        return 2
    while True:  # a backend that is down now is waited for; a wrong configuration is not
        try:
            sf = socialfeed.connect(
                store=store,
                cache=cache,
                queue=queue_url,
                workers=args.workers,
                strategy=args.strategy,
                settings=socialfeed.Settings(**given) if given else None,  # None: the recorded
            )
            break
        except socialfeed.BackendError as exc:
            log.warning("cannot start yet (%s); trying again", exc)
            if stop.wait(1.0):
                return 0
        except socialfeed.SocialFeedError as exc:
            print(f"socialfeed worker: {exc}", file=sys.stderr)
            return 2
    queue = complete_queue(sf.queue)
    if args.replay_dead:
        log.info("queued %d parked jobs again", queue.replay_dead())
    s = sf.settings
    log.info(
        "%d workers consuming %s (worker id %d; celebrity_threshold=%d max_feed_length=%d "
        "fanout_batch_size=%d active_window=%s)",
        args.workers, queue_url, sf.worker_id, s.celebrity_threshold, s.max_feed_length,
        s.fanout_batch_size, s.active_window,
    )  # fmt: skip
    while not stop.wait(args.log_every):
        if stats := queue.stats():
            log.info("progress %s", stats)
    log.info("stopping: finishing in-flight jobs")
    sf.close()
    log.info("stopped")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from socialfeed.bench.harness import BenchContext, known_workloads, run

    only = {w.strip().upper() for w in args.only.split(",")} if args.only else None
    if only is not None and (unknown := sorted(only - set(known := known_workloads()))):
        raise _Refused(
            f"unknown workload {', '.join(unknown)}; known workloads: {', '.join(known)}"
        )
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("socialfeed")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree only
        return "unknown"


class _Help(argparse.HelpFormatter):
    """Help that shows each option's default, unless it is unset or already in the text."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            default in (None, False, argparse.SUPPRESS)
            or "default" in text
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="socialfeed",
        description="Twitter-style home timelines: demo, worker, bench and plan.",
        formatter_class=_Help,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="build a small network in memory and show its feeds", formatter_class=_Help
    )
    demo.add_argument("--users", type=int, default=3_000, help="users in the network")
    demo.add_argument("--tweets", type=int, default=30_000, help="tweets to post")
    demo.add_argument("--seed", type=int, default=1, help="random seed")
    demo.set_defaults(run=_demo)

    worker = sub.add_parser(
        "worker",
        help="run fan-out workers until SIGTERM",
        description="Apply fan-out jobs until SIGTERM (the in-flight batch is finished first). "
        "Store, cache and queue come from the flags or from SOCIALFEED_STORE, SOCIALFEED_CACHE "
        "and SOCIALFEED_QUEUE; the feed settings from the store's record of the deployment.",
        formatter_class=_Help,
    )
    worker.add_argument("--store", help="the shared store (default: $SOCIALFEED_STORE)")
    worker.add_argument("--cache", help="the shared feed cache (default: $SOCIALFEED_CACHE)")
    worker.add_argument("--queue", help="the shared queue (default: $SOCIALFEED_QUEUE)")
    worker.add_argument("--workers", type=int, default=4, help="consumer threads")
    worker.add_argument(
        "--strategy",
        choices=["push", "pull", "hybrid"],
        help="checked against the store's record (default: $SOCIALFEED_STRATEGY, else the "
        "recorded one)",
    )
    for flag in ("--celebrity-threshold", "--max-feed-length", "--fanout-batch-size"):
        worker.add_argument(flag, type=int, help="checked against the store's record (optional)")
    worker.add_argument(
        "--replay-dead", action="store_true", help="queue the parked jobs again, then run"
    )
    worker.add_argument("--log-every", type=float, default=5.0, help="seconds between log lines")
    worker.set_defaults(run=_worker)

    bench = sub.add_parser(
        "bench", help="run the benchmark workloads (docs/performance.md)", formatter_class=_Help
    )
    bench.add_argument("--only", help="comma-separated workload ids, e.g. W1,W3 (default: all)")
    bench.add_argument("--quick", action="store_true", help="small sizes (for the test suite)")
    bench.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    bench.add_argument("--repeats", type=int, default=3, help="runs per figure (the median)")
    bench.add_argument(
        "--redis-url",
        help="a Redis database the bench may flush (default: it starts a redis-server of its own)",
    )
    bench.add_argument(
        "--postgres-url",
        help="a PostgreSQL server the bench creates (and drops) a database of its own on",
    )
    bench.set_defaults(run=_bench)

    from socialfeed.plan import HELP, Plan

    plan = sub.add_parser(
        "plan",
        help="capacity planning for a deployment",
        description="Back-of-the-envelope capacity planning: prints the inputs, then the "
        "figures derived from them.",
        formatter_class=_Help,
    )
    for name, default in Plan.defaults().items():
        plan.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=type(default),
            default=default,
            help=HELP[name],
        )
    plan.set_defaults(run=_plan)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2, with a one-line message on stderr,
    for input it refuses)."""
    from socialfeed.errors import ValidationError

    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except (ValidationError, _Refused) as exc:
        print(f"socialfeed {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
