"""Real PostgreSQL and Redis servers for the tests, on loopback, in throwaway directories.

PostgreSQL comes from Debian's postgresql-15 binaries (initdb refuses root, so when the
tests run as root the server runs as `nobody`). Redis is Debian's redis-server."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis


def wait_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def _listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pids_with(*words: str) -> list[int]:
    """Processes whose command line holds every word."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(word in cmdline for word in words):
            pids.append(int(entry.name))
    return pids


def free_port(port: int, marker: str) -> None:
    """Stop the server a killed test run left on ``port`` (its command line holds ``marker`` and the
    port), or fail with a clear message when something else holds it."""
    if not _listening(port):
        return
    for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGKILL, 5.0)):
        for pid in _pids_with(marker, str(port)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _listening(port):
            return
    raise RuntimeError(f"127.0.0.1:{port} is taken by a process that is not a leftover {marker!r} of the app tests; "
                       "stop it, the app tests need this port (see mk/40-app.mk)")


def pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql; see make debs)")
    return Path(found[-1]).parent


@dataclass
class Postgres:
    port: int
    user: str = "agent_service"
    password: str = "test-password"
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="app-test-pg-")))

    def __post_init__(self) -> None:
        self.bindir = pg_bindir()
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "postgres.log"
        self._run_as: dict[str, int] = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self._run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid}
            os.chmod(self.root, 0o755)
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)

    def _pg(self, *args: str) -> None:
        subprocess.run([str(self.bindir / args[0]), *args[1:]], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd=self.root, **self._run_as)

    def init(self) -> None:
        self.sockets.mkdir()
        if self._run_as:
            os.chown(self.sockets, self._run_as["user"], self._run_as["group"])
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--no-sync",
                 "--auth-local=trust", "--auth-host=scram-sha-256")
        self.start()
        with psycopg.connect(host=str(self.sockets), port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {self.user} LOGIN CREATEDB PASSWORD '{self.password}'")

    def start(self) -> None:
        free_port(self.port, "app-test-pg-")
        opts = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._pg("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def admin(self, sql: str, dbname: str = "postgres") -> None:
        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                             dbname=dbname, autocommit=True) as conn:
            conn.execute(sql)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Redis:
    port: int
    password: str = "redis-test-password"
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        free_port(self.port, "redis-server")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--requirepass", self.password, "--loglevel", "warning", "--databases", "4"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)
        self.client().ping()

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, db=db, socket_timeout=2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
