"""A real PostgreSQL 15 and a real Redis for the runbooks' SQL and redis-cli commands.

Both listen on Unix sockets only, in a throwaway directory (no TCP port, so nothing clashes
with the other test suites). PostgreSQL runs as `nobody` when the tests run as root
(initdb refuses root). The database and role are the chart's (`agent_service`)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import runbook_lib as rb


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL's {name} is not installed: run `make debs`")
    return found[-1]


class _Postgres:
    def __init__(self, root: Path, user: str, database: str) -> None:
        self.root, self.user, self.database = root, user, database
        self.data, self.sockets = root / "data", root / "sock"
        self.sockets.mkdir()
        self.as_user: dict[str, int] = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid}
            for path in (root, self.sockets):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)

    def _run(self, *argv: str) -> None:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=self.root, **self.as_user)
        if res.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {res.stderr}")

    def start(self) -> None:
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", self.user, "--auth-local=trust", "--no-sync",
                  "-E", "UTF8")
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "postgres.log"), "-w", "-t", "60",
                  "-o", f"-c listen_addresses='' -k {self.sockets} -c fsync=off", "start")
        self.psql("CREATE DATABASE " + self.database, database="postgres")

    def psql(self, sql: str, database: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [rb.tool("psql"), "-h", str(self.sockets), "-U", self.user, "-d", database or self.database,
             "-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", sql],
            capture_output=True, text=True, timeout=60)

    def stop(self) -> None:
        try:
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except RuntimeError:
            pass


@pytest.fixture(scope="session")
def scratch():
    root = Path(tempfile.mkdtemp(prefix="runbooks-"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(scratch):
    _, names, _, _ = rb.database_facts()
    user = database = sorted(names)[0]
    (scratch / "pg").mkdir()
    pg = _Postgres(scratch / "pg", user, database)
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def redis_cli(scratch):
    sock = scratch / "redis.sock"
    proc = subprocess.Popen([rb.tool("redis-server"), "--port", "0", "--unixsocket", str(sock), "--save", "",
                             "--appendonly", "no", "--maxmemory", "64mb"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not sock.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.1)

    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([rb.tool("redis-cli"), "-s", str(sock), *args], capture_output=True, text=True,
                              timeout=60)

    yield run
    proc.terminate()
    proc.wait(10)
