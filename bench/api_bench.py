#!/usr/bin/env python3
"""Agent Service API benchmark (on demand, not part of `make test`).

    .venv/bin/python bench/api_bench.py [--rounds 5] [--seconds 3] [--connections 16]
                                        [--rate 100] [--enqueue-seconds 10] [--enqueue-rounds 5]

Measured side by side in one run, on this machine:

1. ``GET /health`` throughput of three servers, in alternating rounds (the order rotates
   every round), median and spread (min, max) of each:
   - the Agent Service API: one uvicorn process started through the container entrypoint,
     every middleware on;
   - a bare FastAPI app serving the same route and body, on uvicorn with the entrypoint's flags;
   - a raw ASGI hello-world on bare uvicorn.
   Both ratios are reported: service / bare FastAPI and service / hello-world.
2. ``POST /v1/agents/calculator/invocations`` latency (enqueue only, no wait) at a fixed
   arrival rate, open loop: latency counts from the scheduled send time, so a slow server
   cannot hide its queueing (no coordinated omission). p50/p99/max and non-202 answers per
   round, and the median and spread of the rounds' p99.

PostgreSQL and Redis are started for the run on loopback (ports 58060/58061), the API on
58050, the hello-world on 58051, the bare FastAPI app on 58052. The load generator runs on
the same 2 cores as the servers, so absolute numbers are lower bounds; the ratios of the
same rounds are the useful figures.
Writes bench/results/api_bench.json and appends one Markdown line to bench/results/api_bench.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "app"
RESULTS = ROOT / "bench" / "results"
ENTRYPOINT = APP_DIR / "docker-entrypoint.sh"
sys.path.insert(0, str(APP_DIR))

from tests.services import Postgres, Redis, wait_port  # noqa: E402

PG_PORT, REDIS_PORT = 58060, 58061
SERVICE_PORT, HELLO_PORT, BARE_PORT = 58050, 58051, 58052

HELLO = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})
'''

# The same route, model and body as the service's /health, and nothing else.
BARE_FASTAPI = '''
import os

from fastapi import FastAPI
from pydantic import BaseModel


class Health(BaseModel):
    status: str
    version: str


app = FastAPI()
VERSION = os.environ.get("APP_VERSION", "0.0.0")


@app.get("/health", response_model=Health)
async def health() -> Health:
    return Health(status="ok", version=VERSION)
'''

# uvicorn flags of the entrypoint's `api` line (checked against it in uvicorn_flags()).
SERVICE_FLAGS = ("--no-access-log", "--proxy-headers", "--forwarded-allow-ips", "*",
                 "--timeout-graceful-shutdown", "20")


def uvicorn_flags() -> list[str]:
    """The service's uvicorn flags for another app: its log config and SERVICE_FLAGS."""
    text = ENTRYPOINT.read_text()
    for flag in ("--log-config", *SERVICE_FLAGS[:3], "--timeout-graceful-shutdown"):
        if flag not in text:
            raise RuntimeError(f"{ENTRYPOINT} no longer passes {flag}: update SERVICE_FLAGS")
    return ["--log-config", str(APP_DIR / "app/core/uvicorn-logging.json"), *SERVICE_FLAGS]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length < 0:
        raise RuntimeError("the benchmark client needs a Content-Length in every response")
    return status, await reader.readexactly(length) if length else b""


