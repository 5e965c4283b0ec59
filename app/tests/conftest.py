"""Test fixtures: real PostgreSQL, Redis and Celery worker processes on loopback ports
(55432, 56379 and 58000-58099, the ports reserved for the app tests).

Isolation: every test starts from an empty invocation table, the seeded lookup table,
no rate-limit counters and empty queues; the settings cache, engines and Redis clients
are reset, so a test can change the environment with monkeypatch."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.services import Postgres, Redis, wait_port

APP_DIR = Path(__file__).resolve().parent.parent
ENTRYPOINT = APP_DIR / "docker-entrypoint.sh"
PG_PORT = 55432
REDIS_PORT = 56379
DB_NAME = "agent_service"
QUEUE_KEYS = ("default", "agents", "priority")


@pytest.fixture(scope="session")
def pg() -> Iterator[Postgres]:
    server = Postgres(PG_PORT)
    server.init()
    server.admin(f"CREATE DATABASE {DB_NAME}")
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    server = Redis(REDIS_PORT)
    server.start()
    yield server
    server.stop()


def service_env(pg: Postgres, redis_server: Redis, **extra: str) -> dict[str, str]:
    env = {
        "APP_ENV": "test",
        "APP_VERSION": "1.2.3-test",
        "LOG_LEVEL": "INFO",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(pg.port),
        "POSTGRES_DB": DB_NAME,
        "POSTGRES_USER": pg.user,
        "POSTGRES_PASSWORD": pg.password,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_server.port),
        "REDIS_PASSWORD": redis_server.password,
        "REDIS_DB": "0",
        "RATE_LIMIT_PER_MINUTE": "100000",
        "HTTP_TOOL_ALLOWLIST": "127.0.0.1",
        "CELERY_TASK_SOFT_TIME_LIMIT": "20",
        "CELERY_TASK_TIME_LIMIT": "25",
        "CELERY_RETRY_BACKOFF_MAX": "2",
        "AGENT_PROVIDER": "offline",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def base_env(pg: Postgres, redis_server: Redis) -> dict[str, str]:
    env = service_env(pg, redis_server)
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def migrated(base_env: dict[str, str]) -> list[tuple[str, str]]:
    from alembic import command
    from app.core.config import get_settings
    from app.core.db import get_engine
    from app.prestart import alembic_config
    from sqlalchemy import text

    get_settings.cache_clear()
    command.upgrade(alembic_config(), "head")
    with get_engine().connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT key, value FROM lookup_entries ORDER BY key"))]


@pytest.fixture(autouse=True)
def isolate(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fresh state for every test that touches the services."""
    if "no_services" in request.keywords:
        yield
        return
    seed = request.getfixturevalue("migrated")
    redis_server = request.getfixturevalue("redis_server")
    from app.core.config import get_settings
    from app.core.db import get_engine, reset_engines
    from app.core.redis import reset_clients
    from sqlalchemy import text

    get_settings.cache_clear()
    reset_engines()
    reset_clients()
    with get_engine().begin() as conn:
        conn.execute(text("TRUNCATE tool_calls, invocations, lookup_entries"))
        conn.execute(text("INSERT INTO lookup_entries (key, value) VALUES (:k, :v)"),
                     [{"k": k, "v": v} for k, v in seed])
    client = redis_server.client()
    stale = list(client.scan_iter("ratelimit:*")) + list(QUEUE_KEYS)
    client.delete(*stale)
    yield
    get_settings.cache_clear()
    reset_engines()
    reset_clients()


@pytest.fixture()
def client(base_env: dict[str, str]) -> Iterator[TestClient]:
    from app.main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


# --- processes started through the container entrypoint ------------------------------------

@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    workdir: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.alive():
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode

    def kill_group(self) -> None:
        """SIGKILL the whole process group: main process and every prefork child."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


_PROCESS_ROOT: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _process_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Process work dirs (logs, state files) go under pytest's base temp dir, which pytest
    prunes to the last few runs."""
    _PROCESS_ROOT.append(tmp_path_factory.mktemp("processes"))


def start_process(name: str, args: list[str], env: dict[str, str]) -> Proc:
    root = _PROCESS_ROOT[-1] if _PROCESS_ROOT else None
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    full_env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    full_env.update(env)
    full_env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(workdir / "prometheus"))
    full_env.setdefault("WORKER_STATE_DIR", str(workdir / "state"))
    full_env["PYTHONPATH"] = str(APP_DIR)
    full_env["PATH"] = f"{Path(sys.executable).parent}:{full_env.get('PATH', '')}"
    log = workdir / "output.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(["sh", str(ENTRYPOINT), *args], cwd=APP_DIR, env=full_env, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Proc(name, popen, log, workdir)


def start_worker(name: str, env: dict[str, str], metrics_port: int, timeout: float = 90.0,
                 concurrency: int = 2) -> Proc:
    proc = start_process(name, ["worker"], {
        **env, "METRICS_HOST": "127.0.0.1", "METRICS_PORT": str(metrics_port), "CELERY_CONCURRENCY": str(concurrency),
        "CELERY_HOSTNAME": f"{name}@%h",
    })
    ready = proc.workdir / "state" / "worker_ready"
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if not proc.alive() or time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"worker {name} did not become ready:\n{proc.output()[-4000:]}")
        time.sleep(0.2)
    wait_port(metrics_port)
    return proc


def start_api(name: str, env: dict[str, str], port: int, timeout: float = 60.0) -> Proc:
    proc = start_process(name, ["api"], {**env, "API_HOST": "127.0.0.1", "API_PORT": str(port)})
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if not proc.alive() or time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"api {name} did not start:\n{proc.output()[-4000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def worker(base_env: dict[str, str], migrated: object) -> Iterator[Proc]:
    proc = start_worker("w1", base_env, metrics_port=58090)
    yield proc
    proc.stop()


def wait_for(predicate, timeout: float, interval: float = 0.1, message: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
