"""Start throwaway PostgreSQL servers (a primary and a streaming replica) for tests.

Servers run in the foreground as children of pytest, as the ``postgres`` user, in a temp dir, on
loopback, with PR_SET_PDEATHSIG so they die with pytest; they are stopped by PID (SIGINT).
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import attrs
from sqlalchemy import create_engine, text

from socialfeed.testing.servers import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def _demote() -> Callable[[], None]:
    pw = pwd.getpwnam("postgres")

    def pre() -> None:
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        # after setuid: a credential change clears the parent-death signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)

    return pre


def available() -> str | None:
    """Why a rig cannot start here, or None."""
    if not (BIN / "postgres").exists():
        return f"no PostgreSQL binaries in {BIN}"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user"
    if os.geteuid() != 0:
        return "needs root to run PostgreSQL as the postgres user"
    return None


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, preexec_fn=_demote())


@attrs.define
class Server:
    """One running postgres process."""

    data: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _start(data: Path, port: int, sockets: Path, log: Path) -> Server:
    args = [
        str(BIN / "postgres"), "-D", str(data), "-p", str(port),
        "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}",
        "-c", "fsync=off", "-c", "full_page_writes=off",
    ]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=log.open("ab"), stderr=subprocess.STDOUT, preexec_fn=_demote()
    )
    server = Server(data, port, proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"postgres on {port} exited: {log.read_text()[-2000:]}")
        ok = subprocess.run(
            [str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"], check=False
        )
        if ok.returncode == 0:
            return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"postgres on {port} did not start")


@attrs.define
class ReplicaRig:
    """A primary and one streaming replica."""

    root: Path
    primary: Server
    replica: Server

    def wait_caught_up(self, timeout: float = 10) -> None:
        """Wait until the replica has replayed everything the primary wrote so far."""
        p = create_engine(self.primary.url, isolation_level="AUTOCOMMIT")
        r = create_engine(self.replica.url, isolation_level="AUTOCOMMIT")
        try:
            with p.connect() as pc:
                lsn = pc.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar()
            deadline = time.monotonic() + timeout
            with r.connect() as rc:
                while time.monotonic() < deadline:
                    done = rc.execute(
                        text("SELECT pg_last_wal_replay_lsn() >= CAST(:l AS pg_lsn)"), {"l": lsn}
                    ).scalar()
                    if done:
                        return
                    time.sleep(0.01)
            raise TimeoutError("replica did not catch up")
        finally:
            p.dispose()
            r.dispose()

    def replica_sql(self, sql: str) -> object:
        """Run one statement on the replica (e.g. pg_wal_replay_pause())."""
        r = create_engine(self.replica.url, isolation_level="AUTOCOMMIT")
        try:
            with r.connect() as rc:
                return rc.execute(text(sql)).scalar()
        finally:
            r.dispose()

    def pause(self) -> None:
        """Pause WAL replay on the replica, and wait until it is really paused."""
        self.replica_sql("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while self.replica_sql("SELECT pg_get_wal_replay_pause_state()") != "paused":
            if time.monotonic() > deadline:
                raise TimeoutError("replay did not pause")
            time.sleep(0.01)

    def resume(self) -> None:
        """Resume WAL replay on the replica."""
        self.replica_sql("SELECT pg_wal_replay_resume()")

    def stop(self) -> None:
        self.replica.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_replica_rig(primary_port: int = 0, replica_port: int = 0) -> ReplicaRig:
    """initdb a primary, start it, pg_basebackup a replica, start it, wait for streaming (on
    free ports unless given)."""
    primary_port = primary_port or free_port()
    replica_port = replica_port or free_port()
    root = Path(tempfile.mkdtemp(prefix="sf-pg-"))
    pw = pwd.getpwnam("postgres")
    os.chown(root, pw.pw_uid, pw.pw_gid)
    p_data, r_data = root / "p", root / "r"
    _run(
        str(BIN / "initdb"), "-D", str(p_data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
        "--locale=C", "--no-sync", "--no-instructions",
    )  # fmt: skip
    primary = _start(p_data, primary_port, root, root / "p.log")
    try:
        _run(
            str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U",
            "postgres", "-D", str(r_data), "-R", "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        replica = _start(r_data, replica_port, root, root / "r.log")
    except BaseException:
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    rig = ReplicaRig(root, primary, replica)
    engine = create_engine(primary.url)
    try:
        deadline = time.monotonic() + 30
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                n = conn.execute(
                    text("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                ).scalar()
                conn.rollback()
                if n == 1:
                    return rig
                time.sleep(0.05)
        rig.stop()
        raise RuntimeError("replica never started streaming")
    finally:
        engine.dispose()