async def _get_loop(port: int, path: str, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            status, _ = await _read_response(reader)
            counts[0 if status == 200 else 1] += 1
    finally:
        writer.close()


async def throughput(port: int, seconds: float, connections: int) -> float:
    counts = [0, 0]
    start = time.perf_counter()
    await asyncio.gather(*(_get_loop(port, "/health", start + seconds, counts) for _ in range(connections)))
    elapsed = time.perf_counter() - start
    if counts[1]:
        raise RuntimeError(f"{counts[1]} non-200 answers from port {port}")
    return counts[0] / elapsed


async def open_loop_posts(port: int, path: str, body: bytes, rate: float, seconds: float,
                          expect: int = 202) -> tuple[list[float], list[bytes], int]:
    """POST ``body`` to ``path`` at ``rate`` per second for ``seconds``, open loop, over a pool of
    32 keep-alive connections. Latencies from the scheduled send time, the bodies of the
    ``expect`` answers, and the count of other answers."""
    request = (f"POST {path} HTTP/1.1\r\nHost: bench\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    total = int(rate * seconds)
    latencies: list[float] = []
    answers: list[bytes] = []
    errors = 0
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(32):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    start = time.perf_counter() + 0.2

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        reader, writer = await pool.get()
        try:
            writer.write(request)
            status, answer = await _read_response(reader)
        finally:
            pool.put_nowait((reader, writer))
        latencies.append(time.perf_counter() - scheduled)
        if status == expect:
            answers.append(answer)
        else:
            errors += 1

    await asyncio.gather(*(one(i) for i in range(total)))
    while not pool.empty():
        pool.get_nowait()[1].close()
    return latencies, answers, errors


ENQUEUE_PATH = "/v1/agents/calculator/invocations"
ENQUEUE_BODY = json.dumps({"input": "what is 6*7"}).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def spread(values: list[float], digits: int = 1) -> dict[str, object]:
    """The rounds as measured, their median, min and max."""
    return {"rounds": [round(x, digits) for x in values], "median": round(statistics.median(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits)}


def fmt(summary: dict[str, object]) -> str:
    return f"{summary['median']} ({summary['min']}-{summary['max']})"


def git_commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "app/app", "bench/*.py"],
                           capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")


class Stack:
    """PostgreSQL, Redis and the service's environment for processes started through the
    container entrypoint, in a throwaway directory."""

    def __init__(self, pg_port: int = PG_PORT, redis_port: int = REDIS_PORT, **extra_env: str) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="bench-"))
        self.pg, self.redis = Postgres(pg_port), Redis(redis_port)
        self.extra_env = extra_env
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(APP_DIR), "APP_ENV": "test", "LOG_LEVEL": "WARNING",
                "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(self.pg.port), "POSTGRES_DB": "agent_service",
                "POSTGRES_USER": self.pg.user, "POSTGRES_PASSWORD": self.pg.password, "REDIS_HOST": "127.0.0.1",
                "REDIS_PORT": str(self.redis.port), "REDIS_PASSWORD": self.redis.password,
                "RATE_LIMIT_PER_MINUTE": "1000000", "AGENT_PROVIDER": "offline",
                "PROMETHEUS_MULTIPROC_DIR": str(self.work / "prom"), "WORKER_STATE_DIR": str(self.work),
                "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", **self.extra_env}

    def start(self) -> None:
        self.pg.init()
        self.pg.admin("CREATE DATABASE agent_service")
        self.redis.start()
        subprocess.run(["sh", str(ENTRYPOINT), "migrate"], env=self.env, cwd=APP_DIR, check=True,
                       stdout=subprocess.DEVNULL)

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None,
              cwd: Path = APP_DIR) -> subprocess.Popen[bytes]:
        """A process (its output in <work>/<name>.log), stopped with the stack."""
        with (self.work / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(args, env={**self.env, **(env or {})}, cwd=cwd, stdout=log,
                                    stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def entrypoint(self, name: str, command: str, **env: str) -> subprocess.Popen[bytes]:
        return self.spawn(name, ["sh", str(ENTRYPOINT), command], env)

    def log(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.redis.stop()
        self.pg.destroy()
        shutil.rmtree(self.work, ignore_errors=True)


@contextmanager
def running_stack(**extra_env: str) -> Iterator[Stack]:
    stack = Stack(**extra_env)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def alternate(sides: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each side once per round; the order rotates every round so no side is always first."""
    names = list(sides)
    measured: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            measured[name].append(sides[name]())
    return measured


def write_results(name: str, result: dict[str, object], header: str, line: str) -> None:
    """bench/results/<name>.json (this run) and one line appended to <name>.md (the history)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = RESULTS / f"{name}.md"
    if not md.exists() or header.splitlines()[0] not in md.read_text():
        with md.open("a") as out:
            out.write(("\n" if md.exists() else "") + header)
    with md.open("a") as out:
        out.write(line)
    print(json.dumps(result, indent=2))
    print(line, end="")


MD_HEADER = (
    "| date | commit | /health rps service | bare FastAPI | hello-world | service/bare | service/hello | "
    "enqueue load | p50 ms | p99 ms, median (min-max) of rounds | max ms | non-202 |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=100.0, help="enqueue requests per second")
    parser.add_argument("--enqueue-seconds", type=float, default=10.0, help="length of one enqueue round")
    parser.add_argument("--enqueue-rounds", type=int, default=5)
    args = parser.parse_args()
    if args.rounds < 5 or args.enqueue_rounds < 5:
        parser.error("--rounds and --enqueue-rounds must be at least 5 (medians of >= 5 rounds are reported)")

    enqueue: list[tuple[list[float], int]] = []
    with running_stack() as stack:
        stack.entrypoint("api", "api", API_HOST="127.0.0.1", API_PORT=str(SERVICE_PORT))
        (stack.work / "hello.py").write_text(HELLO)
        (stack.work / "bare.py").write_text(BARE_FASTAPI)
        uvicorn = [sys.executable, "-m", "uvicorn"]
        stack.spawn("hello", [*uvicorn, "hello:app", "--host", "127.0.0.1", "--port", str(HELLO_PORT),
                              "--no-access-log", "--log-level", "warning"], cwd=stack.work)
        stack.spawn("bare", [*uvicorn, "bare:app", "--host", "127.0.0.1", "--port", str(BARE_PORT),
                             *uvicorn_flags()], cwd=stack.work)
        ports = {"agent_service": SERVICE_PORT, "bare_fastapi": BARE_PORT, "hello_world": HELLO_PORT}
        for port in ports.values():
            wait_port(port)
            asyncio.run(throughput(port, 0.5, 4))  # warm-up
        rps = alternate({name: (lambda p=port: asyncio.run(throughput(p, args.seconds, args.connections)))
                         for name, port in ports.items()}, args.rounds)
        asyncio.run(open_loop_posts(SERVICE_PORT, ENQUEUE_PATH, ENQUEUE_BODY, 20, 1.0))  # warm-up: pools, broker
        for _ in range(args.enqueue_rounds):
            latencies, _, errors = asyncio.run(open_loop_posts(SERVICE_PORT, ENQUEUE_PATH, ENQUEUE_BODY, args.rate,
                                                               args.enqueue_seconds))
            enqueue.append((latencies, errors))

    service, bare, hello = (statistics.median(rps[name]) for name in ports)
    pooled = [x for latencies, _ in enqueue for x in latencies]
    ms = [[x * 1000 for x in latencies] for latencies, _ in enqueue]
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
        "health_throughput": {
            "connections": args.connections, "seconds_per_round": args.seconds, "rounds": args.rounds,
            **{f"{name}_rps": spread(values) for name, values in rps.items()},
            "ratio_service_to_bare_fastapi": round(service / bare, 3),
            "ratio_service_to_hello_world": round(service / hello, 3),
            "ratio_bare_fastapi_to_hello_world": round(bare / hello, 3),
            "per_round_ratio_service_to_bare_fastapi": spread(
                [s / b for s, b in zip(rps["agent_service"], rps["bare_fastapi"], strict=True)], 3),
            "per_round_ratio_service_to_hello_world": spread(
                [s / h for s, h in zip(rps["agent_service"], rps["hello_world"], strict=True)], 3),
        },
        "enqueue": {
            "rate_per_s": args.rate, "seconds_per_round": args.enqueue_seconds, "rounds": args.enqueue_rounds,
            "requests": len(pooled), "non_202": sum(errors for _, errors in enqueue),
            "p50_ms": spread([percentile(x, 50) for x in ms], 2),
            "p99_ms": spread([percentile(x, 99) for x in ms], 2),
            "max_ms": spread([max(x) for x in ms], 2),
            "pooled_p50_ms": round(percentile(pooled, 50) * 1000, 2),
            "pooled_p99_ms": round(percentile(pooled, 99) * 1000, 2),
            "non_202_per_round": [errors for _, errors in enqueue],
        },
    }
    h, e = result["health_throughput"], result["enqueue"]
    line = (f"| {result['date']} | {result['commit']} | {fmt(h['agent_service_rps'])} | {fmt(h['bare_fastapi_rps'])} | "
            f"{fmt(h['hello_world_rps'])} | {h['ratio_service_to_bare_fastapi']} | "
            f"{h['ratio_service_to_hello_world']} | {e['rate_per_s']:g}/s x {e['seconds_per_round']:g}s x "
            f"{e['rounds']} | {e['p50_ms']['median']} | {fmt(e['p99_ms'])} | {e['max_ms']['max']} | "
            f"{e['non_202']} |\n")
    write_results("api_bench", result, MD_HEADER, line)
    return 0 if e["non_202"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
