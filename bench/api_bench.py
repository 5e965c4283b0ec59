#!/usr/bin/env python3
"""Agent Service API benchmark (on demand, not part of `make test`).

    .venv/bin/python bench/api_bench.py [--rounds 5] [--seconds 3] [--connections 16]
                                        [--rate 50] [--enqueue-seconds 10]

Measured side by side in one run, on this machine:

1. ``GET /health`` throughput of the Agent Service API (one uvicorn process, started through
   the container entrypoint, all middleware on) against a bare uvicorn hello-world ASGI app,
   alternating rounds; the median of the rounds is reported for each.
2. p50/p99 latency of ``POST /v1/agents/calculator/invocations`` (enqueue only, no wait) at a
   fixed arrival rate, open loop: latency counts from the scheduled send time, so a slow
   server cannot hide its queueing (no coordinated omission).

PostgreSQL and Redis are started for the run on loopback (ports 58060/58061), and the API on
58050, the hello-world on 58051. The load generator runs on the same 2 cores as the servers,
so absolute numbers are lower bounds; the ratio is the useful figure.
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
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "app"
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(APP_DIR))

from tests.services import Postgres, Redis, wait_port  # noqa: E402

HELLO = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})
'''


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length < 0:
        raise RuntimeError("the benchmark client needs a Content-Length in every response")
    if length:
        await reader.readexactly(length)
    return status


async def _get_loop(port: int, path: str, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            status = await _read_response(reader)
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


async def enqueue_latencies(port: int, rate: float, seconds: float) -> tuple[list[float], int]:
    body = json.dumps({"input": "what is 6*7"}).encode()
    request = (f"POST /v1/agents/calculator/invocations HTTP/1.1\r\nHost: bench\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    total = int(rate * seconds)
    latencies: list[float] = []
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
            status = await _read_response(reader)
        finally:
            pool.put_nowait((reader, writer))
        latencies.append(time.perf_counter() - scheduled)
        if status != 202:
            errors += 1

    await asyncio.gather(*(one(i) for i in range(total)))
    while not pool.empty():
        pool.get_nowait()[1].close()
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=50.0, help="enqueue requests per second")
    parser.add_argument("--enqueue-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5 (the median of >= 5 rounds is reported)")

    work = Path(tempfile.mkdtemp(prefix="api-bench-"))
    pg, redis_srv = Postgres(58060), Redis(58061)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        pg.init()
        pg.admin("CREATE DATABASE agent_service")
        redis_srv.start()
        env = {**os.environ, "PYTHONPATH": str(APP_DIR), "APP_ENV": "test", "LOG_LEVEL": "WARNING",
               "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "58060", "POSTGRES_DB": "agent_service",
               "POSTGRES_USER": pg.user, "POSTGRES_PASSWORD": pg.password, "REDIS_HOST": "127.0.0.1",
               "REDIS_PORT": "58061", "REDIS_PASSWORD": redis_srv.password, "RATE_LIMIT_PER_MINUTE": "1000000",
               "PROMETHEUS_MULTIPROC_DIR": str(work / "prom"), "WORKER_STATE_DIR": str(work),
               "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        entry = str(APP_DIR / "docker-entrypoint.sh")
        subprocess.run(["sh", entry, "migrate"], env=env, cwd=APP_DIR, check=True, stdout=subprocess.DEVNULL)
        log = (work / "api.log").open("wb")
        procs.append(subprocess.Popen(["sh", entry, "api"], env={**env, "API_HOST": "127.0.0.1",
                                                                 "API_PORT": "58050"},
                                      cwd=APP_DIR, stdout=log, stderr=subprocess.STDOUT))
        (work / "hello.py").write_text(HELLO)
        procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "hello:app", "--host", "127.0.0.1",
                                       "--port", "58051", "--no-access-log", "--log-level", "warning"],
                                      cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        wait_port(58050)
        wait_port(58051)
        asyncio.run(throughput(58050, 0.5, 4))  # warm-up
        asyncio.run(throughput(58051, 0.5, 4))
        service, hello = [], []
        for _ in range(args.rounds):
            service.append(asyncio.run(throughput(58050, args.seconds, args.connections)))
            hello.append(asyncio.run(throughput(58051, args.seconds, args.connections)))
        asyncio.run(enqueue_latencies(58050, 20, 1.0))  # warm-up: pools, broker connection
        latencies, errors = asyncio.run(enqueue_latencies(58050, args.rate, args.enqueue_seconds))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(20)
        redis_srv.stop()
        pg.destroy()
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "health_throughput": {
            "connections": args.connections, "seconds_per_round": args.seconds, "rounds": args.rounds,
            "agent_service_rps": [round(x, 1) for x in service],
            "hello_world_rps": [round(x, 1) for x in hello],
            "agent_service_median_rps": round(statistics.median(service), 1),
            "hello_world_median_rps": round(statistics.median(hello), 1),
            "ratio": round(statistics.median(service) / statistics.median(hello), 3),
        },
        "enqueue": {
            "rate_per_s": args.rate, "requests": len(latencies), "non_202": errors,
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2),
            "max_ms": round(max(latencies) * 1000, 2),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    h, e = result["health_throughput"], result["enqueue"]
    line = (f"| {result['date']} | {h['agent_service_median_rps']} | {h['hello_world_median_rps']} | "
            f"{h['ratio']} | {e['rate_per_s']:g}/s x {e['requests']} | {e['p50_ms']} | {e['p99_ms']} | "
            f"{e['non_202']} |\n")
    md = RESULTS / "api_bench.md"
    if not md.exists():
        md.write_text("| date | /health rps (service, median) | /health rps (hello-world, median) | ratio | "
                      "enqueue load | enqueue p50 ms | enqueue p99 ms | non-202 |\n"
                      "|---|---|---|---|---|---|---|---|\n")
    with md.open("a") as out:
        out.write(line)
    print(json.dumps(result, indent=2))
    print(line, end="")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
