"""Helpers for the Redis backend tests: own DB numbers on the shared server (9-12), a 3-master
Redis Cluster (ports 7000-7002) and a private redis-server on port 6390, each started as a child
process in a temp dir on loopback, with PDEATHSIG, and stopped by PID."""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from services import require

HOST = "127.0.0.1"
DB = {"cache": 9, "queue": 10, "feed": 11, "misc": 12}
CLUSTER_PORTS = (7000, 7001, 7002)
PRIVATE_PORT = 6390


def die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def answers(port: int) -> bool:
    try:
        return bool(redis.Redis(host=HOST, port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def flushed(db: int) -> str:
    """The URL of one of our DB numbers on the shared server, flushed."""
    require("redis")
    redis.Redis(host=HOST, port=6379, db=db).flushdb()
    return f"redis://{HOST}:6379/{db}"


class Server:
    """A private redis-server that a test can stop and start again (always empty at start)."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                str(self.workdir / "log"),
            ],
            preexec_fn=die_with_parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: answers(self.port), 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


def flush_cluster() -> None:
    """Empty every master of the test cluster."""
    for port in CLUSTER_PORTS:
        redis.Redis(host=HOST, port=port).flushall()


def private_server() -> Iterator[Server]:
    """An empty redis-server of our own on ``PRIVATE_PORT`` (skips when it can't run)."""
    if shutil.which("redis-server") is None:
        require("redis", False, "redis-server is not installed")
    if not port_free(PRIVATE_PORT):
        require("redis", False, f"port {PRIVATE_PORT} is taken")
    with tempfile.TemporaryDirectory(prefix="sf-redis-") as tmp:
        server = Server(PRIVATE_PORT, Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _cluster_node(binary: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            HOST,
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(workdir / "log"),
        ],
        preexec_fn=die_with_parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cluster_ready() -> bool:
    for port in CLUSTER_PORTS:
        info = redis.Redis(host=HOST, port=port).cluster("info")
        if info.get("cluster_state") != "ok" or int(info["cluster_slots_ok"]) != 16384:
            return False
    return True


@contextmanager
def cluster() -> Iterator[str]:
    """A real 3-master Redis Cluster on ``CLUSTER_PORTS`` (bus ports + 10000) in a temp dir; its
    URL. Skips when it can't run; the nodes are killed by PID on exit."""
    binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if binary is None or cli is None:
        require("redis", False, "redis-server / redis-cli are not installed")
        raise AssertionError  # unreachable
    busy = [p for p in (*CLUSTER_PORTS, *(p + 10000 for p in CLUSTER_PORTS)) if not port_free(p)]
    if busy:
        require("redis", False, f"cluster ports {busy} are taken")
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="sf-cluster-") as tmp:
        try:
            for port in CLUSTER_PORTS:
                d = Path(tmp) / str(port)
                d.mkdir()
                procs.append(_cluster_node(binary, port, d))
            for port in CLUSTER_PORTS:
                wait_until(lambda port=port: answers(port), 10, f"cluster node {port}")  # type: ignore[misc]
            nodes = [f"{HOST}:{p}" for p in CLUSTER_PORTS]
            subprocess.run(
                [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=30,
            )
            wait_until(_cluster_ready, 20, "cluster_state:ok")
            yield f"redis+cluster://{HOST}:{CLUSTER_PORTS[0]}"
        finally:
            for p in procs:
                p.kill()
            for p in procs:
                p.wait(10)
