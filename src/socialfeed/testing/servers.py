"""Servers of your own for tests and benchmarks: nothing here touches a server or database it did
not start or create.

* :class:`RedisServer`: a ``redis-server`` child process on a free loopback port, in a temp dir,
  stopped by PID (and with the parent-death signal set, so it never outlives a killed parent);
* :func:`redis_cluster`: a Redis Cluster of such servers;
* :func:`temp_database`: a database of its own on a PostgreSQL or MySQL/MariaDB server, dropped
  afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "RedisServer",
    "ServerUnavailable",
    "die_with_parent",
    "free_port",
    "redis_cluster",
    "temp_database",
    "wait_until",
]

HOST = "127.0.0.1"


class ServerUnavailable(RuntimeError):
    """The server cannot be started here (binary missing, no free port)."""


def die_with_parent() -> None:
    """``preexec_fn`` for child servers: SIGTERM them when the parent dies (Linux)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def free_port(*, bus: bool = False) -> int:
    """A loopback port nobody listens on; with ``bus``, ``port + 10000`` is free too (a Redis
    Cluster node's bus port)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if not bus or (port + 10000 < 65536 and _bindable(port + 10000)):
            return port
    raise ServerUnavailable("no free port found")


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it is true; ``TimeoutError`` naming ``what`` past ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A ``redis-server`` of our own (see the module docs); a context manager.

    ``persistent=True`` turns on the append-only file (``appendfsync always``), so a restart keeps
    the data, as a production queue server would; otherwise a restart comes back empty.
    """

    def __init__(
        self, *, persistent: bool = False, extra: tuple[str, ...] = (), port: int | None = None
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerUnavailable("redis-server is not installed")
        self.binary = binary
        self.port = port if port is not None else free_port(bus="--cluster-enabled" in extra)
        self.persistent = persistent
        self.extra = extra
        self.workdir = Path(tempfile.mkdtemp(prefix="socialfeed-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return self.db_url(0)

    def db_url(self, db: int) -> str:
        """``redis://127.0.0.1:<port>/<db>``."""
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> RedisServer:
        """Start it and wait until it answers PING."""
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else []
        args = [
            self.binary, "--port", str(self.port), "--bind", HOST, "--save", "",
            "--appendonly", "no", *persistence, "--dir", str(self.workdir),
            "--logfile", str(self.workdir / "log"), *self.extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            args,
            preexec_fn=die_with_parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _answers(self.port), 10, f"redis-server on port {self.port}")
        return self

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stop it (killed by default: a crash, not a clean shutdown)."""
        if self.proc is not None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
            self.proc = None

    def restart(self) -> None:
        """Kill it and start it again on the same port (with its data if persistent)."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop it and remove its directory."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def redis_cluster(masters: int = 3) -> Iterator[str]:
    """A Redis Cluster of ``masters`` servers of our own; yields its ``redis+cluster://`` URL."""
    cli = shutil.which("redis-cli")
    if cli is None:
        raise ServerUnavailable("redis-cli is not installed")
    extra = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", "2000")  # fmt: skip
    nodes: list[RedisServer] = []
    try:
        for _ in range(masters):
            nodes.append(RedisServer(extra=extra).start())
        addresses = [f"{HOST}:{n.port}" for n in nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )

        def ready() -> bool:
            for n in nodes:
                out = subprocess.run(
                    [cli, "-p", str(n.port), "cluster", "info"], capture_output=True, text=True
                ).stdout
                if "cluster_state:ok" not in out or "cluster_slots_ok:16384" not in out:
                    return False
            return True

        wait_until(ready, 20, "cluster_state:ok")
        yield f"redis+cluster://{addresses[0]}"
    finally:
        for n in nodes:
            n.close()


@contextlib.contextmanager
def temp_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL or MySQL/MariaDB server of ``server_url`` (a
    SQLAlchemy URL naming any database on it); yields its URL and drops it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = f"sf_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    postgres = url.get_backend_name() == "postgresql"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                if postgres:
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = :d AND pid <> pg_backend_pid()"
                        ),
                        {"d": name},
                    )
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        admin.dispose()
